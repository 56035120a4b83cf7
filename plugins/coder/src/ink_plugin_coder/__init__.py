"""ink plugin: Coder (https://github.com/coder/coder), self-hosted cloud development environments.

One ``coder server`` (the API, the web UI, the built-in Terraform provisioners and the DERP relay) on
PostgreSQL, at ``coder.<domain>``. Workspaces are pods that Coder's Kubernetes templates create in Coder's own
namespace, so its ServiceAccount gets a namespaced Role for exactly what the upstream chart grants. Login is
OpenID Connect through the auth provider; with Gitea installed, Gitea is Coder's external Git auth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    Connects,
    DatabaseClaim,
    DnsLabel,
    Endpoint,
    Internet,
    KubeApi,
    Link,
    MetricsTarget,
    NetworkRule,
    Route,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/coder/coder
VERSION = "v2.36.0"
NAME = "coder"
IMAGE = "ghcr.io/coder/coder"
HTTP_PORT = 8080  # CODER_HTTP_ADDRESS as the upstream chart sets it (helm/coder/templates/_coder.tpl)
SERVICE_PORT = 80  # the chart's Service port for http
METRICS_PORT = 2112  # CODER_PROMETHEUS_ADDRESS default port (cli/testdata/coder_server_--help.golden)
# Where Coder receives the OIDC answer (coder docs, admin/users/oidc-auth).
OIDC_REDIRECT = "/api/v2/users/oidc/callback"
WEB_ENDPOINT = "web"


class CoderSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="coder", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Pods: 0 or 1. Several coderd replicas (high availability) are a Coder Premium feature.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="250m", memory_request="512Mi", memory_limit="2Gi")
    )
    sso: bool = Field(default=True, description="Log in through the SSO provider (native OIDC, CODER_OIDC_*).")
    oidc_email_domains: list[str] = Field(
        default_factory=list,
        description="Only users whose email is in these domains may log in through SSO (CODER_OIDC_EMAIL_DOMAIN); "
        "empty: any user of the SSO provider.",
    )
    oidc_allow_signups: bool = Field(
        default=True, description="Create a Coder account at a user's first SSO login (CODER_OIDC_ALLOW_SIGNUPS)."
    )
    disable_password_auth: bool = Field(
        default=False,
        description="Turn off email+password login (CODER_DISABLE_PASSWORD_AUTH); keep it until an SSO user is "
        "an owner, the first user becomes the owner.",
    )
    gitea: bool = Field(
        default=True,
        description="Use Gitea as the external Git auth (CODER_EXTERNAL_AUTH_0_*), when the gitea plugin is installed.",
    )
    workspace_rbac: bool = Field(
        default=True,
        description="Let Coder's ServiceAccount manage workspace pods, volumes and deployments in its own "
        "namespace (for the Kubernetes templates).",
    )
    metrics: bool = Field(default=True, description=f"Prometheus metrics on port {METRICS_PORT} (/metrics).")
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")

    @field_validator("oidc_email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for domain in value:
            if not domain or "," in domain or "@" in domain or " " in domain:
                raise ValueError(f"{domain!r} is not a domain; e.g. oidc_email_domains = ['example.com']")
        return value


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Coder",
        version=VERSION,
        homepage="https://github.com/coder/coder",
        description="Self-hosted cloud development environments, provisioned with Terraform.",
        settings_model=CoderSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name=NAME)]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # Terminals, port forwarding and the DERP relay are websockets on the same host (Traefik passes them).
    return [Route(host=settings.hostname, service=NAME, port=SERVICE_PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    return [
        AuthClient(
            kind="oidc", host=ctx.settings.hostname, redirect_paths=(OIDC_REDIRECT,), optional=True, enabled_by="sso"
        )
    ]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    endpoints = [Endpoint(name=WEB_ENDPOINT, port=SERVICE_PORT, kind="coder", route=ctx.settings.hostname)]
    return endpoints


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    # CODER_PROMETHEUS_ENABLE / CODER_PROMETHEUS_ADDRESS (construct.py): /metrics on 2112, unauthenticated.
    return [MetricsTarget(pods=ctx.selector_labels("server"), port=METRICS_PORT)] if ctx.settings.metrics else []


@hookimpl
def ink_links(ctx: ServiceContext) -> list[Link]:
    if not ctx.settings.gitea:
        return []
    # The token exchange and the validation call go to Gitea's Service; only browsers use its public URL.
    return [Link(name="gitea", service="gitea", endpoint="web", optional=True)]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_coder.construct import coder

    coder(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    rules: list[NetworkRule] = [
        # Terraform providers and modules (registry.terraform.io, GitHub), and what workspaces download.
        Internet(ports=(443, 80), reason="Terraform providers and modules; workspaces' package downloads"),
        # Workspace agents (pods in this namespace) connect back to the access URL, through the ingress.
        Connects(url=ctx.url(ctx.settings.hostname), reason="workspace agents connect to Coder's access URL"),
    ]
    if ctx.settings.workspace_rbac:
        rules.append(
            KubeApi(
                reason="the Terraform provisioner creates and deletes workspace pods, volumes and deployments",
                pods={"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "server"},
            )
        )
    return rules
