"""The four charts of an ambient install, mesh-wide STRICT mTLS, and the exceptions the flows need."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ink import kube
from ink.context import ServiceContext
from ink_plugin_istio import NAMESPACE

if TYPE_CHECKING:
    from ink.netpol import Flow, NetworkPlan

# Istio docs, "Install with Helm" (ambient): the repository, and the order base → istiod → cni → ztunnel.
CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
HUB = "docker.io/istio"
PEER_AUTHENTICATION = "security.istio.io/v1"
ADMISSION_POLICY = "admissionregistration.k8s.io/ValidatingAdmissionPolicy"
ADMISSION_BINDING = "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding"


def istio(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    tag, version = ctx.setting("image_tag"), ctx.setting("chart_version")
    platform = ctx.setting("platform")
    global_values: dict[str, Any] = {"hub": HUB, "tag": tag}
    if platform:
        global_values["platform"] = platform
    charts: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        # The CRDs and the default-revision validation (base chart templates/crds.yaml, defaultrevision-*.yaml).
        (
            "istio-base",
            "base",
            {},
            ("CustomResourceDefinition", "ValidatingWebhookConfiguration", ADMISSION_POLICY, ADMISSION_BINDING),
        ),
        # profile=ambient: istiod answers ztunnel (PILOT_ENABLE_AMBIENT); one replica, no autoscaler.
        (
            "istiod",
            "istiod",
            {
                "profile": "ambient",
                "global": dict(global_values),
                "autoscaleEnabled": False,
                "replicaCount": 1,
                "resources": ctx.setting("istiod_resources").kubernetes(),
            },
            (
                "ClusterRole",
                "ClusterRoleBinding",
                "MutatingWebhookConfiguration",
                "ValidatingWebhookConfiguration",
                ADMISSION_POLICY,
                ADMISSION_BINDING,
            ),
        ),
        # profile=ambient turns on ambient redirection; global.platform=k3s sets k3s's CNI folders.
        (
            "istio-cni",
            "cni",
            {
                "profile": "ambient",
                "global": dict(global_values),
                "resources": ctx.setting("cni_resources").kubernetes(),
            },
            ("ClusterRole", "ClusterRoleBinding"),
        ),
        (
            "ztunnel",
            "ztunnel",
            {"hub": HUB, "tag": tag, "resources": ctx.setting("ztunnel_resources").kubernetes()},
            ("ClusterRole", "ClusterRoleBinding"),
        ),
    ]
    for wave, (release, chart, values, cluster_kinds) in enumerate(charts, start=-30):
        kube.helm_application(
            scope,
            ctx=ctx,
            release=release,
            repo_url=CHART_REPO,
            chart=chart,
            version=version,
            values=values,
            cluster_kinds=cluster_kinds,
            sync_wave=wave,
        )
    # Mesh-wide STRICT: a PeerAuthentication in the root namespace (istio-system) applies to every workload
    # (Istio docs, "Mutual TLS migration" → "Lock down mutual TLS for the entire mesh"). ztunnel then refuses
    # plain-text connections to meshed pods, except on the ports entry_exceptions opens.
    kube.api_object(
        scope,
        "peer-authentication-default",
        {
            "apiVersion": PEER_AUTHENTICATION,
            "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": NAMESPACE, "labels": ctx.labels("mtls")},
            "spec": {"mtls": {"mode": "STRICT"}},
        },
    )


def _slug(labels: tuple[tuple[str, str], ...]) -> str:
    values = dict(labels)
    value = values.get("app.kubernetes.io/component") or values.get("app.kubernetes.io/name") or labels[-1][1]
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:40].strip("-") or "pods"


def entry_exceptions(plan: NetworkPlan) -> list[dict[str, Any]]:
    """PeerAuthentications that accept plain traffic where it enters the mesh from outside it.

    ``plan.mesh_entries`` are the flows into meshed pods from unmeshed pods or outside addresses (the API
    server calling a webhook, LAN clients of a LoadBalancer, a host-network agent). Per target pods: STRICT
    with ``portLevelMtls`` PERMISSIVE on exactly those ports. In ambient mode a workload PeerAuthentication
    counts only with a selector and port-level settings (istiod pilot/pkg/serviceregistry/ambient/
    authorization.go, convertPeerAuthentication), so an entry that names no single port (a range, a named
    port, every port) or no pods makes its whole namespace PERMISSIVE instead, with the reason in a comment.
    """
    by_target: dict[tuple[str, tuple[tuple[str, str], ...]], list[Flow]] = {}
    for flow in plan.mesh_entries:
        by_target.setdefault((flow.target.namespace, flow.target.pods), []).append(flow)
    namespace_wide: dict[str, list[str]] = {}
    objects: list[dict[str, Any]] = []
    names: dict[str, set[str]] = {}
    for (namespace, pods), flows in sorted(by_target.items()):
        ports = {p for f in flows for p in f.ports}
        exact = bool(pods) and all(f.ports for f in flows)
        exact = exact and all(isinstance(p.port, int) and p.end_port is None and p.protocol == "TCP" for p in ports)
        if not exact:
            namespace_wide.setdefault(namespace, []).extend(sorted({f.why for f in flows}))
            continue
        name = f"ink-entry-{_slug(pods)}"
        taken = names.setdefault(namespace, set())
        candidate, suffix = name, 2
        while candidate in taken:
            candidate, suffix = f"{name}-{suffix}", suffix + 1
        taken.add(candidate)
        why = "; ".join(sorted({f.why for f in flows}))
        objects.append(
            {
                "apiVersion": PEER_AUTHENTICATION,
                "kind": "PeerAuthentication",
                "metadata": {
                    "name": candidate,
                    "namespace": namespace,
                    "annotations": {"ink.homelab/reason": f"plain traffic from outside the mesh: {why}"[:1000]},
                },
                "spec": {
                    "selector": {"matchLabels": dict(pods)},
                    "mtls": {"mode": "STRICT"},
                    "portLevelMtls": {
                        str(p.port): {"mode": "PERMISSIVE"} for p in sorted(ports, key=lambda p: int(p.port))
                    },
                },
            }
        )
    for namespace, reasons in sorted(namespace_wide.items()):
        why = "; ".join(sorted(set(reasons)))
        objects.append(
            {
                "apiVersion": PEER_AUTHENTICATION,
                "kind": "PeerAuthentication",
                "metadata": {
                    "name": "ink-entry-namespace",
                    "namespace": namespace,
                    "annotations": {
                        "ink.homelab/reason": f"plain traffic from outside the mesh on ports no port-level "
                        f"setting can name (a range, a named port, every port): {why}"[:1000]
                    },
                },
                "spec": {"mtls": {"mode": "PERMISSIVE"}},
            }
        )
    return objects
