"""The generated reference pages: the settings page, the capability page, the plugin index and README links."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ink import docgen
from ink.capabilities import BUILTIN
from ink.models import ServiceInfo
from ink.plugins import make_plugin_host
from ink.settings import InkSettings, ServiceSettings


def test_the_settings_page_lists_every_core_setting_with_its_environment_variable() -> None:
    page = docgen.settings_page()
    for name, field in InkSettings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            assert f"## `[{name}]`" in page
            for nested in annotation.model_fields:
                assert f"| `{nested}` (`INK_{name.upper()}__{nested.upper()}`) |" in page, (name, nested)
        else:
            assert f"| `{name}` (`INK_{name.upper()}" in page, name
    assert "&lt;host&gt;.&lt;domain&gt;" in page, "a <placeholder> in a description is shown, not read as HTML"


def test_the_capability_page_shows_each_capability_its_hooks_and_fields() -> None:
    specs = {spec.name: spec for spec in BUILTIN}
    page = docgen.capabilities_page(specs, {"database": ["cloudnativepg"]})
    for spec in BUILTIN:
        assert f"## `{spec.name}`" in page
        assert f"`{spec.provide_hook}`, returning `{spec.binding.__name__}`" in page
        assert f"### Need: `{spec.need.__name__}`" in page
        for field in spec.need.model_fields:
            assert f"| `{field}` |" in page
    assert "| provided by | [cloudnativepg](../plugins/cloudnativepg.md) |" in page
    assert "| provided by | none installed |" in page  # s3: no provider named above
    assert "| `name` | string | required |" in page  # DatabaseClaim.name has no default


def test_a_setting_that_only_changes_its_default_keeps_the_base_meaning() -> None:
    class Settings(ServiceSettings):
        replicas: int = 3  # a new default, no description of its own

    class Described(ServiceSettings):
        replicas: int = Field(default=2, description="Pods of the web server.")

    assert docgen.description(Settings, "replicas") == ServiceSettings.model_fields["replicas"].description
    assert docgen.description(Described, "replicas") == "Pods of the web server."
    assert docgen.description(Settings, "nothing") == ""


def test_readme_links_point_at_the_pages_beside_the_plugin_page() -> None:
    info = ServiceInfo(name="demo", title="Demo", version="1.0", homepage="https://example.org")
    readme = (
        "# Demo\n\nSee [cluster](../../docs/cluster.md#k3s), [kasm](../../docs/plugins/kasm.md), "
        "[gitea](../gitea/README.md) and [upstream](https://example.org/README.md).\n"
    )
    page = docgen.plugin_page(info, "ink-plugin-demo", [], readme)
    assert "[cluster](../cluster.md#k3s)" in page
    assert "[kasm](kasm.md)" in page
    assert "[gitea](gitea.md)" in page
    assert "[upstream](https://example.org/README.md)" in page


def test_the_plugin_index_links_every_installed_plugin() -> None:
    host = make_plugin_host(environ={})
    pages = docgen.plugin_pages(host, {})
    index = pages["index.md"]
    assert index.startswith(docgen.HEADER)
    for name in host.names:
        assert f"| [{name}]({name}.md) |" in index
        assert f"{name}.md" in pages
