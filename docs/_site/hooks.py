"""MkDocs hooks for ink's site: the pages that come from the installed packages, written at build time.

- The Plugins section of the navigation lists every page in docs/plugins/ (``ink docs`` writes them).
- reference/settings.md and reference/capabilities.md come from core's settings model and the installed
  capabilities (ink.docgen), and assets/graph.svg is ``ink graph --format svg`` of the embedded default homelab,
  so none of them is committed and none can drift. The SVG needs Graphviz's ``dot``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files


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
    return files
