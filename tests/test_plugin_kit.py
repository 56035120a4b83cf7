"""The plugin kit end to end, outside the repository: wheels of core and Traefik in a fresh venv,
`ink new-plugin` there, the generated plugin's own tests with pytest, then `ink synth`.

Nothing from this repository is on the path of that venv but the two wheels, so the test proves an
outside plugin needs nothing copied from here (no conftest.py, no helpers, no schemas in the tree).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NAME = "hello-world"
CONFIG = """domain = "home.example.org"

[plugins.traefik]
default_certificate = false
"""


def uv() -> str:
    """uv from the test environment (the `test` dependency group), else from PATH."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        pytest.fail("uv not found: install the `test` dependency group (it lists uv)")
    return found


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_an_outside_plugin_from_ink_new_plugin_passes_its_tests_and_synthesises(tmp_path: Path, crd_dir: Path) -> None:
    assert not tmp_path.resolve().is_relative_to(ROOT)
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    for package in (ROOT / "core", ROOT / "plugins" / "traefik"):
        run(uv(), "build", "--quiet", "--wheel", "--out-dir", wheels, package, cwd=tmp_path)
    core_wheel, traefik_wheel = sorted(wheels.glob("ink_core-*.whl")), sorted(wheels.glob("ink_plugin_traefik-*.whl"))
    assert len(core_wheel) == 1 and len(traefik_wheel) == 1, sorted(p.name for p in wheels.iterdir())
    run(uv(), "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path)
    python, ink = venv / "bin" / "python", venv / "bin" / "ink"
    # The wheels by path: an index's package of the same name can never stand in for them.
    run(uv(), "pip", "install", "--quiet", "--python", python, core_wheel[0], traefik_wheel[0], cwd=tmp_path)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("INK_", "PYTEST", "VIRTUAL_ENV"))}
    env |= {"PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "CRD_SCHEMA_DIR": str(crd_dir)}
    run(ink, "new-plugin", NAME, cwd=work, env=env)
    plugin = work / NAME
    run(uv(), "pip", "install", "--quiet", "--python", python, "-e", f"{plugin}[test]", cwd=tmp_path)

    # The generated tests, exactly as written, with the installed pytest plugin's fixtures only.
    tests = run(python, "-m", "pytest", "-p", "no:cacheprovider", cwd=plugin, env=env)
    assert "7 passed" in tests.stdout, tests.stdout
    assert f"custom-resource schemas from {crd_dir}" in tests.stdout

    (work / "ink.toml").write_text(CONFIG, encoding="utf-8")
    run(ink, "synth", "--crd-dir", crd_dir, cwd=work, env=env)
    dist = work / "dist" / NAME
    deployment = yaml.safe_load((dist / f"deployment-{NAME}.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/traefik/whoami:v1.11.0"
    route = yaml.safe_load((dist / f"ingressroute-{NAME}.yaml").read_text())
    assert route["spec"]["routes"][0]["match"] == f"Host(`{NAME}.home.example.org`)"
    assert (work / "dist" / "traefik").is_dir()
