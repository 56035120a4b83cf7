"""Generated secrets stay stable: across plugin upgrades, plugin order and new services; rotation is explicit.

Every test runs with each secrets provider: Sealed Secrets (the secret is its sealed data) and, when installed,
External Secrets (the secret is the Vault path and template an ExternalSecret resolves to, and the PushSecret
that generates each credential once).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ink import hookimpl, run, testing
from ink.cli import main
from ink.models import GeneratedSecret, SecretClaim, ServiceInfo

ESO = "[plugins.external-secrets]\nenabled = true\n[plugins.sealed-secrets]\nenabled = false\n"


@dataclass(frozen=True)
class Provider:
    name: str
    config: str  # what ink.toml says to choose it
    kind: str  # the object that stands for one Secret

    @property
    def plugins(self) -> list[str]:
        return ["sealed-secrets", "external-secrets", "cloudnativepg"] if self.config else PROVIDERS


PROVIDERS = ["sealed-secrets", "cloudnativepg"]
SEALED = Provider("sealed-secrets", "", "SealedSecret")
EXTERNAL = Provider("external-secrets", ESO, "ExternalSecret")
INSTALLED = [SEALED, *([EXTERNAL] if importlib.util.find_spec("ink_plugin_external_secrets") else [])]


@pytest.fixture(params=INSTALLED, ids=lambda p: p.name)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param


class App:
    """A service with a generated key and a database; its version is a parameter (an upgrade)."""

    def __init__(self, name: str, version: str = "1.0.0") -> None:
        self.name, self.version = name, version

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title=self.name, version=self.version, homepage="https://example.org")

    @hookimpl
    def ink_secrets(self) -> list[SecretClaim]:
        return [SecretClaim(name=f"{self.name}-key", data={"key": GeneratedSecret(id=f"{self.name}/key")})]

    @hookimpl
    def ink_database_claims(self) -> list:
        from ink.models import DatabaseClaim

        return [DatabaseClaim(name=self.name)]


def sealed(result: run.SynthResult) -> dict[str, Any]:
    """path → what makes each Secret's values: a SealedSecret's encryptedData; an ExternalSecret's Vault paths
    and template, and a PushSecret's generator and path (the credential it generates once)."""
    found: dict[str, Any] = {}
    for path, body in testing.objects(result).items():
        if body["kind"] == "SealedSecret":
            found[path] = body["spec"]["encryptedData"]
        elif body["kind"] == "ExternalSecret":
            found[path] = {"data": body["spec"]["data"], "template": body["spec"]["target"]["template"]}
        elif body["kind"] in ("PushSecret", "Password"):
            found[path] = body["spec"]
    return found


def test_plugin_upgrade_keeps_every_secret(tmp_path: Path, provider: Provider) -> None:
    synth = functools.partial(testing.synth, tmp_path, provider.config, plugins=provider.plugins)
    before = sealed(synth(extra={"shop": App("shop", "1.0.0")}))
    after = sealed(synth(extra={"shop": App("shop", "2.0.0")}))
    assert before and after == before


def test_plugin_order_does_not_matter(tmp_path: Path, provider: Provider) -> None:
    plugins = provider.plugins
    one = testing.synth(tmp_path / "a", provider.config, plugins=plugins, extra={"a": App("a"), "b": App("b")})
    two = testing.synth(
        tmp_path / "b", provider.config, plugins=list(reversed(plugins)), extra={"b": App("b"), "a": App("a")}
    )
    assert one.files == two.files


def test_adding_a_service_changes_no_existing_secret(tmp_path: Path, provider: Provider) -> None:
    synth = functools.partial(testing.synth, tmp_path, provider.config, plugins=provider.plugins)
    before = sealed(synth(extra={"a": App("a")}))
    after = sealed(synth(extra={"a": App("a"), "b": App("b")}))
    assert {path: data for path, data in after.items() if path in before} == before
    assert set(after) > set(before)


def test_rotation_changes_exactly_the_rotated_credential(tmp_path: Path, provider: Provider) -> None:
    apps = {"a": App("a"), "b": App("b")}
    before = sealed(testing.synth(tmp_path, provider.config, plugins=provider.plugins, extra=apps))
    config = provider.config + '[secrets.rotations]\n"cloudnativepg/postgres-ha/a/password" = 1\n'
    result = testing.synth(tmp_path, config, plugins=provider.plugins, extra=apps)
    after = sealed(result)
    changed = {path for path in before if after.get(path) != before[path]}
    kind = provider.kind.lower()
    secrets = {f"a/{kind}-a-db.yaml", f"cloudnativepg/{kind}-postgres-ha-role-a.yaml"}
    assert secrets <= changed
    if provider is EXTERNAL:
        # The rotated credential is a new Vault path, generated once like the first; the old path's PushSecret
        # goes (its value stays in Vault: deletionPolicy None), every other credential's stays as it was.
        def pushed(found: dict[str, Any]) -> dict[str, str]:
            return {p: s["data"][0]["match"]["remoteRef"]["remoteKey"] for p, s in found.items() if "/pushsecret-" in p}

        assert changed - secrets == {
            p for p, key in pushed(before).items() if key == "cloudnativepg/postgres-ha/a/password"
        }
        assert sorted(set(pushed(after).values()) - set(pushed(before).values())) == [
            "cloudnativepg/postgres-ha/a/password/g1"
        ]
    else:
        assert changed == secrets
        assert set(after) == set(before)
    assert result.generated["cloudnativepg/postgres-ha/a/password"] == [
        "a/a-db:password",
        "a/a-db:uri",
        "cloudnativepg/postgres-ha-role-a:password",
    ]


def test_rotate_command_records_the_generation_in_ink_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    testing.prepare(tmp_path, '# my homelab\ndomain = "home.example.org"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", "vaultwarden,cloudnativepg,sealed-secrets")
    runner = CliRunner()
    first = runner.invoke(main, ["secrets", "rotate", "cloudnativepg/postgres-ha/vaultwarden/password"])
    assert first.exit_code == 0, first.output
    runner.invoke(main, ["secrets", "rotate", "cloudnativepg/postgres-ha/vaultwarden/password"])
    text = (tmp_path / "ink.toml").read_text()
    assert text.startswith('# my homelab\ndomain = "home.example.org"\n')  # comments and keys kept
    assert yaml.safe_load(text.split("[secrets.rotations]")[1].replace(" = ", ": ")) == {
        "cloudnativepg/postgres-ha/vaultwarden/password": 2
    }
    typo = runner.invoke(main, ["secrets", "rotate", "cloudnativepg/postgres-ha/vaultwardn/password"])
    assert typo.exit_code == 2
    assert "did you mean 'cloudnativepg/postgres-ha/vaultwarden/password'" in typo.output


def test_output_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: Provider
) -> None:
    config = testing.prepare(tmp_path / "lab", 'domain = "home.example.org"\n' + provider.config)
    outputs = []
    for cwd in (tmp_path, tmp_path / "lab", Path(os.sep)):
        monkeypatch.chdir(cwd)
        result = run.synth(config_path=config, out=tmp_path / f"out{len(outputs)}", host=testing.host(provider.plugins))
        outputs.append(result.files)
    assert outputs[0] == outputs[1] == outputs[2]
