"""Vault (and OpenBao): the chart install, TLS, Raft, the bootstrap, SSO and auto-unseal settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

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
