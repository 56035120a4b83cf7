"""ink plugin: SearXNG (https://github.com/searxng/searxng), a metasearch engine.

Serves its search API to other services (endpoint kind ``searxng``: ``GET /search?q=...&format=json``)
inside the cluster, and its web UI at ``https://search.<domain>`` behind forward-auth. The
limiter (bot and rate-limit protection) keeps its state in a Valkey of its own (``redis``).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    BasicAuth,
    DnsLabel,
    Endpoint,
    GeneratedSecret,
    Internet,
    MetricsTarget,
    NamedNeed,
    NetworkRule,
    Route,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# The image tag: <commit date>-<commit> of searxng/searxng (searx/version.py); there are no releases.
# renovate: datasource=docker depName=docker.io/searxng/searxng
VERSION = "2026.7.10-799086874"
NAME = "searxng"
PORT = 8080  # GRANIAN_PORT in container/dist.dockerfile
ENDPOINT_KIND = "searxng"


class SearxngSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="search", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=2, ge=0, le=20, description="Pods. Stateless (the limiter's state is in Valkey): 2 survive a drain."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="256Mi", memory_limit="768Mi")
    )
    instance_name: str = Field(
        default="SearXNG", min_length=1, max_length=60, description="Name shown in the UI (general.instance_name)."
    )
    limiter: bool = Field(
        default=True,
        description="Rate-limit and bot protection (server.limiter), with its state in the redis provider's Valkey. "
        "Without a redis provider it stays off, with a warning.",
    )
    sso: bool = Field(
        default=True, description="Forward-auth in front of the web UI, when an auth provider is installed."
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    cluster_networks: list[str] = Field(
        default_factory=lambda: ["10.42.0.0/16"],
        min_length=1,
        description="Pod networks (k3s' default cluster CIDR): the ingress controller there is a trusted proxy "
        "(its X-Forwarded-For names the client), and services there call the API without the limiter.",
    )

    @field_validator("cluster_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network; use CIDR notation, e.g. '10.42.0.0/16'") from None
        return value

    @model_validator(mode="after")
    def _no_volume(self) -> SearxngSettings:
        if self.storage_size is not None:
            raise ValueError("storage_size: SearXNG keeps no data, so it has no volume; remove storage_size")
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="SearXNG",
        version=VERSION,
        homepage="https://github.com/searxng/searxng",
        description="Metasearch engine: web UI and a JSON search API for the AI services.",
        settings_model=SearxngSettings,
    )


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # Optional: without an ingress provider the API still serves the cluster.
    return [Route(host=settings.hostname, service=NAME, port=PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # SearXNG has no login of its own: the ingress asks the auth provider first (forward-auth).
    return [AuthClient(kind="forward-auth", host=ctx.settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    if not ctx.settings.limiter:
        return []
    # Counters with a TTL, nothing to keep: a cache that may drop the oldest keys when full.
    params = {"max_memory": "32Mi", "eviction_policy": "allkeys-lru"}
    return [NamedNeed(capability="redis", id=NAME, params=params, optional=True, enabled_by="limiter")]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    # In the cluster without forward-auth (that is on the public route only); JSON is on (settings.yml).
    return [Endpoint(name="search", port=PORT, protocol="http", kind=ENDPOINT_KIND, route=ctx.settings.hostname)]


@hookimpl
def ink_binding_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    # settings.yml depends on the bindings (limiter on with a store, the public URL of the route).
    from ink_plugin_searxng.construct import config_files

    return [config_files(ctx).claim()]


# The scraper's credentials. Here, not in construct.py, so the metrics and secrets hooks start no Node (ink graph).
METRICS_SECRET = f"{NAME}-metrics"
METRICS_PASSWORD = GeneratedSecret(id=f"{NAME}/metrics-password", length=32)
METRICS_USER = "prometheus"  # searxng checks only the password; the header needs some user name


def metrics_on(ctx: ServiceContext) -> bool:
    return ctx.provider_of("metrics") is not None


def metrics_claim() -> SecretClaim:
    """The scraper's credentials, in a Secret of their own: the PodMonitor names its keys."""
    return SecretClaim(name=METRICS_SECRET, data={"username": METRICS_USER, "password": METRICS_PASSWORD})


def metrics_auth() -> BasicAuth:
    return BasicAuth(
        username=SecretKeyRef(name=METRICS_SECRET, key="username"),
        password=SecretKeyRef(name=METRICS_SECRET, key="password"),
    )


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    return [metrics_claim()] if metrics_on(ctx) else []


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    # /metrics (searx/webapp.py stats_open_metrics): engine counters and reliabilities, behind basic auth.
    return [MetricsTarget(pods=ctx.selector_labels(NAME), port=PORT, basic_auth=metrics_auth())]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_searxng.construct import searxng

    searxng(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    # The search engines it queries (engines in searx/settings.yml are HTTPS; a few fall back to HTTP).
    return [Internet(ports=(443, 80), reason="the search engines it queries")]
