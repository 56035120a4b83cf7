"""Every bad input fails cleanly: exit 2, one line saying what is wrong, where and how to fix it.

The inputs are the corpus in ``tests/bad_inputs/``, indexed by ``cases.toml`` there. Each case runs
``ink synth`` (or ``argv``) through click, in-process, in a folder that already holds a good ``dist/``
(written by a successful synth of a valid configuration), and checks that the failed run left that folder,
``dist/`` and every other file in it exactly as it was (no new key, no lock file). Inputs that would be
large or that are not plain files (a 1 MiB+ ``ink.toml``, a folder, a pipe, ``/dev/zero``, an unreadable
key) are made by the test itself (``setup`` in ``cases.toml``).
"""

from __future__ import annotations

import os
import re
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
from ink.cluster import NOT_MANIFESTS
from ink.config import MAX_CONFIG_BYTES
from ink.models import Capability, DatabaseBinding, DatabaseClaim, ServiceInfo

CORPUS = Path(__file__).parent / "bad_inputs"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
# The configuration of the good output every case starts from.
GOOD_CONFIG = 'domain = "home.example.org"\ntimezone = "Europe/Berlin"\n'
# One line a person can read: what, where, how to fix; never a value echoed in full.
MAX_LINE = 1000


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


def _no_master_key(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    (directory / ".ink" / "master.key").unlink()
    return lambda: None


def _fresh_clone(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """A clone of the homelab repository: dist/ and ink.toml, none of the keys (.ink is never committed)."""
    shutil.rmtree(directory / ".ink")
    return lambda: None


def _other_master_key(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    (directory / ".ink" / "master.key").write_text(OTHER_MASTER_KEY + "\n", encoding="utf-8")
    return lambda: None


def _dangling_master_key(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    (directory / ".ink" / "master.key").unlink()
    (directory / ".ink" / "master.key").symlink_to(directory / "backup" / "master.key")
    return lambda: None


def _fifo(name: str) -> Callable[[Path, pytest.MonkeyPatch], Callable[[], None]]:
    """A pipe nobody writes to at ``name``: opening it to read blocks forever unless ink refuses it first."""

    def setup(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
        (directory / name).unlink(missing_ok=True)
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(directory / name)
        return lambda: None

    return setup


def _link_to(name: str, target: str) -> Callable[[Path, pytest.MonkeyPatch], Callable[[], None]]:
    def setup(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
        (directory / name).unlink(missing_ok=True)
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).symlink_to(target)
        return lambda: None

    return setup


def _key_folder_is_a_file(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    shutil.rmtree(directory / ".ink")
    (directory / ".ink").write_text("notes\n", encoding="utf-8")
    return lambda: None


def _user_secrets_folder(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    (directory / ".ink" / "secrets.toml").mkdir()
    return lambda: None


def _large_certificate(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    with open(directory / "sealed-secrets.pem", "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of zeros without writing them
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
    "no-master-key": _no_master_key,
    "fresh-clone": _fresh_clone,
    "other-master-key": _other_master_key,
    "dangling-master-key": _dangling_master_key,
    "master-key-fifo": _fifo("secret.key"),
    "certificate-fifo": _fifo("sealed-secrets.pem"),
    "user-secrets-fifo": _fifo(".ink/secrets.toml"),
    "crd-fifo": _fifo("crds/broken.yaml"),
    "user-secrets-dev-zero": _link_to(".ink/secrets.toml", "/dev/zero"),
    "master-key-link-dev-zero": _link_to(".ink/master.key", "/dev/zero"),
    "large-certificate": _large_certificate,
    "key-folder-is-a-file": _key_folder_is_a_file,
    "user-secrets-folder": _user_secrets_folder,
    "validate-fifo": _fifo("manifest.yaml"),
    "output-link": _link_to("live", "dist"),
}
# Another valid master key: the pristine dist/ was not written with it.
OTHER_MASTER_KEY = "another-master-key-that-did-not-write-this-output-0123456789"


# --- helpers --------------------------------------------------------------------------------


def snapshot(directory: Path) -> tuple[list[str], dict[str, bytes | str]]:
    """Every entry under ``directory``: folders, each file's bytes, and what a link or special file is."""
    paths = sorted(directory.rglob("*"))
    folders = [str(p.relative_to(directory)) for p in paths if p.is_dir() and not p.is_symlink()]
    files: dict[str, bytes | str] = {}
    for path in paths:
        name = str(path.relative_to(directory))
        if path.is_symlink():
            files[name] = f"link to {os.readlink(path)}"
        elif path.is_file():
            files[name] = path.read_bytes()
        elif not path.is_dir():
            files[name] = f"special file, mode {path.lstat().st_mode:o}"
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


def with_counts(fragment: str, pristine: Path) -> str:
    """``{services}`` and ``{services-K}`` in an expectation: how many services the good output has (minus K).

    The corpus names counts this way so that a new plugin joining the default homelab changes no case.
    """
    services = sum(1 for path in pristine.iterdir() if path.is_dir() and not path.name.startswith(NOT_MANIFESTS))
    return re.sub(r"\{services(?:-(\d+))?\}", lambda m: str(services - int(m.group(1) or 0)), fragment)


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
        assert set(case.get("args", [])) <= {"--allow-destructive", "--config"} | set(case.get("files", {})), case
        assert case.get("category", 0) in CATEGORIES, case["name"]


# The categories of the outside audit (issue #9); each has at least five cases of its own.
CATEGORIES = {
    0: "config mistakes (the first corpus)",
    1: "a lost, replaced or disagreeing master key",
    2: "a typo that would empty the output",
    3: "unbounded reads: devices, pipes, huge or deep input",
    4: "the user's environment: links, files where folders belong, damaged schemas",
    6: "refused runs leave no trace: where the output may go",
    5: "conflicting or ineffective settings",
    8: "plugin authors: all problems reported, partial tables merged",
    7: "messages: capped echoes, a fix in each, no advice to overwrite a file outside the project",
}


def test_every_category_has_five_cases() -> None:
    counts = {category: 0 for category in CATEGORIES}
    for case in CASES:
        counts[case.get("category", 0)] += 1
    assert all(count >= 5 for count in counts.values()), counts


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bad_input_fails_cleanly(
    case: dict[str, Any], pristine: Path, crd_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(pristine, tmp_path / "dist")
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
    before = snapshot(tmp_path)

    try:
        args = ["synth", "--out", case.get("out", "dist"), "--crd-dir", str(crd_dir), *case.get("args", [])]
        result = CliRunner().invoke(main, case.get("argv", args))
    finally:
        if finish is not None:
            finish()

    line = error_line(result)
    expected = [with_counts(fragment, pristine) for fragment in case["expect"]]
    missing = [fragment for fragment in expected if fragment not in line]
    assert not missing, f"{line!r} lacks {missing}"
    wrong = [fragment for fragment in case.get("absent", []) if fragment in line]
    assert not wrong, f"{line!r} says {wrong}"
    assert len(line) <= MAX_LINE, f"a {len(line)}-character line"
    after = snapshot(tmp_path)
    assert after[1].keys() == before[1].keys(), "files were added or removed"
    assert after == before, "a file changed"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith((".dist.new-", ".dist.old"))]
    assert leftovers == [], "a staging folder was left behind"
