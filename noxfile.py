"""Tasks for ink's monorepo: `nox -l` lists them.

The package list is derived from the tree (core/ and plugins/*/), never maintained by hand.
"""

from __future__ import annotations

import concurrent.futures
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests", "isolated", "docs"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PLUGINS = sorted(p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml") if not p.parent.name.startswith("_"))
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
DOCS_DEPS = nox.project.dependency_groups(PYPROJECT, "docs")
# Users must not see jsii's Node end-of-life banner; ink sets this itself, tests that start node directly too.
# Bytecode is cached under .nox/pycache, outside the source tree (no __pycache__ in core/ or plugins/), and
# written even where the machine sets PYTHONDONTWRITEBYTECODE: without it every test process and every `ink`
# a test starts compiled ink, pydantic and the plugins anew (0.5-0.7 s each; docs/performance.md).
ENV = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "PYTHONDONTWRITEBYTECODE": "",
    "PYTHONPYCACHEPREFIX": str(ROOT / ".nox" / "pycache"),
}
# The full run: one worker per core (each starts one jsii kernel), all tests of a file on one worker so its
# module- and session-scoped fixtures (a synthesised homelab, the API server) run once, not once per worker.
# The 25 slowest tests are listed at the end, so CI's log shows where its minutes go.
PARALLEL = ["--numprocesses=auto", "--dist=loadfile", "--durations=25"]
# Renovate's own validator checks renovate.json (tests/test_renovate.py). Renovate 44 needs node ^24.11.0, newer
# than the machine's: npm's node-linux-<arch> package carries that node binary, so both come from npm, pinned.
RENOVATE = "44.121.2"
RENOVATE_NODE = "24.22.3"


def _editable(*paths: str) -> list[str]:
    return [arg for path in paths for arg in ("-e", path)]


def _test_plugins(plugin: str) -> list[str]:
    """The plugins a plugin's own tests need next to it (its providers), from [tool.ink] test-plugins."""
    data = tomllib.loads((ROOT / "plugins" / plugin / "pyproject.toml").read_text())
    return list(data.get("tool", {}).get("ink", {}).get("test-plugins", []))


@nox.session(reuse_venv=True)
def lint(session: nox.Session) -> None:
    """Ruff: lint and formatting."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _go_tool(session: nox.Session, name: str) -> str:
    """Path of a pinned Go tool, built from the Go module proxy by tests/tools/gobuild.py (cached by version)."""
    output = session.run("python", "tests/tools/gobuild.py", name, silent=True)
    return str(output).strip().splitlines()[-1]  # the script prints the path last, after go's own messages


@nox.session
def tests(session: nox.Session) -> None:
    """Core's tests and the cross-package tests, with all plugins installed. Each plugin's own tests run in
    `isolated`, with only its providers installed (``nox -s tests -- plugins/<name>/tests`` runs them here)."""
    session.install(*_editable("core", *(f"plugins/{p}" for p in PLUGINS)), *TEST_DEPS)
    paths = ["core/tests", "tests"]
    paths_given = [arg for arg in session.posargs if not arg.startswith("-")]
    env = {**ENV, "HELM_BINARY": _go_tool(session, "helm")}  # the chart tests render charts (tests/chartrender.py)
    if not paths_given or any(Path(arg.split("::")[0]).parts[:1] == ("tests",) for arg in paths_given):
        _build_apiserver(session)  # not for targeted plugin or core tests: a first build takes minutes
        env["CHECKOV_BINARY"] = _checkov(session)
        env["RENOVATE_CONFIG_VALIDATOR"] = _renovate(session)
    session.run("pytest", *(session.posargs or [*PARALLEL, *paths]), env=env)


def _checkov(session: nox.Session) -> str:
    """The pinned checkov (dependency group ``checkov``) in a virtualenv of its own, for tests/test_checkov.py:
    its pins would downgrade packages of the test environment. uv makes it; cached, it takes seconds."""
    venv = Path(session.virtualenv.location).parent / "checkov-tool"
    python = venv / "bin" / "python"
    if not python.exists():
        session.run("uv", "venv", "--quiet", "--python", str(Path(session.bin) / "python"), str(venv))
    session.run(
        "uv", "pip", "install", "--quiet", "--python", str(python), *nox.project.dependency_groups(PYPROJECT, "checkov")
    )
    return str(venv / "bin" / "checkov")


def _renovate(session: nox.Session) -> str:
    """Renovate's ``renovate-config-validator`` at the pinned version, from npm into ``.nox/renovate-tool``
    (installed once per version; later runs take no time), as a script that runs it on the pinned node."""
    tool = Path(session.virtualenv.location).parent / "renovate-tool"
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    node = f"node-linux-{arch}"
    done = tool / f".installed-renovate-{RENOVATE}-{node}-{RENOVATE_NODE}"
    if not done.exists():
        # --ignore-scripts: no native builds (re2 is optional: Renovate falls back to JavaScript's RegExp).
        session.run(
            "npm", "install", "--prefix", str(tool), "--no-save", "--no-audit", "--no-fund", "--ignore-scripts",
            "--loglevel=error", f"renovate@{RENOVATE}", f"{node}@{RENOVATE_NODE}", external=True,
        )  # fmt: skip
        done.touch()
    script = tool / "renovate-config-validator"
    modules = tool / "node_modules"
    script.write_text(
        f'#!/bin/sh\nexec "{modules}/{node}/bin/node" "{modules}/renovate/dist/config-validator.js" "$@"\n'
    )
    script.chmod(0o755)
    return str(script)


@nox.session(default=False)
def renovate(session: nox.Session) -> None:
    """renovate.json: Renovate's validator (from npm, pinned) and the custom manager against every pin."""
    session.install(*_editable("core", *(f"plugins/{p}" for p in PLUGINS)), *TEST_DEPS)
    env = {**ENV, "HELM_BINARY": _go_tool(session, "helm"), "RENOVATE_CONFIG_VALIDATOR": _renovate(session)}
    session.run("pytest", *(session.posargs or ["tests/test_renovate.py"]), env=env)


def _build_apiserver(session: nox.Session) -> None:
    """Build etcd and kube-apiserver for the `apiserver` tier here, with go's output shown (a cold build is
    the longest step of CI); the test fixture then finds them in the cache."""
    session.run("python", "tests/tools/gobuild.py", "etcd", "kube-apiserver")


@nox.session(default=False)
def cluster(session: nox.Session) -> None:
    """The `apiserver` tier alone: build etcd and kube-apiserver (cached), dry-run every object on them.

    `tests` runs this tier too; this session is for iterating on it.
    """
    session.install(*_editable("core", *(f"plugins/{p}" for p in PLUGINS)), *TEST_DEPS)
    _build_apiserver(session)
    env = {**ENV, "HELM_BINARY": _go_tool(session, "helm")}
    session.run("pytest", "-m", "apiserver", *(session.posargs or ["tests"]), env=env)


@nox.session
def isolated(session: nox.Session) -> None:
    """Each plugin's own tests with only core and the providers they need installed (its [tool.ink] test-plugins):
    proves every plugin is independent. One plugin per core at a time; ``nox -s isolated -- loki grafana`` runs some.
    """
    plugins = session.posargs or PLUGINS
    if unknown := sorted(set(plugins) - set(PLUGINS)):
        session.error(f"no plugin named {', '.join(unknown)} under plugins/; known: {', '.join(PLUGINS)}")
    session.install("uv")
    uv = str(Path(session.bin) / "uv")
    folder = Path(session.virtualenv.location).parent
    env = {**os.environ, **ENV}

    def run(plugin: str) -> tuple[str, bool, float, str]:
        started = time.monotonic()
        venv = folder / f"isolated-{plugin}"
        python = str(venv / "bin" / "python")
        packages = _editable("core", *(f"plugins/{p}" for p in [plugin, *_test_plugins(plugin)]))
        steps = [
            [uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(venv)],
            [uv, "pip", "install", "--quiet", "--python", python, *packages, *TEST_DEPS],
            [str(venv / "bin" / "pytest"), f"plugins/{plugin}/tests", "-q", "-p", "no:cacheprovider"],
        ]
        log = ""
        for step in steps:
            done = subprocess.run(step, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            log += f"$ {' '.join(step)}\n{done.stdout}{done.stderr}"
            if done.returncode != 0:
                return plugin, False, time.monotonic() - started, log
        return plugin, True, time.monotonic() - started, log

    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for plugin, ok, seconds, log in pool.map(run, plugins):
            last = log.strip().splitlines()[-1] if log.strip() else ""
            session.log(f"isolated({plugin}): {'ok' if ok else 'FAILED'} in {seconds:.0f} s: {last}")
            if not ok:
                failed.append(plugin)
                print(log, flush=True)
    if failed:
        session.error(f"isolated tests failed for: {', '.join(failed)} (their output is above)")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (MkDocs Material, strict: any warning fails) into build/site, then open it in
    headless Chromium (docs/_site/test_site.py; screenshots in build/docs-screenshots). The site's generated pages
    (plugins, settings, capabilities, the graph picture) need every plugin installed, and Graphviz's dot."""
    session.install(*_editable("core", *(f"plugins/{p}" for p in PLUGINS)), *DOCS_DEPS, "pytest>=8")
    # Material 9.7+ prints an end-of-life notice for MkDocs 2 on every build; the issue asks for Material.
    session.run("mkdocs", "build", "--strict", env={**ENV, "NO_MKDOCS_2_WARNING": "1"})
    session.run("pytest", "docs/_site", *session.posargs, env=ENV)


@nox.session(reuse_venv=True)
def synth(session: nox.Session) -> None:
    """`ink synth` of the embedded default homelab (or ./ink.toml) into dist/."""
    session.install(*_editable("core", *(f"plugins/{p}" for p in PLUGINS)))
    session.run("ink", "synth", *session.posargs, env=ENV)


@nox.session(reuse_venv=True, default=False)
def bench(session: nox.Session) -> None:
    """Issue 17's benchmark: ink synth of the default and its phases against the floors, the read-only commands,
    scaling to 300 services. Writes build/bench.json and docs/performance.md's table. ``-- --runs 3`` for fewer
    rounds, ``-- --suite`` to also time `nox -s tests` and .ci/run (long). Never part of the tests."""
    session.install(*_editable("core", *(f"plugins/{p}" for p in PLUGINS)))
    session.run("python", "tests/bench.py", *session.posargs, env=ENV)


@nox.session(default=False)
def build(session: nox.Session) -> None:
    """A wheel and an sdist of every package (each is published on its own) into build/packages, then
    ``twine check --strict`` on all of them: the metadata PyPI would render or refuse.

    ``uv build`` (hatchling in a cached build environment) builds all 43 packages several times faster than
    ``python -m build``, which makes a fresh virtualenv per package (docs/versioning.md has the numbers).
    """
    session.install("uv", "twine")
    out = ROOT / "build" / "packages"
    shutil.rmtree(out, ignore_errors=True)  # stale files of a renamed or bumped package must not be checked
    for path in ["core", *(f"plugins/{p}" for p in PLUGINS)]:
        session.run("uv", "build", "--quiet", "--out-dir", str(out), path)
    built = sorted(str(p) for pattern in ("*.whl", "*.tar.gz") for p in out.glob(pattern))  # uv adds a .gitignore
    expected = 2 * (1 + len(PLUGINS))
    if len(built) != expected:
        session.error(f"expected {expected} files (a wheel and an sdist per package) in {out}, found {len(built)}")
    session.run("twine", "check", "--strict", *built)
