"""What the cluster must provide outside Kubernetes, from the plugins' answers, and the k3s file ink writes.

A default k3s server deploys its own Traefik (a HelmChart in kube-system) and ServiceLB, which
takes ports 80 and 443 on every node: ink's Traefik and MetalLB would fight them. Plugins say so
through ``ink_cluster_requirements``; core turns every answer into one k3s configuration fragment
in the output (``K3S_CONFIG``), for the user to copy to each server's ``/etc/rancher/k3s/config.yaml.d/``.
It lives under ``_cluster/``: no Argo CD Application points there (each syncs one service folder),
and ``ink validate`` skips folders starting with ``_`` since they hold no Kubernetes manifests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import yaml

from ink.errors import PluginError
from ink.models import ClusterRequirements, NodePackage
from ink.output import HEADER

if TYPE_CHECKING:
    from ink.context import ServiceContext
    from ink.plugins import PluginHost

HOOK = "ink_cluster_requirements"
NOT_MANIFESTS = "_"
"""Output folders starting with this hold files for people, not Kubernetes objects."""
K3S_CONFIG = "_cluster/k3s/config.yaml.d/50-ink.yaml"
_K3S_HEADER = (
    HEADER
    + """\
# k3s server configuration the installed plugins need. On every k3s server node:
#   sudo install -D -m 0600 {path} /etc/rancher/k3s/config.yaml.d/50-ink.yaml
#   sudo systemctl restart k3s
# "disable+" adds to a disable list of your own config.yaml instead of replacing it.
# Argo CD never applies this file; see docs/cluster.md."""
)


def requirements(host: PluginHost, services: Mapping[str, ServiceContext]) -> dict[str, ClusterRequirements]:
    """Every enabled plugin's answer to ``ink_cluster_requirements`` (plugins with none left out)."""
    found: dict[str, ClusterRequirements] = {}
    for name, ctx in services.items():
        answer = host.call(name, HOOK, ctx=ctx) if host.implements(name, HOOK) else None
        if answer is None:
            continue
        if not isinstance(answer, ClusterRequirements):
            raise PluginError(name, HOOK, f"returned {type(answer).__name__}, expected ClusterRequirements")
        if answer.k3s_disable or answer.node_packages:
            found[name] = answer
    return found


def k3s_config(found: Mapping[str, ClusterRequirements]) -> str | None:
    """The k3s configuration fragment for ``found``, or None when no plugin needs a k3s change."""
    reasons: dict[str, list[str]] = {}
    for name, needs in sorted(found.items()):
        for item in needs.k3s_disable:
            reasons.setdefault(item.component, []).append(f"{name}: {item.reason}")
    if not reasons:
        return None
    lines = [_K3S_HEADER.format(path=f"dist/{K3S_CONFIG}"), "# Packaged components turned off, and why:"]
    for component, why in sorted(reasons.items()):
        lines += [f"#   {component}: {text}" for text in why]
    packages = sorted({(p.debian, p.rhel, f"{name}: {p.reason}") for name, r in found.items() for p in r.node_packages})
    if packages:
        lines.append("# Not k3s settings, but every node needs these packages (Debian/Ubuntu | RHEL/Fedora):")
        lines += [f"#   {debian} | {rhel}  ({why})" for debian, rhel, why in packages]
    body = yaml.safe_dump({"disable+": sorted(reasons)}, sort_keys=False, default_flow_style=False)
    return "\n".join(lines) + "\n" + body


def nfs_client(reason: str) -> NodePackage:
    """The NFS client tools every node mounting NFS needs (Debian/Ubuntu ``nfs-common``, RHEL ``nfs-utils``)."""
    return NodePackage(debian="nfs-common", rhel="nfs-utils", reason=reason)
