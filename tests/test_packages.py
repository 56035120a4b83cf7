"""The `pip install ink-plugin-rocketchat` experience: built wheels in a fresh venv, nothing of the repository.

Rocket.Chat is the plugin the README's example installs. Its one required need is ``mongodb`` (a capability
that ink-plugin-mongodb defines and provides), and both need ``secrets``: so core, rocketchat, mongodb and
sealed-secrets are the smallest set a user installs for a synth that works. Every other need of theirs is
optional and left out with a warning. Their dependencies (cdk8s, pydantic, ...) come from PyPI, as for a user.
The ranges each plugin declares on ink-core are checked against core's version by tests/test_repository.py.

It runs in `nox -s tests` (so in CI) rather than in a session of its own: uv builds the four wheels and fills
the venv from its cache in seconds, and the whole test took 31 s on the shared 2-core machine (98 s at its
busiest), on one xdist worker while the other runs other files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from outside import ROOT, build_wheels, run, uv, venv

PACKAGES = {
    "ink-core": ROOT / "core",
    "ink-plugin-rocketchat": ROOT / "plugins" / "rocketchat",
    "ink-plugin-mongodb": ROOT / "plugins" / "mongodb",
    "ink-plugin-sealed-secrets": ROOT / "plugins" / "sealed-secrets",
}


def _version(folder: Path) -> str:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.slow
def test_rocketchat_from_wheels_in_a_fresh_venv_lists_itself_and_synthesises(tmp_path: Path, crd_dir: Path) -> None:
    wheels = build_wheels(tmp_path / "wheels", PACKAGES)
    env = venv(tmp_path / "venv", *wheels.values())
    work = tmp_path / "work"  # the cwd: the repository is neither the working directory nor on the path
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)

    # The dependencies resolved agree with what each package declares (ink-core's range in each plugin too).
    run(uv(), "pip", "check", "--python", env.python, cwd=work)
    where = run(env.python, "-c", "import ink, ink_plugin_rocketchat as r; print(ink.__file__); print(r.__file__)",
                cwd=work, env=env.env)  # fmt: skip
    for path in where.stdout.split():
        assert Path(path).is_relative_to(env.path), f"{path} is not from the wheel installed in the venv"
    assert run(env.ink, "--version", cwd=work, env=env.env).stdout.split()[-1] == _version(ROOT / "core")

    listed = run(env.ink, "plugins", cwd=work, env=env.env).stdout
    plugins_table = listed.split("\n\n")[0]  # the capabilities table follows after a blank line
    rows = {line.split("\t")[0]: line.split("\t") for line in plugins_table.splitlines()[1:]}
    assert set(rows) >= {"rocketchat", "mongodb", "sealed-secrets"}
    assert rows["rocketchat"][1:3] == ["ink-plugin-rocketchat", _version(PACKAGES["ink-plugin-rocketchat"])]
    assert rows["mongodb"][4] == "mongodb"  # the provider of rocketchat's need, found through its entry point

    done = run(env.ink, "synth", "--crd-dir", crd_dir, cwd=work, env=env.env)
    assert "for 3 services" in done.stdout, done.stdout
    dist = work / "dist"
    deployment = yaml.safe_load((dist / "rocketchat" / "deployment-rocketchat.yaml").read_text())
    env_names = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {"MONGO_URL", "MONGO_OPLOG_URL"} <= env_names  # the mongodb binding reached the Deployment
    assert (dist / "rocketchat" / "service-rocketchat.yaml").is_file()
    assert (dist / "mongodb" / "mongodbcommunity-mongodb.yaml").is_file()
    assert (dist / "rocketchat" / "sealedsecret-rocketchat-mongodb.yaml").is_file()

    # Without its provider the same install fails with one line naming the need and the fix.
    env.uninstall("ink-plugin-mongodb")
    refused = run(env.ink, "synth", cwd=work, env=env.env, expect=2)
    assert "rocketchat needs mongodb" in refused.stderr
    assert "install a package that defines and provides mongodb" in refused.stderr
