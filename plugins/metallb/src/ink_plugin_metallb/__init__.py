"""ink plugin: MetalLB (https://metallb.io).

Gives Services of type LoadBalancer (Traefik's, above all) an address from a pool on the
home network and announces it in layer 2 mode (ARP/NDP). Installs MetalLB's official chart
and declares one IPAddressPool and one L2Advertisement.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints, field_validator

from ink import hookimpl, tls
from ink.models import (
    AlertRule,
    Capability,
    ClusterRequirements,
    DnsLabel,
    Inbound,
    K3sDisable,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    SecretKeyRef,
    ServiceInfo,
)
from ink.podsecurity import AddCapabilities, HostNetwork
from ink.settings import ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=quay.io/metallb/controller extractVersion=^v(?<version>.+)$
VERSION = "0.16.1"
# renovate: datasource=helm depName=metallb registryUrl=https://metallb.github.io/metallb
CHART_VERSION = "0.16.1"  # the chart's appVersion is v0.16.1
EXAMPLES = "a CIDR such as '192.168.1.240/28' or a range such as '192.168.1.240-192.168.1.250'"

# The controller's and the speakers' pods (chart templates/controller.yaml, speaker.yaml: selector labels and
# component); the speakers run on the host network (speaker.yaml: hostNetwork: true).
CONTROLLER = {"app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "controller"}
SPEAKER = {"app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "speaker"}
# Since 0.16 the controller and the speakers serve /metrics themselves, HTTPS only, on prometheus.metricsPort
# (chart values.yaml), behind controller-runtime's authentication and authorization filter
# (internal/k8s/k8s.go at v0.16.1: SecureServing, filters.WithAuthenticationAndAuthorization): a scraper sends
# a ServiceAccount token that may `get` the non-resource URL /metrics. The certificate is self-signed unless
# tls.controllerMetricsTLSSecret (tls.speakerMetricsTLSSecret) names one (--metrics-cert-dir, tls.crt, tls.key).
METRICS_PORT = 9120
METRICS_TLS = "metallb-metrics-tls"
METRICS_READER = "metallb-metrics-reader"  # ServiceAccount, its token Secret, ClusterRole and binding
METRICS_TOKEN = f"{METRICS_READER}-token"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _bounds(value: str) -> tuple[IPAddress, IPAddress]:
    """First and last address of a CIDR or an ``a-b`` range; ValueError with a clear reason."""
    value = value.strip()
    if "/" in value:
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            try:
                loose = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"is not a valid CIDR; use {EXAMPLES}") from None
            raise ValueError(f"has host bits set; did you mean '{loose}'?") from None
        return network.network_address, network.broadcast_address
    if "-" in value:
        parts = value.split("-")
        try:
            if len(parts) != 2:
                raise ValueError
            start, end = (ipaddress.ip_address(part.strip()) for part in parts)
        except ValueError:
            raise ValueError(f"is not a valid range of IP addresses; use {EXAMPLES}") from None
        if start.version != end.version:
            raise ValueError("mixes an IPv4 and an IPv6 address; both ends must be of the same family")
        if start > end:
            raise ValueError(f"starts after it ends; did you mean '{end}-{start}'?")
        return start, end
    raise ValueError(f"must be {EXAMPLES} (a single address is '<address>/32', or '/128' for IPv6)")


def _normalised(value: str) -> str:
    start, end = _bounds(value)
    if "/" in value:
        return str(ipaddress.ip_network(value.strip()))
    return f"{start}-{end}"


InterfaceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,15}$")]


class MetalLBSettings(PluginSettings):
    addresses: list[str] = Field(
        default_factory=lambda: ["192.168.1.240-192.168.1.250"],
        min_length=1,
        description="Addresses MetalLB may hand out: CIDRs ('192.168.1.240/28') or ranges "
        "('192.168.1.240-192.168.1.250'). Keep them outside your router's DHCP range.",
    )
    pool_name: DnsLabel = Field(default="default", description="Name of the IPAddressPool (and L2Advertisement).")
    avoid_buggy_ips: bool = Field(
        default=False, description="Never hand out addresses ending in .0 or .255 (avoidBuggyIPs)."
    )
    interfaces: list[InterfaceName] = Field(
        default_factory=list,
        description="Network interfaces to announce from (e.g. ['eth0']); empty announces from every interface.",
    )
    frr_k8s: bool = Field(
        default=False,
        description="Deploy the FRR-K8s BGP backend (the chart's default since 0.16). ink configures only "
        "layer 2, which does not use it; turn it on only if you add BGP peers yourself.",
    )
    image_tag: ImageTag = Field(
        default=f"v{VERSION}", description="Tag of quay.io/metallb/controller and quay.io/metallb/speaker."
    )
    chart_version: str = Field(default=CHART_VERSION, description="Version of the metallb Helm chart.")

    @field_validator("addresses")
    @classmethod
    def _valid_and_disjoint(cls, value: list[str]) -> list[str]:
        # A field validator rather than a validator per item: environment values are only
        # decoded from JSON when they fit the item type, so an item validator would turn a bad
        # address in INK_PLUGINS__METALLB__ADDRESSES into "Input should be a valid list".
        seen: list[tuple[str, IPAddress, IPAddress]] = []
        for entry in value:
            try:
                start, end = _bounds(entry)
            except ValueError as err:
                raise ValueError(f"'{entry}' {err}") from None
            for other, other_start, other_end in seen:
                if start.version == other_start.version and start <= other_end and other_start <= end:
                    raise ValueError(f"'{entry}' overlaps '{other}'; list each address once")
            seen.append((entry, start, end))
        return [_normalised(entry) for entry in value]


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="metallb",
        title="MetalLB",
        version=VERSION,
        homepage="https://metallb.io",
        description="Load-balancer addresses for bare-metal clusters, announced in layer 2 mode.",
        settings_model=MetalLBSettings,
        exemptions=(
            HostNetwork(
                reason="the speaker (and FRR in BGP mode) answers ARP/NDP and speaks BGP on the node's network"
            ),
            AddCapabilities(
                capabilities=("NET_RAW", "NET_ADMIN", "SYS_ADMIN"),
                reason="the speaker sends raw ARP/NDP packets (NET_RAW); FRR, in BGP mode, manages routes and "
                "network namespaces (NET_ADMIN, SYS_ADMIN)",
            ),
        ),
    )


# frr_k8s: the chart's frr-k8s sub-chart (charts/frr-k8s-0.0.25.tgz, values.yaml) runs its controller and FRR.
FRR_K8S_IMAGES = ("quay.io/metallb/frr-k8s:v0.0.25", "quay.io/frrouting/frr:10.4.3")


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Controller and speaker with the tag ink passes (construct: image).
    tag = ctx.setting("image_tag")
    return [
        f"quay.io/metallb/controller:{tag}",
        f"quay.io/metallb/speaker:{tag}",
        *(FRR_K8S_IMAGES if ctx.setting("frr_k8s") else ()),
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_metallb.construct import metallb

    metallb(scope, ctx=ctx)


def scraped(ctx: ServiceContext) -> bool:
    """The controller is scraped with a metrics provider, and only when its certificate can be verified: the
    in-cluster CA signs it (a TLS provider), since a monitor has no way to skip verification."""
    return ctx.provider_of(Capability.METRICS) is not None and tls.available(ctx)


def metrics_server_name(ctx: ServiceContext) -> str:
    """The name in the metrics certificate (controller and speakers); Prometheus dials the pods' addresses and
    checks this name."""
    return f"metallb-metrics.{ctx.namespace}.svc"


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not scraped(ctx):
        return []
    # The chart's own rule (templates/prometheusrules.yaml, MetalLBAddressPoolExhausted, severity critical): the
    # allocator's gauges come from the controller; a new LoadBalancer Service would stay <pending>.
    exhausted = AlertRule(
        alert="MetalLBAddressPoolExhausted",
        expr="metallb_allocator_addresses_in_use_total >= on(pool) metallb_allocator_addresses_total",
        for_="1m",
        severity="critical",
        summary="MetalLB address pool {{ $labels.pool }} is exhausted",
        description="New LoadBalancer Services get no address: add addresses to [plugins.metallb] addresses.",
    )
    common = {
        "port": METRICS_PORT,
        "scheme": "https",
        "ca": SecretKeyRef(name=METRICS_TLS, key=tls.CA_KEY),
        "server_name": metrics_server_name(ctx),
        "bearer_token": SecretKeyRef(name=METRICS_TOKEN, key="token"),
    }
    return [
        MetricsTarget(name="controller", pods=CONTROLLER, alerts=(exhausted,), **common),  # type: ignore[arg-type]
        # Prometheus dials the speakers at their nodes' addresses: core opens egress to the nodes on 9120.
        MetricsTarget(name="speaker", pods=SPEAKER, host_network=True, **common),  # type: ignore[arg-type]
    ]


@hookimpl
def ink_cluster_requirements() -> ClusterRequirements:
    # k3s's ServiceLB (klipper-lb) answers every LoadBalancer Service with host ports on all nodes.
    reason = "MetalLB assigns LoadBalancer addresses; ServiceLB would also take them, with ports on every node"
    return ClusterRequirements(k3s_disable=(K3sDisable(component="servicelb", reason=reason),))


@hookimpl
def ink_network() -> list[NetworkRule]:
    # The speakers run with hostNetwork, which NetworkPolicies do not govern; the controller needs the API
    # and serves the webhook (chart: metallb-webhook-service 443 → 9443).
    controller = CONTROLLER
    return [
        KubeApi(reason="the controller assigns addresses to LoadBalancer Services"),
        Inbound(ports=(9443,), source="api-server", pods=controller, reason="the validating webhook"),
    ]
