"""ink plugin: Gitea (https://gitea.com), the self-hosted Git forge, on PostgreSQL.

Gitea serves its web UI and API on ``git.<domain>`` and Git over SSH on a LoadBalancer port. Its
single sign-on (an OpenID Connect auth source) lives in Gitea's database, not in app.ini, so a setup
Job adds it (or updates it) with ``gitea admin auth add-oauth`` / ``update-oauth`` after each sync.
When Coder links to Gitea, the same Job registers Coder's OAuth2 application in Gitea with a client
id and secret ink generated, which Coder receives through the link's credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    DatabaseClaim,
    DnsLabel,
    Endpoint,
    GeneratedSecret,
    Inbound,
    Internet,
    Link,
    MetricsTarget,
    NamedNeed,
    NetworkRule,
    Quantity,
    Route,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.gitea.com/gitea extractVersion=^(?<version>.+)-rootless$
VERSION = "1.27.3"
NAME = "gitea"
IMAGE = "docker.gitea.com/gitea"  # the tag is <version>-rootless (see construct.image)
HTTP_PORT = 3000  # the rootless image's HTTP_PORT default (docker/rootless/usr/local/bin/docker-setup.sh)
SSH_LISTEN_PORT = 2222  # the rootless image's built-in SSH server (EXPOSE 2222 in Dockerfile.rootless)
# The auth source's name; Gitea's callback is /user/oauth2/<source name>/callback (services/auth/source/oauth2).
AUTH_SOURCE = "authentik"
OIDC_REDIRECT = f"/user/oauth2/{AUTH_SOURCE}/callback"
SECRETS = "gitea-secrets"
# Generated credentials, by stable id: [security] SECRET_KEY and INTERNAL_TOKEN, [oauth2] JWT_SECRET,
# [server] LFS_JWT_SECRET (both JWT secrets are base64url of 32 bytes: 43 characters), [metrics] TOKEN.
SECRET_KEY = GeneratedSecret(id=f"{NAME}/secret-key", length=64)
INTERNAL_TOKEN = GeneratedSecret(id=f"{NAME}/internal-token", length=64)
JWT_SECRET = GeneratedSecret(id=f"{NAME}/oauth2-jwt-secret", length=43)
LFS_JWT_SECRET = GeneratedSecret(id=f"{NAME}/lfs-jwt-secret", length=43)
METRICS_TOKEN = GeneratedSecret(id=f"{NAME}/metrics-token", length=40)
# Coder's OAuth2 application in Gitea (external auth): the same ids in Gitea's Secret and, through the
# link's credentials, in Coder's, so both hold one value.
CODER_CLIENT_ID = GeneratedSecret(id=f"{NAME}/coder-oauth-client-id", length=32, alphabet="hex")
CODER_CLIENT_SECRET = GeneratedSecret(id=f"{NAME}/coder-oauth-client-secret", length=48)
WEB_ENDPOINT = "web"


class GiteaSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="git", description="Subdomain: https://<hostname>.<domain>.")
    storage_size: Quantity = Field(default="20Gi", description="Repository volume (/var/lib/gitea: repos, LFS).")
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Pods: 0 or 1. Several Gitea pods need shared storage, a shared queue and cache (Redis) and "
        "an external indexer, which this plugin does not set up.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi")
    )
    ssh_port: int = Field(
        default=22, ge=1, le=65535, description="Port of the SSH LoadBalancer Service, also shown in clone URLs."
    )
    ssh_load_balancer_ip: str | None = Field(
        default=None,
        description="Address of the SSH LoadBalancer Service, from the MetalLB pool; unset: any free address.",
    )
    signups_allowed: bool = Field(
        default=False,
        description="Let anyone create a local account. Off: only single sign-on users are registered "
        "(ALLOW_ONLY_EXTERNAL_REGISTRATION), or nobody without an SSO provider (DISABLE_REGISTRATION).",
    )
    require_signin_view: bool = Field(
        default=False, description="Hide every page, public repositories too, from visitors who are not logged in."
    )
    sso: bool = Field(default=True, description="Log in through the SSO provider (an OpenID Connect auth source).")
    smtp: bool = Field(default=True, description="Send mail through the smtp provider, when one is enabled.")
    backup: bool = Field(default=True, description="Back up the repository volume with the backup provider.")
    metrics: bool = Field(default=True, description="Prometheus metrics at /metrics, behind a bearer token.")
    public: bool = Field(default=False, description="Also expose the web UI through the external tunnel.")

    @field_validator("ssh_load_balancer_ip")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        import ipaddress

        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an IP address; e.g. ssh_load_balancer_ip = '192.168.1.242'"
                ) from None
        return value


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Gitea",
        version=VERSION,
        homepage="https://gitea.com",
        description="Self-hosted Git forge: repositories, issues, pull requests, packages.",
        settings_model=GiteaSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    # pgcrypto: the setup Job stores the bcrypt hash of Coder's client secret with crypt()/gen_salt('bf').
    return [DatabaseClaim(name=NAME, extensions=("pgcrypto",))]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    return [Route(host=settings.hostname, service=NAME, port=HTTP_PORT, public=settings.public, optional=True)]


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
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    if not ctx.settings.smtp:
        return []
    return [NamedNeed(capability="smtp", id=NAME, optional=True, enabled_by="smtp")]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=f"{NAME}-data", pod_volume="data", optional=True, enabled_by="backup")]


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    data = {
        "secret-key": SECRET_KEY,
        "internal-token": INTERNAL_TOKEN,
        "jwt-secret": JWT_SECRET,
        "lfs-jwt-secret": LFS_JWT_SECRET,
        "metrics-token": METRICS_TOKEN,
        "coder-client-id": CODER_CLIENT_ID,
        "coder-client-secret": CODER_CLIENT_SECRET,
    }
    return [SecretClaim(name=SECRETS, data=data)]  # type: ignore[arg-type]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    endpoints = [
        # The web UI and API; Coder's external auth uses it with the OAuth2 application Gitea registers for it.
        Endpoint(
            name=WEB_ENDPOINT,
            port=HTTP_PORT,
            kind="gitea",
            route=ctx.settings.hostname,
            credentials={"coder-client-id": CODER_CLIENT_ID, "coder-client-secret": CODER_CLIENT_SECRET},
        )
    ]
    return endpoints


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not ctx.settings.metrics:
        return []
    # [metrics] TOKEN: a scraper sends it as "Authorization: Bearer <token>" (routers/common/metrics.go).
    token = SecretKeyRef(name=SECRETS, key="metrics-token")
    return [MetricsTarget(pods=ctx.selector_labels("server"), port=HTTP_PORT, bearer_token=token)]


@hookimpl
def ink_links(ctx: ServiceContext) -> list[Link]:
    # Coder's public URL, for the redirect URI of its OAuth2 application; only browsers follow it.
    return [Link(name="coder", service="coder", endpoint="web", optional=True, dialled=False)]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_gitea.construct import gitea

    gitea(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    return [
        Inbound(ports=(SSH_LISTEN_PORT,), source="anywhere", reason="Git over SSH through the LoadBalancer"),
        # Migrations and mirrors of repositories on other forges; webhooks to outside services.
        Internet(ports=(443, 80), reason="repository migrations and mirrors, webhooks"),
    ]
