"""The command line, in-process through click (and one smoke test of the real console script)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import ink
from ink import run, testing
from ink.cli import main
from ink.models import DatabaseClaim, ServiceInfo
from ink.output import MARKER

# The end-to-end set (as in test_synth): vaultwarden and every provider it needs.
PLUGINS = ["cloudnativepg", "sealed-secrets", "vaultwarden"]
INK = Path(sys.executable).with_name("ink")


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def dist(tmp_path: Path, crd_dir: Path) -> Path:
    """A synthesised output in tmp_path/dist (ink.toml and keys prepared in tmp_path)."""
    testing.synth(tmp_path, plugins=PLUGINS, crd_dirs=[crd_dir])
    return tmp_path / "dist"


def test_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"ink, version {importlib.metadata.version('ink-core')}\n"


def test_plugins_lists_the_installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a terminal (as under `| grep`): names and distributions must still be printed in full.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    result = cli("plugins")
    assert result.exit_code == 0, result.output
    for name in PLUGINS:
        assert name in result.stdout
        assert f"ink-plugin-{name}" in result.stdout


class _NeedsDatabase:
    """An installed service whose database need nothing provides."""

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="lonely", title="Lonely", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="lonely")]


def test_plugins_lists_even_when_a_need_has_no_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `ink plugins` is how a user finds out what is missing; it must not fail on the missing provider.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "make_plugin_host", lambda **_: testing.host([], {"lonely": _NeedsDatabase()}))
    result = cli("plugins")
    assert result.exit_code == 0, result.output
    assert "lonely" in result.stdout
    assert "database" in result.stdout


def test_plugins_reports_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "ink.toml"
    config.write_text("[plugins.vaultwarden]\nreplica = 2\n")
    result = cli("plugins", "--config", config)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {config}:2: plugins.vaultwarden.replica: ")


def test_schema_covers_every_plugin_table() -> None:
    result = cli("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    plugins = schema["properties"]["plugins"]
    assert set(PLUGINS) <= set(plugins["properties"])
    assert plugins["additionalProperties"] is False
    assert schema["additionalProperties"] is False
    for name in PLUGINS:
        model = plugins["properties"][name]["$ref"].rsplit("/", 1)[-1]
        definition = schema["$defs"][model]
        assert definition["additionalProperties"] is False
        assert "enabled" in definition["properties"]
    assert "replicas" in schema["$defs"]["VaultwardenSettings"]["properties"]


def test_validate_a_synthesised_output(dist: Path, crd_dir: Path) -> None:
    result = cli("validate", dist, "--config", dist.parent / "ink.toml", "--crd-dir", crd_dir)
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "skipped" not in result.stderr


def test_validate_defaults_to_dist_in_the_current_folder(
    dist: Path, crd_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dist.parent)
    result = cli("validate", "--crd-dir", crd_dir)
    assert result.exit_code == 0, result.output


def tamper(dist: Path) -> Path:
    deployment = dist / "vaultwarden" / "deployment-vaultwarden.yaml"
    text = deployment.read_text()
    assert "\n  replicas: 1\n" in text
    deployment.write_text(text.replace("\n  replicas: 1\n", '\n  replicas: "x"\n'))
    return deployment


def test_validate_reports_a_tampered_file(dist: Path, crd_dir: Path) -> None:
    deployment = tamper(dist)
    result = cli("validate", dist, "--config", dist.parent / "ink.toml", "--crd-dir", crd_dir)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert str(deployment) in result.stderr
    assert "spec.replicas" in result.stderr


def test_validate_failure_does_not_claim_an_output_was_withheld(dist: Path, crd_dir: Path) -> None:
    # ink validate writes nothing: "the output was not written" (synth's wording) misleads here.
    tamper(dist)
    result = cli("validate", dist, "--config", dist.parent / "ink.toml", "--crd-dir", crd_dir)
    assert result.exit_code == 1
    assert "was not written" not in result.stderr


def test_validate_without_manifests(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("validate", empty)
    assert result.exit_code == 2
    assert "no YAML manifests found" in result.stderr


def test_synth_to_another_folder(tmp_path: Path, crd_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    testing.prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    out = tmp_path / "elsewhere" / "manifests"
    result = cli("synth", "--out", out, "--crd-dir", crd_dir)
    assert result.exit_code == 0, result.output
    assert (out / MARKER).is_file()
    assert {p.name for p in out.iterdir() if p.is_dir()} == set(PLUGINS)
    assert not (tmp_path / "dist").exists()
    assert f"services to {out}/" in result.stdout
    assert "not checked" not in result.stdout
    assert "warning: sealed-secrets: no sealing certificate configured" in result.stderr


def test_synth_refuses_a_folder_it_did_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    testing.prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", "sealed-secrets")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n")
    result = cli("synth", "--out", out, "--no-validate")
    assert result.exit_code == 2, result.output
    assert "was not written by ink" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_console_script_in_a_fresh_folder(tmp_path: Path) -> None:
    # The real process: no ink.toml, no keys. jsii's Node banners must not reach the user.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INK_", "JSII_"))}
    done = subprocess.run([str(INK), "synth"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for banner in ("jsii", "end-of-life", "Node"):
        assert banner not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("wrote ")
    assert (tmp_path / "dist" / MARKER).is_file()
    assert (tmp_path / ".ink" / "master.key").stat().st_mode & 0o777 == 0o600


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    # `ink plugins | head -1`: the pipe closes before ink has written everything.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INK_")}
    reader, writer = os.pipe()
    os.close(reader)
    with os.fdopen(writer, "wb") as closed_pipe:
        done = subprocess.run(
            [str(INK), "plugins"], cwd=tmp_path, env=env, stdout=closed_pipe, stderr=subprocess.PIPE, check=False
        )
    assert done.stderr == b""
    assert done.returncode == 141
