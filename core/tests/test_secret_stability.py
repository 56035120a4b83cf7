"""Generated secrets stay stable: across plugin upgrades, plugin order and new services; rotation is explicit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ink import hookimpl, run, testing
from ink.cli import main
from ink.models import GeneratedSecret, SecretClaim, ServiceInfo

PROVIDERS = ["sealed-secrets", "cloudnativepg"]


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
    """path → encryptedData of every SealedSecret."""
    return {
        path: body["spec"]["encryptedData"]
        for path, body in testing.objects(result).items()
        if body["kind"] == "SealedSecret"
    }


def test_plugin_upgrade_keeps_every_secret(tmp_path: Path) -> None:
    before = sealed(testing.synth(tmp_path, plugins=PROVIDERS, extra={"shop": App("shop", "1.0.0")}))
    after = sealed(testing.synth(tmp_path, plugins=PROVIDERS, extra={"shop": App("shop", "2.0.0")}))
    assert after == before


def test_plugin_order_does_not_matter(tmp_path: Path) -> None:
    one = testing.synth(tmp_path / "a", plugins=PROVIDERS, extra={"a": App("a"), "b": App("b")})
    two = testing.synth(tmp_path / "b", plugins=list(reversed(PROVIDERS)), extra={"b": App("b"), "a": App("a")})
    assert one.files == two.files


def test_adding_a_service_changes_no_existing_secret(tmp_path: Path) -> None:
    before = sealed(testing.synth(tmp_path, plugins=PROVIDERS, extra={"a": App("a")}))
    after = sealed(testing.synth(tmp_path, plugins=PROVIDERS, extra={"a": App("a"), "b": App("b")}))
    assert {path: data for path, data in after.items() if path in before} == before
    assert set(after) > set(before)


def test_rotation_changes_exactly_the_rotated_credential(tmp_path: Path) -> None:
    before = sealed(testing.synth(tmp_path, plugins=PROVIDERS, extra={"a": App("a"), "b": App("b")}))
    config = '[secrets.rotations]\n"cloudnativepg/postgres-ha/a/password" = 1\n'
    result = testing.synth(tmp_path, config, plugins=PROVIDERS, extra={"a": App("a"), "b": App("b")})
    after = sealed(result)
    changed = {path for path in before if after[path] != before[path]}
    assert changed == {"a/sealedsecret-a-db.yaml", "cloudnativepg/sealedsecret-postgres-ha-role-a.yaml"}
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


def test_output_does_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = testing.prepare(tmp_path / "lab", 'domain = "home.example.org"\n')
    outputs = []
    for cwd in (tmp_path, tmp_path / "lab", Path(os.sep)):
        monkeypatch.chdir(cwd)
        result = run.synth(config_path=config, out=tmp_path / f"out{len(outputs)}", host=testing.host(PROVIDERS))
        outputs.append(result.files)
    assert outputs[0] == outputs[1] == outputs[2]
