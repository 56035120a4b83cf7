"""Gitea: discovery, the reviewed output, its wiring (database, SSO, SSH, mail, metrics, Coder) and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

NAME = "gitea"
ALONE = ["gitea", "cloudnativepg", "sealed-secrets"]
PLATFORM = [*ALONE, "traefik", "cert-manager", "authentik", "velero", "minio", "smtp"]
SMTP = """
[plugins.smtp]
enabled = true
host = "smtp.example.org"
username = "homelab@example.org"
from_address = "homelab@example.org"
"""


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("gitea"), SMTP, plugins=PLATFORM)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("gitea-alone"), plugins=ALONE)


@pytest.fixture(scope="module")
def with_coder(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("gitea-coder"), plugins=[*PLATFORM, "coder"])


def objects(result) -> dict[str, Any]:
    return testing.objects(result)


def deployment(result) -> dict:
    return objects(result)["gitea/deployment-gitea.yaml"]


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def server_env(result) -> dict:
    return env_of(deployment(result)["spec"]["template"]["spec"]["containers"][0])


def setup_job(result) -> dict | None:
    jobs = [o for p, o in objects(result).items() if p.startswith("gitea/job-gitea-setup-")]
    assert len(jobs) <= 1
    return jobs[0] if jobs else None


def job_containers(result) -> dict[str, dict]:
    job = setup_job(result)
    return {} if job is None else {c["name"]: c for c in job["spec"]["template"]["spec"]["containers"]}


def ref(name: str, key: str) -> dict:
    return {"secretKeyRef": {"name": name, "key": key}}


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert NAME in host.names
    assert host.dists[NAME].distribution == "ink-plugin-gitea"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, [NAME]) == snapshot


def test_output_validates(default, with_coder, ink_validator: ManifestValidator) -> None:
    for result in (default, with_coder):
        mine = {p: o for p, o in objects(result).items() if p.startswith("gitea/")}
        report = ink_validator.validate_all(mine.items())
        assert report.problems == []
        assert report.skipped == {}


def test_upstream_facts(default) -> None:
    pod = deployment(default)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "docker.gitea.com/gitea:1.27.3-rootless"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 3000, "ssh": 2222}
    assert container["livenessProbe"]["httpGet"] == {"path": "/api/healthz", "port": 3000, "scheme": "HTTP"}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/var/lib/gitea", "/etc/gitea", "/tmp"} <= mounts
    assert pod["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = server_env(default)
    assert env["GITEA__server__ROOT_URL"] == "https://git.example.com/"
    assert env["GITEA__server__DOMAIN"] == "git.example.com"
    assert env["GITEA__server__SSH_DOMAIN"] == "git.example.com"
    assert (env["GITEA__server__SSH_PORT"], env["GITEA__server__SSH_LISTEN_PORT"]) == ("22", "2222")
    assert env["GITEA__security__INSTALL_LOCK"] == "true"


def test_generated_secrets_through_the_secrets_provider(default) -> None:
    env = server_env(default)
    assert env["GITEA__security__SECRET_KEY"] == ref("gitea-secrets", "secret-key")
    assert env["GITEA__security__INTERNAL_TOKEN"] == ref("gitea-secrets", "internal-token")
    assert env["GITEA__oauth2__JWT_SECRET"] == ref("gitea-secrets", "jwt-secret")
    assert env["GITEA__server__LFS_JWT_SECRET"] == ref("gitea-secrets", "lfs-jwt-secret")
    sealed = objects(default)["gitea/sealedsecret-gitea-secrets.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {
        "secret-key",
        "internal-token",
        "jwt-secret",
        "lfs-jwt-secret",
        "metrics-token",
        "coder-client-id",
        "coder-client-secret",
    }


def test_database_from_the_binding_verified_with_its_ca(default) -> None:
    env = server_env(default)
    assert env["GITEA__database__DB_TYPE"] == "postgres"
    assert env["GITEA__database__PASSWD"] == ref("gitea-db", "password")
    assert env["GITEA__database__SSL_MODE"] == "verify-full"
    assert env["PGSSLROOTCERT"] == "/etc/ink/database-ca/ca.crt"
    mounts = {
        m["name"]: m["mountPath"]
        for m in deployment(default)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    assert mounts["database-ca"] == "/etc/ink/database-ca"
    database = objects(default)["cloudnativepg/database-postgres-ha-gitea.yaml"]
    assert database["spec"]["owner"] == "gitea"
    assert database["spec"]["extensions"] == [{"name": "pgcrypto", "ensure": "present"}]


def test_plain_database_without_a_tls_provider(alone) -> None:
    env = server_env(alone)
    assert env["GITEA__database__SSL_MODE"] == "disable"
    assert "PGSSLROOTCERT" not in env


def test_ssh_on_a_load_balancer_and_http_inside(default) -> None:
    ssh = objects(default)["gitea/service-gitea-ssh.yaml"]
    assert ssh["spec"]["type"] == "LoadBalancer"
    assert ssh["spec"]["ports"] == [{"name": "ssh", "port": 22, "targetPort": 2222, "protocol": "TCP"}]
    http = objects(default)["gitea/service-gitea.yaml"]
    assert "type" not in http["spec"]
    assert http["spec"]["ports"] == [{"name": "http", "port": 3000, "targetPort": 3000, "protocol": "TCP"}]


def test_ssh_port_and_address_from_settings(tmp_path: Path) -> None:
    config = '[plugins.gitea]\nssh_port = 2222\nssh_load_balancer_ip = "192.168.1.243"\n'
    result = testing.synth(tmp_path, config, plugins=ALONE)
    ssh = objects(result)["gitea/service-gitea-ssh.yaml"]
    assert ssh["spec"]["ports"][0]["port"] == 2222
    assert ssh["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.1.243"
    assert server_env(result)["GITEA__server__SSH_PORT"] == "2222"


def test_bad_ssh_address_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ssh_load_balancer_ip"):
        testing.synth(tmp_path, '[plugins.gitea]\nssh_load_balancer_ip = "git.lan"\n', plugins=ALONE)


def test_more_than_one_replica_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replicas"):
        testing.synth(tmp_path, "[plugins.gitea]\nreplicas = 2\n", plugins=ALONE)


def test_oidc_wired_on_both_sides(default) -> None:
    # authentik's side: a client for git.example.com with Gitea's callback for the auth source.
    blueprint = objects(default)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    text = next(iter(blueprint.values()))
    assert "https://git.example.com/user/oauth2/authentik/callback" in text
    assert "client_id: gitea" in text
    # Gitea's side: the setup Job adds or updates the auth source with the issuer's discovery URL.
    auth = job_containers(default)["auth-source"]
    env = env_of(auth)
    assert env["SOURCE"] == "authentik"
    assert env["OIDC_CLIENT_ID"] == "gitea"
    assert env["OIDC_CLIENT_SECRET"] == ref("gitea-oidc", "client-secret")
    assert env["OIDC_DISCOVERY_URL"] == "https://auth.example.com/application/o/gitea/.well-known/openid-configuration"
    assert auth["args"] == ["bash", "/setup/auth.sh"]  # after the image's entrypoint writes app.ini
    assert auth["image"] == "docker.gitea.com/gitea:1.27.3-rootless"
    assert env["GITEA__database__HOST"] == server_env(default)["GITEA__database__HOST"]
    script = objects(default)["gitea/configmap-gitea-setup.yaml"]["data"]["auth.sh"]
    assert "gitea admin auth add-oauth" in script
    assert "gitea admin auth update-oauth --id" in script
    job = setup_job(default)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    # SSO users are registered at their first login; nobody else can sign up.
    server = server_env(default)
    assert server["GITEA__oauth2_client__ENABLE_AUTO_REGISTRATION"] == "true"
    assert server["GITEA__service__ALLOW_ONLY_EXTERNAL_REGISTRATION"] == "true"
    assert server["GITEA__service__DISABLE_REGISTRATION"] == "false"


def test_alone_no_sso_no_job_no_route(alone) -> None:
    assert setup_job(alone) is None
    env = server_env(alone)
    assert env["GITEA__service__DISABLE_REGISTRATION"] == "true"
    assert "GITEA__oauth2_client__ENABLE_AUTO_REGISTRATION" not in env
    assert not any(k.startswith("GITEA__mailer__") for k in env)
    assert not any(p.startswith("gitea/ingressroute") for p in alone.files)
    assert "auth/git is left out" in " ".join(alone.warnings)


def test_mail_through_smtp(default) -> None:
    env = server_env(default)
    assert env["GITEA__mailer__ENABLED"] == "true"
    assert env["GITEA__mailer__PROTOCOL"] == "smtp+starttls"
    assert env["GITEA__mailer__SMTP_ADDR"] == "smtp.example.org"
    assert env["GITEA__mailer__SMTP_PORT"] == "587"
    assert env["GITEA__mailer__FROM"] == "homelab@example.org"
    assert env["GITEA__mailer__USER"] == "homelab@example.org"
    assert env["GITEA__mailer__PASSWD"] == ref("gitea-smtp", "password")


def test_metrics_enabled_behind_a_token(default) -> None:
    env = server_env(default)
    assert env["GITEA__metrics__ENABLED"] == "true"
    assert env["GITEA__metrics__TOKEN"] == ref("gitea-secrets", "metrics-token")


def test_repository_volume_backed_up(default) -> None:
    pod = deployment(default)["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"backup.velero.io/backup-volumes": "data"}
    claim = objects(default)["gitea/persistentvolumeclaim-gitea-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    schedule = next(o for p, o in objects(default).items() if p.startswith("velero/schedule-"))
    assert "gitea" in schedule["spec"]["template"]["includedNamespaces"]


def test_route(default) -> None:
    route = objects(default)["gitea/ingressroute-git.yaml"]
    assert route["spec"]["routes"][0]["match"] == "Host(`git.example.com`)"
    assert route["spec"]["routes"][0]["services"] == [{"name": "gitea", "port": 3000}]


def test_coder_oauth_application_registered_when_coder_links(with_coder) -> None:
    app = job_containers(with_coder)["coder-app"]
    env = env_of(app)
    assert env["REDIRECT_URIS"] == '["https://coder.example.com/external-auth/primary/callback"]'
    assert env["CLIENT_ID"] == ref("gitea-secrets", "coder-client-id")
    assert env["CLIENT_SECRET"] == ref("gitea-secrets", "coder-client-secret")
    assert env["DATABASE_URL"] == ref("gitea-db", "uri")
    assert app["command"] == ["bash", "/setup/coder-app.sh"]
    sql = objects(with_coder)["gitea/configmap-gitea-setup.yaml"]["data"]["coder-app.sql"]
    assert "ON CONFLICT (client_id) DO UPDATE" in sql
    assert "crypt(:'client_secret', gen_salt('bf', 10))" in sql


def test_without_coder_no_oauth_application(default) -> None:
    assert "coder-app" not in job_containers(default)


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__GITEA__STORAGE_SIZE", "50Gi")
    config = """
domain = "home.example.org"

[plugins.gitea]
hostname = "code"
image_tag = "1.26.0"
storage_size = "30Gi"
signups_allowed = true
require_signin_view = true
metrics = false
env = { GITEA__ui__DEFAULT_THEME = "gitea-dark" }
"""
    result = testing.synth(tmp_path, config, plugins=ALONE)
    env = server_env(result)
    assert env["GITEA__server__ROOT_URL"] == "https://code.home.example.org/"
    assert env["GITEA__service__DISABLE_REGISTRATION"] == "false"
    assert env["GITEA__service__REQUIRE_SIGNIN_VIEW"] == "true"
    assert env["GITEA__metrics__ENABLED"] == "false"
    assert "GITEA__metrics__TOKEN" not in env
    assert env["GITEA__ui__DEFAULT_THEME"] == "gitea-dark"
    assert deployment(result)["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "docker.gitea.com/gitea:1.26.0-rootless"
    )
    claim = objects(result)["gitea/persistentvolumeclaim-gitea-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.gitea]\nenabled = false\n", plugins=ALONE)
    assert not any(path.startswith("gitea/") for path in result.files)


def test_metrics_are_scraped_with_the_token(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=ALONE, extra={"monitoring": monitoring})
    target = testing.assert_metrics_target_serves(result, "gitea")
    assert (target.port, target.path) == (3000, "/metrics")
    assert (target.bearer_token.name, target.bearer_token.key) == ("gitea-secrets", "metrics-token")
    off = testing.synth(
        tmp_path / "off", "[plugins.gitea]\nmetrics = false\n", plugins=ALONE, extra={"monitoring": monitoring}
    )
    assert testing.metrics_targets(off, "gitea") == {}
