"""Issue 14's AI stack in the embedded default: every consumer reaches every AI service by its in-cluster name.

Nothing is typed but the defaults: Open WebUI, Langflow, SurfSense and Perplexica find Ollama, Kokoro,
docling-serve and SearXNG through their optional links (by endpoint kind), and the NetworkPolicies open
exactly those paths, on the servers' container ports.
"""

from __future__ import annotations

from typing import Any

import pytest

from ink import testing
from ink.run import SynthResult

OLLAMA = "http://ollama.ollama.svc:11434"
KOKORO = "http://kokoro.kokoro.svc:8880/v1"
DOCLING = "http://docling.docling.svc:5001"
SEARXNG = "http://searxng.searxng.svc:8080"

# consumer → {link name → (provider, the provider's container port)}
LINKS = {
    "open-webui": {
        "link/ollama": ("ollama", 11434),
        "link/tts": ("kokoro", 8880),
        "link/docling": ("docling", 5001),
        "link/search": ("searxng", 8080),
    },
    "langflow": {"link/ollama": ("ollama", 11434)},
    "surfsense": {"link/ollama": ("ollama", 11434), "link/search": ("searxng", 8080)},
    "perplexica": {"link/ollama": ("ollama", 11434), "link/search": ("searxng", 8080)},
}


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return testing.synth(tmp_path_factory.mktemp("ai-stack"))


def env(objects: dict[str, dict[str, Any]], service: str) -> dict[str, Any]:
    """Every environment variable of every container of the service's workloads (name → value or ref)."""
    found: dict[str, Any] = {}
    for path, body in objects.items():
        if not path.startswith(f"{service}/"):
            continue
        template = body.get("spec", {}).get("template", {}).get("spec", {})
        for container in [*template.get("containers", []), *template.get("initContainers", [])]:
            for entry in container.get("env", []):
                found[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return found


def configuration_text(objects: dict[str, dict[str, Any]], service: str) -> str:
    """The service's ConfigMaps' data, for configuration files rendered from the links."""
    return "\n".join(
        str(value)
        for path, body in sorted(objects.items())
        if path.startswith(f"{service}/") and body.get("kind") == "ConfigMap"
        for value in (body.get("data") or {}).values()
    )


def test_every_consumer_gets_the_in_cluster_urls(default) -> None:
    objects = testing.objects(default)
    webui = env(objects, "open-webui")
    assert webui["OLLAMA_BASE_URL"] == OLLAMA
    assert webui["AUDIO_TTS_OPENAI_API_BASE_URL"] == KOKORO
    assert webui["DOCLING_SERVER_URL"] == DOCLING
    assert webui["SEARXNG_QUERY_URL"] == f"{SEARXNG}/search"
    assert env(objects, "langflow")["OLLAMA_BASE_URL"] == OLLAMA
    perplexica = env(objects, "perplexica")
    assert perplexica["OLLAMA_BASE_URL"] == OLLAMA
    assert perplexica["SEARXNG_API_URL"] == SEARXNG
    assert env(objects, "surfsense")["SEARXNG_URL"] == SEARXNG
    # SurfSense has no variable for a model server: its LLM configuration file names Ollama.
    assert f'api_base: "{OLLAMA}"' in configuration_text(objects, "surfsense")


def test_each_link_is_an_edge_and_opens_exactly_its_port(default) -> None:
    assert default.graph is not None and default.network is not None
    edges = {(e.source, e.name): e.target for e in default.graph.edges if e.name.startswith("link/")}
    for consumer, links in LINKS.items():
        for name, (provider, port) in links.items():
            assert edges.get((consumer, name)) == provider, f"{consumer} {name} → {edges.get((consumer, name))}"
            flows = [f for f in default.network.flows if f.edge == f"{consumer}→{provider}:{name}"]
            assert flows, f"no flow behind {consumer} → {provider}"
            for flow in flows:
                assert (flow.source.namespace, flow.target.namespace) == (consumer, provider)
                assert [p.port for p in flow.ports] == [port]
    # Nothing else links to the model servers.
    dialled = {(e.source, e.target) for e in default.graph.edges if e.target in {"ollama", "kokoro", "docling"}}
    expected = {(c, p) for c, links in LINKS.items() for p, _ in links.values() if p != "searxng"}
    assert dialled == expected
