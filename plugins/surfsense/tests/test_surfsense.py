"""surfsense: every component, PostgreSQL with pgvector and logical replication, Redis, the links, forward-auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ink import hookimpl, kube, synth, testing
from ink.config import load_config
from ink.errors import ConfigError, ResolutionError
from ink.models import Endpoint, ResolvedSecret, SecretBinding, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_surfsense import VERSION, ZERO_VERSION

MINIMAL = ["surfsense", "cloudnativepg", "valkey", "sealed-secrets"]
FULL = [*MINIMAL, "searxng", "traefik", "cert-manager", "authentik", "velero", "minio"]


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


class Secrets(testing.StandIn):
    """A secrets provider that keeps the plaintext, so the tests can compare the generated keys."""

    def __init__(self) -> None:
        super().__init__("secrets", "secrets")
        self.values: dict[str, dict[str, str]] = {}

    @hookimpl
    def ink_provide_secret(self, secret: ResolvedSecret) -> SecretBinding:
        self.values[f"{secret.namespace}/{secret.name}"] = dict(secret.data)
        return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    """Every partner: database, Redis, SearXNG, Ollama (stand-in), ingress, forward-auth, TLS, backup."""
    return testing.synth(tmp_path_factory.mktemp("surfsense"), plugins=FULL, extra={"ollama": Ollama()})


@pytest.fixture(scope="module")
def minimal(tmp_path_factory: pytest.TempPathFactory):
    """Only what SurfSense cannot run without: PostgreSQL and Redis (no links, route, TLS or backup)."""
    return testing.synth(tmp_path_factory.mktemp("surfsense-minimal"), plugins=MINIMAL)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def pod(result, component: str) -> dict:
    kind = "job" if component == "migrate" else "deployment"
    found = [o for p, o in objects(result).items() if p.startswith(f"surfsense/{kind}-surfsense-{component}")]
    assert len(found) == 1, component
    return found[0]["spec"]["template"]["spec"]


def containers(result, component: str) -> dict[str, dict]:
    return {c["name"]: c for c in pod(result, component)["containers"]}


def env_of(container: dict) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "surfsense"})
    assert host.names == ["surfsense"]


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["surfsense"]) == snapshot


@pytest.mark.parametrize("fixture", ["default", "minimal"])
def test_output_validates(fixture: str, request: pytest.FixtureRequest, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(request.getfixturevalue(fixture)).items())
    assert report.problems == []
    assert report.skipped == {}


def test_without_a_database_provider_it_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"surfsense.*database"):
        testing.synth(tmp_path, plugins=["surfsense", "valkey", "sealed-secrets"])


def test_every_component_of_the_release_with_its_image(default) -> None:
    backend = f"ghcr.io/modsetter/surfsense-backend:{VERSION}"
    roles = {
        "migrate": {"migrate": backend},
        "backend": {"api": backend, "worker": backend},
        "beat": {"beat": backend},
        "zero": {"zero": f"docker.io/rocicorp/zero:{ZERO_VERSION}"},
        "web": {"web": f"ghcr.io/modsetter/surfsense-web:{VERSION}"},
    }
    for component, expected in roles.items():
        found = containers(default, component)
        assert {name: c["image"] for name, c in found.items()} == expected
        for name, c in found.items():
            if c["image"] == backend:
                assert env_of(c)["SERVICE_ROLE"] == name
    deployments = {p: o for p, o in objects(default).items() if p.startswith("surfsense/deployment-")}
    assert {o["metadata"]["name"]: o["spec"]["replicas"] for o in deployments.values()} == {
        "surfsense-backend": 1,
        "surfsense-beat": 1,
        "surfsense-zero": 1,
        "surfsense-web": 2,
        "surfsense-redis": 1,  # the valkey provider's, in this namespace
    }
    job = next(o for p, o in objects(default).items() if p.startswith("surfsense/job-surfsense-migrate"))
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    assert "surfsense/poddisruptionbudget-surfsense-web.yaml" in default.files


def test_probes_on_upstreams_health_routes(default) -> None:
    api = containers(default, "backend")["api"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"  # 200 once the migrations made the publication
    assert api["startupProbe"]["httpGet"]["path"] == "/health"
    assert api["startupProbe"]["periodSeconds"] * api["startupProbe"]["failureThreshold"] >= 200
    zero = containers(default, "zero")["zero"]
    assert zero["readinessProbe"]["httpGet"] == {"path": "/keepalive", "port": 4848, "scheme": "HTTP"}
    assert containers(default, "web")["web"]["readinessProbe"]["httpGet"]["port"] == 3000


def test_only_the_backend_image_runs_as_root_and_says_why(default) -> None:
    for component in ("migrate", "backend", "beat"):
        for c in containers(default, component).values():
            assert c["securityContext"]["runAsUser"] == 0 and c["securityContext"]["runAsNonRoot"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is False
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    for component, user in (("zero", 1000), ("web", 1001)):
        c = containers(default, component)[component]
        assert c["securityContext"]["runAsUser"] == user and c["securityContext"]["readOnlyRootFilesystem"] is True
    namespace = objects(default)["surfsense/namespace-surfsense.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    for component in ("migrate", "backend", "beat", "zero", "web"):
        for c in containers(default, component).values():
            assert c["resources"]["requests"]["memory"] and c["resources"]["limits"]["memory"]


def test_the_api_and_its_worker_share_the_files_in_one_pod(default) -> None:
    found = containers(default, "backend")
    for name in ("api", "worker"):
        mounts = {m["name"]: m["mountPath"] for m in found[name]["volumeMounts"]}
        assert mounts["files"] == "/app/.local_object_store" and mounts["shared-tmp"] == "/shared_tmp"
    volumes = {v["name"]: v for v in pod(default, "backend")["volumes"]}
    assert volumes["files"]["persistentVolumeClaim"]["claimName"] == "surfsense-backend-files"
    assert "emptyDir" in volumes["shared-tmp"]
    assert objects(default)["surfsense/deployment-surfsense-backend.yaml"]["spec"]["strategy"] == {"type": "Recreate"}


def test_the_database_claim_asks_for_pgvector_and_logical_replication(default) -> None:
    cluster = objects(default)["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["spec"]["postgresql"]["parameters"]["wal_level"] == "logical"
    role = next(r for r in cluster["spec"]["managed"]["roles"] if r["name"] == "surfsense")
    assert role["replication"] is True
    database = objects(default)["cloudnativepg/database-postgres-ha-surfsense.yaml"]
    assert database["spec"]["extensions"] == [{"name": "vector", "ensure": "present"}]


def test_the_database_urls_over_verified_tls(default) -> None:
    password = {"secretKeyRef": {"name": "surfsense-db", "key": "password"}}
    host = "postgres-ha-rw.cloudnativepg.svc:5432"
    api = env_of(containers(default, "backend")["api"])
    names = list(api)
    assert names.index("DB_PASSWORD") < names.index("DATABASE_URL")  # $(DB_PASSWORD) needs it defined first
    assert api["DB_PASSWORD"] == password
    assert api["DATABASE_URL"] == f"postgresql+asyncpg://surfsense:$(DB_PASSWORD)@{host}/surfsense"
    assert api["PGSSLMODE"] == "verify-full" and api["PGSSLROOTCERT"] == "/etc/ink/database-ca/ca.crt"
    zero = env_of(containers(default, "zero")["zero"])
    url = f"postgresql://surfsense:$(DB_PASSWORD)@{host}/surfsense?sslmode=verify-full"
    assert zero["ZERO_UPSTREAM_DB"] == zero["ZERO_CVR_DB"] == zero["ZERO_CHANGE_DB"] == url
    assert zero["NODE_EXTRA_CA_CERTS"] == "/etc/ink/database-ca/ca.crt"
    for component in ("migrate", "backend", "beat", "zero"):
        for c in containers(default, component).values():
            assert {"name": "database-ca", "mountPath": "/etc/ink/database-ca", "readOnly": True} in c["volumeMounts"]


def test_the_database_urls_without_tls(minimal) -> None:
    api = env_of(containers(minimal, "backend")["api"])
    assert "PGSSLMODE" not in api and "PGSSLROOTCERT" not in api
    zero = env_of(containers(minimal, "zero")["zero"])
    assert zero["ZERO_UPSTREAM_DB"].endswith("/surfsense?sslmode=disable")
    assert "NODE_EXTRA_CA_CERTS" not in zero


def test_celery_and_the_cache_use_the_redis_binding_plain(default) -> None:
    url = {"secretKeyRef": {"name": "surfsense-redis", "key": "url"}}
    for component in ("backend", "beat", "migrate"):
        for c in containers(default, component).values():
            env = env_of(c)
            assert env["CELERY_BROKER_URL"] == env["CELERY_RESULT_BACKEND"] == env["REDIS_APP_URL"] == url
    store = objects(default)["surfsense/deployment-surfsense-redis.yaml"]
    assert store["metadata"]["namespace"] == "surfsense"
    assert "surfsense/persistentvolumeclaim-surfsense-redis-data.yaml" in default.files


def test_each_link_is_the_partners_in_cluster_url(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=FULL, extra={"ollama": Ollama()})
    for component in ("backend", "beat", "migrate"):
        for c in containers(result, component).values():
            assert env_of(c)["SEARXNG_URL"] == "http://searxng.searxng.svc:8080"
    config = objects(result)["surfsense/configmap-surfsense-llm.yaml"]["data"]["global_llm_config.yaml"]
    (model,) = yaml.safe_load(config)["global_llm_configs"]
    assert model["provider"] == "ollama_chat"
    assert model["api_base"] == "http://ollama.ollama.svc:11434"
    assert model["model_name"] == "llama3.2:3b" and model["id"] == -1
    for name, c in containers(result, "backend").items():
        assert c["command"] == [
            "/bin/sh",
            "-c",
            "cp /etc/ink/surfsense-llm/global_llm_config.yaml /app/app/config/global_llm_config.yaml"
            " && exec /app/scripts/docker/entrypoint.sh",
        ], name
        assert {"name": "surfsense-llm", "mountPath": "/etc/ink/surfsense-llm", "readOnly": True} in c["volumeMounts"]


def test_without_partners_no_links_and_the_plain_entrypoint(minimal) -> None:
    for component in ("backend", "beat", "migrate"):
        for c in containers(minimal, component).values():
            assert "SEARXNG_URL" not in env_of(c)
            assert c["command"] == ["/bin/sh", "-c", "exec /app/scripts/docker/entrypoint.sh"]
    assert "surfsense/configmap-surfsense-llm.yaml" not in minimal.files
    assert not any(p.startswith("surfsense/ingressroute-") for p in minimal.files)


def test_one_origin_routed_as_upstreams_proxy_behind_forward_auth(default) -> None:
    route = objects(default)["surfsense/ingressroute-research.yaml"]
    rules = {r["match"]: r for r in route["spec"]["routes"]}
    host = "Host(`research.example.com`)"
    expected = {
        host: ("surfsense-web", 3000),
        f"{host} && PathPrefix(`/auth/callback`)": ("surfsense-web", 3000),
        f"{host} && PathPrefix(`/auth/`)": ("surfsense-backend", 8000),
        f"{host} && PathPrefix(`/users/`)": ("surfsense-backend", 8000),
        f"{host} && PathPrefix(`/api/v1/`)": ("surfsense-backend", 8000),
        f"{host} && Path(`/zero/context`)": ("surfsense-backend", 8000),
        f"{host} && PathPrefix(`/zero/`)": ("surfsense-zero", 4848),
    }
    for match, (service, port) in expected.items():
        assert rules[match]["services"] == [{"name": service, "port": port}], match
        assert rules[match]["middlewares"] == [{"name": "research-forward-auth"}], match
    middleware = objects(default)["surfsense/middleware-research-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"].startswith("http://authentik-server.authentik.svc")
    api = env_of(containers(default, "backend")["api"])
    assert api["NEXT_FRONTEND_URL"] == api["BACKEND_URL"] == "https://research.example.com"
    web = env_of(containers(default, "web")["web"])
    assert web["SURFSENSE_BACKEND_INTERNAL_URL"] == "http://surfsense-backend.surfsense.svc:8000"
    zero = env_of(containers(default, "zero")["zero"])
    assert zero["ZERO_QUERY_URL"] == "http://surfsense-web.surfsense.svc:3000/api/zero/query"


def test_without_an_auth_provider_the_route_is_open_with_a_warning(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[*MINIMAL, "traefik", "cert-manager"])
    route = objects(result)["surfsense/ingressroute-research.yaml"]
    assert not any("middlewares" in r for r in route["spec"]["routes"])
    assert any("no enabled plugin provides auth, so auth/research is left out" in w for w in result.warnings)


def test_generated_keys_are_shared_and_never_in_plain_text(tmp_path: Path) -> None:
    secrets = Secrets()
    chosen = [p for p in MINIMAL if p != "sealed-secrets"]
    result = testing.synth(tmp_path, plugins=chosen, extra={"secrets": secrets})
    keys = secrets.values["surfsense/surfsense-keys"]
    assert sorted(keys) == ["SECRET_KEY", "ZERO_ADMIN_PASSWORD", "ZERO_QUERY_API_KEY"]
    assert len(keys["SECRET_KEY"]) == 64 and keys["SECRET_KEY"].isalnum()
    text = testing.snapshot_text(result)
    assert not any(value in text for value in keys.values())
    # zero-cache and the frontend hold one query key.
    ref = {"secretKeyRef": {"name": "surfsense-keys", "key": "ZERO_QUERY_API_KEY"}}
    assert env_of(containers(result, "zero")["zero"])["ZERO_QUERY_API_KEY"] == ref
    assert env_of(containers(result, "web")["web"])["ZERO_QUERY_API_KEY"] == ref


def test_the_files_are_backed_up_and_the_replica_is_exempt(default) -> None:
    template = objects(default)["surfsense/deployment-surfsense-backend.yaml"]["spec"]["template"]
    assert template["metadata"]["annotations"]["backup.velero.io/backup-volumes"] == "files"
    replica = objects(default)["surfsense/persistentvolumeclaim-surfsense-zero-replica.yaml"]
    assert "rebuilt from the database" in replica["metadata"]["annotations"]["ink.homelab/backup-exempt"]


def test_the_graph_has_exactly_its_edges(tmp_path: Path) -> None:
    config = load_config(testing.prepare(tmp_path))
    graph = synth.plan(config, testing.host(FULL, {"ollama": Ollama()}))
    edges = {(e.target, e.kind, e.name, e.port) for e in graph.edges if e.source == "surfsense"}
    assert edges == {
        ("cloudnativepg", "need", "database/surfsense", None),
        ("valkey", "need", "redis/surfsense", None),
        ("searxng", "link", "link/search", 8080),
        ("ollama", "link", "link/ollama", 11434),
        ("traefik", "need", "ingress/research", None),
        ("authentik", "need", "auth/research", None),
        ("velero", "need", "backup/surfsense-backend-files", None),
        ("velero", "need", "backup/surfsense-redis-data", None),
        ("sealed-secrets", "need", "secrets/surfsense-keys", None),
    }


def test_the_network_policies_open_exactly_its_paths(default) -> None:
    def dialled(name: str) -> set[tuple[str, int]]:
        policy = objects(default)[f"surfsense/networkpolicy-{name}.yaml"]
        return {
            (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
            for rule in policy["spec"]["egress"]
            for peer in rule["to"]
            for port in rule["ports"]
        }

    egress = {p.removeprefix("surfsense/networkpolicy-").removesuffix(".yaml") for p in default.files}
    egress = {n for n in egress if n.startswith("allow-egress")}
    found = {n: dialled(n) for n in egress}
    everything = set().union(*found.values())
    assert everything == {("cloudnativepg", 5432), ("searxng", 8080), ("ollama", 11434)}
    internet = objects(default)["surfsense/networkpolicy-allow-internet-backend.yaml"]
    assert internet["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backend"


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = (
        '[plugins.surfsense]\nhostname = "surf"\nreplicas = 3\nstorage_size = "50Gi"\nregistration = false\n'
        'ollama_model = "qwen3:8b"\nsso = false\n'
    )
    result = testing.synth(tmp_path / "toml", config, plugins=FULL, extra={"ollama": Ollama()})
    assert "surfsense/ingressroute-surf.yaml" in result.files
    assert "surfsense/middleware-surf-forward-auth.yaml" not in result.files
    assert objects(result)["surfsense/deployment-surfsense-web.yaml"]["spec"]["replicas"] == 3
    claim = objects(result)["surfsense/persistentvolumeclaim-surfsense-backend-files.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert env_of(containers(result, "backend")["api"])["REGISTRATION_ENABLED"] == "FALSE"
    config_yaml = objects(result)["surfsense/configmap-surfsense-llm.yaml"]["data"]["global_llm_config.yaml"]
    assert yaml.safe_load(config_yaml)["global_llm_configs"][0]["model_name"] == "qwen3:8b"
    monkeypatch.setenv("INK_PLUGINS__SURFSENSE__IMAGE_TAG", "0.0.37")
    result = testing.synth(tmp_path / "env", plugins=MINIMAL)
    assert containers(result, "backend")["api"]["image"] == "ghcr.io/modsetter/surfsense-backend:0.0.37"
    assert containers(result, "web")["web"]["image"] == "ghcr.io/modsetter/surfsense-web:0.0.37"


def test_a_bad_model_name_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.surfsense\.ollama_model"):
        testing.synth(tmp_path, '[plugins.surfsense]\nollama_model = "llama 3"\n', plugins=MINIMAL)
