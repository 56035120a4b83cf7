"""perplexica: the slim image on SearXNG and Ollama through links, SQLite on one volume, forward-auth, backup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, kube, synth, testing
from ink.config import load_config
from ink.errors import ConfigError
from ink.models import Endpoint, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_perplexica import VERSION

ALONE = ["perplexica"]
FULL = ["perplexica", "searxng", "sealed-secrets", "traefik", "cert-manager", "authentik", "cloudnativepg"]
WITH_BACKUP = [*FULL, "velero", "minio"]


class Ollama:
    """A stand-in for ink-plugin-ollama with the endpoints of the AI link contract (api and openai on 11434)."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="ollama", title="Ollama", version="0.0.0", homepage="https://ollama.com")

    @hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(name="api", port=11434, kind="ollama"),
            Endpoint(name="openai", port=11434, path="/v1", kind="openai"),
        ]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        server = kube.Container(
            name="ollama", image="docker.io/ollama/ollama:0.0.0", ports=[kube.Port(name="http", number=11434)]
        )
        kube.Workloads(scope, "ollama", ctx=ctx, components=[kube.Component(name="ollama", containers=[server])])


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    """Every partner: SearXNG, Ollama (stand-in), ingress, forward-auth, backup."""
    return testing.synth(tmp_path_factory.mktemp("perplexica"), plugins=WITH_BACKUP, extra={"ollama": Ollama()})


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("perplexica-alone"), plugins=ALONE)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def pod(result) -> dict:
    return objects(result)["perplexica/deployment-perplexica.yaml"]["spec"]["template"]["spec"]


def env_of(result) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod(result)["containers"][0].get("env", [])}


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "perplexica"})
    assert host.names == ["perplexica"]


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["perplexica"]) == snapshot


@pytest.mark.parametrize("fixture", ["default", "alone"])
def test_output_validates(fixture: str, request: pytest.FixtureRequest, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(request.getfixturevalue(fixture)).items())
    assert report.problems == []
    assert report.skipped == {}


def test_the_slim_release_image_hardened_on_one_volume(default) -> None:
    deployment = objects(default)["perplexica/deployment-perplexica.yaml"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # SQLite on a ReadWriteOnce volume
    assert "perplexica/poddisruptionbudget-perplexica.yaml" not in default.files
    container = pod(default)["containers"][0]
    assert container["image"] == f"docker.io/itzcrazykns1337/perplexica:slim-v{VERSION}"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert pod(default)["securityContext"]["runAsUser"] == 1000
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/", "port": 3000, "scheme": "HTTP"}
    assert {m["mountPath"] for m in container["volumeMounts"]} == {
        "/home/perplexica/data",
        "/home/perplexica/.next/cache",
        "/tmp",
    }
    claim = objects(default)["perplexica/persistentvolumeclaim-perplexica-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert container["resources"]["limits"]["memory"] == "2Gi"


def test_each_link_is_the_partners_in_cluster_url(default) -> None:
    env = env_of(default)
    assert env["SEARXNG_API_URL"] == "http://searxng.searxng.svc:8080"
    assert env["OLLAMA_BASE_URL"] == "http://ollama.ollama.svc:11434"


def test_alone_it_has_no_links_route_or_backup(alone) -> None:
    assert env_of(alone) == {}
    assert sorted(p for p in alone.files if p.startswith("perplexica/") and "networkpolicy" not in p) == [
        "perplexica/deployment-perplexica.yaml",
        "perplexica/namespace-perplexica.yaml",
        "perplexica/persistentvolumeclaim-perplexica-data.yaml",
        "perplexica/service-perplexica.yaml",
    ]


def test_one_partner_without_the_other(tmp_path: Path) -> None:
    search_only = testing.synth(tmp_path / "search", plugins=["perplexica", "searxng", "sealed-secrets"])
    assert env_of(search_only) == {"SEARXNG_API_URL": "http://searxng.searxng.svc:8080"}
    ollama_only = testing.synth(tmp_path / "ollama", plugins=ALONE, extra={"ollama": Ollama()})
    assert env_of(ollama_only) == {"OLLAMA_BASE_URL": "http://ollama.ollama.svc:11434"}


def test_the_graph_has_exactly_its_edges(tmp_path: Path) -> None:
    config = load_config(testing.prepare(tmp_path))
    graph = synth.plan(config, testing.host(WITH_BACKUP, {"ollama": Ollama()}))
    edges = {(e.target, e.kind, e.name, e.port) for e in graph.edges if e.source == "perplexica"}
    assert edges == {
        ("searxng", "link", "link/search", 8080),
        ("ollama", "link", "link/ollama", 11434),
        ("traefik", "need", "ingress/perplexica", None),
        ("authentik", "need", "auth/perplexica", None),
        ("velero", "need", "backup/perplexica-data", None),
    }


def test_the_network_policy_opens_exactly_the_linked_ports(default, alone) -> None:
    def dialled(result) -> set[tuple[str, int]]:
        policy = objects(result).get("perplexica/networkpolicy-allow-egress.yaml")
        if policy is None:
            return set()
        return {
            (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
            for rule in policy["spec"]["egress"]
            for peer in rule["to"]
            for port in rule["ports"]
        }

    assert dialled(default) == {("searxng", 8080), ("ollama", 11434)}
    assert dialled(alone) == set()
    ingress = objects(default)["perplexica/networkpolicy-allow-ingress-perplexica.yaml"]["spec"]["ingress"]
    assert [(r["from"][0]["namespaceSelector"]["matchLabels"], r["ports"]) for r in ingress] == [
        ({"kubernetes.io/metadata.name": "traefik"}, [{"port": 3000, "protocol": "TCP"}])
    ]


def test_forward_auth_on_the_route(default) -> None:
    route = objects(default)["perplexica/ingressroute-perplexica.yaml"]
    rule = next(r for r in route["spec"]["routes"] if r["match"] == "Host(`perplexica.example.com`)")
    assert rule["services"] == [{"name": "perplexica", "port": 3000}]
    assert rule["middlewares"] == [{"name": "perplexica-forward-auth"}]
    middleware = objects(default)["perplexica/middleware-perplexica-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"].startswith("http://authentik-server.authentik.svc")


def test_without_an_auth_provider_the_route_is_open_with_a_warning(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["perplexica", "traefik", "cert-manager", "sealed-secrets"])
    route = objects(result)["perplexica/ingressroute-perplexica.yaml"]
    assert not any("middlewares" in r for r in route["spec"]["routes"])
    assert any("no enabled plugin provides auth, so auth/perplexica is left out" in w for w in result.warnings)


def test_the_data_volume_is_backed_up(default) -> None:
    annotations = objects(default)["perplexica/deployment-perplexica.yaml"]["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["backup.velero.io/backup-volumes"] == "data"


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.perplexica]\nhostname = "ask"\nstorage_size = "20Gi"\nsso = false\nbackup = false\n'
    result = testing.synth(tmp_path / "toml", config, plugins=WITH_BACKUP)
    assert "perplexica/ingressroute-ask.yaml" in result.files
    assert "perplexica/middleware-ask-forward-auth.yaml" not in result.files
    claim = objects(result)["perplexica/persistentvolumeclaim-perplexica-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "annotations" not in objects(result)["perplexica/deployment-perplexica.yaml"]["spec"]["template"]["metadata"]
    monkeypatch.setenv("INK_PLUGINS__PERPLEXICA__IMAGE_TAG", "slim-v1.12.0")
    result = testing.synth(tmp_path / "env", plugins=ALONE)
    assert pod(result)["containers"][0]["image"] == "docker.io/itzcrazykns1337/perplexica:slim-v1.12.0"


def test_a_second_replica_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.perplexica\.replicas.*less than or equal to 1"):
        testing.synth(tmp_path, "[plugins.perplexica]\nreplicas = 2\n", plugins=ALONE)


def test_a_variable_ink_sets_cannot_be_overridden_by_env(tmp_path: Path) -> None:
    config = '[plugins.perplexica.env]\nSEARXNG_API_URL = "http://elsewhere:8080"\n'
    with pytest.raises(ConfigError, match=r"plugins\.perplexica\.env\.SEARXNG_API_URL: ink sets"):
        testing.synth(tmp_path, config, plugins=["perplexica", "searxng", "sealed-secrets"])
