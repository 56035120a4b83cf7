"""The embedded default and every config in tests/configs/, each synthesised once per test process (hiding the
developer's INK_* variables, as collection runs before conftest's fixture that does), for the cross-package tests
that read the output of every config."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from ink import run, testing

CONFIGS = {"default": "", **{p.stem: p.read_text() for p in sorted((Path(__file__).parent / "configs").glob("*.toml"))}}


@functools.cache
def synthesised(config: str) -> run.SynthResult:
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("INK_")}
    try:
        with tempfile.TemporaryDirectory(prefix=f"ink-{config}-") as directory:
            return testing.synth(Path(directory), CONFIGS[config], validate=False)
    finally:
        os.environ.update(hidden)
