"""Writing the output folder (atomically, only over ink's own output) and rendering YAML."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest
import yaml

from ink.errors import UserError
from ink.output import HEADER, MARKER, to_yaml, write_tree

FILES = {
    "app/namespace-app.yaml": "kind: Namespace\n",
    "app/deployment-app.yaml": "kind: Deployment\n",
    "db/cluster-main.yaml": "kind: Cluster\n",
}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too) by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_writes_files_and_marker(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    write_tree(out, FILES)
    found = tree(out)
    assert set(found) == {*FILES, MARKER}
    for path, text in FILES.items():
        assert found[path] == text.encode()


def test_creates_missing_parents(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "dist"
    write_tree(out, FILES)
    assert (out / MARKER).is_file()


def test_replaces_previous_output_completely(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    write_tree(out, {**FILES, "gone/stale.yaml": "kind: ConfigMap\n"})
    write_tree(out, {"app/namespace-app.yaml": "kind: Namespace\nchanged: true\n"})
    assert tree(out) == {
        "app/namespace-app.yaml": b"kind: Namespace\nchanged: true\n",
        MARKER: (out / MARKER).read_bytes(),
    }
    assert not (out / "gone").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".dist.new-")) == []


def test_replaces_an_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    write_tree(out, FILES)
    assert set(tree(out)) == {*FILES, MARKER}


def test_refuses_a_folder_ink_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    before = tree(out)
    with pytest.raises(UserError) as info:
        write_tree(out, FILES)
    assert str(out) in str(info.value)
    assert MARKER in str(info.value)
    assert tree(out) == before


def test_refuses_a_path_that_is_a_file(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.write_text("not a folder\n")
    with pytest.raises(UserError) as info:
        write_tree(out, FILES)
    assert "not a folder" in str(info.value)
    assert out.read_text() == "not a folder\n"


def test_refuses_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    write_tree(target, FILES)
    out = tmp_path / "dist"
    out.symlink_to(target)
    with pytest.raises(UserError):
        write_tree(out, {"x/y.yaml": "a: 1\n"})
    assert out.is_symlink()
    assert set(tree(target)) == {*FILES, MARKER}


def test_cleans_leftover_staging_folders(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    write_tree(out, FILES)
    stale = tmp_path / ".dist.new-abc123"
    (stale / "app").mkdir(parents=True)
    (stale / "app" / "half.yaml").write_text("kind: Half\n")
    write_tree(out, FILES)
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dist.new-")] == []


def test_recovers_an_interrupted_swap(tmp_path: Path) -> None:
    # The two-rename fallback moved dist to .dist.old and stopped: the old tree comes back first.
    out = tmp_path / "dist"
    write_tree(out, FILES)
    out.rename(tmp_path / ".dist.old")
    write_tree(out, {"app/namespace-app.yaml": "kind: Namespace\n"})
    assert set(tree(out)) == {"app/namespace-app.yaml", MARKER}
    assert not (tmp_path / ".dist.old").exists()


def test_no_wait_while_another_run_holds_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    write_tree(out, FILES)
    before = tree(out)
    other = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # ink locks the output's parent folder itself
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UserError) as info:
            write_tree(out, {"x/y.yaml": "a: 1\n"}, wait=False)
    finally:
        os.close(other)
    assert "another `ink synth`" in str(info.value)
    assert tree(out) == before
    write_tree(out, {"x/y.yaml": "a: 1\n"}, wait=False)  # released: works again


def test_new_output_folder_follows_the_umask(tmp_path: Path) -> None:
    # Like mkdir: a private 0700 folder would lock out e.g. a container that reads dist/ as another user.
    umask = os.umask(0o022)
    try:
        write_tree(tmp_path / "dist", FILES)
    finally:
        os.umask(umask)
    assert (tmp_path / "dist").stat().st_mode & 0o777 == 0o755


# --- YAML ---------------------------------------------------------------------------------


def test_to_yaml_keeps_order_and_has_the_header() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"b": "1", "a": "2"}}
    text = to_yaml(body)
    assert text.startswith(HEADER)
    assert text.index("apiVersion") < text.index("kind") < text.index("metadata") < text.index("data")
    assert text.index("\n  b: ") < text.index("\n  a: ")
    assert yaml.safe_load(text) == body


def test_to_yaml_quotes_strings_that_look_like_other_types() -> None:
    values = ["true", "false", "yes", "no", "on", "off", "null", "~", "8080", "0755", "1e3", "1.5", "0x1F", "", "-"]
    body = {"data": {f"k{i}": value for i, value in enumerate(values)}}
    text = to_yaml(body)
    assert "'true'" in text
    assert "'8080'" in text
    loaded = yaml.safe_load(text)
    assert loaded == body
    assert all(isinstance(v, str) for v in loaded["data"].values())


def test_to_yaml_is_deterministic_and_does_not_wrap() -> None:
    long = "x" * 3000
    body = {"kind": "ConfigMap", "data": {"long": long, "text": "line one\nline two\n", "unicode": "café"}}
    first = to_yaml(body)
    assert first == to_yaml(dict(body))
    assert long in first
    assert "café" in first
    assert yaml.safe_load(first) == body


def _tree_for_sync(root: Path) -> set[str]:
    (root / "a" / "b").mkdir(parents=True)
    for name in ("a/one.yaml", "a/b/two.yaml", "three.yaml"):
        (root / name).write_text("x: 1\n")
    return {"a", "a/b", "a/one.yaml", "a/b/two.yaml", "three.yaml", "."}


@pytest.mark.parametrize("syncfs", ["missing", "failing"])
def test_without_a_working_syncfs_every_file_and_folder_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs: str
) -> None:
    from ink import output

    expected = _tree_for_sync(tmp_path)
    monkeypatch.setattr(output, "_syncfs", None if syncfs == "missing" else (lambda fd: -1))
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.path.relpath(os.readlink(f"/proc/self/fd/{fd}"), tmp_path))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    output._sync_tree(tmp_path)
    assert set(synced) == expected
    assert synced.index("a/b/two.yaml") < synced.index("a/b") < synced.index("a") < synced.index(".")


def test_with_syncfs_one_call_syncs_the_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ink import output

    _tree_for_sync(tmp_path)
    calls: list[int] = []
    monkeypatch.setattr(output, "_syncfs", lambda fd: calls.append(fd) or 0)
    monkeypatch.setattr(os, "fsync", lambda fd: pytest.fail("no per-file fsync when syncfs works"))
    output._sync_tree(tmp_path)
    assert len(calls) == 1
    if sys.platform.startswith("linux"):
        assert output._load_syncfs() is not None, "Linux's libc has syncfs"
