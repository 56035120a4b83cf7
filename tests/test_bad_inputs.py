"""Every bad input fails cleanly: exit 2, one line saying what is wrong, where and how to fix it.

The inputs are the corpus in ``tests/bad_inputs/``, indexed by ``cases.toml`` there. Each case runs
``ink synth`` through click, in-process, in a folder that already holds a good ``dist/`` (written by a
successful synth of a valid configuration), and checks that the failed run left that ``dist/`` exactly
as it was. Inputs that would be large or that are not plain files (a 1 MiB+ ``ink.toml``, a folder, a
pipe, an unreadable key) are made by the test itself (``setup`` in ``cases.toml``).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import ink
from ink import run, testing
from ink.cli import main
from ink.config import MAX_CONFIG_BYTES
from ink.models import Capability, DatabaseBinding, DatabaseClaim, ServiceInfo

CORPUS = Path(__file__).parent / "bad_inputs"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
# The configuration of the good output every case starts from.
GOOD_CONFIG = 'domain = "home.example.org"\ntimezone = "Europe/Berlin"\n'


class MariaDB:
    """A second installed database provider, registered in-process."""

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="mariadb",
            title="MariaDB",
            version="11.8.0",
            homepage="https://mariadb.org",
            provides=(Capability.DATABASE,),
        )

    @ink.hookimpl
    def ink_provide_database(self, claim: DatabaseClaim) -> DatabaseBinding:
        ref = {"name": f"{claim.name}-db", "key": "password"}
        return DatabaseBinding(
            host="mariadb", port=3306, database=claim.name, user=claim.name, password=ref, uri={**ref, "key": "uri"}
        )


# --- what the test prepares itself ----------------------------------------------------------


def _huge(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    (directory / "ink.toml").write_text("# " + "x" * MAX_CONFIG_BYTES + "\n", encoding="utf-8")
    return lambda: None


def _config_directory(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    # An empty ink.toml would be valid; an empty folder named ink.toml is not.
    (directory / "ink.toml").unlink()
    (directory / "ink.toml").mkdir()
    return lambda: None


def _config_fifo(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """A pipe (as ``--config <(generate)`` gives) that delivers 2 MiB: the size limit must hold here too."""
    fifo = directory / "ink.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        try:
            with open(fifo, "wb") as handle:
                handle.write(b"# " + b"x" * (2 * MAX_CONFIG_BYTES) + b"\n")
        except OSError:  # the reader went away early
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    monkeypatch.setenv("INK_CONFIG", str(fifo))

    def finish() -> None:
        # Whatever ink read, drain the rest so the writer ends; a non-blocking open never waits.
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        deadline = time.monotonic() + 10
        try:
            while writer.is_alive() and time.monotonic() < deadline:
                try:
                    if not os.read(reader, 1 << 16):
                        time.sleep(0.01)  # no writer yet (or any more)
                except BlockingIOError:
                    time.sleep(0.01)
        finally:
            os.close(reader)
        writer.join(timeout=10)

    return finish


def _unreadable_master_key(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    key = directory / "secret.key"
    key.write_text(testing.TEST_MASTER_KEY + "\n", encoding="utf-8")
    key.chmod(0)
    if os.access(key, os.R_OK):  # root reads a mode-000 file anyway: use what nobody can read as a file
        key.unlink()
        key.mkdir()
    return lambda: None


def _second_database_provider(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    monkeypatch.setattr(run, "make_plugin_host", lambda: testing.host(None, {"mariadb": MariaDB()}))
    return lambda: None


SETUPS: dict[str, Callable[[Path, pytest.MonkeyPatch], Callable[[], None]]] = {
    "huge": _huge,
    "config-directory": _config_directory,
    "config-fifo": _config_fifo,
    "unreadable-master-key": _unreadable_master_key,
    "second-database-provider": _second_database_provider,
}


# --- helpers --------------------------------------------------------------------------------


def snapshot(directory: Path) -> tuple[list[str], dict[str, bytes]]:
    """Every folder and every file's bytes under ``directory``."""
    paths = sorted(directory.rglob("*"))
    folders = [str(p.relative_to(directory)) for p in paths if p.is_dir()]
    files = {str(p.relative_to(directory)): p.read_bytes() for p in paths if p.is_file()}
    return folders, files


def error_line(result: Result) -> str:
    """The one line a user error prints: exit 2, no traceback, nothing else."""
    shown = f"exit {result.exit_code}, stdout {result.stdout!r}, stderr {result.stderr!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.output, shown
    assert result.exit_code == 2, shown
    assert result.stdout == "", shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1, shown
    assert lines[0].strip(), shown
    assert lines[0].startswith("error: "), shown
    return lines[0]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Path:
    """A good output, written once by a successful synth of a valid configuration."""
    directory = tmp_path_factory.mktemp("pristine")
    testing.synth(directory, GOOD_CONFIG, crd_dirs=[crd_dir])
    return directory / "dist"


# --- the corpus -----------------------------------------------------------------------------


def test_corpus_is_indexed() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CASES) >= 45
    referenced = [case["file"] for case in CASES if "file" in case]
    referenced += [extra for case in CASES for extra in case.get("files", {}).values()]
    assert len(referenced) == len(set(referenced)), "a corpus file serves one case"
    present = sorted(p.name for p in CORPUS.iterdir() if p.name != "cases.toml")
    assert sorted(referenced) == present, "every corpus file is in cases.toml and every case's file exists"
    for case in CASES:
        assert "file" in case or case.get("setup") in SETUPS, case["name"]
        assert case.get("setup", "huge") in SETUPS, case["name"]
        assert case["expect"], case["name"]
        assert all(name.startswith("INK_") for name in case.get("env", {})), case["name"]
        assert set(case.get("args", [])) <= {"--allow-destructive"}, case["name"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bad_input_fails_cleanly(
    case: dict[str, Any], pristine: Path, crd_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(pristine, tmp_path / "dist")
    before = snapshot(tmp_path / "dist")
    source = CORPUS / case["file"] if "file" in case else None
    testing.prepare(tmp_path)  # the test master key and the development sealing key
    (tmp_path / "ink.toml").write_bytes(source.read_bytes() if source else b"")
    for target, name in case.get("files", {}).items():
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / name, tmp_path / target)
    finish = SETUPS[case["setup"]](tmp_path, monkeypatch) if "setup" in case else None
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # ./ink.toml is found as a user's would be

    try:
        args = ["synth", "--out", "dist", "--crd-dir", str(crd_dir), *case.get("args", [])]
        result = CliRunner().invoke(main, args)
    finally:
        if finish is not None:
            finish()

    line = error_line(result)
    missing = [fragment for fragment in case["expect"] if fragment not in line]
    assert not missing, f"{line!r} lacks {missing}"
    assert snapshot(tmp_path / "dist") == before, "the previous output changed"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith((".dist.new-", ".dist.old"))]
    assert leftovers == [], "a staging folder was left behind"
