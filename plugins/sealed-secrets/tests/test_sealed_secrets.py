"""Sealed Secrets: generated credentials reach the output only sealed, stably, openable by the controller."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import SecretsError
from ink.models import GeneratedSecret, SecretClaim, ServiceInfo
from ink.plugins import make_plugin_host
from ink.secrets import MasterKey
from ink.validate import ManifestValidator

TOKEN = GeneratedSecret(id="demo/admin-token", length=48)


class Demo:
    """A consumer that needs one generated secret."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="demo", title="Demo", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_secrets(self) -> list[SecretClaim]:
        return [SecretClaim(name="demo-admin", data={"token": TOKEN, "user": "admin"})]


def synth(tmp_path: Path, config: str = ""):
    return testing.synth(tmp_path, config, plugins=["sealed-secrets"], extra={"demo": Demo()})


def private_key(path: Path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def expected_token() -> str:
    return MasterKey(testing.TEST_MASTER_KEY.encode(), "test").derive(TOKEN)


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert host.dists["sealed-secrets"].distribution == "ink-plugin-sealed-secrets"


def test_output_matches_reviewed_snapshot(tmp_path: Path, snapshot) -> None:
    assert testing.snapshot_text(synth(tmp_path)) == snapshot


def test_output_validates(tmp_path: Path, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(synth(tmp_path)).items())
    assert report.problems == []
    assert report.skipped == {}


def test_sealed_value_opens_with_the_controller_key(tmp_path: Path) -> None:
    result = synth(tmp_path)
    sealed = testing.objects(result)["demo/sealedsecret-demo-admin.yaml"]
    assert sealed["metadata"]["namespace"] == "demo"
    key = private_key(tmp_path / ".ink" / sealing.DEV_KEY_NAME)
    opened = sealing.unseal_value(
        key, namespace="demo", name="demo-admin", ciphertext=sealed["spec"]["encryptedData"]["token"]
    )
    assert opened.decode() == expected_token()
    assert len(expected_token()) == 48
    assert expected_token() not in "".join(result.files.values())


def test_resynth_does_not_change_sealed_output(tmp_path: Path) -> None:
    first = synth(tmp_path).files["demo/sealedsecret-demo-admin.yaml"]
    second = synth(tmp_path).files["demo/sealedsecret-demo-admin.yaml"]
    assert first == second


def test_development_key_warns(tmp_path: Path) -> None:
    result = synth(tmp_path)
    assert any("no sealing certificate configured" in w for w in result.warnings)


def test_configured_certificate_is_used_without_warning(tmp_path: Path) -> None:
    keys = tmp_path / "cluster-key"
    cert_path, key_path = sealing.generate_dev_keypair(keys)
    result = synth(tmp_path, f'[plugins.sealed-secrets]\ncertificate = "{cert_path}"\n')
    assert not any("sealing certificate" in w for w in result.warnings)
    sealed = testing.objects(result)["demo/sealedsecret-demo-admin.yaml"]
    opened = sealing.unseal_value(
        private_key(key_path), namespace="demo", name="demo-admin", ciphertext=sealed["spec"]["encryptedData"]["token"]
    )
    assert opened.decode() == expected_token()


def test_missing_certificate_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SecretsError, match=r"missing\.pem"):
        synth(tmp_path, '[plugins.sealed-secrets]\ncertificate = "missing.pem"\n')


def test_controller_installed_from_the_official_chart(tmp_path: Path) -> None:
    app = testing.objects(synth(tmp_path))["sealed-secrets/application-sealed-secrets-controller.yaml"]
    source = app["spec"]["source"]
    assert source["repoURL"] == "https://bitnami.github.io/sealed-secrets"
    assert source["chart"] == "sealed-secrets"
    assert source["helm"]["valuesObject"]["fullnameOverride"] == "sealed-secrets-controller"
    assert source["helm"]["valuesObject"]["image"]["tag"] == "0.40.0"


def test_the_controller_is_scraped_only_with_a_metrics_provider(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"monitoring": monitoring})
    target = testing.metrics_targets(result, "sealed-secrets")["controller"]
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    assert (dict(target.pods), target.port, target.path) == (
        {"app.kubernetes.io/name": "sealed-secrets"},
        8081,
        "/metrics",
    )
    assert testing.metrics_targets(testing.synth(tmp_path, plugins=["sealed-secrets"]), "sealed-secrets") == {}
