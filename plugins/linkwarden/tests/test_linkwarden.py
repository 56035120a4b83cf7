"""Linkwarden: discovery, the reviewed output, its database, SSO, mail, archive volume, network and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

NAME = "linkwarden"
# Only what Linkwarden cannot run without: a database and the secrets provider.
ALONE = ["linkwarden", "cloudnativepg", "sealed-secrets"]
# Its partners: route and TLS, single sign-on, backups (Velero on MinIO) and mail.
TOGETHER = [*ALONE, "traefik", "cert-manager", "authentik", "velero", "minio", "smtp"]
SMTP = """
[plugins.smtp]
enabled = true
host = "smtp.example.org"
username = "homelab@example.org"
from_address = "links@example.org"
"""


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("linkwarden"), SMTP, plugins=TOGETHER)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("linkwarden-alone"), plugins=ALONE)


def deployment(result) -> dict[str, Any]:
    return testing.objects(result)["linkwarden/deployment-linkwarden.yaml"]


def container(result) -> dict[str, Any]:
    return deployment(result)["spec"]["template"]["spec"]["containers"][0]


def env_of(result) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(result)["env"]}


def ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert NAME in host.names
    assert host.dists[NAME].distribution == "ink-plugin-linkwarden"


def test_output_matches_reviewed_snapshot(together, snapshot) -> None:
    assert testing.snapshot_text(together, [NAME]) == snapshot


@pytest.mark.parametrize("fixture", ["together", "alone"])
def test_output_validates(fixture: str, request: pytest.FixtureRequest, ink_validator: ManifestValidator) -> None:
    result = request.getfixturevalue(fixture)
    mine = {p: o for p, o in testing.objects(result).items() if p.startswith("linkwarden/")}
    report = ink_validator.validate_all(mine.items())
    assert report.problems == []
    assert report.skipped == {}


def test_upstream_facts(together) -> None:
    app = container(together)
    assert app["image"] == "ghcr.io/linkwarden/linkwarden:v2.16.1"
    assert app["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert app["livenessProbe"]["httpGet"] == {"path": "/", "port": 3000, "scheme": "HTTP"}
    # Migrations run before the web app listens: five minutes for the first start.
    assert app["startupProbe"]["periodSeconds"] * app["startupProbe"]["failureThreshold"] == 300
    env = env_of(together)
    assert env["NEXTAUTH_URL"] == "https://links.example.com/api/v1/auth"
    assert env["NEXTAUTH_SECRET"] == ref("linkwarden-secrets", "nextauth-secret")
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    assert mounts["/data/data"] == "data"  # STORAGE_FOLDER 'data' next to WORKDIR /data's apps
    service = testing.objects(together)["linkwarden/service-linkwarden.yaml"]["spec"]["ports"]
    assert service == [{"name": "http", "port": 80, "targetPort": 3000, "protocol": "TCP"}]


def test_runs_hardened_with_scratch_for_the_paths_it_writes(together) -> None:
    pod = deployment(together)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["fsGroup"] == 1000
    security = container(together)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    scratch = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    assert scratch == {"tmp", "home", "next-cache"}
    mounts = {m["name"]: m["mountPath"] for m in container(together)["volumeMounts"]}
    assert mounts["next-cache"] == "/data/apps/web/.next/cache"
    namespace = testing.objects(together)["linkwarden/namespace-linkwarden.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_database_url_is_prismas_with_the_ca_verified(together) -> None:
    env = env_of(together)
    names = [e["name"] for e in container(together)["env"]]
    # The password comes from the binding's Secret, defined before the URL that expands it.
    assert env["LINKWARDEN_DB_PASSWORD"] == ref("linkwarden-db", "password")
    assert names.index("LINKWARDEN_DB_PASSWORD") < names.index("DATABASE_URL")
    assert env["DATABASE_URL"] == (
        "postgresql://linkwarden:$(LINKWARDEN_DB_PASSWORD)@postgres-ha-rw.cloudnativepg.svc:5432/linkwarden"
        "?sslmode=require&sslcert=/etc/ink/database-ca/ca.crt&sslaccept=strict"
    )
    mounts = {m["name"]: m["mountPath"] for m in container(together)["volumeMounts"]}
    assert mounts["database-ca"] == "/etc/ink/database-ca"
    database = testing.objects(together)["cloudnativepg/database-postgres-ha-linkwarden.yaml"]
    assert database["spec"]["owner"] == "linkwarden"


def test_database_url_is_plain_without_a_tls_provider(alone) -> None:
    assert env_of(alone)["DATABASE_URL"] == (
        "postgresql://linkwarden:$(LINKWARDEN_DB_PASSWORD)@postgres-ha-rw.cloudnativepg.svc:5432/linkwarden"
    )
    assert "database-ca" not in {m["name"] for m in container(alone)["volumeMounts"]}


def test_authentik_provider_wired_on_both_sides(together) -> None:
    env = env_of(together)
    assert env["NEXT_PUBLIC_AUTHENTIK_ENABLED"] == "true"
    assert env["AUTHENTIK_CUSTOM_NAME"] == "authentik"
    # The slug without a trailing slash: NextAuth appends /.well-known/openid-configuration itself.
    assert env["AUTHENTIK_ISSUER"] == "https://auth.example.com/application/o/linkwarden"
    assert env["AUTHENTIK_CLIENT_ID"] == "linkwarden"
    assert env["AUTHENTIK_CLIENT_SECRET"] == ref("linkwarden-oidc", "client-secret")
    blueprint = testing.objects(together)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    text = next(iter(blueprint.values()))
    assert "https://links.example.com/api/v1/auth/callback/authentik" in text
    assert "client_id: linkwarden" in text


def test_sso_logins_carry_a_verified_email(together) -> None:
    """Linkwarden links an SSO login to an existing account only when email_verified is true (ssoEmailVerified)."""

    class Tagged(yaml.SafeLoader):
        """Reads authentik's tags as {"!Tag": value}."""

    Tagged.add_multi_constructor(
        "!",
        lambda loader, tag, node: {
            f"!{tag}": loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else node.value
        },
    )
    data = testing.objects(together)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    entries = yaml.load(next(iter(data.values())), Loader=Tagged)["entries"]  # a SafeLoader subclass
    (mapping,) = [e for e in entries if e["model"] == "authentik_providers_oauth2.scopemapping"]
    assert '"email_verified": True' in mapping["attrs"]["expression"]
    (provider,) = [e for e in entries if e["model"].endswith("oauth2provider") and e["identifiers"]["name"] == NAME]
    assert {"!KeyOf": mapping["id"]} in provider["attrs"]["property_mappings"]


def test_mail_through_the_smtp_provider(together) -> None:
    env = env_of(together)
    names = [e["name"] for e in container(together)["env"]]
    assert env["NEXT_PUBLIC_EMAIL_PROVIDER"] == "true"
    assert env["EMAIL_FROM"] == "links@example.org"
    assert env["LINKWARDEN_SMTP_PASSWORD"] == ref("linkwarden-smtp", "password")
    assert names.index("LINKWARDEN_SMTP_PASSWORD") < names.index("EMAIL_SERVER")
    # nodemailer's URL: the user percent-encoded, STARTTLS required on 587.
    assert env["EMAIL_SERVER"] == (
        "smtp://homelab%40example.org:$(LINKWARDEN_SMTP_PASSWORD)@smtp.example.org:587?requireTLS=true"
    )
    assert env["BASE_URL"] == "https://links.example.com"


@pytest.mark.parametrize(
    ("tls", "server"),
    [
        ("tls", "smtps://mail.example.org:465"),
        ("none", "smtp://mail.example.org:25?ignoreTLS=true"),
    ],
)
def test_smtp_tls_modes_and_no_login(tmp_path: Path, tls: str, server: str) -> None:
    config = f'[plugins.smtp]\nenabled = true\nhost = "mail.example.org"\ntls = "{tls}"\n'
    env = env_of(testing.synth(tmp_path, config, plugins=[*ALONE, "smtp"]))
    assert env["EMAIL_SERVER"] == server
    assert "LINKWARDEN_SMTP_PASSWORD" not in env


def test_alone_without_sso_mail_route_or_backup(alone) -> None:
    env = env_of(alone)
    assert env["NEXTAUTH_URL"] == "https://links.example.com/api/v1/auth"
    assert not [k for k in env if k.startswith(("AUTHENTIK_", "NEXT_PUBLIC_AUTHENTIK", "EMAIL_"))]
    assert "NEXT_PUBLIC_EMAIL_PROVIDER" not in env and "BASE_URL" not in env
    assert not any(p.startswith("linkwarden/ingressroute") for p in alone.files)
    assert "annotations" not in deployment(alone)["spec"]["template"]["metadata"]
    warnings = " ".join(alone.warnings)
    assert "auth/links is left out" in warnings
    assert "ingress/links is left out" in warnings


def test_archive_volume_backed_up(together) -> None:
    pod = deployment(together)["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"backup.velero.io/backup-volumes": "data"}
    schedule = next(o for p, o in testing.objects(together).items() if p.startswith("velero/schedule-"))
    assert "linkwarden" in schedule["spec"]["template"]["includedNamespaces"]
    claim = testing.objects(together)["linkwarden/persistentvolumeclaim-linkwarden-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_one_replica_recreated(together) -> None:
    assert deployment(together)["spec"]["replicas"] == 1
    assert deployment(together)["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(p.startswith("linkwarden/poddisruptionbudget") for p in together.files)


def test_network_policy_egress_exactly(together, alone) -> None:
    def egress(result) -> list[dict[str, Any]]:
        return testing.objects(result)["linkwarden/networkpolicy-allow-egress.yaml"]["spec"]["egress"]

    postgres = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cloudnativepg"}},
                "podSelector": {"matchLabels": {"cnpg.io/cluster": "postgres-ha"}},
            }
        ],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    }
    # The OIDC back-channel goes to the issuer's public URL, through the ingress controller.
    traefik = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
            }
        ],
        "ports": [{"port": 8443, "protocol": "TCP"}],
    }
    assert egress(together) == [postgres, traefik]
    assert egress(alone) == [postgres]
    objects = testing.objects(together)
    # The pages it archives (public internet only) and the mail server (port 587, anywhere).
    internet = objects["linkwarden/networkpolicy-allow-internet.yaml"]["spec"]["egress"]
    assert internet[0]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]
    assert internet[0]["to"][0]["ipBlock"]["except"] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    outside = objects["linkwarden/networkpolicy-allow-outside.yaml"]["spec"]["egress"]
    assert outside == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 587, "protocol": "TCP"}]}]
    assert "linkwarden/networkpolicy-allow-outside.yaml" not in alone.files
    # Only the ingress controller reaches the pod, on the container port.
    ingress = objects["linkwarden/networkpolicy-allow-ingress-linkwarden.yaml"]["spec"]
    assert ingress["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "linkwarden"
    assert ingress["ingress"] == [
        {
            "from": [traefik["to"][0]],
            "ports": [{"port": 3000, "protocol": "TCP"}],
        }
    ]
    assert "linkwarden/networkpolicy-allow-ingress-linkwarden.yaml" not in alone.files


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"

[plugins.linkwarden]
hostname = "bookmarks"
image_tag = "v2.16.0"
storage_size = "50Gi"
registration = true
password_login = false
sso_name = "Home login"
sso_signups = false
env = { ARCHIVE_TAKE_COUNT = "2" }
"""
    result = testing.synth(tmp_path, config, plugins=[*ALONE, "traefik", "cert-manager", "authentik"])
    env = env_of(result)
    assert env["NEXTAUTH_URL"] == "https://bookmarks.home.example.org/api/v1/auth"
    assert env["NEXT_PUBLIC_DISABLE_REGISTRATION"] == "false"
    assert env["NEXT_PUBLIC_CREDENTIALS_ENABLED"] == "false"
    assert env["DISABLE_NEW_SSO_USERS"] == "true"
    assert env["AUTHENTIK_CUSTOM_NAME"] == "Home login"
    assert env["ARCHIVE_TAKE_COUNT"] == "2"
    assert container(result)["image"] == "ghcr.io/linkwarden/linkwarden:v2.16.0"
    claim = testing.objects(result)["linkwarden/persistentvolumeclaim-linkwarden-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert "linkwarden/ingressroute-bookmarks.yaml" in result.files


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__LINKWARDEN__REGISTRATION", "true")
    monkeypatch.setenv("INK_PLUGINS__LINKWARDEN__REPLICAS", "0")
    result = testing.synth(tmp_path, "[plugins.linkwarden]\nregistration = false\n", plugins=ALONE)
    assert env_of(result)["NEXT_PUBLIC_DISABLE_REGISTRATION"] == "false"
    assert deployment(result)["spec"]["replicas"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("replicas = 2", "plugins.linkwarden.replicas"),
        ("sso = false\npassword_login = false", "password_login = false needs sso = true"),
        ('env = { DATABASE_URL = "x" }', "ink sets DATABASE_URL itself"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        testing.synth(tmp_path, f"[plugins.linkwarden]\n{config}\n", plugins=ALONE)


def test_sso_and_smtp_off_drop_their_needs(tmp_path: Path) -> None:
    config = f"{SMTP}\n[plugins.linkwarden]\nsso = false\nsmtp = false\nbackup = false\n"
    result = testing.synth(tmp_path, config, plugins=TOGETHER)
    env = env_of(result)
    assert not [k for k in env if "AUTHENTIK" in k or k.startswith("EMAIL_")]
    assert "linkwarden/sealedsecret-linkwarden-oidc.yaml" not in result.files
    assert "linkwarden/sealedsecret-linkwarden-smtp.yaml" not in result.files
    assert "annotations" not in deployment(result)["spec"]["template"]["metadata"]


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.linkwarden]\nenabled = false\n", plugins=ALONE)
    assert not any(path.startswith("linkwarden/") for path in result.files)
    assert "cloudnativepg/database-postgres-ha-linkwarden.yaml" not in result.files
