"""ink.node: Node starts in a thread for `ink synth` and `ink diff`, and every way out is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

INK = Path(sys.executable).with_name("ink")


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("INK_")}, **extra}


def test_cdk8s_loads_in_the_background_and_wait_returns_once_it_has() -> None:
    # A fresh interpreter: this test process has cdk8s loaded already (one jsii kernel per test process).
    script = (
        "import sys, threading\n"
        "from ink import node\n"
        "node.start()\n"
        "assert [t.name for t in threading.enumerate() if t.name == 'ink-node-start']\n"
        "node.start()  # a second start is a no-op\n"
        "node.wait()\n"
        "assert 'cdk8s' in sys.modules and 'cdk8s._jsii' in sys.modules\n"
        "import cdk8s\n"
        "cdk8s.Chart(cdk8s.App(), 'probe')  # the runtime the thread started answers\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"
    assert done.stderr == ""


def test_no_node_is_one_line_naming_the_fix_and_writes_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(INK), "synth"], cwd=tmp_path, env=_env(JSII_NODE=str(tmp_path / "no-node")), capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "runs on Node.js" in done.stderr and "JSII_NODE names no" in done.stderr
    assert "install Node.js 20 or later" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_config_error_while_node_starts_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    # The error comes while the thread is still starting Node: the process must wait for it, not print
    # jsii's traceback of a pipe closed at exit.
    (tmp_path / "ink.toml").write_text('domain = "home.example.org"\nbogus = 1\n', encoding="utf-8")
    for command in (["synth"], ["diff"]):
        done = subprocess.run([str(INK), *command], cwd=tmp_path, env=_env(), capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: ink.toml:2: bogus: unknown key"), done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ink.toml"]
