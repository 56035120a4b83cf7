"""open-webui: PostgreSQL with pgvector, OIDC, the AI links (Ollama, Kokoro, Docling, SearXNG), replicas on Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import testing
from ink.errors import ConfigError, ResolutionError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_open_webui import VERSION

BASE = ["open-webui", "cloudnativepg", "sealed-secrets"]
PLATFORM = [*BASE, "traefik", "cert-manager", "authentik"]


AI = ["ollama", "kokoro", "docling"]
FULL = [*PLATFORM, "searxng", "valkey", *AI]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("owui-full"), plugins=FULL)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("owui-alone"), plugins=BASE)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def container(result) -> dict:
    return objects(result)["open-webui/deployment-open-webui.yaml"]["spec"]["template"]["spec"]["containers"][0]


def env_of(result) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result).get("env", [])}


def edges(result) -> set[str]:
    return {f"{e.name}→{e.target}" for e in result.graph.edges if e.source == "open-webui"}


def egress_namespaces(result) -> set[str]:
    policy = objects(result)["open-webui/networkpolicy-allow-egress.yaml"]
    found = set()
    for rule in policy["spec"].get("egress", []):
        for peer in rule.get("to", []):
            labels = peer.get("namespaceSelector", {}).get("matchLabels", {})
            if "kubernetes.io/metadata.name" in labels:
                found.add(labels["kubernetes.io/metadata.name"])
    return found


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "open-webui"})
    assert host.names == ["open-webui"]


def test_output_matches_the_reviewed_snapshot(full, snapshot) -> None:
    assert testing.snapshot_text(full, ["open-webui"]) == snapshot


def test_output_validates(full, alone, ink_validator: ManifestValidator) -> None:
    for result in (full, alone):
        report = ink_validator.validate_all(testing.objects(result).items())
        assert report.problems == []
        assert report.skipped == {}


def test_the_pod_runs_hardened_on_the_real_image_and_health_endpoint(full) -> None:
    pod = objects(full)["open-webui/deployment-open-webui.yaml"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    c = container(full)
    assert c["image"] == f"ghcr.io/open-webui/open-webui:v{VERSION}"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080, "scheme": "HTTP"}
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] == 600
    assert c["resources"]["limits"]["memory"] == "4Gi"
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/app/backend/data", "/tmp"} <= mounts
    claim = objects(full)["open-webui/persistentvolumeclaim-open-webui-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_postgres_with_pgvector_and_ink_toml_stays_authoritative(full) -> None:
    env = env_of(full)
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "open-webui-db", "key": "uri"}}
    assert env["VECTOR_DB"] == "pgvector"
    assert env["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert env["ENABLE_OAUTH_PERSISTENT_CONFIG"] == "False"
    assert env["WEBUI_SECRET_KEY"] == {"secretKeyRef": {"name": "open-webui-secret", "key": "WEBUI_SECRET_KEY"}}
    assert env["WEBUI_URL"] == "https://webui.example.com"
    database = objects(full)["cloudnativepg/database-postgres-ha-open-webui.yaml"]
    assert [e["name"] for e in database["spec"]["extensions"]] == ["vector"]


def test_every_ai_link_points_at_the_partners_in_cluster_url(full) -> None:
    env = env_of(full)
    assert env["ENABLE_OLLAMA_API"] == "True"
    assert env["OLLAMA_BASE_URL"] == "http://ollama.ollama.svc:11434"
    assert env["AUDIO_TTS_ENGINE"] == "openai"
    assert env["AUDIO_TTS_OPENAI_API_BASE_URL"] == "http://kokoro.kokoro.svc:8880/v1"
    assert env["AUDIO_TTS_OPENAI_API_KEY"] == "not-needed"
    assert (env["AUDIO_TTS_MODEL"], env["AUDIO_TTS_VOICE"]) == ("kokoro", "af_heart")
    assert env["CONTENT_EXTRACTION_ENGINE"] == "docling"
    assert env["DOCLING_SERVER_URL"] == "http://docling.docling.svc:5001"
    assert env["ENABLE_WEB_SEARCH"] == "True"
    assert env["WEB_SEARCH_ENGINE"] == "searxng"
    assert env["SEARXNG_QUERY_URL"] == "http://searxng.searxng.svc:8080/search"


def test_alone_it_synthesises_without_any_ai_feature(alone) -> None:
    env = env_of(alone)
    assert env["ENABLE_OLLAMA_API"] == "False"
    for name in ("OLLAMA_BASE_URL", "AUDIO_TTS_ENGINE", "CONTENT_EXTRACTION_ENGINE", "ENABLE_WEB_SEARCH", "REDIS_URL"):
        assert name not in env
    assert not any(name.startswith(("OAUTH_", "OPENID_", "ENABLE_OAUTH_SIGNUP")) for name in env)
    assert not any(e.startswith("link/") for e in edges(alone))
    assert egress_namespaces(alone) == {"cloudnativepg"}


@pytest.mark.parametrize(
    ("partner", "variable", "namespace"),
    [
        ("ollama", "OLLAMA_BASE_URL", "ollama"),
        ("kokoro", "AUDIO_TTS_OPENAI_API_BASE_URL", "kokoro"),
        ("docling", "DOCLING_SERVER_URL", "docling"),
    ],
)
def test_each_link_with_and_without_its_partner(tmp_path: Path, partner: str, variable: str, namespace: str) -> None:
    alone = testing.synth(tmp_path / "without", plugins=BASE)
    assert variable not in env_of(alone)
    assert namespace not in egress_namespaces(alone)
    result = testing.synth(tmp_path / "with", plugins=[*BASE, partner])
    assert env_of(result)[variable].startswith(f"http://{partner}.{partner}.svc:")
    # Exactly one new edge and one new egress namespace: the partner's.
    assert edges(result) - edges(alone) == {f"link/{'tts' if partner == 'kokoro' else partner}→{partner}"}
    assert egress_namespaces(result) - egress_namespaces(alone) == {namespace}


def test_web_search_with_and_without_searxng(tmp_path: Path) -> None:
    without = testing.synth(tmp_path / "without", plugins=BASE)
    with_search = testing.synth(tmp_path / "with", plugins=[*BASE, "searxng"])
    assert "SEARXNG_QUERY_URL" not in env_of(without)
    assert env_of(with_search)["SEARXNG_QUERY_URL"] == "http://searxng.searxng.svc:8080/search"
    assert edges(with_search) - edges(without) == {"link/search→searxng"}
    assert egress_namespaces(with_search) - egress_namespaces(without) == {"searxng"}
    off = testing.synth(tmp_path / "off", "[plugins.open-webui]\nweb_search = false\n", plugins=[*BASE, "searxng"])
    assert "ENABLE_WEB_SEARCH" not in env_of(off)
    assert "searxng" not in egress_namespaces(off)


def test_the_netpol_edges_of_the_full_stack_are_exactly_the_partners(full) -> None:
    assert {e for e in edges(full) if e.startswith("link/")} == {
        "link/ollama→ollama",
        "link/tts→kokoro",
        "link/docling→docling",
        "link/search→searxng",
    }
    assert {"ollama", "kokoro", "docling", "searxng", "cloudnativepg"} <= egress_namespaces(full)
    assert "valkey" not in egress_namespaces(full)  # one replica: no Redis


def test_oidc_on_both_sides(full) -> None:
    env = env_of(full)
    assert env["ENABLE_OAUTH_SIGNUP"] == "True"
    assert env["OAUTH_CLIENT_ID"] == "open-webui"
    assert env["OAUTH_CLIENT_SECRET"] == {"secretKeyRef": {"name": "open-webui-oidc", "key": "client-secret"}}
    assert env["OPENID_PROVIDER_URL"] == (
        "https://auth.example.com/application/o/open-webui/.well-known/openid-configuration"
    )
    assert env["OPENID_REDIRECT_URI"] == "https://webui.example.com/oauth/oidc/callback"
    assert env["ENABLE_LOGIN_FORM"] == "True"
    blueprint = "\n".join(text for path, text in full.files.items() if path.startswith("authentik/"))
    assert "https://webui.example.com/oauth/oidc/callback" in blueprint
    route = objects(full)["open-webui/ingressroute-webui.yaml"]
    assert not any("middlewares" in r for r in route["spec"]["routes"])  # native OIDC, no forward-auth


def test_sso_off_drops_the_client(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.open-webui]\nsso = false\n", plugins=PLATFORM)
    assert not any(name.startswith("OAUTH") for name in env_of(result))
    blueprint = "\n".join(text for path, text in result.files.items() if path.startswith("authentik/"))
    assert "webui.example.com/oauth/oidc/callback" not in blueprint


def test_replicas_share_redis_and_a_shared_volume(tmp_path: Path) -> None:
    config = '[plugins.open-webui]\nreplicas = 3\nstorage_access_mode = "ReadWriteMany"\n'
    result = testing.synth(tmp_path, config, plugins=[*BASE, "valkey"])
    body = objects(result)["open-webui/deployment-open-webui.yaml"]
    assert body["spec"]["replicas"] == 3
    assert "strategy" not in body["spec"]
    assert "podAntiAffinity" in body["spec"]["template"]["spec"]["affinity"]
    assert objects(result)["open-webui/poddisruptionbudget-open-webui.yaml"]["spec"]["maxUnavailable"] == 1
    env = env_of(result)
    url = {"secretKeyRef": {"name": "open-webui-redis", "key": "url_with_ca"}}
    assert env["REDIS_URL"] == env["WEBSOCKET_REDIS_URL"] == url
    assert env["WEBSOCKET_MANAGER"] == "redis"
    claim = objects(result)["open-webui/persistentvolumeclaim-open-webui-data.yaml"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_replicas_without_a_shared_volume_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.open-webui.*storage_access_mode = 'ReadWriteMany'"):
        testing.synth(tmp_path, "[plugins.open-webui]\nreplicas = 2\n", plugins=BASE)


def test_replicas_without_redis_names_the_missing_provider(tmp_path: Path) -> None:
    config = '[plugins.open-webui]\nreplicas = 2\nstorage_access_mode = "ReadWriteMany"\n'
    with pytest.raises(ResolutionError, match=r"redis"):
        testing.synth(tmp_path, config, plugins=BASE)


def test_the_data_volume_is_backed_up(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[*BASE, "velero", "minio"])
    pod = objects(result)["open-webui/deployment-open-webui.yaml"]["spec"]["template"]
    assert pod["metadata"]["annotations"]["backup.velero.io/backup-volumes"] == "data"


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = (
        '[plugins.open-webui]\nhostname = "chat"\nsignup = true\nsso_only = true\ntts_voice = "bf_emma"\n'
        'storage_size = "20Gi"\n'
    )
    result = testing.synth(tmp_path / "toml", config, plugins=[*PLATFORM, "kokoro"])
    env = env_of(result)
    assert env["WEBUI_URL"] == "https://chat.example.com"
    assert env["OPENID_REDIRECT_URI"] == "https://chat.example.com/oauth/oidc/callback"
    assert (env["ENABLE_SIGNUP"], env["ENABLE_LOGIN_FORM"], env["AUDIO_TTS_VOICE"]) == ("True", "False", "bf_emma")
    claim = objects(result)["open-webui/persistentvolumeclaim-open-webui-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    monkeypatch.setenv("INK_PLUGINS__OPEN_WEBUI__IMAGE_TAG", "v0.11.3")
    result = testing.synth(tmp_path / "env", plugins=BASE)
    assert container(result)["image"] == "ghcr.io/open-webui/open-webui:v0.11.3"


def test_env_may_not_override_the_wiring(tmp_path: Path) -> None:
    config = '[plugins.open-webui.env]\nENABLE_PERSISTENT_CONFIG = "True"\n'
    with pytest.raises(ConfigError, match=r"plugins\.open-webui\.env\.ENABLE_PERSISTENT_CONFIG"):
        testing.synth(tmp_path, config, plugins=BASE)


def test_enabled_false_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.open-webui]\nenabled = false\n", plugins=BASE)
    assert not any(path.startswith("open-webui/") for path in result.files)
    assert "cloudnativepg/database-postgres-ha-open-webui.yaml" not in result.files


def test_the_embedded_default_wires_every_installed_partner(tmp_path: Path) -> None:
    # Every installed plugin, nothing in ink.toml but the defaults: the AI stack of issue 14.
    result = testing.synth(tmp_path)
    env = env_of(result)
    assert env["OLLAMA_BASE_URL"] == "http://ollama.ollama.svc:11434"
    assert env["AUDIO_TTS_OPENAI_API_BASE_URL"] == "http://kokoro.kokoro.svc:8880/v1"
    assert env["DOCLING_SERVER_URL"] == "http://docling.docling.svc:5001"
    assert env["SEARXNG_QUERY_URL"] == "http://searxng.searxng.svc:8080/search"
    assert {"ollama", "kokoro", "docling", "searxng"} <= egress_namespaces(result)
