"""The master key: dist/ records which key wrote it, and no command changes keys behind the user's back.

Losing ``.ink/master.key`` (a fresh clone of the homelab repository has none) used to re-key every
generated credential silently. The refusals themselves are bad-input cases (tests/bad_inputs, category 1);
these tests cover what is not a refusal: the fingerprint, ``ink diff``, the read-only commands, ``--rekey``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ink import testing
from ink.cli import main
from ink.output import MARKER, MARKER_TEXT
from ink.run import FINGERPRINT_FIELD
from ink.secrets import MasterKey

CONFIG = 'domain = "home.example.org"\ntimezone = "Europe/Berlin"\n'
OTHER_KEY = "another-master-key-that-did-not-write-this-output-0123456789"


def tree(directory: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(directory)): None if p.is_dir() else p.read_bytes() for p in sorted(directory.rglob("*"))}


def cli(directory: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(directory)
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Path:
    directory = tmp_path_factory.mktemp("pristine")
    testing.synth(directory, CONFIG, crd_dirs=[crd_dir])
    return directory


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine, tmp_path / "project", symlinks=True)
    return tmp_path / "project"


def test_the_output_records_a_fingerprint_of_the_key_never_the_key(project: Path) -> None:
    marker = (project / "dist" / MARKER).read_text(encoding="utf-8")
    expected = MasterKey(testing.TEST_MASTER_KEY.encode(), "test").fingerprint
    assert marker == f"{MARKER_TEXT}{FINGERPRINT_FIELD}: {expected}\n"
    assert len(expected) == 16 and expected != MasterKey(OTHER_KEY.encode(), "other").fingerprint
    for data in tree(project / "dist").values():
        assert data is None or testing.TEST_MASTER_KEY.encode() not in data


@pytest.mark.parametrize("lost", [".ink/master.key", ".ink"])
def test_diff_reports_a_lost_key_as_destructive_and_creates_none(
    project: Path, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    shutil.rmtree(project / lost) if (project / lost).is_dir() else (project / lost).unlink()
    before = tree(project)
    result = cli(project, monkeypatch, "diff")
    assert result.exit_code == 0, result.output
    assert f"changed {MARKER}: DESTRUCTIVE, the master key changed" in result.stdout
    assert "every generated credential" in result.stdout
    assert tree(project) == before, "a read-only command wrote key material"


@pytest.mark.parametrize("command", [["secrets", "list"], ["backups"], ["plugins"], ["schema"], ["validate"]])
def test_read_only_commands_never_create_key_material(
    project: Path, monkeypatch: pytest.MonkeyPatch, crd_dir: Path, command: list[str]
) -> None:
    shutil.rmtree(project / ".ink")
    before = tree(project)
    extra = ["--crd-dir", str(crd_dir)] if command == ["validate"] else []
    result = cli(project, monkeypatch, *command, *extra)
    assert result.exit_code == 0, result.output
    assert "generated a new master key" not in result.output
    assert tree(project) == before


def test_rekey_replaces_every_credential_on_purpose(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".ink" / "master.key").unlink()
    old = tree(project / "dist")
    result = cli(project, monkeypatch, "synth", "--rekey")
    assert result.exit_code == 0, result.output
    assert "generated a new master key" in result.stderr
    key = (project / ".ink" / "master.key").read_text(encoding="utf-8").strip()
    assert (project / ".ink" / "master.key").stat().st_mode & 0o777 == 0o600
    new = tree(project / "dist")
    assert f"{FINGERPRINT_FIELD}: {MasterKey(key.encode(), 'new').fingerprint}".encode() in (new[MARKER] or b"")
    sealed = [path for path in old if "sealedsecret-" in path]
    assert sealed and all(old[path] != new[path] for path in sealed)
    # From now on the new key is the one: no flag needed, nothing changes.
    again = cli(project, monkeypatch, "synth")
    assert again.exit_code == 0, again.output
    assert tree(project / "dist") == new


def test_an_output_from_before_fingerprints_is_stamped(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "dist" / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    result = cli(project, monkeypatch, "synth")
    assert result.exit_code == 0, result.output
    assert FINGERPRINT_FIELD in (project / "dist" / MARKER).read_text(encoding="utf-8")


def test_the_same_key_in_the_environment_and_the_file_is_fine(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_MASTER_KEY", testing.TEST_MASTER_KEY)
    before = tree(project / "dist")
    result = cli(project, monkeypatch, "synth")
    assert result.exit_code == 0, result.output
    assert tree(project / "dist") == before


def test_a_refused_rekey_then_the_restored_key_changes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = project / ".ink" / "master.key"
    saved = key.read_bytes()
    key.write_text(OTHER_KEY + "\n", encoding="utf-8")
    before = tree(project / "dist")
    refused = cli(project, monkeypatch, "synth")
    assert refused.exit_code == 2 and "--rekey" in refused.stderr
    key.write_bytes(saved)  # restored from the backup
    result = cli(project, monkeypatch, "synth")
    assert result.exit_code == 0, result.output
    assert tree(project / "dist") == before
