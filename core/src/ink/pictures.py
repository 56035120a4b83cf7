"""Pictures of the service graph for `ink graph --format`: Mermaid and DOT text, SVG through Graphviz.

The input is :func:`ink.run.graph_report`'s dict, so a picture shows exactly what ``ink graph --json`` lists.
Each edge gets a category from what it carries (a database, single sign-on, a route, S3, a link, metrics...),
which sets its colour and its label; with ``--policies`` the flows plugins declare (internet, the API server,
ingress from outside) are drawn too, to nodes outside the cluster.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from typing import Any

from ink.errors import ConfigError

# Capability (the first part of a need's key) → the category shown; anything else shows its own name.
CATEGORIES = {
    "database": "database",
    "auth": "sso",
    "ingress": "route",
    "s3": "s3",
    "tls": "certificate",
    "backup": "backup",
    "secrets": "secret",
    "metrics": "metrics",
}
# Colours from the Okabe-Ito palette (readable by colour-blind people); categories not listed are grey.
COLOURS = {
    "database": "#0072B2",
    "sso": "#D55E00",
    "route": "#009E73",
    "s3": "#E69F00",
    "link": "#CC79A7",
    "metrics": "#56B4E9",
    "network": "#000000",
}
GREY = "#999999"
FORMATS = ("mermaid", "dot", "svg")


def category(row: dict[str, Any]) -> str:
    """What an edge carries: 'link' for links, else its capability's category (database, sso, route, ...)."""
    if row["kind"] == "link":
        return "link"
    if row["kind"] == "network":
        return "network"
    capability = str(row["name"]).split("/", 1)[0]
    return CATEGORIES.get(capability, capability)


def rows(report: dict[str, Any], services: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The edges to draw (those touching ``services`` when any are given), and declared flows when the report
    has them (``--policies``), as rows of kind 'network'."""
    drawn = list(report["edges"])
    declared = [f for f in report.get("flows", []) if not f["edge"] and not f["why"].startswith("DNS")]
    seen: set[tuple[str, str, str]] = set()
    for flow in declared:
        row = _declared_row(flow)
        if (row["source"], row["target"], row["name"]) not in seen:  # one arrow per declaration, not per port
            seen.add((row["source"], row["target"], row["name"]))
            drawn.append(row)
    wanted = set(services)
    if wanted:
        drawn = [r for r in drawn if r["source"] in wanted or r["target"] in wanted]
    return drawn


def _declared_row(flow: dict[str, Any]) -> dict[str, Any]:
    """A declared flow between services, or to and from outside ('internet', 'api-server (10.0.0.0/8)')."""
    source = flow["source"].split("[")[0]
    target = re.sub(r" \(.*\)$", "", flow["target"].split("[")[0])
    return {"source": source, "target": target, "kind": "network", "name": flow["why"], "port": None}


def unknown_services(report: dict[str, Any], services: Iterable[str]) -> list[str]:
    known = {r["source"] for r in report["edges"]} | {r["target"] for r in report["edges"]}
    return sorted(set(services) - known)


def _label(row: dict[str, Any]) -> str:
    what = category(row)
    if row["kind"] == "link":
        return f"link {str(row['name']).removeprefix('link/')}" + (f" :{row['port']}" if row.get("port") else "")
    if row["kind"] == "network":
        return " ".join(str(row["name"]).split(": ", 1)[-1].split()[:6])
    ident = str(row["name"]).split("/", 1)[-1]
    return what if ident in (row["source"], what) else f"{what} {ident}"


def _node_id(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(drawn: list[dict[str, Any]]) -> str:
    """A Mermaid flowchart (left to right), one coloured arrow per edge."""
    lines = ["flowchart LR"]
    nodes = sorted({r["source"] for r in drawn} | {r["target"] for r in drawn})
    for node in nodes:
        lines.append(f'    {_node_id(node)}["{node}"]')
    styles = []
    for index, row in enumerate(drawn):
        arrow = "-.->" if row["kind"] == "network" else "-->"
        label = _label(row).replace('"', "'")
        lines.append(f'    {_node_id(row["source"])} {arrow}|"{label}"| {_node_id(row["target"])}')
        styles.append(f"    linkStyle {index} stroke:{COLOURS.get(category(row), GREY)}")
    return "\n".join([*lines, *styles]) + "\n"


def dot(drawn: list[dict[str, Any]]) -> str:
    """A Graphviz digraph (left to right), one coloured arrow per edge, and a legend of the categories."""
    lines = [
        "digraph ink {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in sorted({r["source"] for r in drawn} | {r["target"] for r in drawn}):
        lines.append(f"  {_quote(node)};")
    for row in drawn:
        colour = COLOURS.get(category(row), GREY)
        style = ', style="dashed"' if row["kind"] == "network" else ""
        lines.append(
            f"  {_quote(row['source'])} -> {_quote(row['target'])} "
            f'[label={_quote(_label(row))}, color="{colour}", fontcolor="{colour}"{style}];'
        )
    used = sorted({category(r) for r in drawn})
    if used:
        lines.append('  subgraph cluster_legend { label="edges"; fontsize=10; style="dotted";')
        for name in used:
            colour = COLOURS.get(name, GREY)
            lines.append(
                f'    {_quote("legend " + name)} [label={_quote(name)}, shape=plaintext, fontcolor="{colour}"];'
            )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(dot_text: str) -> str:
    """The DOT text laid out by Graphviz's ``dot``; a clear error when Graphviz is not installed."""
    binary = shutil.which("dot")
    if binary is None:
        raise ConfigError(
            "ink graph --format svg: Graphviz's `dot` is not installed; install it (Debian/Ubuntu: apt install "
            "graphviz, Fedora: dnf install graphviz, macOS: brew install graphviz) or use --format dot or mermaid"
        )
    done = subprocess.run([binary, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot -Tsvg failed: {done.stderr.strip()}")
    return done.stdout


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
