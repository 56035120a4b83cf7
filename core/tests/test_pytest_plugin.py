"""ink's pytest plugin (ink.pytest_plugin), run the way an outside plugin's tests run it: in a fresh folder."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

SHOW_CRD_DIR = """
def test_show(crd_dir):
    print("CRD_DIR=" + str(crd_dir))
"""


def schema_folder(path: Path) -> Path:
    (path / "example.org").mkdir(parents=True)
    (path / "example.org" / "widget_v1.json").write_text("{}")
    return path


@pytest.fixture(autouse=True)
def _no_outer_schema_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRD_SCHEMA_DIR", raising=False)


def shown_crd_dir(result: pytest.RunResult) -> Path:
    result.assert_outcomes(passed=1)
    found = re.search(r"CRD_DIR=(\S+)", result.stdout.str())
    assert found, result.stdout.str()
    return Path(found[1])


def test_registered_through_the_pytest11_entry_point() -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    assert {e.name: e.value for e in entry_points if e.dist and e.dist.name == "ink-core"} == {
        "ink": "ink.pytest_plugin"
    }


def test_no_schemas_configured_fails_with_one_line_not_a_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_CRD_DIR)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    expected = f"*ink: no custom-resource schemas in {pytester.path / 'crds'} (from the default); pass --ink-crd-dir*"
    result.stdout.fnmatch_lines([expected])
    assert "Traceback" not in result.stdout.str()


def test_default_is_crds_in_the_rootdir(pytester: pytest.Pytester) -> None:
    schema_folder(pytester.path / "crds")
    pytester.makepyfile(SHOW_CRD_DIR)
    assert shown_crd_dir(pytester.runpytest("-s")) == pytester.path / "crds"


def test_ini_setting_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    schema_folder(pytester.path / "schemas")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nink_crd_dir = "schemas"\n')
    pytester.makepyfile(SHOW_CRD_DIR)
    assert shown_crd_dir(pytester.runpytest("-s")) == pytester.path / "schemas"


def test_option_beats_environment_beats_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("from-ini", "from-env", "from-option"):
        schema_folder(pytester.path / name)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nink_crd_dir = "from-ini"\n')
    pytester.makepyfile(SHOW_CRD_DIR)
    monkeypatch.setenv("CRD_SCHEMA_DIR", str(pytester.path / "from-env"))
    assert shown_crd_dir(pytester.runpytest("-s")) == pytester.path / "from-env"
    result = pytester.runpytest("-s", "--ink-crd-dir", str(pytester.path / "from-option"))
    assert shown_crd_dir(result) == pytester.path / "from-option"


def test_an_empty_schema_folder_fails_too(pytester: pytest.Pytester) -> None:
    (pytester.path / "crds").mkdir()
    pytester.makepyfile(SHOW_CRD_DIR)
    pytester.runpytest().assert_outcomes(errors=1)


def test_developer_ink_variables_are_hidden(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(
        """
import os

def test_environment():
    assert "INK_DOMAIN" not in os.environ
"""
    )
    monkeypatch.setenv("INK_DOMAIN", "developer.example.org")
    pytester.runpytest().assert_outcomes(passed=1)


def test_synth_objects_and_validator_fixtures(pytester: pytest.Pytester, crd_dir: Path) -> None:
    """A stand-in plugin synthesised through the fixtures, and its output validated against the schemas."""
    pytester.makepyfile(
        """
from ink import hookimpl, kube
from ink.models import ServiceInfo


class Demo:
    @hookimpl
    def ink_service_info(self):
        return ServiceInfo(name="demo", title="Demo", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_workloads(self, scope, ctx):
        kube.api_object(scope, "settings", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo"}, "data": {"domain": ctx.domain},
        })


def test_objects(ink_objects, ink_validator):
    objects = ink_objects('domain = "home.example.org"\\n', plugins=[], extra={"demo": Demo()})
    assert objects["demo/configmap-demo.yaml"]["data"] == {"domain": "home.example.org"}
    assert objects["demo/configmap-demo.yaml"]["metadata"]["namespace"] == "demo"
    assert ink_validator.validate_all(objects.items()).problems == []


def test_host(ink_host):
    assert ink_host(plugins=[], extra={"demo": Demo()}).names == ["demo"]
"""
    )
    # One argument: pytest would take a separate value for a path and put its cache beside the schemas.
    result = pytester.runpytest("-p", "no:cacheprovider", f"--ink-crd-dir={crd_dir}")
    result.assert_outcomes(passed=2)


def test_report_header_names_the_schema_folder(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([f"ink: custom-resource schemas from {pytester.path / 'crds'} (the default)"])
