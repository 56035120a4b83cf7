"""Vaultwarden: discovery, the reviewed output, database wiring and settings overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

NAME = "vaultwarden"
PLUGINS = ["vaultwarden", "cloudnativepg", "sealed-secrets"]
# The platform that gives Vaultwarden its route, TLS, single sign-on and backups.
PLATFORM = [*PLUGINS, "traefik", "cert-manager", "authentik", "velero", "minio"]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("vaultwarden"), plugins=PLATFORM)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    """Only the providers Vaultwarden cannot do without: a database and secrets."""
    return testing.synth(tmp_path_factory.mktemp("vaultwarden-alone"), plugins=PLUGINS)


def deployment(result) -> dict:
    return testing.objects(result)["vaultwarden/deployment-vaultwarden.yaml"]


def env_of(result) -> dict:
    container = deployment(result)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert "vaultwarden" in host.names
    assert host.dists["vaultwarden"].distribution == "ink-plugin-vaultwarden"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["vaultwarden"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    # Vaultwarden's folder; every provider's folder is validated by that provider's own tests.
    mine = {p: o for p, o in testing.objects(default).items() if p.startswith("vaultwarden/")}
    report = ink_validator.validate_all(mine.items())
    assert report.problems == []
    assert report.skipped == {}


def test_database_url_comes_from_the_binding_secret(default) -> None:
    env = env_of(default)
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "vaultwarden-db", "key": "uri"}}
    assert "vaultwarden/sealedsecret-vaultwarden-db.yaml" in default.files
    database = testing.objects(default)["cloudnativepg/database-postgres-ha-vaultwarden.yaml"]
    assert database["spec"]["owner"] == "vaultwarden"


def test_database_url_verifies_the_server_with_the_ca_mounted_where_it_points(default) -> None:
    # With cert-manager in the platform the binding is TLS: the uri says verify-full with sslrootcert at
    # the binding's ca_file, and that file is in the container's mounts from the CA's Secret.
    pod = deployment(default)["spec"]["template"]["spec"]
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["database-ca"] == {"name": "database-ca", "mountPath": "/etc/ink/database-ca", "readOnly": True}
    assert volumes["database-ca"]["secret"]["secretName"] == "vaultwarden-db-ca"
    assert volumes["database-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    ca = testing.objects(default)["vaultwarden/certificate-vaultwarden-db-ca.yaml"]
    assert (ca["metadata"]["namespace"], ca["spec"]["secretName"]) == ("vaultwarden", "vaultwarden-db-ca")


def test_without_a_tls_provider_no_ca_is_mounted(alone) -> None:
    pod = deployment(alone)["spec"]["template"]["spec"]
    assert "database-ca" not in {v["name"] for v in pod["volumes"]}


def test_upstream_facts(default) -> None:
    container = deployment(default)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/vaultwarden/server:1.37.4"
    assert container["ports"][0]["containerPort"] == 8080
    assert container["livenessProbe"]["httpGet"] == {"path": "/alive", "port": 8080, "scheme": "HTTP"}
    assert env_of(default)["DOMAIN"] == "https://vault.example.com"
    assert env_of(default)["ROCKET_PORT"] == "8080"


def test_single_replica_by_default_without_disruption_budget(default) -> None:
    assert deployment(default)["spec"]["replicas"] == 1
    assert not any(path.startswith("vaultwarden/poddisruptionbudget") for path in default.files)


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"

[plugins.vaultwarden]
hostname = "passwords"
image_tag = "1.37.3"
storage_size = "20Gi"
signups_allowed = true
env = { SENDS_ALLOWED = "false" }
"""
    result = testing.synth(tmp_path, config, plugins=PLATFORM)
    env = env_of(result)
    assert env["DOMAIN"] == "https://passwords.home.example.org"
    assert env["SIGNUPS_ALLOWED"] == "true"
    assert env["SENDS_ALLOWED"] == "false"
    container = deployment(result)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/vaultwarden/server:1.37.3"
    claim = testing.objects(result)["vaultwarden/persistentvolumeclaim-vaultwarden-data.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_replicas_from_the_environment_add_a_disruption_budget(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__VAULTWARDEN__REPLICAS", "3")
    config = '[plugins.vaultwarden]\nreplicas = 1\nstorage_access_mode = "ReadWriteMany"\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    assert deployment(result)["spec"]["replicas"] == 3
    pdb = testing.objects(result)["vaultwarden/poddisruptionbudget-vaultwarden.yaml"]
    assert pdb["spec"]["maxUnavailable"] == 1
    claim = testing.objects(result)["vaultwarden/persistentvolumeclaim-vaultwarden-data.yaml"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.vaultwarden]\nenabled = false\n", plugins=PLUGINS)
    assert not any(path.startswith("vaultwarden/") for path in result.files)
    assert "cloudnativepg/database-postgres-ha-vaultwarden.yaml" not in result.files


def test_route_with_tls_through_the_ingress_provider(default) -> None:
    route = testing.objects(default)["vaultwarden/ingressroute-vault.yaml"]
    assert route["spec"]["routes"][0]["match"] == "Host(`vault.example.com`)"
    assert route["spec"]["routes"][0]["services"] == [{"name": "vaultwarden", "port": 80}]
    assert route["spec"]["tls"] == {}


def test_native_sso_wired_on_both_sides(default) -> None:
    env = env_of(default)
    assert env["SSO_ENABLED"] == "true"
    assert env["SSO_AUTHORITY"] == "https://auth.example.com/application/o/vaultwarden/"
    assert env["SSO_CLIENT_ID"] == "vaultwarden"
    assert env["SSO_CLIENT_SECRET"] == {"secretKeyRef": {"name": "vaultwarden-oidc", "key": "client-secret"}}
    blueprint = testing.objects(default)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    text = next(iter(blueprint.values()))
    assert "https://vault.example.com/identity/connect/oidc-signin" in text
    assert "client_id: vaultwarden" in text


def test_sso_login_gets_a_verified_email_claim(default) -> None:
    """Vaultwarden refuses email_verified: false, which authentik's built-in email mapping returns since 2025.10."""

    class Tagged(yaml.SafeLoader):
        """Reads authentik's tags as {"!Tag": value}."""

    Tagged.add_multi_constructor(
        "!",
        lambda loader, tag, node: {
            f"!{tag}": loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else node.value
        },
    )
    data = testing.objects(default)["authentik/configmap-authentik-ink-blueprints.yaml"]["data"]
    entries = yaml.load(next(iter(data.values())), Loader=Tagged)["entries"]  # a SafeLoader subclass
    (mapping,) = [e for e in entries if e["model"] == "authentik_providers_oauth2.scopemapping"]
    assert mapping["attrs"]["scope_name"] == "email"
    assert '"email_verified": True' in mapping["attrs"]["expression"]
    (provider,) = [e for e in entries if e["model"].endswith("oauth2provider") and e["identifiers"]["name"] == NAME]
    mappings = provider["attrs"]["property_mappings"]
    assert {"!KeyOf": mapping["id"]} in mappings
    assert not any("scope-email" in str(m) for m in mappings)  # the built-in one would say false
    # Without the claim Vaultwarden would need SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION; it stays off (upstream default).
    assert "SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION" not in env_of(default)


def test_data_volume_backed_up(default) -> None:
    pod = deployment(default)["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"backup.velero.io/backup-volumes": "data"}
    schedule = next(o for p, o in testing.objects(default).items() if p.startswith("velero/schedule-"))
    assert "vaultwarden" in schedule["spec"]["template"]["includedNamespaces"]


def test_runs_without_the_platform_with_warnings(alone) -> None:
    env = env_of(alone)
    assert env["DOMAIN"] == "https://vault.example.com"
    assert "SSO_ENABLED" not in env
    assert not any(p.startswith("vaultwarden/ingressroute") for p in alone.files)
    warnings = " ".join(alone.warnings)
    assert "auth/vault is left out" in warnings
    assert "ingress/vault is left out" in warnings


def test_more_replicas_on_a_single_node_volume_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="storage_access_mode = 'ReadWriteMany'"):
        testing.synth(tmp_path, "[plugins.vaultwarden]\nreplicas = 2\n", plugins=PLUGINS)
