"""Vault (and OpenBao): the chart install, TLS, Raft, the bootstrap, SSO and auto-unseal settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ink import testing
from ink.errors import UserError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PROVIDERS = ["vault", "cert-manager", "sealed-secrets", "authentik", "cloudnativepg", "traefik"]
ON = "[plugins.vault]\nenabled = true\n"
OPENBAO = ON + 'distribution = "openbao"\n'


def synth(tmp_path: Path, config: str = ON, plugins: list[str] = PROVIDERS, **kwargs):
    return testing.synth(tmp_path, config, plugins=plugins, **kwargs)


def objects(tmp_path: Path, config: str = ON, plugins: list[str] = PROVIDERS) -> dict:
    return testing.objects(synth(tmp_path, config, plugins))


def application(objs: dict) -> dict:
    return objs["vault/application-vault-chart.yaml"]


def values(objs: dict) -> dict:
    return application(objs)["spec"]["source"]["helm"]["valuesObject"]


def cronjob(objs: dict) -> dict:
    return objs["vault/cronjob-vault-bootstrap.yaml"]


def bootstrap_files(objs: dict) -> dict[str, str]:
    return objs["vault/configmap-vault-bootstrap.yaml"]["data"]


def container_env(objs: dict) -> dict[str, dict]:
    pod = cronjob(objs)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return {e["name"]: e for e in pod["containers"][0]["env"]}


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert host.dists["vault"].distribution == "ink-plugin-vault"


def test_off_by_default(tmp_path: Path) -> None:
    result = synth(tmp_path, "")
    assert not any(name.startswith("vault/") for name in result.files)


@pytest.mark.parametrize("config", [ON, OPENBAO], ids=["vault", "openbao"])
def test_output_matches_reviewed_snapshot(tmp_path: Path, snapshot, config: str) -> None:
    result = synth(tmp_path, config)
    assert testing.snapshot_text(result, folders=("vault",)) == snapshot


@pytest.mark.parametrize("config", [ON, OPENBAO], ids=["vault", "openbao"])
def test_output_validates(tmp_path: Path, ink_validator: ManifestValidator, config: str) -> None:
    report = ink_validator.validate_all(objects(tmp_path, config).items())
    assert report.problems == []


def test_chart_install_and_contract_names(tmp_path: Path) -> None:
    objs = objects(tmp_path)
    app = application(objs)
    assert app["spec"]["source"]["chart"] == "vault"
    assert app["spec"]["source"]["targetRevision"] == "0.34.1"
    assert app["spec"]["source"]["helm"]["releaseName"] == "vault"
    assert app["spec"]["destination"]["namespace"] == "vault"
    server = values(objs)["server"]
    assert server["image"] == {"repository": "docker.io/hashicorp/vault", "tag": "2.0.4"}
    assert values(objs)["injector"] == {"enabled": False}
    assert server["ha"]["enabled"] and server["ha"]["raft"]["enabled"] and server["ha"]["replicas"] == 3
    assert server["ha"]["disruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    config = server["ha"]["raft"]["config"]
    for n in range(3):
        assert f'leader_api_addr = "https://vault-{n}.vault-internal:8200"' in config
    assert config.count('leader_ca_cert_file = "/ink/tls/ca.crt"') == 3
    assert 'tls_cert_file = "/ink/tls/tls.crt"' in config and "tls_disable" not in config
    assert values(objs)["global"]["tlsDisable"] is False
    volumes = {v["name"]: v for v in server["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "vault-server-tls"
    certificate = objs["vault/certificate-vault-server-tls.yaml"]
    assert certificate["spec"]["secretName"] == "vault-server-tls"
    assert certificate["spec"]["issuerRef"]["name"] == "ink-internal-ca"
    names = set(certificate["spec"]["dnsNames"])
    assert {"vault.vault.svc", "vault-active.vault.svc", "vault-0.vault-internal", "vault-2.vault-internal"} <= names


def test_no_public_route(tmp_path: Path) -> None:
    objs = objects(tmp_path)
    routes = [o for o in objs.values() if o["kind"] in ("IngressRoute", "HTTPRoute", "Ingress")]
    assert routes  # authentik's own, so the check below can fail
    assert not [r for r in routes if r["metadata"].get("namespace") == "vault" or "vault-ui" in json.dumps(r)]
    assert values(objs)["ui"] == {"enabled": True, "serviceType": "ClusterIP"}


def test_every_container_has_resources_and_runs_restricted(tmp_path: Path) -> None:
    server = values(objects(tmp_path))["server"]
    assert server["resources"]["requests"] and server["resources"]["limits"]["memory"]
    for container in server["extraContainers"]:
        assert container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    pod = server["statefulSet"]["securityContext"]["pod"]
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"} and pod["runAsNonRoot"] is True
    container = server["statefulSet"]["securityContext"]["container"]
    assert container["capabilities"] == {"drop": ["ALL"]} and container["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in server["volumeMounts"]  # the start command writes there


def test_bootstrap_configures_the_contract(tmp_path: Path) -> None:
    objs = objects(tmp_path)
    files = bootstrap_files(objs)
    script = files["bootstrap.sh"]
    assert "$cli secrets enable -path=ink -version=2 kv" in script
    assert "$cli auth enable -path=kubernetes kubernetes" in script
    assert "$cli write auth/kubernetes/role/external-secrets @/bootstrap/kubernetes-role.json" in script
    assert "$cli audit enable -path=stdout file file_path=stdout" in script
    assert "cli=vault" in script
    role = json.loads(files["kubernetes-role.json"])
    assert role["bound_service_account_names"] == ["external-secrets"]
    assert role["bound_service_account_namespaces"] == ["external-secrets"]
    assert role["token_policies"] == ["ink-secrets"]
    assert files["ink-secrets.hcl"] == (
        'path "ink/data/*" {\n  capabilities = ["create", "read", "update"]\n}\n\n'
        'path "ink/metadata/*" {\n  capabilities = ["create", "read", "update", "list"]\n}\n'
    )
    env = container_env(objs)
    assert env["VAULT_ADDR"]["value"] == "https://vault-active.vault.svc:8200"
    assert env["VAULT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "vault-bootstrap-token", "key": "token"}
    assert not any(path.endswith("vault-bootstrap-token.yaml") for path in objs)  # made by the runbook, not Git


def test_bootstrap_script_is_valid_shell(tmp_path: Path) -> None:
    import shutil
    import subprocess

    script = bootstrap_files(objects(tmp_path))["bootstrap.sh"]
    sh = shutil.which("sh")
    assert sh is not None
    subprocess.run([sh, "-n"], input=script, text=True, check=True)


def test_oidc_through_authentik(tmp_path: Path) -> None:
    objs = objects(tmp_path)
    files = bootstrap_files(objs)
    admin = json.loads(files["oidc-role-admin.json"])
    default = json.loads(files["oidc-role-default.json"])
    callbacks = ["http://localhost:8250/oidc/callback", "https://localhost:8200/ui/vault/auth/oidc/oidc/callback"]
    assert admin["allowed_redirect_uris"] == default["allowed_redirect_uris"] == callbacks
    assert admin["bound_claims"] == {"groups": ["authentik Admins"]} and admin["token_policies"] == ["ink-admin"]
    assert default["token_policies"] == ["default"] and "bound_claims" not in default
    env = container_env(objs)
    assert env["OIDC_ISSUER"]["value"] == "https://auth.example.com/application/o/vault/"
    assert env["OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "vault-oidc", "key": "client-secret"}
    # authentik's side: an OAuth2 provider for vault with the two absolute callbacks (in its blueprint).
    texts = [t for o in objs.values() if o.get("kind") == "ConfigMap" for t in (o.get("data") or {}).values()]
    provider = next(t for t in texts if "client_id: vault" in t)
    for url in callbacks:
        assert f"url: {url}" in provider


def test_admin_group_setting(tmp_path: Path) -> None:
    files = bootstrap_files(objects(tmp_path, ON + 'admin_group = "vault-admins"\n'))
    assert json.loads(files["oidc-role-admin.json"])["bound_claims"] == {"groups": ["vault-admins"]}


def test_without_an_auth_provider_no_oidc(tmp_path: Path) -> None:
    plugins = [p for p in PROVIDERS if p != "authentik"]
    objs = objects(tmp_path, plugins=plugins)
    files = bootstrap_files(objs)
    assert "oidc-role-admin.json" not in files and "auth enable -path=oidc" not in files["bootstrap.sh"]
    assert "OIDC_ISSUER" not in container_env(objs)


def test_sso_off_in_ink_toml(tmp_path: Path) -> None:
    files = bootstrap_files(objects(tmp_path, ON + "sso = false\n"))
    assert "oidc-role-admin.json" not in files


def test_sso_asked_for_without_a_provider_fails(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="sso"):
        synth(tmp_path, ON + "sso = true\n", [p for p in PROVIDERS if p != "authentik"])


def test_without_a_tls_provider_fails(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        synth(tmp_path, ON, [p for p in PROVIDERS if p != "cert-manager"])


def test_openbao_distribution(tmp_path: Path) -> None:
    objs = objects(tmp_path, OPENBAO)
    app = application(objs)
    assert app["spec"]["source"]["chart"] == "openbao"
    assert app["spec"]["source"]["repoURL"] == "https://openbao.github.io/openbao-helm"
    assert app["spec"]["source"]["targetRevision"] == "0.29.2"
    chart = values(objs)
    assert chart["fullnameOverride"] == "vault"  # Services vault, vault-active, vault-internal as with Vault
    assert chart["server"]["image"] == {"registry": "quay.io", "repository": "openbao/openbao", "tag": "2.6.2"}
    config = chart["server"]["ha"]["raft"]["config"]
    assert 'path = "/openbao/data"' in config
    assert 'audit "file" "stdout"' in config  # OpenBao: declared, not through the API
    assert chart["server"]["ha"]["apiAddr"] == "https://$(BAO_K8S_POD_NAME).vault-internal:8200"
    script = bootstrap_files(objs)["bootstrap.sh"]
    assert "cli=bao" in script and "audit enable" not in script
    env = container_env(objs)
    assert {"BAO_ADDR", "BAO_CACERT", "BAO_TOKEN"} <= set(env) and "VAULT_ADDR" not in env
    pod = cronjob(objs)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "quay.io/openbao/openbao:2.6.2"


def test_settings_from_ink_toml_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = objects(tmp_path, ON + 'replicas = 5\nstorage_size = "20Gi"\nimage_tag = "2.0.3"\n')
    server = values(objs)["server"]
    assert server["ha"]["replicas"] == 5 and server["dataStorage"]["size"] == "20Gi"
    assert server["image"]["tag"] == "2.0.3"
    assert "vault-4.vault-internal" in objs["vault/certificate-vault-server-tls.yaml"]["spec"]["dnsNames"]
    monkeypatch.setenv("INK_PLUGINS__VAULT__DISTRIBUTION", "openbao")
    assert application(objects(tmp_path / "env"))["spec"]["source"]["chart"] == "openbao"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("replicas = 2\n", "replicas"),
        ('distribution = "hashicorp"\n', "distribution"),
        ('seal = { type = "pkcs11" }\n', "seal"),
        ('seal = { type = "transit", key_name = "k" }\n', "address"),
        ('seal = { type = "transit", address = "http://plain:8200", key_name = "k" }\n', "address"),
        ('bootstrap_schedule = "often"\n', "bootstrap_schedule"),
    ],
)
def test_bad_settings_are_one_clear_line(tmp_path: Path, config: str, words: str) -> None:
    with pytest.raises(UserError, match=words):
        synth(tmp_path, ON + config)


SEALS = {
    "transit": (
        'seal = { type = "transit", address = "https://unsealer.example.org:8200", key_name = "homelab" }\n',
        ['seal "transit"', 'address = "https://unsealer.example.org:8200"', 'key_name = "homelab"',
         'mount_path = "transit/"'],
        {"VAULT_TOKEN": "token"},
    ),
    "awskms": (
        'seal = { type = "awskms", region = "eu-central-1", kms_key_id = "alias/vault" }\n',
        ['seal "awskms"', 'region = "eu-central-1"', 'kms_key_id = "alias/vault"'],
        {"AWS_ACCESS_KEY_ID": "access-key-id", "AWS_SECRET_ACCESS_KEY": "secret-access-key"},
    ),
    "gcpckms": (
        'seal = { type = "gcpckms", project = "p", region = "global", key_ring = "r", crypto_key = "k" }\n',
        ['seal "gcpckms"', 'credentials = "/ink/seal/credentials.json"', 'project = "p"', 'key_ring = "r"',
         'crypto_key = "k"'],
        {},
    ),
    "azurekeyvault": (
        'seal = { type = "azurekeyvault", tenant_id = "t", client_id = "c", vault_name = "v", key_name = "k" }\n',
        ['seal "azurekeyvault"', 'tenant_id = "t"', 'client_id = "c"', 'vault_name = "v"', 'key_name = "k"'],
        {"AZURE_CLIENT_SECRET": "client-secret"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(SEALS))
def test_auto_unseal(tmp_path: Path, ink_validator: ManifestValidator, kind: str) -> None:
    setting, stanza, env = SEALS[kind]
    result = synth(tmp_path, ON + setting)
    objs = testing.objects(result)
    assert ink_validator.validate_all(objs.items()).problems == []
    server = values(objs)["server"]
    config = server["ha"]["raft"]["config"]
    for line in stanza:
        assert line in config
    assert server["extraSecretEnvironmentVars"] == [
        {"envName": name, "secretName": "vault-seal", "secretKey": key} for name, key in env.items()
    ]
    sealed = objs["vault/sealedsecret-vault-seal.yaml"]
    assert sealed["spec"]["encryptedData"]  # credentials sealed, never in the config or the values
    assert any("is not set: its Secret holds a placeholder" in w for w in result.warnings)
    if kind == "gcpckms":
        assert {"name": "seal", "mountPath": "/ink/seal", "readOnly": True} in server["volumeMounts"]


def test_no_seal_no_seal_secret(tmp_path: Path) -> None:
    objs = objects(tmp_path)
    assert "seal " not in values(objs)["server"]["ha"]["raft"]["config"]
    assert "vault/sealedsecret-vault-seal.yaml" not in objs


def test_serves_the_vault_endpoint_to_linked_consumers(tmp_path: Path) -> None:
    from ink import hookimpl
    from ink.models import Link, ServiceInfo

    class Consumer:
        @hookimpl
        def ink_service_info(self) -> ServiceInfo:
            return ServiceInfo(name="consumer", title="Consumer", version="1", homepage="https://example.org")

        @hookimpl
        def ink_links(self) -> list[Link]:
            return [Link(name="vault", kind="vault", optional=True)]

    objs = testing.objects(synth(tmp_path, extra={"consumer": Consumer()}))
    ingress = objs["vault/networkpolicy-allow-ingress-server.yaml"]
    rules = ingress["spec"]["ingress"]
    assert any(
        peer.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "consumer"}
        and {"port": 8200, "protocol": "TCP"} in rule["ports"]
        for rule in rules
        for peer in rule["from"]
    )
    assert ingress["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "vault", "component": "server"}
    egress = objs["consumer/networkpolicy-allow-egress.yaml"]["spec"]["egress"]
    assert [r["ports"] for r in egress] == [[{"port": 8200, "protocol": "TCP"}]]


def test_without_a_consumer_nothing_reaches_the_servers(tmp_path: Path) -> None:
    assert not [p for p in objects(tmp_path) if p.startswith("vault/networkpolicy-allow-ingress")]


@pytest.mark.parametrize("config", [ON, OPENBAO], ids=["vault", "openbao"])
def test_metrics_are_served_and_scraped_over_tls_only_with_a_metrics_provider(tmp_path: Path, config: str) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = synth(tmp_path, config, extra={"monitoring": monitoring})
    server_config = values(testing.objects(result))["server"]["ha"]["raft"]["config"]
    listener = server_config.split('listener "tcp" {', 1)[1].split("\nstorage", 1)[0]
    assert "telemetry {\n    unauthenticated_metrics_access = true\n  }" in listener
    assert 'telemetry {\n  prometheus_retention_time = "30s"\n  disable_hostname = true\n}' in server_config
    target = testing.metrics_targets(result, "vault")["server"]
    chart = "openbao" if "openbao" in config else "vault"
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    assert (dict(target.pods), target.port, target.path, target.params, target.scheme) == (
        {"app.kubernetes.io/name": chart, "component": "server"},
        8200,
        "/v1/sys/metrics",
        {"format": "prometheus"},
        "https",
    )
    assert (target.ca.name, target.ca.key, target.server_name) == ("vault-server-tls", "ca.crt", "vault.vault.svc")
    assert [a.expr for a in target.alerts] == ["vault_core_unsealed == 0"]
    without = values(objects(tmp_path, config))["server"]["ha"]["raft"]["config"]
    assert "telemetry" not in without
    assert testing.metrics_targets(synth(tmp_path, config), "vault") == {}
