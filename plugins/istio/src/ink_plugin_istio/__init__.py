"""ink plugin: Istio in ambient mode (https://istio.io/latest/docs/ambient/), opt-in.

Carries the traffic between the pods of the meshed namespaces over mutual TLS, for the hops whose
software cannot do TLS itself. Application pods stay as ink writes them (no sidecar, Pod Security
``restricted``): a node agent (ztunnel) tunnels their connections over HBONE, port 15008, and istio-cni
redirects them to it. Installs the official charts (base, istiod, cni, ztunnel), a mesh-wide STRICT
PeerAuthentication, and, once the NetworkPolicies are planned, the exceptions for the ports that receive
traffic from outside the mesh. README.md says why Istio ambient rather than Linkerd.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ink import hookimpl
from ink.models import DnsLabel, Inbound, KubeApi, Mesh, NetworkRule, ServiceInfo
from ink.podsecurity import AddCapabilities, HostNetwork, HostPath, Privileged, RunAsRoot
from ink.settings import ContainerResources, ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext
    from ink.netpol import NetworkPlan

# renovate: datasource=docker depName=docker.io/istio/pilot
VERSION = "1.30.3"
NAMESPACE = "istio-system"
# Istio docs, "Ambient and Kubernetes NetworkPolicy": meshed pods talk HBONE on 15008, and the kubelet's
# probes reach them SNATed from 169.254.7.127 (istio cni/pkg/iptables/iptables.go, HostProbeSNATAddress).
HBONE_PORT = 15008
PROBE_SNAT = "169.254.7.127/32"
# istio-cni's ambient.enablementSelectors (cni chart values.yaml): a namespace labelled so is in the mesh.
DATAPLANE_LABEL = "istio.io/dataplane-mode"


class IstioSettings(PluginSettings):
    enabled: bool = Field(
        default=False,
        description="Install the mesh. Off by default: it runs privileged node agents (ztunnel, istio-cni) "
        "and changes every meshed namespace's NetworkPolicies; see the plugin's README before turning it on.",
    )
    namespaces: list[DnsLabel] | None = Field(
        default=None,
        description="The namespaces to mesh. Unset: every namespace ink writes except those that cannot be "
        "(istio-system itself, and namespaces with host-network pods, which ambient cannot capture) and those "
        "of privileged node agents (e.g. Longhorn), which may be listed here to mesh them anyway.",
    )
    exclude: list[DnsLabel] = Field(
        default_factory=list, description="Namespaces to leave out of the default set (ignored with namespaces)."
    )
    platform: Literal["k3s", ""] = Field(
        default="k3s",
        description="The cluster's platform profile for istio-cni (k3s keeps its CNI files under "
        "/var/lib/rancher/k3s); '' for a cluster with the standard /etc/cni/net.d and /opt/cni/bin.",
    )
    image_tag: ImageTag = Field(
        default=VERSION, description="Tag of every Istio image (docker.io/istio/pilot, install-cni, ztunnel)."
    )
    chart_version: str = Field(default=VERSION, description="Version of the base, istiod, cni and ztunnel charts.")
    istiod_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi"),
        description="Requests and limits of istiod (the control plane: certificates and configuration).",
    )
    ztunnel_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="128Mi", memory_limit="512Mi"),
        description="Requests and limits of ztunnel, on every node (memory grows with pods and connections).",
    )
    cni_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="64Mi", memory_limit="256Mi"),
        description="Requests and limits of the istio-cni node agent, on every node.",
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="istio",
        title="Istio (ambient)",
        version=VERSION,
        homepage="https://istio.io",
        description="Service mesh in ambient mode: mutual TLS between the pods of the meshed namespaces.",
        namespace=NAMESPACE,
        settings_model=IstioSettings,
        exemptions=(
            RunAsRoot(reason="ztunnel and the istio-cni agent run as root (cni and ztunnel chart daemonset.yaml)"),
            AddCapabilities(
                capabilities=("NET_ADMIN", "SYS_ADMIN", "NET_RAW"),
                reason="ztunnel enters each meshed pod's network namespace (SYS_ADMIN) and sets up transparent "
                "redirection there (NET_ADMIN, NET_RAW); istio-cni writes iptables rules and ipsets in them",
            ),
            HostPath(
                paths=(
                    "/opt/cni/bin",
                    "/etc/cni/net.d",
                    "/var/lib/rancher/k3s/data/cni",
                    "/var/lib/rancher/k3s/agent/etc/cni/net.d",
                    "/proc",
                    "/var/run/netns",
                    "/var/run/istio-cni",
                    "/var/run/ztunnel",
                ),
                reason="istio-cni installs its CNI plugin on the node and reaches pods' network namespaces; "
                "ztunnel takes their sockets over the node's /var/run/ztunnel (k3s paths differ: see README)",
            ),
        ),
    )


def meshed_namespaces(ctx: ServiceContext) -> tuple[list[str], dict[str, str], list[str]]:
    """(the namespaces to mesh, {namespace left out: why}, warnings) for the settings and the installed services.

    Never meshed (they cannot be): istio-system, and namespaces with host-network pods (Istio docs, ambient
    "Add workloads to the mesh": pods on the host network are not captured; a namespace is enrolled whole).
    Not meshed by default, but on request (``namespaces``): namespaces of privileged node agents, whose
    connections carry a node's storage or network and must not break when ztunnel restarts or upgrades.
    """
    namespaces = {info.namespace or name: info for name, info in ctx.services.items()}
    cannot: dict[str, str] = {NAMESPACE: "the mesh's own namespace: ztunnel and istio-cni are not meshed"}
    by_default: dict[str, str] = {}
    for namespace, info in namespaces.items():
        if namespace == NAMESPACE:
            continue
        if any(isinstance(e, HostNetwork) for e in info.exemptions):
            cannot[namespace] = f"{info.name} runs pods on the host network, which ambient cannot capture"
        elif any(isinstance(e, Privileged) for e in info.exemptions):
            by_default[namespace] = (
                f"{info.name} runs privileged node agents: their connections must not depend on ztunnel "
                "(add the namespace to [plugins.istio] namespaces to mesh it anyway)"
            )
    left_out = {**by_default, **cannot}
    wanted = ctx.setting("namespaces")
    if wanted is not None:
        chosen = [ns for ns in wanted if ns in namespaces]
        warnings = []
        unknown = sorted(set(wanted) - set(namespaces))
        if unknown:
            warnings.append(f"[plugins.istio] namespaces names {', '.join(unknown)}, which no enabled service uses")
        for namespace in chosen:
            if namespace in cannot:
                warnings.append(f"[plugins.istio] namespaces: {namespace} is left out of the mesh: {cannot[namespace]}")
        left_out = {ns: why for ns, why in cannot.items()}
        left_out |= {ns: "not in [plugins.istio] namespaces" for ns in namespaces if ns not in wanted}
        return sorted(ns for ns in chosen if ns not in cannot), dict(sorted(left_out.items())), warnings
    for namespace in ctx.setting("exclude"):
        left_out.setdefault(namespace, "[plugins.istio] exclude")
    return sorted(ns for ns in namespaces if ns not in left_out), dict(sorted(left_out.items())), []


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    meshed, left_out, _ = meshed_namespaces(ctx)  # ink_workloads reports the warnings, once
    istiod = {"app": "istiod"}
    return [
        Mesh(
            namespaces=tuple(meshed),
            tunnel_ports=(HBONE_PORT,),
            probe_sources=(PROBE_SNAT,),
            namespace_labels={DATAPLANE_LABEL: "ambient"},
            left_out=left_out,
            reason="Istio ambient: HBONE between meshed pods, the kubelet's probes SNATed by istio-cni",
        ),
        KubeApi(reason="istiod, ztunnel and the istio-cni agent watch pods, services and Istio's resources"),
        # istiod chart service.yaml: Service istiod 443 → 15017, the sidecar injector and validation webhooks.
        Inbound(ports=(15017,), source="api-server", pods=istiod, reason="istiod's validating webhook"),
    ]


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # global.hub/tag ink sets (construct.HUB): istiod runs pilot, the cni chart install-cni, ztunnel its own.
    # Ambient mode injects no sidecars (no proxyv2). Its charts are not in ../shared/charts, so
    # tests/test_images.py cannot render them (README, "Images").
    tag = ctx.setting("image_tag")
    return [f"docker.io/istio/{image}:{tag}" for image in ("pilot", "install-cni", "ztunnel")]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_istio.construct import istio

    for warning in meshed_namespaces(ctx)[2]:
        ctx.warn(warning)
    istio(scope, ctx=ctx)


@hookimpl
def ink_network_objects(plan: NetworkPlan) -> list[dict[str, Any]]:
    from ink_plugin_istio.construct import entry_exceptions

    return entry_exceptions(plan)
