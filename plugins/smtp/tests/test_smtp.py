"""smtp: a capability defined by a package, provided by it, and consumed by services that do not import it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import testing
from ink.errors import ConfigError, ResolutionError
from ink.plugins import make_plugin_host

PLUGINS = ["smtp", "vaultwarden", "cloudnativepg", "sealed-secrets"]
MAIL = """
[plugins.smtp]
enabled = true
host = "smtp.fastmail.com"
username = "me@example.com"
from_address = "vault@example.com"
"""


def env_of(result) -> dict[str, Any]:
    deployment = testing.objects(result)["vaultwarden/deployment-vaultwarden.yaml"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("smtp"), MAIL, plugins=PLUGINS)


def test_the_package_defines_the_capability_through_its_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "smtp"})
    assert "smtp" in host.names
    spec = host.capabilities["smtp"]
    assert spec.defined_by == "ink-plugin-smtp"
    assert spec.provide_hook == "ink_provide_smtp"
    assert host.implements("smtp", "ink_provide_smtp")


def test_consumer_gets_host_port_tls_from_and_the_password_ref(mail) -> None:
    env = env_of(mail)
    assert env["SMTP_HOST"] == "smtp.fastmail.com"
    assert env["SMTP_PORT"] == "587"  # starttls's submission port
    assert env["SMTP_SECURITY"] == "starttls"
    assert env["SMTP_FROM"] == "vault@example.com"
    assert env["SMTP_USERNAME"] == "me@example.com"
    assert env["SMTP_PASSWORD"] == {"secretKeyRef": {"name": "vaultwarden-smtp", "key": "password"}}


def test_the_password_is_sealed_in_the_consumers_namespace(mail) -> None:
    sealed = testing.objects(mail)["vaultwarden/sealedsecret-vaultwarden-smtp.yaml"]
    assert sealed["metadata"]["namespace"] == "vaultwarden"
    assert set(sealed["spec"]["encryptedData"]) == {"password"}
    # The user secret is not set in the test: the existing user-secret mechanism says how to set it.
    assert any("INK_SECRET_SMTP_PASSWORD" in w for w in mail.warnings)


def test_the_provider_deploys_nothing_but_its_namespace(mail) -> None:
    # Every namespace ink writes gets core's base NetworkPolicies (ink.netpol), even an empty one.
    files = sorted(p for p in mail.files if p.startswith("smtp/") and "/networkpolicy-" not in p)
    assert files == ["smtp/namespace-smtp.yaml"]


def test_consumer_is_deployed_after_the_provider(mail, tmp_path: Path) -> None:
    from ink import synth
    from ink.config import load_config

    config = load_config(testing.prepare(tmp_path, MAIL))
    graph = synth.plan(config, testing.host(PLUGINS))
    assert ("vaultwarden", "smtp", "need", "smtp/vaultwarden") in {
        (e.source, e.target, e.kind, e.name) for e in graph.edges
    }
    assert graph.waves()["vaultwarden"] > graph.waves()["smtp"]


def test_implicit_tls_and_no_login(tmp_path: Path) -> None:
    config = '[plugins.smtp]\nenabled = true\nhost = "relay.lan"\ntls = "tls"\n'
    env = env_of(testing.synth(tmp_path, config, plugins=PLUGINS))
    assert (env["SMTP_PORT"], env["SMTP_SECURITY"], env["SMTP_FROM"]) == ("465", "force_tls", "noreply@example.com")
    assert "SMTP_USERNAME" not in env and "SMTP_PASSWORD" not in env


def test_no_tls_uses_port_25_and_off(tmp_path: Path) -> None:
    config = '[plugins.smtp]\nenabled = true\nhost = "relay.lan"\ntls = "none"\nport = 2525\n'
    env = env_of(testing.synth(tmp_path, config, plugins=PLUGINS))
    assert (env["SMTP_PORT"], env["SMTP_SECURITY"]) == ("2525", "off")


def test_off_by_default_the_consumer_runs_without_mail(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert not any(name.startswith("SMTP_") for name in env_of(result))
    assert any("smtp/vaultwarden is left out" in w for w in result.warnings)
    assert "smtp/namespace-smtp.yaml" not in result.files


def test_enabled_without_a_host_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="host is required when smtp is enabled"):
        testing.synth(tmp_path, "[plugins.smtp]\nenabled = true\n", plugins=PLUGINS)


def test_asking_for_mail_without_a_provider_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        ResolutionError, match=r"\[plugins.vaultwarden\] smtp is set, but no enabled plugin provides smtp"
    ):
        testing.synth(tmp_path, "[plugins.vaultwarden]\nsmtp = true\n", plugins=PLUGINS)


def test_without_the_provider_loaded_the_need_is_dropped(tmp_path: Path) -> None:
    # vaultwarden declares the need by name, so it loads and runs without the smtp plugin
    # (core's tests cover a capability no installed package defines).
    result = testing.synth(tmp_path, plugins=["vaultwarden", "cloudnativepg", "sealed-secrets"])
    assert not any(name.startswith("SMTP_") for name in env_of(result))
    assert any("no enabled plugin provides smtp, so smtp/vaultwarden is left out" in w for w in result.warnings)
