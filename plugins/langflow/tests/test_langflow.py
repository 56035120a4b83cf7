"""langflow: PostgreSQL, forward-auth with auto-login behind it, Ollama as a global variable through a link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_langflow import VERSION

BASE = ["langflow", "cloudnativepg", "sealed-secrets"]
PLATFORM = [*BASE, "traefik", "cert-manager", "authentik"]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("langflow-full"), plugins=[*PLATFORM, "ollama"])


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("langflow-alone"), plugins=BASE)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def container(result) -> dict:
    return objects(result)["langflow/deployment-langflow.yaml"]["spec"]["template"]["spec"]["containers"][0]


def env_of(result) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result).get("env", [])}


def edges(result) -> set[str]:
    return {f"{e.name}→{e.target}" for e in result.graph.edges if e.source == "langflow"}


def egress_namespaces(result) -> set[str]:
    policy = objects(result)["langflow/networkpolicy-allow-egress.yaml"]
    return {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [])
        if "kubernetes.io/metadata.name" in peer.get("namespaceSelector", {}).get("matchLabels", {})
    }


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "langflow"})
    assert host.names == ["langflow"]


def test_output_matches_the_reviewed_snapshot(full, snapshot) -> None:
    assert testing.snapshot_text(full, ["langflow"]) == snapshot


def test_output_validates(full, alone, ink_validator: ManifestValidator) -> None:
    for result in (full, alone):
        report = ink_validator.validate_all(testing.objects(result).items())
        assert report.problems == []
        assert report.skipped == {}


def test_the_pod_runs_hardened_as_the_charts_user_on_the_real_image(full) -> None:
    body = objects(full)["langflow/deployment-langflow.yaml"]
    assert body["spec"]["replicas"] == 1
    assert body["spec"]["strategy"] == {"type": "Recreate"}
    pod = body["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1000
    c = container(full)
    assert c["image"] == f"docker.io/langflowai/langflow:{VERSION}"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 7860, "scheme": "HTTP"}
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/app/langflow", "/tmp", "/app/data", "/app/flows"} <= mounts
    claim = objects(full)["langflow/persistentvolumeclaim-langflow-config.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_postgres_generated_keys_and_the_explicit_port(full) -> None:
    env = env_of(full)
    assert env["LANGFLOW_DATABASE_URL"] == {"secretKeyRef": {"name": "langflow-db", "key": "uri"}}
    # Set explicitly: the Service 'langflow' would otherwise inject LANGFLOW_PORT=tcp://... (langflow#4330).
    assert env["LANGFLOW_PORT"] == "7860"
    assert env["LANGFLOW_CONFIG_DIR"] == "/app/langflow"
    assert env["LANGFLOW_SECRET_KEY"] == {"secretKeyRef": {"name": "langflow-secret", "key": "LANGFLOW_SECRET_KEY"}}
    assert env["LANGFLOW_SUPERUSER"] == "admin"
    assert env["LANGFLOW_SUPERUSER_PASSWORD"] == {
        "secretKeyRef": {"name": "langflow-secret", "key": "LANGFLOW_SUPERUSER_PASSWORD"}
    }
    assert "cloudnativepg/database-postgres-ha-langflow.yaml" in full.files


def test_ollama_is_a_global_variable_with_its_in_cluster_url(full) -> None:
    env = env_of(full)
    assert env["OLLAMA_BASE_URL"] == "http://ollama.ollama.svc:11434"
    assert env["LANGFLOW_VARIABLES_TO_GET_FROM_ENVIRONMENT"] == "OLLAMA_BASE_URL"
    assert env["LANGFLOW_STORE_ENVIRONMENT_VARIABLES"] == "true"


def test_the_ollama_link_with_and_without_ollama(full, alone) -> None:
    assert "OLLAMA_BASE_URL" not in env_of(alone)
    assert "LANGFLOW_VARIABLES_TO_GET_FROM_ENVIRONMENT" not in env_of(alone)
    assert not any(e.startswith("link/") for e in edges(alone))
    assert egress_namespaces(alone) == {"cloudnativepg"}
    assert {e for e in edges(full) if e.startswith("link/")} == {"link/ollama→ollama"}
    # Ollama, plus the database; nothing else in the cluster (forward-auth is the ingress' call).
    assert egress_namespaces(full) == {"cloudnativepg", "ollama"}


def test_forward_auth_on_the_route_and_auto_login_behind_it(full) -> None:
    route = objects(full)["langflow/ingressroute-langflow.yaml"]
    app_rule = next(r for r in route["spec"]["routes"] if r["match"] == "Host(`langflow.example.com`)")
    assert app_rule["services"] == [{"name": "langflow", "port": 7860}]
    assert app_rule["middlewares"] == [{"name": "langflow-forward-auth"}]
    middleware = objects(full)["langflow/middleware-langflow-forward-auth.yaml"]
    assert middleware["spec"]["forwardAuth"]["address"].startswith("http://authentik-server.authentik.svc")
    assert env_of(full)["LANGFLOW_AUTO_LOGIN"] == "true"
    assert not any("auto_login is on" in w for w in full.warnings)


def test_without_forward_auth_langflow_asks_for_its_own_login(tmp_path: Path, alone) -> None:
    assert env_of(alone)["LANGFLOW_AUTO_LOGIN"] == "false"
    result = testing.synth(tmp_path, "[plugins.langflow]\nsso = false\n", plugins=PLATFORM)
    assert env_of(result)["LANGFLOW_AUTO_LOGIN"] == "false"
    route = objects(result)["langflow/ingressroute-langflow.yaml"]
    assert not any("middlewares" in r for r in route["spec"]["routes"])


def test_auto_login_forced_on_without_forward_auth_warns(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.langflow]\nauto_login = true\n", plugins=BASE)
    assert env_of(result)["LANGFLOW_AUTO_LOGIN"] == "true"
    assert any("auto_login is on without forward-auth" in w for w in result.warnings)


def test_the_config_folder_is_backed_up(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[*BASE, "velero", "minio"])
    pod = objects(result)["langflow/deployment-langflow.yaml"]["spec"]["template"]
    assert pod["metadata"]["annotations"]["backup.velero.io/backup-volumes"] == "config"


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = (
        '[plugins.langflow]\nhostname = "flows"\nsuperuser = "root"\nnew_user_is_active = true\n'
        'storage_size = "8Gi"\nauto_login = false\n'
    )
    result = testing.synth(tmp_path / "toml", config, plugins=PLATFORM)
    env = env_of(result)
    assert (env["LANGFLOW_SUPERUSER"], env["LANGFLOW_NEW_USER_IS_ACTIVE"]) == ("root", "true")
    assert env["LANGFLOW_AUTO_LOGIN"] == "false"
    assert "langflow/ingressroute-flows.yaml" in result.files
    claim = objects(result)["langflow/persistentvolumeclaim-langflow-config.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    monkeypatch.setenv("INK_PLUGINS__LANGFLOW__IMAGE_TAG", "1.12.4")
    result = testing.synth(tmp_path / "env", plugins=BASE)
    assert container(result)["image"] == "docker.io/langflowai/langflow:1.12.4"


def test_a_bad_superuser_name_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.langflow\.superuser"):
        testing.synth(tmp_path, '[plugins.langflow]\nsuperuser = "a b"\n', plugins=BASE)


def test_enabled_false_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.langflow]\nenabled = false\n", plugins=BASE)
    assert not any(path.startswith("langflow/") for path in result.files)


def test_the_embedded_default_links_ollama(tmp_path: Path) -> None:
    # Every installed plugin, nothing in ink.toml but the defaults: the AI stack of issue 14.
    result = testing.synth(tmp_path)
    assert env_of(result)["OLLAMA_BASE_URL"] == "http://ollama.ollama.svc:11434"
    assert env_of(result)["LANGFLOW_AUTO_LOGIN"] == "true"  # authentik is in the default: forward-auth
    assert "ollama" in egress_namespaces(result)


def test_with_a_metrics_provider_the_metrics_server_is_on_and_scraped(tmp_path: Path, alone) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=BASE, extra={"monitoring": monitoring})
    target = testing.assert_metrics_target_serves(result, "langflow")
    assert (target.port, target.path, target.scheme) == (9090, "/metrics", "http")
    env = env_of(result)
    assert (env["LANGFLOW_PROMETHEUS_ENABLED"], env["LANGFLOW_PROMETHEUS_PORT"]) == ("true", "9090")
    # The Service publishes the web port only, as without metrics.
    assert objects(result)["langflow/service-langflow.yaml"] == objects(alone)["langflow/service-langflow.yaml"]


def test_without_a_metrics_provider_the_metrics_server_stays_off(alone) -> None:
    assert testing.metrics_targets(alone, "langflow") == {}
    assert not any(name.startswith("LANGFLOW_PROMETHEUS") for name in env_of(alone))
    assert [p["containerPort"] for p in container(alone)["ports"]] == [7860]
