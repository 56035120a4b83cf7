"""ink plugin: cert-manager (https://cert-manager.io).

Provides ``tls``: every certificate claim becomes a cert-manager Certificate in the claimant's
namespace, issued by one ACME ClusterIssuer (Let's Encrypt) that proves control of the domain
with DNS-01 records through the Cloudflare API. Also installs cert-manager itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints

from ink import hookimpl
from ink.models import (
    AlertRule,
    Capability,
    CertificateBinding,
    CertificateClaim,
    Inbound,
    Internet,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    SecretClaim,
    ServiceInfo,
    UserSecret,
)
from ink.settings import ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=quay.io/jetstack/cert-manager-controller extractVersion=^v(?<version>.+)$
VERSION = "1.21.2"
# renovate: datasource=helm depName=cert-manager registryUrl=https://charts.jetstack.io
CHART_VERSION = "v1.21.2"  # jetstack chart versions carry the "v"; appVersion v1.21.2
TOKEN_SECRET = "cloudflare-api-token"
TOKEN_KEY = "api-token"
CLOUDFLARE_TOKEN = UserSecret(name=TOKEN_SECRET, description="Cloudflare API token with Zone:DNS:Edit")

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Nameserver = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]{1,5}$|^https://\S+$")]


class CertManagerSettings(PluginSettings):
    email: Email | None = Field(
        default=None,
        description="ACME account e-mail: Let's Encrypt writes here about problems with the account. "
        "Unset: admin@<domain>.",
    )
    staging: bool = Field(
        default=False,
        description="Use Let's Encrypt's staging directory (untrusted certificates, generous rate limits) "
        "instead of production. Try a new setup with staging first.",
    )
    dns01_recursive_nameservers: list[Nameserver] = Field(
        default_factory=list,
        description="Nameservers cert-manager asks when it checks its DNS-01 records, e.g. "
        "['1.1.1.1:53', '8.8.8.8:53']; for split-horizon DNS, where the cluster's resolver answers "
        "the domain itself. Empty: the cluster's resolver and the zone's authoritative servers.",
    )
    image_tag: ImageTag = Field(
        default=f"v{VERSION}",
        description="Tag of every cert-manager image (controller, webhook, cainjector, acmesolver, "
        "startupapicheck under quay.io/jetstack); keep it equal to the chart's appVersion.",
    )
    chart_version: str = Field(default=CHART_VERSION, description="Version of the cert-manager Helm chart.")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="cert-manager",
        title="cert-manager",
        version=VERSION,
        homepage="https://cert-manager.io",
        description="Issues and renews TLS certificates from Let's Encrypt (ACME DNS-01 via Cloudflare).",
        settings_model=CertManagerSettings,
        provides=(Capability.TLS,),
    )


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    # A ClusterIssuer reads its solver's Secret from cert-manager's cluster resource namespace,
    # which is the namespace cert-manager runs in.
    return [SecretClaim(name=TOKEN_SECRET, data={TOKEN_KEY: CLOUDFLARE_TOKEN})]


@hookimpl
def ink_provide_certificate(
    claim: CertificateClaim, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> CertificateBinding:
    from ink_plugin_cert_manager.construct import certificate

    certificate(scope, claim=claim, ctx=ctx, consumer=consumer)
    return CertificateBinding(secret_name=claim.name)


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # values.yaml: imageRegistry quay.io, imageNamespace jetstack, one image per component, each with the tag
    # ink passes. The controller starts the ACME HTTP-01 solver pods itself (--acme-http01-solver-image).
    tag = ctx.setting("image_tag")
    components = ("controller", "webhook", "cainjector", "acmesolver", "startupapicheck")
    return [f"quay.io/jetstack/cert-manager-{component}:{tag}" for component in components]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_cert_manager.construct import cert_manager

    cert_manager(scope, ctx=ctx)


# The controller's pods (chart templates/deployment.yaml: selector name cert-manager, instance = the release,
# component controller) serve /metrics on container port `http-metrics` 9402, always (chart prometheus.enabled
# only adds the scrape annotations and the chart's own monitors, which ink does not use).
CONTROLLER_PODS = {
    "app.kubernetes.io/name": "cert-manager",
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "controller",
}
EXPIRY_DAYS = 14
# certmanager_certificate_expiration_timestamp_seconds{name,namespace} and certmanager_certificate_ready_status
# {name,namespace,condition}: cert-manager docs, 'Prometheus Metrics' (devops-tips/prometheus-metrics). A
# certificate is renewed 30 days before expiry by default (its renewBefore), so 14 days left means renewal failed.
ALERTS = (
    AlertRule(
        alert="CertificateExpiresSoon",
        expr=f"certmanager_certificate_expiration_timestamp_seconds - time() < {EXPIRY_DAYS} * 86400",
        for_="1h",
        severity="critical",
        summary=f"certificate {{{{ $labels.name }}}} expires in less than {EXPIRY_DAYS} days",
        description="Renewal is failing: kubectl describe certificate, then its CertificateRequest and Order.",
    ),
    AlertRule(
        alert="CertificateNotReady",
        expr='certmanager_certificate_ready_status{condition="True"} == 0',
        for_="1h",
        summary="certificate {{ $labels.name }} is not Ready",
        description="kubectl describe certificate says why (issuer, ACME challenge, DNS-01 token).",
    ),
)


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    return [MetricsTarget(name="controller", pods=CONTROLLER_PODS, port=9402, alerts=ALERTS)]


@hookimpl
def ink_network() -> list[NetworkRule]:
    # cert-manager docs, 'Best practice' → 'Network requirements': the controller reaches the ACME server
    # and the DNS provider's API over HTTPS, and queries authoritative name servers (port 53) to check that
    # a DNS-01 record has propagated; the API server calls the webhook on its container port 10250.
    return [
        Internet(ports=(443,), reason="ACME (Let's Encrypt) and the Cloudflare API for DNS-01"),
        Internet(ports=(53,), protocols=("UDP", "TCP"), reason="DNS-01 propagation checks at the name servers"),
        KubeApi(reason="controller, cainjector and webhook read and write their resources"),
        Inbound(
            ports=(10250,),
            source="api-server",
            pods={"app.kubernetes.io/name": "webhook"},
            reason="the validating and mutating webhook",
        ),
    ]
