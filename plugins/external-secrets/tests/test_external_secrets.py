"""External Secrets: Secrets come from Vault, generated credentials are made once in the cluster, nothing in Git."""

from __future__ import annotations

from pathlib import Path

import pytest

from ink import hookimpl, testing
from ink.errors import ResolutionError, UserError
from ink.models import ChartService, Endpoint, GeneratedSecret, SecretClaim, SecretTemplate, ServiceInfo, UserSecret
from ink.plugins import make_plugin_host
from ink.secrets import MasterKey
from ink.validate import ManifestValidator

# The CRDs the packaged chart ships (tests/chartrender.py PACKAGED_CRDS says why this module version).
CRDS_MODULE = ("github.com/external-secrets/external-secrets", "v1.3.2")
ENABLED = "[plugins.external-secrets]\nenabled = true\n[plugins.sealed-secrets]\nenabled = false\n"
PASSWORD = GeneratedSecret(id="demo/db_password")
TOKEN = GeneratedSecret(id="demo/token", length=33, alphabet="hex")


class Demo:
    """A consumer with every kind of value: literal, generated, template, user secret."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="demo", title="Demo", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_secrets(self) -> list[SecretClaim]:
        uri = SecretTemplate(template="postgresql://demo:{pw}@db/demo?x={{literal}}", values={"pw": PASSWORD})
        data = {"password": PASSWORD, "uri": uri, "token": TOKEN, "user": "ad{{min", "api": UserSecret(name="api-key")}
        return [
            SecretClaim(name="demo-app", data=data, labels={"app.kubernetes.io/component": "app"}),
            SecretClaim(name="demo-db", data={"password": PASSWORD}, type="kubernetes.io/basic-auth"),
        ]


class Vault:
    """Stands in for ink-plugin-vault: serves the endpoint kind `vault` as the contract says."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="vault", title="Vault", version="2.0.4", homepage="https://example.org")

    @hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [Endpoint(name="api", port=8200, protocol="https", kind="vault", service="vault")]

    @hookimpl
    def ink_network(self) -> list[ChartService]:
        pods = {"app.kubernetes.io/name": "vault"}
        return [
            ChartService(name="vault", pods=pods, ports={8200: 8200}, source="vault-helm templates/server-service.yaml")
        ]


def synth(tmp_path: Path, config: str = ENABLED, *, vault: bool = True):
    extra = {"demo": Demo(), **({"vault": Vault()} if vault else {})}
    return testing.synth(tmp_path, config, plugins=["external-secrets", "sealed-secrets"], extra=extra)


@pytest.fixture(scope="module")
def crds() -> Path:
    return testing.go_module_dir(*CRDS_MODULE) / "config" / "crds" / "bases"


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert host.dists["external-secrets"].distribution == "ink-plugin-external-secrets"


def test_output_matches_reviewed_snapshot(tmp_path: Path, snapshot) -> None:
    assert testing.snapshot_text(synth(tmp_path)) == snapshot


def test_every_object_validates(tmp_path: Path, crd_dir: Path, crds: Path) -> None:
    """ExternalSecret and ClusterSecretStore against ../shared/crds, PushSecret and Password against ESO's CRDs."""
    objects = testing.objects(synth(tmp_path))
    kinds = {body["kind"] for body in objects.values()}
    assert {"ExternalSecret", "ClusterSecretStore", "PushSecret", "Password"} <= kinds
    report = ManifestValidator("1.33", [crd_dir, crds]).validate_all(objects.items())
    assert report.problems == []
    assert report.skipped == {}


def test_a_wrong_object_fails_validation(tmp_path: Path, crd_dir: Path, crds: Path) -> None:
    objects = testing.objects(synth(tmp_path))
    push = next(body for body in objects.values() if body["kind"] == "PushSecret")
    push["spec"]["updatePolicy"] = "Sometimes"
    password = next(body for body in objects.values() if body["kind"] == "Password")
    password["spec"]["encoding"] = "base58"
    report = ManifestValidator("1.33", [crd_dir, crds]).validate_all([("p.yaml", push), ("g.yaml", password)])
    assert len(report.problems) == 2


def test_no_value_reaches_the_output(tmp_path: Path) -> None:
    result = synth(tmp_path, ENABLED)
    key = MasterKey(testing.TEST_MASTER_KEY.encode(), "test")
    text = "".join(result.files.values())
    for spec in (PASSWORD, TOKEN):
        assert key.derive(spec) not in text
    assert not any(body["kind"] in ("Secret", "SealedSecret") for body in testing.objects(result).values())


def test_each_secret_is_an_external_secret_from_vault(tmp_path: Path) -> None:
    app = testing.objects(synth(tmp_path))["demo/externalsecret-demo-app.yaml"]
    spec = app["spec"]
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "ink-vault"}
    assert spec["target"]["name"] == "demo-app"
    assert spec["target"]["creationPolicy"] == "Owner"
    assert spec["target"]["template"]["metadata"]["labels"] == {"app.kubernetes.io/component": "app"}
    assert spec["data"] == [
        {"secretKey": "v0", "remoteRef": {"key": "demo/db_password", "property": "value"}},
        {"secretKey": "v1", "remoteRef": {"key": "demo/token", "property": "value"}},
        {"secretKey": "v2", "remoteRef": {"key": "user/api-key", "property": "value"}},
    ]
    assert spec["target"]["template"]["data"] == {
        "password": "{{ .v0 }}",
        # Python's {{ is a literal brace; Go's {{ would start an action, so it is printed by one.
        "uri": "postgresql://demo:{{ .v0 }}@db/demo?x={literal}",
        "token": "{{ .v1 | trunc 33 }}",
        "user": 'ad{{ "{{" }}min',
        "api": "{{ .v2 }}",
    }
    db = testing.objects(synth(tmp_path))["demo/externalsecret-demo-db.yaml"]
    assert db["spec"]["target"]["template"]["type"] == "kubernetes.io/basic-auth"


def test_each_credential_is_pushed_once_and_never_overwritten(tmp_path: Path) -> None:
    objects = testing.objects(synth(tmp_path))
    pushes = [body for body in objects.values() if body["kind"] == "PushSecret"]
    assert sorted(p["spec"]["data"][0]["match"]["remoteRef"]["remoteKey"] for p in pushes) == [
        "demo/db_password",
        "demo/token",
    ]  # the password is in two Secrets, pushed once
    for push in pushes:
        assert push["metadata"]["namespace"] == "external-secrets"
        assert push["spec"]["updatePolicy"] == "IfNotExists"
        assert push["spec"]["deletionPolicy"] == "None"
        assert push["spec"]["secretStoreRefs"] == [{"kind": "ClusterSecretStore", "name": "ink-vault"}]


def test_generators_honour_length_and_alphabet(tmp_path: Path) -> None:
    objects = testing.objects(synth(tmp_path))
    alnum = objects["external-secrets/password-alphanumeric-32.yaml"]["spec"]
    assert alnum == {"length": 32, "digits": 5, "symbols": 0, "encoding": "raw", "noUpper": False, "allowRepeat": True}
    hexa = objects["external-secrets/password-hex-33.yaml"]["spec"]
    assert hexa["encoding"] == "hex" and hexa["length"] == 17 and hexa["symbols"] == 0  # 34 hex digits, cut to 33


def test_rotation_pushes_a_new_path_and_points_every_secret_at_it(tmp_path: Path) -> None:
    config = ENABLED + '[secrets.rotations]\n"demo/db_password" = 2\n'
    objects = testing.objects(synth(tmp_path, config))
    keys = {
        p["spec"]["data"][0]["match"]["remoteRef"]["remoteKey"] for p in objects.values() if p["kind"] == "PushSecret"
    }
    assert keys == {"demo/db_password/g2", "demo/token"}
    for name in ("demo-app", "demo-db"):
        refs = [d["remoteRef"]["key"] for d in objects[f"demo/externalsecret-{name}.yaml"]["spec"]["data"]]
        assert "demo/db_password/g2" in refs and "demo/db_password" not in refs


def test_store_is_the_contracts(tmp_path: Path) -> None:
    store = testing.objects(synth(tmp_path))["external-secrets/clustersecretstore-ink-vault.yaml"]
    vault = store["spec"]["provider"]["vault"]
    assert vault["server"] == "https://vault.vault.svc:8200"
    assert (vault["path"], vault["version"]) == ("ink", "v2")
    assert vault["auth"]["kubernetes"] == {
        "mountPath": "kubernetes",
        "role": "external-secrets",
        "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"},
    }
    assert vault["caProvider"] == {"type": "Secret", "name": "vault-server-tls", "namespace": "vault", "key": "ca.crt"}


def test_with_vault_the_policies_open_the_path_to_it_and_no_warning(tmp_path: Path) -> None:
    result = synth(tmp_path)
    assert not any("no Vault installed" in w for w in result.warnings)
    egress = [
        rule
        for path, body in testing.objects(result).items()
        if path.startswith("external-secrets/networkpolicy-")
        for rule in body["spec"].get("egress", [])
    ]
    assert any(
        port.get("port") == 8200
        and any(
            peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "vault"
            for peer in rule.get("to", [])
        )
        for rule in egress
        for port in rule.get("ports", [])
    ), egress


def test_user_secrets_are_named_with_the_command_that_writes_them(tmp_path: Path) -> None:
    warnings = [w for w in synth(tmp_path).warnings if "user secrets from Vault" in w]
    assert warnings == [
        "external-secrets: services read user secrets from Vault: ink/user/api-key; write each with "
        "`vault kv put ink/user/<name> value=...` (until then their Secrets are not made)"
    ]


def test_cores_unset_user_secret_warning_is_left_to_this_provider(tmp_path: Path) -> None:
    # The Secret comes from ink/user/api-key in Vault, not from ink: no placeholder reaches the cluster, so
    # core's "its Secret holds a placeholder / set INK_SECRET_API_KEY" would be untrue; the warning above says
    # where the value goes instead.
    warnings = synth(tmp_path).warnings
    assert not any("is not set" in w or "INK_SECRET_API_KEY" in w for w in warnings), warnings
    assert any("ink/user/api-key" in w for w in warnings)


def test_without_vault_it_synthesises_with_a_warning(tmp_path: Path) -> None:
    result = synth(tmp_path, vault=False)
    assert any("no Vault installed" in w and "install ink-plugin-vault" in w for w in result.warnings)
    assert "external-secrets/clustersecretstore-ink-vault.yaml" in result.files
    assert not any("8200" in text for path, text in result.files.items() if "networkpolicy" in path)


def test_off_by_default_sealed_secrets_stays_the_provider(tmp_path: Path) -> None:
    result = synth(tmp_path, "")
    kinds = {body["kind"] for body in testing.objects(result).values()}
    assert "SealedSecret" in kinds and "ExternalSecret" not in kinds
    assert not any(path.startswith("external-secrets/") for path in result.files)


def test_enabling_both_providers_names_the_keys_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as err:
        synth(tmp_path, "[plugins.external-secrets]\nenabled = true\n")
    message = str(err.value)
    assert "two plugins provide secrets" in message and "enabled = false" in message
    assert "\n" not in message


def test_settings_from_ink_toml_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = (
        '[plugins.external-secrets]\nenabled = true\nrefresh_interval = "15m"\n'
        'webhook_resources = { memory_limit = "128Mi", memory_request = "32Mi" }\n'
        "[plugins.sealed-secrets]\nenabled = false\n"
    )
    monkeypatch.setenv("INK_PLUGINS__EXTERNAL_SECRETS__IMAGE_TAG", "v2.8.0")
    objects = testing.objects(synth(tmp_path, config))
    assert objects["demo/externalsecret-demo-db.yaml"]["spec"]["refreshInterval"] == "15m"
    values = objects["external-secrets/application-external-secrets-chart.yaml"]["spec"]["source"]["helm"][
        "valuesObject"
    ]
    assert values["webhook"]["resources"]["limits"]["memory"] == "128Mi"
    assert values["image"]["tag"] == values["webhook"]["image"]["tag"] == "v2.8.0"


@pytest.mark.parametrize(
    ("setting", "named"),
    [('refresh_interval = "often"', "refresh_interval"), ('image_tag = "a b"', "image_tag")],
)
def test_bad_settings_name_the_key(tmp_path: Path, setting: str, named: str) -> None:
    config = ENABLED.replace("enabled = true\n", f"enabled = true\n{setting}\n", 1)
    with pytest.raises(UserError, match=named):
        synth(tmp_path, config)


def test_installed_from_the_official_chart_with_resources_everywhere(tmp_path: Path) -> None:
    app = testing.objects(synth(tmp_path))["external-secrets/application-external-secrets-chart.yaml"]
    source = app["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://charts.external-secrets.io",
        "external-secrets",
        "2.9.0",
    )
    values = source["helm"]["valuesObject"]
    assert values["installCRDs"] is True
    assert values["serviceAccount"]["name"] == "external-secrets"
    for part in (values, values["webhook"], values["certController"]):
        assert part["resources"]["requests"]["memory"] and part["resources"]["limits"]["memory"]
        assert part["image"] == {"repository": "ghcr.io/external-secrets/external-secrets", "tag": "v2.9.0"}


def test_the_three_components_are_scraped_with_a_metrics_provider(tmp_path: Path) -> None:
    from ink.models import Capability

    extra = {"demo": Demo(), "vault": Vault(), "monitoring": testing.StandIn("monitoring", Capability.METRICS)}
    result = testing.synth(tmp_path, ENABLED, plugins=["external-secrets", "sealed-secrets"], extra=extra)
    targets = testing.metrics_targets(result, "external-secrets")
    # Pods and port: the chart's selectorLabels helpers and `--metrics-addr=:8080` (see ink_metrics_targets).
    assert {name: (dict(t.pods), t.port, t.path, t.scheme) for name, t in targets.items()} == {
        name: (
            {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "external-secrets"},
            8080,
            "/metrics",
            "http",
        )
        for name, app in {
            "controller": "external-secrets",
            "webhook": "external-secrets-webhook",
            "cert-controller": "external-secrets-cert-controller",
        }.items()
    }
    # No chart value changes: the metrics listeners are on by default; the provider writes PodMonitors.
    app = testing.objects(result)["external-secrets/application-external-secrets-chart.yaml"]
    assert "serviceMonitor" not in app["spec"]["source"]["helm"]["valuesObject"]


def test_without_a_metrics_provider_nothing_is_scraped(tmp_path: Path) -> None:
    assert testing.metrics_targets(synth(tmp_path), "external-secrets") == {}
