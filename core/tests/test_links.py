"""Links between services: endpoints served, links declared, bindings with URLs, graph edges."""

from __future__ import annotations

from pathlib import Path

import pytest

import ink
from ink import testing
from ink.capabilities import SECRETS
from ink.errors import PluginError, ResolutionError
from ink.models import Capability, Endpoint, GeneratedSecret, Link, Route, ServiceInfo

API_KEY = GeneratedSecret(id="kokoro/api-key")


def _info(name: str) -> ServiceInfo:
    return ServiceInfo(name=name, title=name, version="1.0.0", homepage="https://example.org")


class Ollama:
    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("ollama")

    @ink.hookimpl
    def ink_ingress_routes(self) -> list[Route]:
        return [Route(host="ollama", service="ollama", port=11434)]

    @ink.hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [Endpoint(name="api", port=11434, kind="ollama-api", route="ollama")]

    @ink.hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        clients = {link.owner: binding.url for link, binding in ctx.linked_by}
        kube.api_object(
            scope,
            "clients",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "clients"}, "data": clients},
        )


class Tts:
    """Serves an OpenAI-compatible TTS endpoint that needs an API key."""

    def __init__(self, name: str = "kokoro") -> None:
        self.name = name

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info(self.name)

    @ink.hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [Endpoint(name="tts", port=8880, path="/v1", kind="openai-tts", credentials={"api-key": API_KEY})]


class WebUi:
    def __init__(self, *links: Link) -> None:
        self.links = list(links)

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("webui")

    @ink.hookimpl
    def ink_links(self) -> list[Link]:
        return self.links

    @ink.hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        data = {}
        for link in self.links:
            binding = ctx.link(link.name)
            if binding is not None:
                data[link.name] = binding.url
                data[f"{link.name}-public"] = binding.public_url
                data.update({f"{link.name}-{k}": f"{r.name}/{r.key}" for k, r in binding.credentials.items()})
        kube.api_object(
            scope, "wiring", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "wiring"}, "data": data}
        )


LLM = Link(name="llm", service="ollama")
TTS = Link(name="tts", kind="openai-tts")
STAND_INS = {
    "ingress": testing.StandIn("ingress", Capability.INGRESS),
    "secrets": testing.StandIn("secrets", SECRETS),
}


def synth(tmp_path: Path, **extra: object):  # type: ignore[no-untyped-def]
    return testing.synth(tmp_path, plugins=[], extra={**STAND_INS, **extra}, validate=False)


def graph(tmp_path: Path, **extra: object):  # type: ignore[no-untyped-def]
    from ink import synth as synth_mod
    from ink.config import load_config

    config = load_config(testing.prepare(tmp_path / "graph"))
    return synth_mod.plan(config, testing.host([], {**STAND_INS, **extra}))


def test_links_resolve_to_in_cluster_and_public_urls_and_credentials(tmp_path: Path) -> None:
    result = synth(tmp_path, ollama=Ollama(), kokoro=Tts(), webui=WebUi(LLM, TTS))
    objects = testing.objects(result)
    assert objects["webui/configmap-wiring.yaml"]["data"] == {
        "llm": "http://ollama.ollama.svc:11434",
        "llm-public": "https://ollama.example.com",  # the target's route
        "tts": "http://kokoro.kokoro.svc:8880/v1",  # by kind: whoever serves openai-tts
        "tts-public": "",  # no route
        "tts-api-key": "webui-link-tts/api-key",  # a Secret in the consumer's namespace
    }
    # The target sees who links to it (to accept their keys, or open a NetworkPolicy).
    assert objects["ollama/configmap-clients.yaml"]["data"] == {"webui": "http://ollama.ollama.svc:11434"}
    assert "kokoro/api-key" in result.generated
    assert result.generated["kokoro/api-key"] == ["webui/webui-link-tts:api-key"]


def test_links_are_graph_edges_and_order_the_waves(tmp_path: Path) -> None:
    resolved = graph(tmp_path, ollama=Ollama(), kokoro=Tts(), webui=WebUi(LLM, TTS))
    links = {(e.source, e.target, e.name, e.port) for e in resolved.edges_by_kind()["link"]}
    assert ("ollama", "ingress", "ingress/ollama") in {
        (e.source, e.target, e.name) for e in resolved.edges_by_kind()["need"]
    }
    assert links == {("webui", "ollama", "link/llm", 11434), ("webui", "kokoro", "link/tts", 8880)}
    waves = resolved.waves()
    assert waves["webui"] > waves["ollama"] and waves["webui"] > waves["kokoro"]


def test_a_missing_required_link_names_both_ends(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"webui links to ollama \(link/llm\), but ollama is not enabled"):
        synth(tmp_path, webui=WebUi(LLM))
    with pytest.raises(ResolutionError, match=r"webui links to any service serving 'openai-tts' \(link/tts\)"):
        synth(tmp_path, webui=WebUi(TTS))


def test_a_missing_required_link_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from ink import run
    from ink.cli import main

    testing.prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "make_plugin_host", lambda **_: testing.host([], {**STAND_INS, "webui": WebUi(LLM)}))
    result = CliRunner().invoke(main, ["synth"])
    assert result.exit_code == 2, result.output
    assert "webui links to ollama" in result.output
    assert not (tmp_path / "dist").exists()


def test_a_missing_optional_link_is_dropped_without_a_warning(tmp_path: Path) -> None:
    result = synth(tmp_path, webui=WebUi(LLM.model_copy(update={"optional": True})))
    assert testing.objects(result)["webui/configmap-wiring.yaml"].get("data") in (None, {})
    assert not any("link" in w or "ollama" in w for w in result.warnings)


def test_two_services_of_one_kind_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"several enabled services serve one .*kokoro/tts, speaches/tts"):
        synth(tmp_path, kokoro=Tts(), speaches=Tts("speaches"), webui=WebUi(TTS))


def test_a_kind_link_never_reaches_the_consumer_itself(tmp_path: Path) -> None:
    class SelfServing(WebUi, Tts):
        def __init__(self) -> None:
            WebUi.__init__(self, TTS.model_copy(update={"optional": True}))
            self.name = "webui"

    resolved = graph(tmp_path, webui=SelfServing())
    assert resolved.links == []


@pytest.mark.parametrize(
    ("links", "problem"),
    [
        ([LLM, LLM], "declares link/llm twice"),
        ([Link(name="x", service="ollama", owner="someone")], "names owner 'someone'"),
    ],
)
def test_bad_link_declarations_are_the_consumers_bug(tmp_path: Path, links: list[Link], problem: str) -> None:
    with pytest.raises(PluginError, match=problem):
        synth(tmp_path, ollama=Ollama(), webui=WebUi(*links))


def test_a_link_names_its_target() -> None:
    with pytest.raises(ValueError, match="a link names its target"):
        Link(name="x")


def test_a_link_to_an_endpoint_the_target_does_not_serve(tmp_path: Path) -> None:
    with pytest.raises(
        ResolutionError, match=r"webui links to ollama \(endpoint grpc\) .* ollama serves no endpoint 'grpc'"
    ):
        synth(tmp_path, ollama=Ollama(), webui=WebUi(Link(name="llm", service="ollama", endpoint="grpc")))


def test_a_link_to_a_service_with_several_endpoints_must_name_one(tmp_path: Path) -> None:
    class TwoPorts(Ollama):
        @ink.hookimpl
        def ink_endpoints(self) -> list[Endpoint]:
            return [Endpoint(name="api", port=11434), Endpoint(name="metrics", port=9090)]

    with pytest.raises(PluginError, match=r"several matching endpoints \(api, metrics\): name one"):
        synth(tmp_path, ollama=TwoPorts(), webui=WebUi(LLM))
    resolved = graph(tmp_path, ollama=TwoPorts(), webui=WebUi(LLM.model_copy(update={"endpoint": "metrics"})))
    assert [(r.service, r.endpoint.port) for r in resolved.links] == [("ollama", 9090)]


def test_a_link_whose_credentials_secret_name_would_be_too_long(tmp_path: Path) -> None:
    long = Link(name="a" * 60, kind="openai-tts")  # webui-link-aaa… exceeds 63 characters
    with pytest.raises(PluginError, match="is too long; shorten it"):
        synth(tmp_path, kokoro=Tts(), webui=WebUi(long))


def test_a_link_only_browsers_follow_opens_no_network_path(tmp_path: Path) -> None:
    from ink import netpol

    dialled = synth(tmp_path / "dialled", ollama=Ollama(), webui=WebUi(LLM))
    public = synth(tmp_path / "public", ollama=Ollama(), webui=WebUi(Link(name="llm", service="ollama", dialled=False)))
    # NetworkPolicies open a path to every address a binding holds (ink.netpol): the public link holds none.
    assert netpol.addresses(dialled.graph.services["webui"].bindings["link/llm"]) == [
        ("host", "ollama.ollama.svc", 11434),
        ("url", "ollama.ollama.svc", 11434),
    ]
    assert netpol.addresses(public.graph.services["webui"].bindings["link/llm"]) == []
    # The binding still says where the browsers go, and the edge still orders the waves.
    data = testing.objects(public)["webui/configmap-wiring.yaml"]["data"]
    assert data["llm-public"] == "https://ollama.example.com"
    assert any((e.source, e.target, e.name) == ("webui", "ollama", "link/llm") for e in public.graph.edges)
