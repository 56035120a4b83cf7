"""The plugin kit end to end, outside the repository: wheels of core and Traefik in a fresh venv,
`ink new-plugin` there, the generated plugin's own tests with pytest, then `ink synth`.

Nothing from this repository is on the path of that venv but the two wheels, so the test proves an
outside plugin needs nothing copied from here (no conftest.py, no helpers, no schemas in the tree).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from outside import ROOT, run, venv

NAME = "hello-world"
CONFIG = """domain = "home.example.org"

[plugins.traefik]
default_certificate = false
"""


@pytest.mark.slow
def test_an_outside_plugin_from_ink_new_plugin_passes_its_tests_and_synthesises(
    tmp_path: Path, crd_dir: Path, wheels: dict[str, Path]
) -> None:
    assert not tmp_path.resolve().is_relative_to(ROOT)
    work = tmp_path / "work"
    work.mkdir()
    env = venv(tmp_path / "venv", wheels["ink-core"], wheels["ink-plugin-traefik"])
    env.env["CRD_SCHEMA_DIR"] = str(crd_dir)
    run(env.ink, "new-plugin", NAME, cwd=work, env=env.env)
    plugin = work / NAME
    env.install("-e", f"{plugin}[test]")

    # The generated tests, exactly as written, with the installed pytest plugin's fixtures only.
    tests = run(env.python, "-m", "pytest", "-p", "no:cacheprovider", cwd=plugin, env=env.env)
    assert "7 passed" in tests.stdout, tests.stdout
    assert f"custom-resource schemas from {crd_dir}" in tests.stdout

    (work / "ink.toml").write_text(CONFIG, encoding="utf-8")
    run(env.ink, "synth", "--crd-dir", crd_dir, cwd=work, env=env.env)
    dist = work / "dist" / NAME
    deployment = yaml.safe_load((dist / f"deployment-{NAME}.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/traefik/whoami:v1.11.0"
    route = yaml.safe_load((dist / f"ingressroute-{NAME}.yaml").read_text())
    assert route["spec"]["routes"][0]["match"] == f"Host(`{NAME}.home.example.org`)"
    assert (work / "dist" / "traefik").is_dir()
