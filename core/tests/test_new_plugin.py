"""`ink new-plugin NAME`: the package it writes, and refusals that write nothing.

tests/test_plugin_kit.py installs a generated package from wheels in a fresh venv and runs its tests.
"""

from __future__ import annotations

import errno
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ink import scaffold
from ink.cli import main

FILES = [
    "README.md",
    "pyproject.toml",
    "src/ink_plugin_hello_world/__init__.py",
    "src/ink_plugin_hello_world/construct.py",
    "tests/test_hello_world.py",
]


def new_plugin(directory: Path, name: str) -> Result:
    # "--": a NAME such as "-hello" reaches the name check instead of click's option parser.
    return CliRunner().invoke(main, ["new-plugin", "--dir", str(directory), "--", name])


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_writes_a_complete_package(tmp_path: Path) -> None:
    result = new_plugin(tmp_path, "hello-world")
    assert result.exit_code == 0, result.output
    package = tmp_path / "hello-world"
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == FILES
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["name"] == "ink-plugin-hello-world"
    assert project["entry-points"]["ink"] == {"hello-world": "ink_plugin_hello_world"}
    major, minor = importlib.metadata.version("ink-core").split(".")[:2]
    assert project["dependencies"] == [f"ink-core>={major}.{minor},<{major}.{int(minor) + 1}"]
    assert (package / "README.md").read_text().count("\n") > 10
    for path in package.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # valid Python: every placeholder filled
        assert "${" not in path.read_text()
    assert "class HelloWorldSettings(ServiceSettings):" in (package / FILES[2]).read_text()
    assert "INK_PLUGINS__HELLO_WORLD__REPLICAS" in (package / FILES[4]).read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left behind"


def test_image_is_pinned_to_a_release_not_latest(tmp_path: Path) -> None:
    new_plugin(tmp_path, "demo")
    construct = (tmp_path / "demo" / "src" / "ink_plugin_demo" / "construct.py").read_text()
    version = re.search(r'VERSION = "([^"]+)"', (tmp_path / "demo/src/ink_plugin_demo/__init__.py").read_text())
    assert 'IMAGE = "docker.io/traefik/whoami"' in construct
    assert version and re.fullmatch(r"v\d+\.\d+\.\d+", version[1])


@pytest.mark.parametrize(
    "name", ["Hello", "hello_world", "-hello", "hello-", "1hello", "a" * 64, "default", "kube-tools", "", "hé"]
)
def test_bad_name_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, name: str) -> None:
    result = new_plugin(tmp_path, name)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: plugin name ")
    assert "DNS label" in result.stderr
    assert tree(tmp_path) == []


def test_existing_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "notes.txt").write_text("mine")
    result = new_plugin(tmp_path, "hello")
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'hello'}: already exists; choose another NAME or remove the folder\n"
    assert tree(tmp_path) == ["hello", "hello/notes.txt"]
    assert (tmp_path / "hello" / "notes.txt").read_text() == "mine"


def test_existing_file_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "hello").write_text("a file")
    assert new_plugin(tmp_path, "hello").exit_code == 2
    assert (tmp_path / "hello").read_text() == "a file"


def test_name_of_an_installed_plugin_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = [importlib.metadata.EntryPoint("hello", "ink_plugin_hello", "ink")]
    monkeypatch.setattr(scaffold.importlib.metadata, "entry_points", lambda group: installed)
    result = new_plugin(tmp_path, "hello")
    assert result.exit_code == 2
    assert "an installed plugin already has it" in result.stderr
    assert tree(tmp_path) == []


def test_missing_parent_folder_is_exit_2(tmp_path: Path) -> None:
    result = new_plugin(tmp_path / "nowhere", "hello")
    assert result.exit_code == 2
    assert "folder not found" in result.stderr
    assert tree(tmp_path) == []


def test_full_disk_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written = []

    def write_text(self: Path, *args: object, **kwargs: object) -> int:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(self)
        return original(self, *args, **kwargs)

    original = Path.write_text
    monkeypatch.setattr(Path, "write_text", write_text)
    result = new_plugin(tmp_path, "hello")
    assert result.exit_code == 3
    assert "free some disk space" in result.stderr
    assert written and tree(tmp_path) == []


@pytest.mark.parametrize(
    ("version", "expected"), [("0.1.0", ">=0.1,<0.2"), ("0.12.3", ">=0.12,<0.13"), ("1.4.2", ">=1.4,<2")]
)
def test_core_range_is_this_release_series(version: str, expected: str) -> None:
    assert scaffold.core_range(version) == expected
