"""ink plugin: Linkwarden (https://github.com/linkwarden/linkwarden), a bookmark manager that archives pages.

One container runs the Next.js web app and the archiving worker (the image's CMD starts both with
``concurrently``). Links and users live in PostgreSQL; the archived copies (screenshots, PDFs,
single-file HTML, readable text) on a volume at ``/data/data``. Sign-in through Linkwarden's own
authentik provider (native OIDC), mail through the ``smtp`` capability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    DatabaseClaim,
    DnsLabel,
    GeneratedSecret,
    Internet,
    NamedNeed,
    NetworkRule,
    Quantity,
    Route,
    SecretClaim,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/linkwarden/linkwarden extractVersion=^v(?<version>.+)$
VERSION = "2.16.1"  # image tag v2.16.1 (the git tag; docker/metadata-action's default in release-container.yml)
NAME = "linkwarden"
PORT = 3000  # EXPOSE 3000 in the Dockerfile
HTTP_PORT = 80  # the Service's port
# NextAuth's base path is NEXTAUTH_URL (…/api/v1/auth); each provider answers at <base>/callback/<provider id>.
AUTH_PATH = "/api/v1/auth"
OIDC_REDIRECT = f"{AUTH_PATH}/callback/authentik"
SECRET = f"{NAME}-secrets"
NEXTAUTH_SECRET = GeneratedSecret(id=f"{NAME}/nextauth-secret", length=64)


class LinkwardenSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="links", description="Subdomain: https://<hostname>.<domain>.")
    storage_size: Quantity = Field(
        default="20Gi", description="Archive volume: screenshots, PDFs and single-file copies of every saved page."
    )
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Pods: 0 or 1. The archiving worker runs in the same process tree and takes unarchived "
        "links from the database without a lock, so a second pod would archive every link twice.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="768Mi", memory_limit="2Gi")
    )
    registration: bool = Field(
        default=False,
        description="Let anyone create an account with a password (NEXT_PUBLIC_DISABLE_REGISTRATION is its opposite). "
        "With single sign-on the users of the auth provider get accounts anyway (see sso_signups).",
    )
    password_login: bool = Field(
        default=True, description="Offer username/password login besides SSO (NEXT_PUBLIC_CREDENTIALS_ENABLED)."
    )
    sso: bool = Field(
        default=True,
        description="Sign in through the auth provider with Linkwarden's authentik provider (native OIDC), when one "
        "is installed.",
    )
    sso_name: str = Field(
        default="authentik", min_length=1, max_length=40, description="Label of the SSO button (AUTHENTIK_CUSTOM_NAME)."
    )
    sso_signups: bool = Field(
        default=True,
        description="Create an account on a user's first SSO login (DISABLE_NEW_SSO_USERS is its opposite).",
    )
    smtp: bool = Field(
        default=True,
        description="Send mail (email verification, password resets, invitations) through the smtp provider, when one "
        "is enabled (NEXT_PUBLIC_EMAIL_PROVIDER, EMAIL_FROM, EMAIL_SERVER).",
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the archive volume with the backup provider, when one is installed."
    )

    @model_validator(mode="after")
    def _someone_can_log_in(self) -> LinkwardenSettings:
        if not self.password_login and not self.sso:
            raise ValueError("password_login = false needs sso = true, or nobody can log in")
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Linkwarden",
        version=VERSION,
        homepage="https://github.com/linkwarden/linkwarden",
        description="Bookmark manager that keeps an archived copy of every page.",
        settings_model=LinkwardenSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name=NAME)]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    return [Route(host=settings.hostname, service=NAME, port=HTTP_PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # verified_email: Linkwarden links an SSO login to an existing account with the same address only when the
    # email_verified claim is true (apps/web/lib/api/ssoEmailVerified.ts), which authentik's built-in mapping denies.
    return [
        AuthClient(
            kind="oidc",
            host=ctx.settings.hostname,
            redirect_paths=(OIDC_REDIRECT,),
            verified_email=True,
            optional=True,
            enabled_by="sso",
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
def ink_secrets() -> list[SecretClaim]:
    # NEXTAUTH_SECRET signs the session JWTs: stable, or every user is logged out on each synth.
    return [SecretClaim(name=SECRET, data={"nextauth-secret": NEXTAUTH_SECRET})]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_linkwarden.construct import linkwarden

    linkwarden(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    # The worker fetches every saved page with its headless Chromium, monolith and readability, and the web app
    # fetches titles and icons: any site on the web.
    return [Internet(ports=(443, 80), reason="the pages it saves and archives")]
