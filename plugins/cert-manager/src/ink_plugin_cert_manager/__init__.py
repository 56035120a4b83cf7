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
    Capability,
    CertificateBinding,
    CertificateClaim,
    Inbound,
    Internet,
    KubeApi,
    NetworkRule,
    SecretClaim,
    ServiceInfo,
    UserSecret,
)
from ink.settings import ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

VERSION = "1.21.2"
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
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_cert_manager.construct import cert_manager

    cert_manager(scope, ctx=ctx)


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
