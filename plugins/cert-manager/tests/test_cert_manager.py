"""cert-manager: discovery, the reviewed output, certificates for claims, the sealed token, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError
from ink.models import CertificateClaim, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["cert-manager", "sealed-secrets"]
ISSUER = "cert-manager/clusterissuer-letsencrypt.yaml"
APPLICATION = "cert-manager/application-cert-manager-chart.yaml"
TOKEN = "cert-manager/sealedsecret-cloudflare-api-token.yaml"
CERTIFICATE = "mail/certificate-mail-tls.yaml"


class Mail:
    """A consumer that terminates TLS itself and needs a certificate for two names."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="mail", title="Mail", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_certificate_claims(self, ctx) -> list[CertificateClaim]:
        return [CertificateClaim(name="mail-tls", dns_names=(f"mail.{ctx.domain}", f"smtp.{ctx.domain}"))]


def synth(directory: Path, config: str = ""):
    return testing.synth(directory, config, plugins=PLUGINS, extra={"mail": Mail()})


def opened(directory: Path, body: dict, key: str) -> str:
    private = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    meta = body["metadata"]
    value = body["spec"]["encryptedData"][key]
    return sealing.unseal_value(private, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("cert-manager")
    return directory, synth(directory)


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["cert-manager"].distribution == "ink-plugin-cert-manager"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["cert-manager", "mail"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default[1]).items())
    assert report.problems == []
    assert report.skipped == {}


def test_certificate_lands_in_the_consumers_namespace(default) -> None:
    certificate = testing.objects(default[1])[CERTIFICATE]
    assert certificate["metadata"]["namespace"] == "mail"
    assert certificate["metadata"]["labels"]["app.kubernetes.io/name"] == "mail"
    assert certificate["spec"] == {
        "secretName": "mail-tls",
        "dnsNames": ["mail.example.com", "smtp.example.com"],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"},
    }


def test_cluster_issuer_uses_lets_encrypt_production_and_cloudflare_dns01(default) -> None:
    issuer = testing.objects(default[1])[ISSUER]
    assert "namespace" not in issuer["metadata"]  # cluster-scoped
    assert issuer["spec"]["acme"] == {
        "server": "https://acme-v02.api.letsencrypt.org/directory",
        "email": "admin@example.com",
        "privateKeySecretRef": {"name": "letsencrypt-account-key"},
        "solvers": [
            {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-api-token", "key": "api-token"}}}}
        ],
    }


def test_cloudflare_token_is_sealed_in_cert_managers_namespace(default) -> None:
    directory, result = default
    token = testing.objects(result)[TOKEN]
    assert token["metadata"] == {
        "name": "cloudflare-api-token",
        "namespace": "cert-manager",
        "labels": token["metadata"]["labels"],
        "annotations": token["metadata"]["annotations"],
    }
    assert list(token["spec"]["encryptedData"]) == ["api-token"]
    # Without the user's token a placeholder is sealed, and the user is told how to set it.
    assert opened(directory, token, "api-token") == "unset-cloudflare-api-token"
    assert any("INK_SECRET_CLOUDFLARE_API_TOKEN" in warning for warning in result.warnings)


def test_token_from_the_environment_is_what_the_sealed_secret_opens_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INK_SECRET_CLOUDFLARE_API_TOKEN", "cf-token-0123456789abcdef")
    result = synth(tmp_path)
    assert opened(tmp_path, testing.objects(result)[TOKEN], "api-token") == "cf-token-0123456789abcdef"
    assert not any("cloudflare-api-token" in warning for warning in result.warnings)
    assert not any("cf-token-0123456789abcdef" in text for text in result.files.values())


def test_installed_from_the_official_chart_with_crds(default) -> None:
    source = testing.objects(default[1])[APPLICATION]["spec"]["source"]
    assert source["repoURL"] == "https://charts.jetstack.io"
    assert source["chart"] == "cert-manager"
    assert source["targetRevision"] == "v1.21.2"
    values = source["helm"]["valuesObject"]
    assert values["crds"] == {"enabled": True}
    assert values["image"] == {"tag": "v1.21.2"}
    assert values["webhook"] == values["cainjector"] == values["acmesolver"] == values["startupapicheck"]
    assert values["webhook"] == {"image": {"tag": "v1.21.2"}}
    assert "dns01RecursiveNameservers" not in values


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"
tls_issuer = "acme"

[plugins.cert-manager]
email = "certs@example.org"
staging = true
dns01_recursive_nameservers = ["1.1.1.1:53", "8.8.8.8:53"]
"""
    objects = testing.objects(synth(tmp_path, config))
    acme = objects["cert-manager/clusterissuer-acme.yaml"]["spec"]["acme"]
    assert acme["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert acme["email"] == "certs@example.org"
    assert acme["privateKeySecretRef"] == {"name": "acme-staging-account-key"}
    certificate = objects[CERTIFICATE]["spec"]
    assert certificate["issuerRef"]["name"] == "acme"
    assert certificate["dnsNames"] == ["mail.home.example.org", "smtp.home.example.org"]
    values = objects[APPLICATION]["spec"]["source"]["helm"]["valuesObject"]
    assert values["dns01RecursiveNameservers"] == "1.1.1.1:53,8.8.8.8:53"
    assert values["dns01RecursiveNameserversOnly"] is True


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__CERT_MANAGER__STAGING", "true")
    monkeypatch.setenv("INK_PLUGINS__CERT_MANAGER__EMAIL", "ops@example.net")
    acme = testing.objects(synth(tmp_path))[ISSUER]["spec"]["acme"]
    assert acme["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert acme["email"] == "ops@example.net"


def test_invalid_email_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.cert-manager\.email"):
        synth(tmp_path, '[plugins.cert-manager]\nemail = "not-an-address"\n')


def test_the_controller_is_scraped_with_certificate_alerts_when_there_is_a_metrics_provider(tmp_path: Path) -> None:
    from ink.models import Capability

    extra = {"mail": Mail(), "monitoring": testing.StandIn("monitoring", Capability.METRICS)}
    result = testing.synth(tmp_path, plugins=PLUGINS, extra=extra)
    target = testing.metrics_targets(result, "cert-manager")["controller"]
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    assert (target.pods["app.kubernetes.io/component"], target.port, target.path) == ("controller", 9402, "/metrics")
    alerts = {a.alert: a for a in target.alerts}
    assert alerts["CertificateExpiresSoon"].expr == (
        "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 86400"
    )
    assert sorted(alerts) == ["CertificateExpiresSoon", "CertificateNotReady"]


def test_without_a_metrics_provider_nothing_is_scraped(default) -> None:
    assert testing.metrics_targets(default[1], "cert-manager") == {}
