"""Build the Go tools the test suite needs (helm, kube-apiserver, etcd) from the Go module proxy.

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


KUBERNETES_VERSION = "v1.37.2"
STAGING_VERSION = "v0.37.2"  # staging modules are tagged v0.<minor>.<patch> with each release
# The `replace k8s.io/<name> => ./staging/src/k8s.io/<name>` lines of k8s.io/kubernetes v1.37.2's go.mod.
KUBERNETES_STAGING = (
    "api",
    "apiextensions-apiserver",
    "apimachinery",
    "apiserver",
    "cli-runtime",
    "client-go",
    "cloud-provider",
    "cluster-bootstrap",
    "code-generator",
    "component-base",
    "component-helpers",
    "controller-manager",
    "cri-api",
    "cri-client",
    "cri-streaming",
    "csi-translation-lib",
    "dynamic-resource-allocation",
    "endpointslice",
    "externaljwt",
    "kms",
    "kube-aggregator",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "metrics",
    "mount-utils",
    "pod-security-admission",
    "sample-apiserver",
    "sample-cli-plugin",
    "sample-controller",
    "streaming",
)


def _kube_version_vars(version: str) -> dict[str, str]:
    """The version variables hack/lib/version.sh sets, so `--version` and /version report the release."""
    major, minor = version.removeprefix("v").split(".")[:2]
    return {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",  # fixed: the same pin always builds the same binary
    }


TOOLS: dict[str, GoTool] = {
    # helm v4 release tags: https://github.com/helm/helm/releases (module helm.sh/helm/v4)
    "helm": GoTool(
        name="helm",
        module="helm.sh/helm/v4",
        version="v4.3.2",
        package="helm.sh/helm/v4/cmd/helm",
        ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=v4.3.2",
    ),
    # k8s.io/kubernetes release tags: https://github.com/kubernetes/kubernetes/releases (v1.37.2).
    # Its go.mod replaces every staging module with ./staging/src/k8s.io/<name>, which a consuming
    # module cannot see, so each is pinned to the published staging release of the same version.
    "kube-apiserver": GoTool(
        name="kube-apiserver",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        package="k8s.io/kubernetes/cmd/kube-apiserver",
        replace={f"k8s.io/{name}": f"k8s.io/{name} {STAGING_VERSION}" for name in KUBERNETES_STAGING},
        ldflags=" ".join(
            ["-s -w"]
            + [
                f"-X k8s.io/{pkg}.{var}={value}"
                for pkg in ("component-base/version", "client-go/pkg/version")
                for var, value in _kube_version_vars(KUBERNETES_VERSION).items()
            ]
        ),
    ),
    # etcd: k8s.io/kubernetes v1.37.2 is tested against etcd 3.7.0 (its build/dependencies.yaml and
    # hack/lib/etcd.sh); v3.7.3 is the latest patch of that minor (https://github.com/etcd-io/etcd/releases).
    # The `etcd` main package is the root of the go.etcd.io/etcd/server/v3 module (server/main.go).
    "etcd": GoTool(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version="v3.7.3",
        package="go.etcd.io/etcd/server/v3",
        ldflags="-s -w",
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
