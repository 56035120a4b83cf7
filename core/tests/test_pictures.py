"""`ink graph --format`: the graph as Mermaid, DOT and SVG, filtered by service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ink import pictures, testing
from ink.cli import main

REPORT = {
    "edges": [
        {"source": "notes", "target": "postgres", "kind": "need", "name": "database/notes", "port": None},
        {"source": "notes", "target": "sso", "kind": "need", "name": "auth/notes", "port": None},
        {"source": "notes", "target": "traefik", "kind": "need", "name": "ingress/notes", "port": None},
        {"source": "notes", "target": "ollama", "kind": "link", "name": "link/llm", "port": 11434},
        {"source": "traefik", "target": "prometheus", "kind": "need", "name": "metrics/metrics", "port": None},
    ],
    "flows": [
        {"source": "notes", "target": "kube-dns", "why": "DNS (kube-dns)", "edge": "", "ports": ["53/UDP"]},
        {"source": "notes", "target": "internet", "why": "notes: fetch feeds", "edge": "", "ports": ["443/TCP"]},
        {"source": "notes", "target": "internet", "why": "notes: fetch feeds", "edge": "", "ports": ["80/TCP"]},
        {"source": "notes", "target": "postgres[app=db]", "why": "notes → postgres", "edge": "x", "ports": []},
    ],
}


def test_edges_are_drawn_by_category_with_declared_flows_once() -> None:
    drawn = pictures.rows(REPORT)
    assert [pictures.category(r) for r in drawn] == ["database", "sso", "route", "link", "metrics", "network"]
    text = pictures.mermaid(drawn)
    assert text.splitlines()[0] == "flowchart LR"
    assert 'n_notes -->|"database"| n_postgres' in text
    assert 'n_notes -->|"link llm :11434"| n_ollama' in text
    assert 'n_notes -.->|"fetch feeds"| n_internet' in text  # declared, drawn once for both ports
    assert "linkStyle 0 stroke:#0072B2" in text and text.count("linkStyle") == len(drawn)


def test_a_service_filter_keeps_only_its_edges() -> None:
    drawn = pictures.rows(REPORT, ["traefik"])
    assert [(r["source"], r["target"]) for r in drawn] == [("notes", "traefik"), ("traefik", "prometheus")]
    assert pictures.unknown_services(REPORT, ["traefik", "nope"]) == ["nope"]


def test_dot_quotes_names_and_has_a_legend() -> None:
    text = pictures.dot(pictures.rows(REPORT))
    assert text.startswith("digraph ink {") and text.rstrip().endswith("}")
    assert '"notes" -> "postgres" [label="database", color="#0072B2", fontcolor="#0072B2"];' in text
    assert 'style="dashed"' in text  # the declared internet flow
    assert '"legend metrics" [label="metrics"' in text


def test_svg_is_rendered_by_graphviz() -> None:
    if shutil.which("dot") is None:  # never skipped: .ci/run installs it, the README's set-up names it
        pytest.fail("Graphviz's dot is needed for this test: apt install graphviz (or dnf/brew install graphviz)")
    svg = pictures.svg(pictures.dot(pictures.rows(REPORT)))
    assert "<svg" in svg and ">notes<" in svg


def test_without_graphviz_svg_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    config = testing.prepare(tmp_path, "")
    result = CliRunner().invoke(main, ["graph", "--format", "svg", "--config", str(config)])
    assert result.exit_code == 2
    assert "Graphviz's `dot` is not installed; install it" in result.stderr


def test_ink_graph_draws_the_default_homelab_and_filters_json(tmp_path: Path) -> None:
    config = testing.prepare(tmp_path, "")
    drawn = CliRunner().invoke(main, ["graph", "--format", "mermaid", "--config", str(config)])
    assert drawn.exit_code == 0, drawn.output
    assert 'n_vaultwarden -->|"database"| n_cloudnativepg' in drawn.stdout
    filtered = CliRunner().invoke(main, ["graph", "--json", "--service", "vaultwarden", "--config", str(config)])
    edges = json.loads(filtered.stdout)["edges"]
    assert edges and all("vaultwarden" in (e["source"], e["target"]) for e in edges)
    unknown = CliRunner().invoke(main, ["graph", "--service", "nope", "--config", str(config)])
    assert unknown.exit_code == 2 and "--service nope: no edge has that service" in unknown.stderr
