"""Coder: discovery, the reviewed output, its wiring (database, SSO, Gitea, RBAC, metrics) and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

NAME = "coder"
ALONE = ["coder", "cloudnativepg", "sealed-secrets"]
PLATFORM = [*ALONE, "traefik", "cert-manager", "authentik"]
WITH_GITEA = [*PLATFORM, "gitea"]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("coder"), plugins=PLATFORM)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("coder-alone"), plugins=ALONE)


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("coder-gitea"), plugins=WITH_GITEA)


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def deployment(result) -> dict:
    return objects(result)["coder/deployment-coder.yaml"]


def env_of(result) -> dict:
    container = deployment(result)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def ref(name: str, key: str) -> dict:
    return {"secretKeyRef": {"name": name, "key": key}}


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert NAME in host.names
    assert host.dists[NAME].distribution == "ink-plugin-coder"


def test_output_matches_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together, [NAME]) == snapshot


def test_output_validates(default, together, alone, ink_validator: ManifestValidator) -> None:
    for result in (default, together, alone):
        mine = {p: o for p, o in objects(result).items() if p.startswith("coder/")}
        report = ink_validator.validate_all(mine.items())
        assert report.problems == []
        assert report.skipped == {}


def test_upstream_facts(default) -> None:
    pod = deployment(default)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/coder/coder:v2.36.0"
    assert (container["command"], container["args"]) == (["/opt/coder"], ["server"])
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "metrics": 2112}
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080, "scheme": "HTTP"}
    assert pod["securityContext"]["runAsUser"] == 1000
    env = env_of(default)
    assert env["CODER_HTTP_ADDRESS"] == "0.0.0.0:8080"
    assert env["CODER_ACCESS_URL"] == "https://coder.example.com"
    assert env["CODER_PROMETHEUS_ENABLE"] == "true"
    assert env["CODER_PROMETHEUS_ADDRESS"] == "0.0.0.0:2112"
    service = objects(default)["coder/service-coder.yaml"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    assert "coder/service-coder-metrics.yaml" not in objects(default)  # scraped from the pods (PodMonitor)


def test_database_url_from_the_binding_with_its_ca(default) -> None:
    assert env_of(default)["CODER_PG_CONNECTION_URL"] == ref("coder-db", "uri")
    pod = deployment(default)["spec"]["template"]["spec"]
    assert "database-ca" in {v["name"] for v in pod["volumes"]}
    assert objects(default)["cloudnativepg/database-postgres-ha-coder.yaml"]["spec"]["owner"] == "coder"


def test_oidc_wired_on_both_sides(default) -> None:
    env = env_of(default)
    assert env["CODER_OIDC_ISSUER_URL"] == "https://auth.example.com/application/o/coder/"
    assert env["CODER_OIDC_CLIENT_ID"] == "coder"
    assert env["CODER_OIDC_CLIENT_SECRET"] == ref("coder-oidc", "client-secret")
    assert env["CODER_OIDC_ALLOW_SIGNUPS"] == "true"
    assert "CODER_OIDC_EMAIL_DOMAIN" not in env  # any user of the SSO provider
    blueprint = objects(default)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    text = next(iter(blueprint.values()))
    assert "https://coder.example.com/api/v2/users/oidc/callback" in text
    assert "client_id: coder" in text


def test_without_gitea_no_external_auth(default) -> None:
    assert not [k for k in env_of(default) if k.startswith("CODER_EXTERNAL_AUTH_")]


def test_gitea_is_the_external_git_auth(together) -> None:
    env = env_of(together)
    assert env["CODER_EXTERNAL_AUTH_0_ID"] == "primary"
    assert env["CODER_EXTERNAL_AUTH_0_TYPE"] == "gitea"
    assert env["CODER_EXTERNAL_AUTH_0_CLIENT_ID"] == ref("coder-link-gitea", "coder-client-id")
    assert env["CODER_EXTERNAL_AUTH_0_CLIENT_SECRET"] == ref("coder-link-gitea", "coder-client-secret")
    assert env["CODER_EXTERNAL_AUTH_0_AUTH_URL"] == "https://git.example.com/login/oauth/authorize"
    assert env["CODER_EXTERNAL_AUTH_0_TOKEN_URL"] == "http://gitea.gitea.svc:3000/login/oauth/access_token"
    assert env["CODER_EXTERNAL_AUTH_0_VALIDATE_URL"] == "http://gitea.gitea.svc:3000/login/oauth/userinfo"
    assert env["CODER_EXTERNAL_AUTH_0_REGEX"] == r"^(https?://)?git\.example\.com(/.*)?$"
    # The credentials are Gitea's: one sealed Secret in Coder's namespace holds the same generated values,
    # and Gitea's setup Job registers them with Coder's callback.
    sealed = objects(together)["coder/sealedsecret-coder-link-gitea.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"coder-client-id", "coder-client-secret"}
    job = next(o for p, o in objects(together).items() if p.startswith("gitea/job-gitea-setup-"))
    (app,) = [c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "coder-app"]
    redirect = next(e["value"] for e in app["env"] if e["name"] == "REDIRECT_URIS")
    assert redirect == '["https://coder.example.com/external-auth/primary/callback"]'


def test_gitea_off_by_setting(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.coder]\ngitea = false\n", plugins=WITH_GITEA)
    assert not [k for k in env_of(result) if k.startswith("CODER_EXTERNAL_AUTH_")]
    job = next((o for p, o in objects(result).items() if p.startswith("gitea/job-gitea-setup-")), None)
    assert job is not None
    assert "coder-app" not in {c["name"] for c in job["spec"]["template"]["spec"]["containers"]}


def test_workspace_rbac_is_namespaced_and_least_privilege(default) -> None:
    role = objects(default)["coder/role-coder-workspace-perms.yaml"]
    assert role["metadata"]["namespace"] == "coder"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": [*VERBS]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": [*VERBS]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": [*VERBS]},
    ]
    binding = objects(default)["coder/rolebinding-coder-workspace-perms.yaml"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "coder-workspace-perms",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "coder", "namespace": "coder"}]
    assert not any("clusterrole" in p for p in default.files if p.startswith("coder/"))
    pod = deployment(default)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "coder"
    assert pod.get("automountServiceAccountToken", True) is True


VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def test_workspace_rbac_off(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.coder]\nworkspace_rbac = false\n", plugins=ALONE)
    assert not any(p.startswith(("coder/role", "coder/serviceaccount")) for p in result.files)
    assert "serviceAccountName" not in deployment(result)["spec"]["template"]["spec"]


def test_alone_runs_without_sso_and_route(alone) -> None:
    env = env_of(alone)
    assert env["CODER_ACCESS_URL"] == "https://coder.example.com"
    assert not [k for k in env if k.startswith(("CODER_OIDC_", "CODER_EXTERNAL_AUTH_"))]
    assert "auth/coder is left out" in " ".join(alone.warnings)


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__CODER__DISABLE_PASSWORD_AUTH", "true")
    config = """
domain = "home.example.org"

[plugins.coder]
hostname = "dev"
image_tag = "v2.35.0"
oidc_email_domains = ["example.org", "example.net"]
oidc_allow_signups = false
metrics = false
env = { CODER_UPDATE_CHECK = "false" }
"""
    result = testing.synth(tmp_path, config, plugins=PLATFORM)
    env = env_of(result)
    assert env["CODER_ACCESS_URL"] == "https://dev.home.example.org"
    assert env["CODER_OIDC_EMAIL_DOMAIN"] == "example.org,example.net"
    assert env["CODER_OIDC_ALLOW_SIGNUPS"] == "false"
    assert env["CODER_DISABLE_PASSWORD_AUTH"] == "true"
    assert env["CODER_UPDATE_CHECK"] == "false"
    assert "CODER_PROMETHEUS_ENABLE" not in env
    assert "coder/service-coder-metrics.yaml" not in result.files
    assert deployment(result)["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/coder/coder:v2.35.0"


def test_bad_email_domain_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="oidc_email_domains"):
        testing.synth(tmp_path, '[plugins.coder]\noidc_email_domains = ["@example.org"]\n', plugins=ALONE)


def test_more_than_one_replica_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replicas"):
        testing.synth(tmp_path, "[plugins.coder]\nreplicas = 2\n", plugins=ALONE)


def _egress_peers(policy: dict) -> list[tuple[str, tuple, tuple]]:
    """(namespace, sorted pod labels, ports) of each egress rule that names a namespace."""
    peers = []
    for rule in policy["spec"].get("egress", []):
        ports = tuple(sorted((p["port"], p["protocol"]) for p in rule.get("ports", [])))
        for peer in rule["to"]:
            if "namespaceSelector" in peer:
                namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                pods = tuple(sorted(peer.get("podSelector", {}).get("matchLabels", {}).items()))
                peers.append((namespace, pods, ports))
    return peers


GITEA_SERVER = (
    ("app.kubernetes.io/component", "server"),
    ("app.kubernetes.io/instance", "gitea"),
    ("app.kubernetes.io/name", "gitea"),
)


def test_network_policies_open_exactly_the_gitea_edge_and_the_api_server(together, default) -> None:
    egress = objects(together)["coder/networkpolicy-allow-egress.yaml"]
    peers = _egress_peers(egress)
    # Coder → Gitea: the link's Service port on Gitea's server pods, nothing else in Gitea's namespace.
    assert [p for p in peers if p[0] == "gitea"] == [("gitea", GITEA_SERVER, ((3000, "TCP"),))]
    assert [
        p for p in _egress_peers(objects(default)["coder/networkpolicy-allow-egress.yaml"]) if p[0] == "gitea"
    ] == []
    # Gitea admits Coder on 3000 only (the link), beside the ingress gateway.
    ingress = objects(together)["gitea/networkpolicy-allow-ingress-server.yaml"]["spec"]["ingress"]
    from_coder = [
        r
        for r in ingress
        if r["from"][0].get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == "coder"
    ]
    assert [r["ports"] for r in from_coder] == [[{"port": 3000, "protocol": "TCP"}]]
    # The API server: Coder's server pod only (the provisioner), not the workspaces in the namespace.
    api = objects(together)["coder/networkpolicy-allow-kube-api-server.yaml"]["spec"]
    assert api["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/component": "server", "app.kubernetes.io/name": "coder"}
    }
    assert {r["ports"][0]["port"] for r in api["egress"]} == {6443}


def test_no_api_server_access_without_workspace_rbac(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.coder]\nworkspace_rbac = false\n", plugins=ALONE)
    assert "coder/networkpolicy-allow-kube-api-server.yaml" not in result.files


def test_metrics_are_scraped_only_with_a_metrics_provider(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=ALONE, extra={"monitoring": monitoring})
    target = testing.assert_metrics_target_serves(result, "coder")
    assert (target.port, target.path, target.bearer_token) == (2112, "/metrics", None)
    off = testing.synth(
        tmp_path / "off", "[plugins.coder]\nmetrics = false\n", plugins=ALONE, extra={"monitoring": monitoring}
    )
    assert testing.metrics_targets(off, "coder") == {}
