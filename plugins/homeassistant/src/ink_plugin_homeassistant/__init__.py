"""ink plugin: Home Assistant (https://github.com/home-assistant/core).

One container with its configuration folder on a volume. Home Assistant has no OIDC in core, so it
keeps its own login by default (the mobile app and webhooks need it); ``sso = true`` puts
forward-auth in front instead. ``host_network = true`` shares the node's network for discovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import AuthClient, BackupTarget, DnsLabel, Internet, NetworkRule, Quantity, Route, ServiceInfo
from ink.podsecurity import HostNetwork
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/home-assistant/home-assistant
VERSION = "2026.10.1"
NAME = "homeassistant"
PORT = 8123  # homeassistant/const.py SERVER_PORT
HOST_NETWORK = HostNetwork(
    reason="device discovery (mDNS 5353/udp, SSDP 1900/udp multicast) and integrations that listen on the LAN "
    "(HomeKit bridge, Sonos, DLNA) need the node's network; only with host_network = true",
    when_used=True,
)


class HomeAssistantSettings(ServiceSettings):
    hostname: DnsLabel = Field(
        default="home",
        description="Subdomain: https://<hostname>.<domain>. With a domain that itself starts with 'home.' choose "
        "another, e.g. 'hass'.",
    )
    replicas: int = Field(
        default=1, ge=0, le=1, description="1, or 0 to stop it: Home Assistant cannot run twice on one /config."
    )
    storage_size: Quantity = Field(default="5Gi", description="The /config volume: configuration, SQLite history.")
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="512Mi", memory_limit="2Gi")
    )
    sso: bool = Field(
        default=False,
        description="Put the auth provider's forward-auth in front of the route. Home Assistant has no OIDC; "
        "forward-auth breaks the mobile apps, webhooks and API tokens (they cannot pass the login page).",
    )
    host_network: bool = Field(
        default=False,
        description="Run in the node's network namespace for device discovery (mDNS, SSDP) and LAN-facing "
        "integrations. Makes the namespace's Pod Security level privileged; NetworkPolicies do not apply.",
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the /config volume with the backup provider, when one is installed."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Home Assistant",
        version=VERSION,
        homepage="https://www.home-assistant.io",
        description="Home automation.",
        settings_model=HomeAssistantSettings,
        exemptions=(HOST_NETWORK,),
    )


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # The frontend and the apps use the websocket /api/websocket on the same route.
    return [Route(host=settings.hostname, service=NAME, port=PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    return [AuthClient(kind="forward-auth", host=ctx.settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=f"{NAME}-config", pod_volume="config", optional=True, enabled_by="backup")]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_homeassistant.construct import homeassistant

    homeassistant(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    # Cloud integrations, weather (met.no), the integration brand images and custom-integration downloads.
    return [Internet(ports=(443, 80), reason="cloud integrations, weather, brand images, custom integrations")]
