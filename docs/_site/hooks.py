"""MkDocs hooks for ink's site: the pages that come from the installed packages, written at build time.

- The Plugins section of the navigation lists every page in docs/plugins/ (``ink docs`` writes them).
- reference/settings.md and reference/capabilities.md come from core's settings model and the installed
  capabilities (ink.docgen), and assets/graph.svg is ``ink graph --format svg`` of the embedded default homelab,
  so none of them is committed and none can drift. The SVG needs Graphviz's ``dot``.
- Each plugin page gets the images and charts it deploys in the embedded default, from one synthesis
  (``ink images``' report and the chart Applications), so the versions shown are the pinned ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

_deployed: dict[str, list[str]] = {}
"""Plugin → the Markdown lines of its "Images and charts" section, filled by on_files."""


def _title(page: Path) -> str:
    """A plugin page's title without its name in brackets: "Vaultwarden (`vaultwarden`)" is "Vaultwarden"."""
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].split(" (`", 1)[0]
    return page.stem


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    pages = sorted(p for p in Path(config.docs_dir, "plugins").glob("*.md") if p.name != "index.md")
    for index, entry in enumerate(config.nav or []):
        if isinstance(entry, dict) and entry.get("Plugins") == "plugins/index.md":
            listed = [{_title(p): f"plugins/{p.name}"} for p in pages]
            config.nav[index] = {"Plugins": ["plugins/index.md", *listed]}
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    from ink import docgen, pictures, run
    from ink.plugins import make_plugin_host

    host = make_plugin_host(environ={})
    providers: dict[str, list[str]] = {}
    for name in host.names:
        for capability in host.call(name, "ink_service_info").provides:
            providers.setdefault(capability, []).append(name)
    generated: dict[str, Any] = {
        "reference/settings.md": docgen.settings_page(),
        "reference/capabilities.md": docgen.capabilities_page(host.capabilities, providers),
        "assets/graph.svg": pictures.svg(pictures.dot(pictures.rows(run.graph_report(None)))),
    }
    for path, content in generated.items():
        files.append(File.generated(config, path, content=content))
    _deployed.clear()
    _deployed.update(_images_and_charts(run.build(validate=False, host=host)))
    return files


def _images_and_charts(result: Any) -> dict[str, list[str]]:
    """Per service: a line per image (pinned reference) and per chart (repository, name, version)."""
    found: dict[str, list[str]] = {}
    for image, services in result.images.sorted():
        for service in services:
            found.setdefault(service, []).append(f"- image `{image.ref}`")
    for path, text in result.files.items():
        if "\nkind: Application\n" not in text or "chart:" not in text:
            continue
        spec = yaml.safe_load(text).get("spec", {})
        for source in spec.get("sources") or [spec.get("source") or {}]:
            if source.get("chart"):
                found.setdefault(path.split("/", 1)[0], []).append(
                    f"- chart `{source['chart']}` {source.get('targetRevision', '')} from `{source.get('repoURL', '')}`"
                )
    return {service: sorted(set(lines)) for service, lines in found.items()}


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """A plugin page's "Images and charts" section, before its settings."""
    parts = page.file.src_uri.split("/")
    if len(parts) != 2 or parts[0] != "plugins" or parts[1] == "index.md":
        return markdown
    name = parts[1].removesuffix(".md")
    lines = _deployed.get(name) or [
        "None in this plugin's folder of the embedded default homelab: the plugin is off there (enable it and run "
        "`ink images`), or what it deploys runs in its consumers' namespaces and is listed on their pages."
    ]
    section = "## Images and charts\n\nIn the embedded default homelab, pinned:\n\n" + "\n".join(lines) + "\n\n"
    head, marker, rest = markdown.partition("## Settings: ")
    return head + section + marker + rest if marker else markdown + "\n" + section
