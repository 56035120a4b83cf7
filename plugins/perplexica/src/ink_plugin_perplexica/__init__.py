"""ink plugin: Perplexica (https://github.com/ItzCrazyKns/Perplexica, renamed Vane), an AI answering engine.

One Next.js app at ``https://perplexica.<domain>`` behind forward-auth (it has no login of its own), its
SQLite database and settings on one volume (so one replica), the homelab's SearXNG (kind ``searxng``) as
its search backend and Ollama (kind ``ollama``) as a model provider, both through links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    DnsLabel,
    Internet,
    Link,
    NetworkRule,
    Quantity,
    Route,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# The latest release, v1.12.1 (2025-12-31). The repository was renamed Vane after it; no release has been
# cut under the new name, so the released image is still docker.io/itzcrazykns1337/perplexica (README).
# renovate: datasource=docker depName=docker.io/itzcrazykns1337/perplexica extractVersion=^slim-v(?<version>.+)$
VERSION = "1.12.1"
NAME = "perplexica"
PORT = 3000  # EXPOSE 3000 in Dockerfile.slim; Next.js' standalone server.js
DATA_VOLUME = f"{NAME}-data"


class PerplexicaSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="perplexica", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Pods: 0 or 1. Perplexica keeps its chats in SQLite (data/db.sqlite) and its settings in "
        "data/config.json on one volume: a second pod cannot share them.",
    )
    storage_size: Quantity = Field(
        default="5Gi", description="Data volume: db.sqlite, config.json and uploaded files (data/uploads)."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="384Mi", memory_limit="2Gi")
    )
    sso: bool = Field(
        default=True,
        description="Forward-auth in front of the app, when an auth provider is installed. Perplexica has no "
        "login of its own: without it anyone who reaches the host can use it and its models.",
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the data volume with the backup provider, when one is installed."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Perplexica",
        version=VERSION,
        homepage="https://github.com/ItzCrazyKns/Perplexica",
        description="AI answering engine (now called Vane) on SearXNG and Ollama.",
        settings_model=PerplexicaSettings,
    )


@hookimpl
def ink_links() -> list[Link]:
    # Optional: Perplexica synthesises alone; without a partner the setup screen asks for the URL.
    return [
        Link(name="search", kind="searxng", optional=True),
        Link(name="ollama", kind="ollama", optional=True),
    ]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    return [Route(host=settings.hostname, service=NAME, port=PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # No authentication of its own (its roadmap), so the ingress asks the auth provider first.
    return [AuthClient(kind="forward-auth", host=ctx.settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=DATA_VOLUME, pod_volume="data", optional=True, enabled_by="backup")]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_perplexica.construct import perplexica

    perplexica(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [
        Internet(
            ports=(443, 80),
            reason="the web pages it reads for answers, its weather and news widgets, hosted model providers "
            "set up in its settings, and the local embedding models it downloads (Hugging Face)",
        )
    ]
