"""ink's pytest plugin: fixtures for testing ink plugins, loaded wherever ink-core is installed.

Registered through ink-core's ``pytest11`` entry point, so a plugin's tests need no conftest.py
copied from ink's repository. See docs/writing-plugins.md ("Tests").

Fixtures:

- ``ink_host``: a factory for a fresh plugin host (``ink_host(plugins=[...], extra={...})``).
- ``ink_synth``: a factory running ``ink synth`` in-process in a fresh folder; returns the result.
- ``ink_objects``: the same, returning the parsed objects by output path.
- ``crd_dir``: the folder of custom-resource JSON schemas (see below); fails when there is none.
- ``ink_validator``: a strict Kubernetes 1.33 validator with the Kubernetes and ``crd_dir`` schemas.
- ``ink_clean_environment`` (autouse): tests never see the developer's own ``INK_*`` variables.

The schema folder holds ``<group>/<kind>_<version>.json`` files (the layout of
https://github.com/datreeio/CRDs-catalog). It comes from, first found wins: the ``--ink-crd-dir``
option, the ``CRD_SCHEMA_DIR`` environment variable, the ``ink_crd_dir`` ini setting (relative to
the ini file), else the folder ``crds`` in pytest's rootdir.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ink.plugins import PluginHost
    from ink.run import SynthResult
    from ink.validate import ManifestValidator

CRD_DIR_OPTION = "--ink-crd-dir"
CRD_DIR_ENV = "CRD_SCHEMA_DIR"
CRD_DIR_INI = "ink_crd_dir"
CRD_DIR_DEFAULT = "crds"
KUBERNETES_VERSION = "1.33"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ink")
    group.addoption(
        CRD_DIR_OPTION,
        dest="ink_crd_dir",
        default=None,
        help=f"Folder of custom-resource JSON schemas (<group>/<kind>_<version>.json); else ${CRD_DIR_ENV}, "
        f"the {CRD_DIR_INI} ini setting, or ./{CRD_DIR_DEFAULT} in the rootdir.",
    )
    parser.addini(CRD_DIR_INI, help="Folder of custom-resource JSON schemas, relative to the ini file.", default="")


def configured_crd_dir(config: pytest.Config) -> tuple[Path, str]:
    """The schema folder and where it was set (for the error message), first found wins."""
    if value := config.getoption("ink_crd_dir"):
        return Path(value).resolve(), CRD_DIR_OPTION
    if value := os.environ.get(CRD_DIR_ENV):
        return Path(value).resolve(), f"${CRD_DIR_ENV}"
    if value := config.getini(CRD_DIR_INI):
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / str(value)).resolve(), f"the {CRD_DIR_INI} ini setting"
    return config.rootpath / CRD_DIR_DEFAULT, "the default"


@pytest.fixture(autouse=True)
def ink_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own INK_* variables: ``monkeypatch.setenv`` is all they get."""
    for name in list(os.environ):
        if name.upper().startswith("INK_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def crd_dir(pytestconfig: pytest.Config) -> Path:
    """The custom-resource schema folder. A test that needs it fails (never skips) when it is missing."""
    directory, source = configured_crd_dir(pytestconfig)
    if not directory.is_dir() or not any(directory.glob("*/*.json")):
        pytest.fail(
            f"ink: no custom-resource schemas in {directory} (from {source}); pass {CRD_DIR_OPTION} DIR, "
            f"set {CRD_DIR_ENV} or {CRD_DIR_INI} to a folder of <group>/<kind>_<version>.json files "
            "(the layout of github.com/datreeio/CRDs-catalog)",
            pytrace=False,
        )
    return directory


@pytest.fixture(scope="session")
def ink_validator(crd_dir: Path) -> ManifestValidator:
    """Validates objects strictly against Kubernetes and the ``crd_dir`` schemas: a kind without one is a problem."""
    from ink.validate import ManifestValidator

    return ManifestValidator(KUBERNETES_VERSION, [crd_dir])


@pytest.fixture(scope="session")
def ink_host() -> Callable[..., PluginHost]:
    """``ink_host(plugins=None, extra=None)``: a fresh host with the installed plugins (or only ``plugins``)."""
    from ink import testing

    return testing.host


@pytest.fixture(scope="session")
def ink_synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., SynthResult]:
    """``ink_synth(config="", *, plugins=None, extra=None, validate=True)``: ``ink synth`` in a fresh folder.

    Session-scoped, so module- and session-scoped fixtures can use it too; each call gets its own folder.
    """
    from ink import testing

    def synth(
        config: str = "",
        *,
        plugins: Sequence[str] | None = None,
        extra: Mapping[str, object] | None = None,
        validate: bool = True,
    ) -> SynthResult:
        directory = tmp_path_factory.mktemp("ink-synth")
        return testing.synth(directory, config, plugins=plugins, extra=extra, validate=validate)

    return synth


@pytest.fixture(scope="session")
def ink_objects(ink_synth: Callable[..., SynthResult]) -> Callable[..., dict[str, dict[str, Any]]]:
    """Like ``ink_synth``, returning the parsed objects by output path (``myservice/deployment-myservice.yaml``)."""
    from ink import testing

    def objects(*args: Any, **kwargs: Any) -> dict[str, dict[str, Any]]:
        return testing.objects(ink_synth(*args, **kwargs))

    return objects


def pytest_report_header(config: pytest.Config) -> list[str]:
    directory, source = configured_crd_dir(config)
    return [f"ink: custom-resource schemas from {directory} ({source})"]
