"""ink plugin: Traefik Proxy v3 (https://traefik.io/traefik).

Provides ``ingress``: every declared route becomes a Traefik IngressRoute in the consumer's
namespace, served on the ``websecure`` entry point with one wildcard certificate
(``<domain>`` and ``*.<domain>``) that Traefik serves by default. Routes whose service has a
forward-auth binding get a ForwardAuth Middleware and a rule that sends the identity
provider's outpost path to the identity provider. Also installs Traefik itself, behind a
LoadBalancer Service.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from ink import hookimpl
from ink.models import (
    Capability,
    CertificateClaim,
    ChartService,
    ClusterRequirements,
    Inbound,
    IngressGateway,
    K3sDisable,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    Route,
    RouteBinding,
    ServiceInfo,
)
from ink.settings import ContainerResources, ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/library/traefik extractVersion=^v(?<version>.+)$
VERSION = "3.7.14"
# renovate: datasource=helm depName=traefik registryUrl=https://traefik.github.io/charts
CHART_VERSION = "41.7.0"  # ships Traefik Proxy v3.7.14
WILDCARD_CERTIFICATE = "wildcard-tls"


class TraefikSettings(PluginSettings):
    replicas: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Traefik pods. It keeps no state (certificates come from cert-manager), so more than one "
        "only adds availability; with more than one a PodDisruptionBudget keeps one running.",
    )
    load_balancer_ip: str | None = Field(
        default=None,
        description="Fixed address for Traefik's LoadBalancer Service, from the MetalLB pool (the "
        "'metallb.io/loadBalancerIPs' annotation), so DNS records can point at it. Unset: any free address.",
    )
    default_certificate: bool = Field(
        default=True,
        description="Claim a wildcard certificate for <domain> and *.<domain> from the TLS provider and "
        "serve it on every route. Needs a TLS provider (ink-plugin-cert-manager). Off: Traefik serves its "
        "self-signed default certificate.",
    )
    kubernetes_ingress: bool = Field(
        default=True,
        description="Also serve plain Kubernetes Ingress objects (of the global ingress_class, which Traefik "
        "creates as the default IngressClass), e.g. those some Helm charts create. ink's own routes are "
        "IngressRoutes either way.",
    )
    service_monitor: bool = Field(
        default=False,
        description="Create a Prometheus Operator ServiceMonitor for the metrics (needs its CRDs, e.g. from "
        "kube-prometheus-stack). The metrics Service exists either way.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="128Mi", memory_limit="512Mi"),
        description="Requests and limits of the Traefik container.",
    )
    image_tag: ImageTag = Field(default=f"v{VERSION}", description="Tag of docker.io/traefik.")
    chart_version: str = Field(default=CHART_VERSION, description="Version of the traefik Helm chart.")

    @field_validator("load_balancer_ip")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("must be a single IP address from the MetalLB pool, such as '192.168.1.240'") from None


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="traefik",
        title="Traefik Proxy",
        version=VERSION,
        homepage="https://traefik.io/traefik",
        description="Reverse proxy and ingress controller: routes https://<host>.<domain> to services.",
        settings_model=TraefikSettings,
        provides=(Capability.INGRESS,),
    )


@hookimpl
def ink_certificate_claims(ctx: ServiceContext) -> list[CertificateClaim] | None:
    if not ctx.setting("default_certificate"):
        return None
    return [CertificateClaim(name=WILDCARD_CERTIFICATE, dns_names=(ctx.domain, f"*.{ctx.domain}"))]


@hookimpl
def ink_provide_ingress(route: Route, scope: Construct, ctx: ServiceContext, consumer: ServiceContext) -> RouteBinding:
    from ink_plugin_traefik.construct import ingress_route

    ingress_route(scope, route=route, ctx=ctx, consumer=consumer)
    return RouteBinding(
        url=ctx.url(route.host, route.path if route.path != "/" else ""),
        hostname=f"{route.host}.{ctx.domain}",
    )


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # The chart's one pod is Traefik, with the registry, repository and tag ink passes (construct: "image").
    return [f"docker.io/library/traefik:{ctx.setting('image_tag')}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_traefik.construct import traefik

    traefik(scope, ctx=ctx)


@hookimpl
def ink_cluster_requirements() -> ClusterRequirements:
    # k3s deploys its own Traefik (a HelmChart in kube-system) unless told not to.
    reason = "ink installs Traefik itself; the bundled one would claim ports 80/443 and the default IngressClass"
    return ClusterRequirements(k3s_disable=(K3sDisable(component="traefik", reason=reason),))


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    # The chart's `metrics` entry point (values.yaml ports.metrics.port 9100, metrics.prometheus.entryPoint) serves
    # /metrics, on by default. With the service_monitor setting the chart's own ServiceMonitor scrapes it instead.
    chart_monitor = bool(ctx.setting("service_monitor"))
    return [MetricsTarget(pods={"app.kubernetes.io/name": "traefik"}, port=9100, chart_monitor=chart_monitor)]


@hookimpl
def ink_network() -> list[NetworkRule]:
    # Pod labels and container ports of chart v41 (templates/_podtemplate.tpl, values.yaml ports.web/websecure).
    pods = {"app.kubernetes.io/name": "traefik"}
    source = "traefik chart v41: values.yaml ports.web.port 8000, ports.websecure.port 8443; Service 'traefik'"
    return [
        IngressGateway(pods=pods, ports={80: 8000, 443: 8443}, source=source),
        ChartService(name="traefik", pods=pods, ports={80: 8000, 443: 8443}, source=source),
        Inbound(ports=(8000, 8443), source="anywhere", pods=pods, reason="LoadBalancer clients on the LAN"),
        KubeApi(reason="watches IngressRoutes, Middlewares, Services, EndpointSlices and Secrets", pods=pods),
    ]
