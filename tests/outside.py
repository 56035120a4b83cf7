"""Outside the repository: wheels of this repository's packages, fresh venvs, and the doc's packages.

The end-to-end tests of the plugin kit (test_plugin_kit.py, test_outside_capability.py) install
ink-core and some plugins from built wheels into a venv in a temporary folder, so nothing of this
repository is on its path but those wheels.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The packages the end-to-end tests install, built once per session.
PACKAGES = {
    "ink-core": ROOT / "core",
    "ink-plugin-traefik": ROOT / "plugins" / "traefik",
    "ink-plugin-sealed-secrets": ROOT / "plugins" / "sealed-secrets",
    "ink-plugin-argocd": ROOT / "plugins" / "argocd",
}


def uv() -> str:
    """uv from the test environment (the `test` dependency group), else from PATH."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        pytest.fail("uv not found: install the `test` dependency group (it lists uv)")
    return found


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == expect, (
        f"{args} exited {result.returncode}, expected {expect}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def build_wheels(out: Path, packages: dict[str, Path] = PACKAGES) -> dict[str, Path]:
    """A wheel of each of ``packages`` (by default :data:`PACKAGES`) in ``out``, by distribution name."""
    for package in packages.values():
        run(uv(), "build", "--quiet", "--wheel", "--out-dir", out, package, cwd=out.parent)
    wheels = {}
    for name in packages:
        found = sorted(out.glob(f"{name.replace('-', '_')}-*.whl"))
        assert len(found) == 1, sorted(p.name for p in out.iterdir())
        wheels[name] = found[0]
    return wheels


@dataclass(frozen=True)
class Venv:
    """A fresh venv outside the repository, and the environment to run its commands in."""

    path: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def ink(self) -> Path:
        return self.path / "bin" / "ink"

    def install(self, *requirements: str | Path) -> None:
        run(uv(), "pip", "install", "--quiet", "--python", self.python, *requirements, cwd=self.path.parent)

    def uninstall(self, *names: str) -> None:
        run(uv(), "pip", "uninstall", "--quiet", "--python", self.python, *names, cwd=self.path.parent)


def venv(path: Path, *wheels: Path) -> Venv:
    """A venv at ``path`` with ``wheels`` installed by path (an index's package of the same name never stands in)."""
    run(uv(), "venv", "--quiet", "--python", sys.executable, path, cwd=path.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INK_", "PYTEST", "VIRTUAL_ENV"))}
    env["PATH"] = f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    made = Venv(path, env)
    made.install(*wheels)
    return made


# A file of a worked example in the docs: a line "`path/of/file`:" (optionally "... depends on ..."
# after the path), then the fenced block that is the whole file.
_FILE_BLOCK = re.compile(r"^`(?P<path>[\w./-]+)`[^\n]*:\n\n```(?P<lang>\w+)\n(?P<body>.*?)\n```$", re.M | re.S)
_BLOCK = re.compile(r"^```(?P<lang>\w+)\n(?P<body>.*?)\n```$", re.M | re.S)


def section(markdown: str, heading: str) -> str:
    """The text of the section whose heading line starts with ``heading``, up to the next heading of its level.

    Lines inside fenced blocks are never headings (a Python comment starts with '#' too).
    """
    lines = markdown.splitlines(keepends=True)
    level, found, fenced = 0, [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        heading_level = len(line) - len(line.lstrip("#")) if line.startswith("#") and not fenced else 0
        if level and heading_level and heading_level <= level and line[heading_level : heading_level + 1] == " ":
            break
        if level:
            found.append(line)
        elif heading_level and line[heading_level:].strip().startswith(heading):
            level = heading_level
    assert level, f"no section {heading!r}"
    return "".join(found)


def files_of(markdown: str) -> dict[str, str]:
    """Path → content of every file block in ``markdown``."""
    files: dict[str, str] = {}
    for match in _FILE_BLOCK.finditer(markdown):
        assert match["path"] not in files, f"{match['path']} is given twice"
        files[match["path"]] = match["body"] + "\n"
    return files


def blocks(markdown: str, *languages: str) -> list[str]:
    """Every fenced block of those languages in ``markdown``."""
    return [m["body"] for m in _BLOCK.finditer(markdown) if m["lang"] in languages]
