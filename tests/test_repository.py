"""Cross-package checks: every installed plugin loads and describes itself; hooks are documented."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from ink import hookspecs
from ink.models import ServiceInfo
from ink.plugins import make_plugin_host

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("ink_"))


def test_every_plugin_in_the_tree_is_installed_and_loads() -> None:
    host = make_plugin_host(environ={})
    for directory in PLUGIN_DIRS:
        assert directory.name in host.names, f"plugins/{directory.name} is not installed (pip install -e it)"
        assert host.dists[directory.name].distribution == f"ink-plugin-{directory.name}"


@pytest.mark.parametrize("directory", PLUGIN_DIRS, ids=[p.name for p in PLUGIN_DIRS])
def test_plugin_package_shape(directory: Path) -> None:
    module = "ink_plugin_" + directory.name.replace("-", "_")
    assert (directory / "src" / module / "__init__.py").is_file(), "src layout, import name ink_plugin_<name>"
    assert (directory / "README.md").read_text().count("\n") > 10, "a README that says what the plugin deploys"
    assert list((directory / "tests").glob("test_*.py")), "tests next to the plugin"
    text = (directory / "pyproject.toml").read_text()
    assert f'name = "ink-plugin-{directory.name}"' in text
    assert f'{directory.name} = "{module}"' in text, "an entry point in the 'ink' group"


CORE_VERSION = Version(tomllib.loads((ROOT / "core" / "pyproject.toml").read_text())["project"]["version"])


def _next_breaking(version: Version) -> Version:
    """The first core release that may break plugins (docs/versioning.md): the next major, the next minor before 1.0."""
    return Version(f"{version.major + 1}") if version.major else Version(f"0.{version.minor + 1}")


@pytest.mark.parametrize("directory", PLUGIN_DIRS, ids=[p.name for p in PLUGIN_DIRS])
def test_plugin_depends_on_a_range_of_ink_core_holding_this_core_and_bounded_below_its_next_major(
    directory: Path,
) -> None:
    project = tomllib.loads((directory / "pyproject.toml").read_text())["project"]
    found = [Requirement(r) for r in project.get("dependencies", []) if Requirement(r).name == "ink-core"]
    lower, upper = CORE_VERSION.base_version.rsplit(".", 1)[0], _next_breaking(CORE_VERSION)
    fix = f'fix: dependencies = ["ink-core>={lower},<{upper}"] (docs/versioning.md)'
    where = f"plugins/{directory.name}/pyproject.toml"
    assert len(found) == 1, f"{where}: {len(found)} dependencies on ink-core, expected one; {fix}"
    spec = found[0].specifier
    assert CORE_VERSION in spec, (
        f"{where}: ink-core{spec} does not contain core {CORE_VERSION} (core/pyproject.toml); {fix}"
    )
    bounds = [Version(s.version) for s in spec if s.operator == "<"]
    assert bounds and min(bounds) <= upper, f"{where}: ink-core{spec} admits core {upper}, which may break it; {fix}"


def test_every_plugin_describes_itself() -> None:
    host = make_plugin_host(environ={})
    for name in host.names:
        info = host.call(name, "ink_service_info")
        assert isinstance(info, ServiceInfo)
        assert info.name == name
        assert not info.version.startswith("latest")


def test_every_hook_is_documented_under_its_exact_signature() -> None:
    docs = (ROOT / "docs" / "plugin-hooks.md").read_text()
    for name in HOOKS:
        signature = inspect.signature(getattr(hookspecs, name))
        heading = f"### `{name}({', '.join(signature.parameters)})`"
        assert heading in docs, f"docs/plugin-hooks.md lacks the heading {heading}"


def test_no_image_is_pinned_to_latest() -> None:
    for path in ROOT.glob("plugins/*/src/**/*.py"):
        assert not re.search(r"""["'][a-z0-9./_-]+:latest["']""", path.read_text()), path


def test_example_config_is_valid_and_covers_every_global_setting() -> None:
    from ink import config as config_mod
    from ink.settings import InkSettings

    example = ROOT / "ink.example.toml"
    config = config_mod.load_config(example)
    host = make_plugin_host(environ={})
    tables = config_mod.plugin_tables(config, host.names)
    for name, table in tables.items():
        model = host.call(name, "ink_service_info").settings_model
        config_mod.plugin_settings(config, name, table, model)
    text = example.read_text()
    for field in InkSettings.model_fields:
        assert re.search(rf"^#? ?\[?{field}\b", text, re.MULTILINE), f"ink.example.toml does not show {field}"


def test_plugin_reference_pages_are_up_to_date() -> None:
    from ink import run

    pages = run.plugin_docs(ROOT / "ink.example.toml")
    folder = ROOT / "docs" / "plugins"
    for name, text in pages.items():
        assert (folder / name).read_text(encoding="utf-8") == text, f"docs/plugins/{name} is stale: run `ink docs`"
    assert {p.name for p in folder.glob("*.md")} == set(pages)


@pytest.mark.parametrize("config", [None, ROOT / "tests" / "configs" / "maximal.toml"], ids=["default", "maximal"])
def test_docs_cluster_lists_what_the_plugins_need_from_the_cluster(config: Path | None) -> None:
    """docs/cluster.md names every k3s component and node package an installed plugin declares."""
    from ink import synth
    from ink.config import load_config

    docs = (ROOT / "docs" / "cluster.md").read_text()
    found = synth.plan(load_config(config), make_plugin_host(environ={})).cluster
    assert found, "no plugin declares cluster requirements: the k3s fragment test would prove nothing"
    for service, needs in found.items():
        for item in needs.k3s_disable:
            assert f"| `{item.component}` |" in docs and service in docs, (service, item)
        for package in needs.node_packages:
            assert f"`{package.debian}`" in docs and f"`{package.rhel}`" in docs, (service, package)


def test_every_setting_capability_and_field_is_documented() -> None:
    """The generated references (plugin pages, the site's settings and capability pages) say what each key means."""
    from pydantic import BaseModel

    from ink.docgen import description
    from ink.settings import InkSettings, PluginSettings

    host = make_plugin_host(environ={})
    undocumented = []
    for name, field in InkSettings.model_fields.items():
        if not description(InkSettings, name):
            undocumented.append(f"core setting {name}")
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            undocumented += [f"core setting {name}.{n}" for n in field.annotation.model_fields
                             if not description(field.annotation, n)]  # fmt: skip
    for plugin in host.names:
        model = host.call(plugin, "ink_service_info").settings_model or PluginSettings
        undocumented += [f"[plugins.{plugin}] {n}" for n in model.model_fields if not description(model, n)]
    for spec in host.capabilities.values():
        if not spec.description:
            undocumented.append(f"capability {spec.name} (CapabilitySpec.description)")
        for model in (spec.need, spec.binding):
            undocumented += [f"capability {spec.name}: {model.__name__}.{n}" for n in model.model_fields
                             if not description(model, n)]  # fmt: skip
    assert not undocumented, "no description (give the field Field(description=...)): " + ", ".join(undocumented)
