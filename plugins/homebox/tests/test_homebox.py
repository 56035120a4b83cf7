"""Homebox: discovery, the reviewed output, its database and TLS mode, OIDC, volume, network and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

NAME = "homebox"
# Only what Homebox cannot run without: a database and the secrets provider.
ALONE = ["homebox", "cloudnativepg", "sealed-secrets"]
# Its partners: route and TLS (which also makes the database connection TLS), single sign-on, backups and mail.
TOGETHER = [*ALONE, "traefik", "cert-manager", "authentik", "velero", "minio", "smtp"]
SMTP = """
[plugins.smtp]
enabled = true
host = "smtp.example.org"
username = "homelab@example.org"
from_address = "homebox@example.org"
"""


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("homebox"), SMTP, plugins=TOGETHER)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("homebox-alone"), plugins=ALONE)


def deployment(result) -> dict[str, Any]:
    return testing.objects(result)["homebox/deployment-homebox.yaml"]


def container(result) -> dict[str, Any]:
    return deployment(result)["spec"]["template"]["spec"]["containers"][0]


def env_of(result) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result)["env"]}


def ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert NAME in host.names
    assert host.dists[NAME].distribution == "ink-plugin-homebox"


def test_output_matches_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together, [NAME]) == snapshot


@pytest.mark.parametrize("fixture", ["together", "alone"])
def test_output_validates(fixture: str, request: pytest.FixtureRequest, ink_validator: ManifestValidator) -> None:
    result = request.getfixturevalue(fixture)
    mine = {p: o for p, o in testing.objects(result).items() if p.startswith("homebox/")}
    report = ink_validator.validate_all(mine.items())
    assert report.problems == []
    assert report.skipped == {}


def test_upstream_facts(together) -> None:
    app = container(together)
    assert app["image"] == "ghcr.io/sysadminsmedia/homebox:0.26.2-rootless"
    assert app["ports"] == [{"name": "http", "containerPort": 7745, "protocol": "TCP"}]
    assert app["readinessProbe"]["httpGet"] == {"path": "/api/v1/status", "port": 7745, "scheme": "HTTP"}
    env = env_of(together)
    assert env["HBOX_AUTH_API_KEY_PEPPER"] == ref("homebox-secrets", "api-key-pepper")
    assert env["HBOX_OPTIONS_TRUST_PROXY"] == "true"
    assert env["HBOX_OPTIONS_HOSTNAME"] == "homebox.example.com"  # the host alone, no scheme
    assert {m["mountPath"]: m["name"] for m in app["volumeMounts"]}["/data"] == "data"
    service = testing.objects(together)["homebox/service-homebox.yaml"]["spec"]["ports"]
    assert service == [{"name": "http", "port": 80, "targetPort": 7745, "protocol": "TCP"}]


def test_pepper_is_a_stable_generated_secret(tmp_path: Path) -> None:
    from ink_plugin_homebox import PEPPER, ink_secrets

    (claim,) = ink_secrets()
    assert claim.data == {"api-key-pepper": PEPPER}
    assert PEPPER.id == "homebox/api-key-pepper" and PEPPER.length >= 32  # the binary refuses fewer than 32 bytes
    assert "homebox/sealedsecret-homebox-secrets.yaml" in testing.synth(tmp_path, plugins=ALONE).files


def test_runs_as_the_rootless_images_user_read_only(together) -> None:
    pod = deployment(together)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 65532 and pod["securityContext"]["fsGroup"] == 65532
    security = container(together)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"] == {"drop": ["ALL"]}
    assert {v["name"] for v in pod["volumes"] if "emptyDir" in v} == {"tmp"}
    namespace = testing.objects(together)["homebox/namespace-homebox.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_postgres_over_verified_tls_with_the_databases_ca(together) -> None:
    env = env_of(together)
    assert env["HBOX_DATABASE_DRIVER"] == "postgres"
    assert env["HBOX_DATABASE_HOST"] == "postgres-ha-rw.cloudnativepg.svc"
    assert env["HBOX_DATABASE_PORT"] == "5432"
    assert (env["HBOX_DATABASE_USERNAME"], env["HBOX_DATABASE_DATABASE"]) == ("homebox", "homebox")
    assert env["HBOX_DATABASE_PASSWORD"] == ref("homebox-db", "password")
    assert env["HBOX_DATABASE_SSL_MODE"] == "verify-full"
    assert env["HBOX_DATABASE_SSL_ROOT_CERT"] == "/etc/ink/database-ca/ca.crt"
    mounts = {m["name"]: m["mountPath"] for m in container(together)["volumeMounts"]}
    assert mounts["database-ca"] == "/etc/ink/database-ca"
    database = testing.objects(together)["cloudnativepg/database-postgres-ha-homebox.yaml"]
    assert database["spec"]["owner"] == "homebox"


def test_plain_database_disables_ssl_instead_of_upstreams_require(alone) -> None:
    env = env_of(alone)
    assert env["HBOX_DATABASE_SSL_MODE"] == "disable"
    assert "HBOX_DATABASE_SSL_ROOT_CERT" not in env
    assert "database-ca" not in {m["name"] for m in container(alone)["volumeMounts"]}


def test_oidc_wired_on_both_sides(together) -> None:
    env = env_of(together)
    assert env["HBOX_OIDC_ENABLED"] == "true"
    # Exactly the issuer of authentik's discovery document, trailing slash included.
    assert env["HBOX_OIDC_ISSUER_URL"] == "https://auth.example.com/application/o/homebox/"
    assert env["HBOX_OIDC_CLIENT_ID"] == "homebox"
    assert env["HBOX_OIDC_CLIENT_SECRET"] == ref("homebox-oidc", "client-secret")
    assert env["HBOX_OIDC_VERIFY_EMAIL"] == "true"
    text = next(iter(testing.objects(together)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"].values()))
    assert "https://homebox.example.com/api/v1/users/login/oidc/callback" in text
    assert "client_id: homebox" in text

    class Tagged(yaml.SafeLoader):
        """Reads authentik's tags as {"!Tag": value}."""

    Tagged.add_multi_constructor(
        "!",
        lambda loader, tag, node: {
            f"!{tag}": loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else node.value
        },
    )
    entries = yaml.load(text, Loader=Tagged)["entries"]  # a SafeLoader subclass
    (mapping,) = [e for e in entries if e["model"] == "authentik_providers_oauth2.scopemapping"]
    (provider,) = [e for e in entries if e["model"].endswith("oauth2provider") and e["identifiers"]["name"] == NAME]
    # HBOX_OIDC_VERIFY_EMAIL needs email_verified true, which authentik's built-in email mapping denies.
    assert {"!KeyOf": mapping["id"]} in provider["attrs"]["property_mappings"]


def test_password_reset_mail_through_the_smtp_provider(together) -> None:
    env = env_of(together)
    assert env["HBOX_MAILER_HOST"] == "smtp.example.org"
    assert env["HBOX_MAILER_PORT"] == "587"
    assert env["HBOX_MAILER_USERNAME"] == "homelab@example.org"
    assert env["HBOX_MAILER_PASSWORD"] == ref("homebox-smtp", "password")
    assert env["HBOX_MAILER_FROM"] == "homebox@example.org"


@pytest.mark.parametrize(
    ("smtp", "why"),
    [
        ('host = "mail.example.org"\ntls = "tls"\nusername = "me"', "tls = 'tls'"),
        ('host = "mail.example.org"', "without a username"),
    ],
)
def test_no_mailer_for_servers_its_mailer_cannot_use(tmp_path: Path, smtp: str, why: str) -> None:
    result = testing.synth(tmp_path, f"[plugins.smtp]\nenabled = true\n{smtp}\n", plugins=[*ALONE, "smtp"])
    assert not [k for k in env_of(result) if k.startswith("HBOX_MAILER_")]
    (warning,) = [w for w in result.warnings if w.startswith("homebox: no password-reset mail")]
    assert why in warning


def test_alone_without_sso_route_or_backup(alone) -> None:
    env = env_of(alone)
    assert not [k for k in env if k.startswith(("HBOX_OIDC_", "HBOX_MAILER_"))]
    assert env["HBOX_OPTIONS_HOSTNAME"] == "homebox.example.com"
    assert not any(p.startswith("homebox/ingressroute") for p in alone.files)
    assert "annotations" not in deployment(alone)["spec"]["template"]["metadata"]
    warnings = " ".join(alone.warnings)
    assert "auth/homebox is left out" in warnings
    assert "ingress/homebox is left out" in warnings


def test_data_volume_backed_up(together) -> None:
    pod = deployment(together)["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"backup.velero.io/backup-volumes": "data"}
    schedule = next(o for p, o in testing.objects(together).items() if p.startswith("velero/schedule-"))
    assert "homebox" in schedule["spec"]["template"]["includedNamespaces"]


def test_one_replica_recreated(together) -> None:
    assert deployment(together)["spec"]["replicas"] == 1
    assert deployment(together)["spec"]["strategy"] == {"type": "Recreate"}


def test_network_policies_exactly(together, alone) -> None:
    def egress(result) -> list[dict[str, Any]]:
        return testing.objects(result)["homebox/networkpolicy-allow-egress.yaml"]["spec"]["egress"]

    postgres = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cloudnativepg"}},
                "podSelector": {"matchLabels": {"cnpg.io/cluster": "postgres-ha"}},
            }
        ],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    }
    traefik_pods = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
    }
    # The OIDC back-channel to the issuer's public URL, through the ingress controller.
    assert egress(together) == [postgres, {"to": [traefik_pods], "ports": [{"port": 8443, "protocol": "TCP"}]}]
    assert egress(alone) == [postgres]
    objects = testing.objects(together)
    internet = objects["homebox/networkpolicy-allow-internet.yaml"]["spec"]["egress"]
    assert internet[0]["ports"] == [{"port": 443, "protocol": "TCP"}]
    # The mail server, anywhere, on its port only.
    outside = objects["homebox/networkpolicy-allow-outside.yaml"]["spec"]["egress"]
    assert outside == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 587, "protocol": "TCP"}]}]
    assert "homebox/networkpolicy-allow-outside.yaml" not in alone.files
    ingress = objects["homebox/networkpolicy-allow-ingress-homebox.yaml"]["spec"]["ingress"]
    assert ingress == [{"from": [traefik_pods], "ports": [{"port": 7745, "protocol": "TCP"}]}]
    assert "homebox/networkpolicy-allow-ingress-homebox.yaml" not in alone.files


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"

[plugins.homebox]
hostname = "stuff"
image_tag = "0.26.1-hardened"
storage_size = "20Gi"
allow_registration = true
password_login = false
sso_button = "Home login"
sso_auto_redirect = true
max_upload_mb = 50
env = { HBOX_LOG_LEVEL = "debug" }
"""
    result = testing.synth(tmp_path, config, plugins=TOGETHER[:-1])
    env = env_of(result)
    assert env["HBOX_OPTIONS_HOSTNAME"] == "stuff.home.example.org"
    assert env["HBOX_OPTIONS_ALLOW_REGISTRATION"] == "true"
    assert env["HBOX_OPTIONS_ALLOW_LOCAL_LOGIN"] == "false"
    assert env["HBOX_OIDC_BUTTON_TEXT"] == "Home login"
    assert env["HBOX_OIDC_AUTO_REDIRECT"] == "true"
    assert env["HBOX_WEB_MAX_UPLOAD_SIZE"] == "50"
    assert env["HBOX_LOG_LEVEL"] == "debug"
    assert container(result)["image"] == "ghcr.io/sysadminsmedia/homebox:0.26.1-hardened"
    claim = testing.objects(result)["homebox/persistentvolumeclaim-homebox-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "homebox/ingressroute-stuff.yaml" in result.files


def test_registration_off_by_default_and_from_the_environment(alone, tmp_path: Path, monkeypatch) -> None:
    assert env_of(alone)["HBOX_OPTIONS_ALLOW_REGISTRATION"] == "false"
    monkeypatch.setenv("INK_PLUGINS__HOMEBOX__ALLOW_REGISTRATION", "true")
    result = testing.synth(tmp_path, "[plugins.homebox]\nallow_registration = false\n", plugins=ALONE)
    assert env_of(result)["HBOX_OPTIONS_ALLOW_REGISTRATION"] == "true"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("replicas = 2", "plugins.homebox.replicas"),
        ("sso = false\npassword_login = false", "password_login = false needs sso = true"),
        ('env = { HBOX_DATABASE_SSL_MODE = "require" }', "ink sets HBOX_DATABASE_SSL_MODE itself"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        testing.synth(tmp_path, f"[plugins.homebox]\n{config}\n", plugins=ALONE)


def test_sso_and_smtp_off_drop_their_needs(tmp_path: Path) -> None:
    config = f"{SMTP}\n[plugins.homebox]\nsso = false\nsmtp = false\nbackup = false\n"
    result = testing.synth(tmp_path, config, plugins=TOGETHER)
    assert not [k for k in env_of(result) if k.startswith(("HBOX_OIDC_", "HBOX_MAILER_"))]
    assert "homebox/sealedsecret-homebox-oidc.yaml" not in result.files
    assert "homebox/sealedsecret-homebox-smtp.yaml" not in result.files
    assert "annotations" not in deployment(result)["spec"]["template"]["metadata"]


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.homebox]\nenabled = false\n", plugins=ALONE)
    assert not any(path.startswith("homebox/") for path in result.files)
    assert "cloudnativepg/database-postgres-ha-homebox.yaml" not in result.files
