"""ink plugin: Cloudflare Tunnel (cloudflared).

Runs a locally-managed named tunnel: the ingress rules are generated from every route any
service declares with ``public=True``, and all of them go to the ingress controller (Traefik),
so its TLS, middlewares and forward auth stay in the path. The tunnel's credentials file is a
secret only the user has; it reaches the output sealed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import Connects, Internet, NetworkRule, SecretClaim, ServiceInfo, UserSecret
from ink.settings import ContainerResources, ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/cloudflare/cloudflared
VERSION = "2026.10.0"
PLACEHOLDER_TUNNEL_ID = "00000000-0000-0000-0000-000000000000"
CREDENTIALS_SECRET = "cloudflare-tunnel-credentials"
CREDENTIALS_KEY = "credentials.json"


class CloudflaredSettings(PluginSettings):
    tunnel_id: str = Field(
        default=PLACEHOLDER_TUNNEL_ID,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        description="UUID (or name) of the tunnel, as printed by `cloudflared tunnel create <name>`. The default "
        "is a placeholder and prints a warning.",
    )
    replicas: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Connector pods. They all run the same tunnel; 2 or more keep it up during node drains.",
    )
    image_tag: ImageTag = Field(default=VERSION, description="Tag of docker.io/cloudflare/cloudflared.")
    origin_service: str = Field(
        default="https://traefik.traefik.svc:443",
        pattern=r"^https?://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?$",
        description="Where every public hostname is sent: the ingress controller's Service, so its TLS, "
        "middlewares and forward auth apply.",
    )
    no_tls_verify: bool = Field(
        default=False,
        description="Skip verifying the origin's certificate. Only while the ingress controller serves a "
        "self-signed certificate; leave false once it serves real certificates.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="20m", memory_request="64Mi", memory_limit="256Mi"),
        description="CPU and memory requests and limits of the cloudflared container.",
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="cloudflared",
        title="Cloudflare Tunnel",
        version=VERSION,
        homepage="https://github.com/cloudflare/cloudflared",
        description="Outbound-only tunnel to Cloudflare's edge for every public route; no open ports at home.",
        settings_model=CloudflaredSettings,
    )


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [
        SecretClaim(
            name=CREDENTIALS_SECRET,
            data={
                CREDENTIALS_KEY: UserSecret(
                    name=CREDENTIALS_SECRET,
                    description="the tunnel's credentials file, ~/.cloudflared/<tunnel-id>.json from "
                    "`cloudflared tunnel create`",
                )
            },
        )
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_cloudflared.construct import tunnel

    tunnel(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    # Cloudflare docs, 'Tunnel with firewall': cloudflared dials the edge on 7844 (QUIC over UDP, or
    # HTTP/2 over TCP) and api.cloudflare.com on 443.
    return [
        Internet(ports=(7844,), protocols=("UDP", "TCP"), reason="the tunnel to Cloudflare's edge"),
        Internet(ports=(443,), reason="Cloudflare's API"),
        Connects(url=ctx.settings.origin_service, reason="the tunnel's origin (public routes)"),
    ]
