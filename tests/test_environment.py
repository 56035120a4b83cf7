"""The user's environment, not their input: a damaged previous dist/, a full disk, a read-only file system.

A damaged dist/ is repaired by the next synth (exit 0). A machine that fails ink is exit 3, one line
saying what, where and how to fix it, and the previous dist/ complete (old tree, never a mix).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ink import output, sealing, testing
from ink.cli import main

CONFIG = 'domain = "home.example.org"\ntimezone = "Europe/Berlin"\n'
PVC = "vaultwarden/persistentvolumeclaim-vaultwarden-data.yaml"


def tree(directory: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(directory)): None if p.is_dir() else p.read_bytes() for p in sorted(directory.rglob("*"))}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Path:
    directory = tmp_path_factory.mktemp("pristine")
    testing.synth(directory, CONFIG, crd_dirs=[crd_dir])
    return directory


@pytest.fixture
def project(pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(pristine, tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    return tmp_path / "project"


def synth(*args: str) -> Result:
    return CliRunner().invoke(main, ["synth", *args])


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "invalid YAML": lambda p: p.write_text("kind: [unclosed\n", encoding="utf-8"),
    "not UTF-8": lambda p: p.write_bytes(b"\xff\xfe kind: PersistentVolumeClaim\n"),
    "annotations: null": lambda p: p.write_text(
        p.read_text(encoding="utf-8").replace("  annotations:\n", "  annotations: null\n  was:\n", 1), encoding="utf-8"
    ),
    "a pipe": _fifo,
    "emptied": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_hand_damaged_output_is_repaired(project: Path, pristine: Path, damage: str) -> None:
    DAMAGE[damage](project / "dist" / PVC)
    result = synth()
    assert result.exit_code == 0, result.output
    assert tree(project / "dist") == tree(pristine / "dist")


def _fails(error: int, after: int = 0) -> Callable[..., Any]:
    calls = {"n": 0}
    real = output._write

    def write(path: Path, text: str) -> None:
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(error, os.strerror(error), str(path))
        real(path, text)

    return write


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (errno.ENOSPC, "free some disk space"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EDQUOT, "free some of your disk quota"),
        (errno.EACCES, "make the folder writable"),
    ],
)
def test_a_failing_disk_is_exit_3_and_the_old_output_stays(
    project: Path, monkeypatch: pytest.MonkeyPatch, error: int, fix: str
) -> None:
    before = tree(project / "dist")
    monkeypatch.setattr(output, "_write", _fails(error, after=5))
    result = synth()
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {project / 'dist'}: cannot write the output ({os.strerror(error)}); {fix}")
    assert tree(project / "dist") == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".dist.")] == []


def test_a_read_only_key_folder_is_exit_3_and_writes_no_output(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(project / ".ink")
    shutil.rmtree(project / "dist")  # a first run: the key is needed

    def read_only(path: Path, data: bytes, mode: int) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(sealing, "write_key_file", read_only)
    result = synth()
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.splitlines()
    assert "cannot write the new key (Read-only file system)" in line
    assert not (project / "dist").exists()
