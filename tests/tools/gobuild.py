"""Build the Go tools the test suite needs (helm, and later kube-apiserver and etcd) from the Go module proxy.

Nothing is downloaded but Go modules: each tool is built from its module at a pinned version and
cached on disk keyed by that version, so a second run on the same machine is instant and a fresh
machine works from nothing. Usage: ``python tests/tools/gobuild.py helm`` prints the binary's path.
The cache folder is ``$INK_TOOLS_DIR`` (default ``~/.cache/ink-tools``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class GoTool:
    """A binary built from one Go package at a pinned module version."""

    name: str
    module: str
    version: str
    package: str
    # Extra `replace` directives for modules (such as k8s.io/kubernetes) whose go.mod points its
    # staging modules at local folders: module path -> replacement "path version".
    replace: dict[str, str] = field(default_factory=dict)
    ldflags: str = "-s -w"


TOOLS: dict[str, GoTool] = {
    # helm v4 release tags: https://github.com/helm/helm/releases (module helm.sh/helm/v4)
    "helm": GoTool(
        name="helm",
        module="helm.sh/helm/v4",
        version="v4.3.2",
        package="helm.sh/helm/v4/cmd/helm",
        ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=v4.3.2",
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("INK_TOOLS_DIR") or Path.home() / ".cache" / "ink-tools")


def binary_path(tool: GoTool) -> Path:
    return cache_dir() / f"{tool.name}-{tool.version}" / tool.name


def build(tool: GoTool) -> Path:
    """The cached binary of ``tool``, built first when missing."""
    target = binary_path(tool)
    if target.is_file() and os.access(target, os.X_OK):
        return target
    go = shutil.which("go") or "/usr/local/go/bin/go"
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod -buildvcs=false", "GOTOOLCHAIN": "local"}
    with tempfile.TemporaryDirectory(prefix=f"gobuild-{tool.name}-") as work:
        lines = [f"module inktools/{tool.name}", "", "go 1.24", "", f"require {tool.module} {tool.version}", ""]
        lines += [f"replace {path} => {target_ref}" for path, target_ref in sorted(tool.replace.items())]
        Path(work, "go.mod").write_text("\n".join(lines) + "\n")
        Path(work, "tools.go").write_text(f'//go:build tools\n\npackage tools\n\nimport _ "{tool.package}"\n')
        partial = target.with_name(f".{tool.name}.partial")
        subprocess.run([go, "mod", "tidy"], cwd=work, env=env, check=True)
        subprocess.run(
            [go, "build", "-trimpath", f"-ldflags={tool.ldflags}", "-o", str(partial), tool.package],
            cwd=work,
            env=env,
            check=True,
        )
        partial.replace(target)  # atomic: a killed build never leaves a half-written binary in place
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tools", nargs="+", choices=sorted(TOOLS))
    args = parser.parse_args(argv)
    for name in args.tools:
        print(build(TOOLS[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
