"""ink plugin: Homebox (https://github.com/sysadminsmedia/homebox), a home inventory.

The maintained sysadminsmedia fork: one Go binary serving the API and the web UI on port 7745. Items
live in PostgreSQL; attachments (photos, manuals, receipts) on a volume at ``/data``. Sign-in through
native OIDC with the auth provider; password-reset mail through the ``smtp`` capability.
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

# renovate: datasource=docker depName=ghcr.io/sysadminsmedia/homebox extractVersion=^(?<version>.+)-rootless$
VERSION = "0.26.2"  # image tag 0.26.2-rootless (semver without the v, suffix -rootless: docker-publish-rootless.yaml)
NAME = "homebox"
PORT = 7745  # HBOX_WEB_PORT's default; EXPOSE 7745
HTTP_PORT = 80  # the Service's port
# Where Homebox receives the OIDC answer (docs/.../configure/oidc.mdx).
OIDC_REDIRECT = "/api/v1/users/login/oidc/callback"
SECRET = f"{NAME}-secrets"
# HMAC key of the stored API key hashes: at least 32 bytes, never rotated (rotating invalidates every API key).
PEPPER = GeneratedSecret(id=f"{NAME}/api-key-pepper", length=64)


class HomeboxSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="homebox", description="Subdomain: https://<hostname>.<domain>.")
    storage_size: Quantity = Field(default="5Gi", description="Attachments volume: photos, manuals, receipts.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Pods: 0 or 1. Live updates go through an in-memory pub/sub (mem://), which a second pod "
        "would not see, and the attachments volume is ReadWriteOnce.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="64Mi", memory_limit="512Mi")
    )
    allow_registration: bool = Field(
        default=False,
        description="Let anyone create an account with a password (HBOX_OPTIONS_ALLOW_REGISTRATION). SSO users get "
        "an account on their first login either way.",
    )
    password_login: bool = Field(
        default=True, description="Offer email/password login besides SSO (HBOX_OPTIONS_ALLOW_LOCAL_LOGIN)."
    )
    sso: bool = Field(
        default=True, description="Sign in through the auth provider (native OIDC), when one is installed."
    )
    sso_button: str = Field(
        default="Sign in with authentik",
        min_length=1,
        max_length=60,
        description="Text of the SSO button (HBOX_OIDC_BUTTON_TEXT).",
    )
    sso_auto_redirect: bool = Field(
        default=False, description="Send visitors straight to the auth provider (HBOX_OIDC_AUTO_REDIRECT)."
    )
    smtp: bool = Field(
        default=True,
        description="Send password-reset mail through the smtp provider, when one is enabled (HBOX_MAILER_*). "
        "Homebox logs in with PLAIN over STARTTLS only.",
    )
    max_upload_mb: int = Field(default=10, ge=1, le=1024, description="Largest attachment (HBOX_WEB_MAX_UPLOAD_SIZE).")
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the attachments volume with the backup provider, when one is installed."
    )

    @model_validator(mode="after")
    def _someone_can_log_in(self) -> HomeboxSettings:
        if not self.password_login and not self.sso:
            raise ValueError("password_login = false needs sso = true, or nobody can log in")
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Homebox",
        version=VERSION,
        homepage="https://github.com/sysadminsmedia/homebox",
        description="Home inventory: what you own, where it is, warranties and manuals.",
        settings_model=HomeboxSettings,
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
    # verified_email: Homebox links a first OIDC login to an existing account with the same email (LoginOIDC in
    # backend/internal/core/services/service_user.go); HBOX_OIDC_VERIFY_EMAIL makes it insist the claim is true.
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
    # By name: Homebox runs without mail (no password-reset mails), so it does not depend on ink-plugin-smtp.
    return [NamedNeed(capability="smtp", id=NAME, optional=True, enabled_by="smtp")]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=f"{NAME}-data", pod_volume="data", optional=True, enabled_by="backup")]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [SecretClaim(name=SECRET, data={"api-key-pepper": PEPPER})]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_homebox.construct import homebox

    homebox(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    # Barcode product lookups (Open Food Facts, BarcodeSpider) and the notifiers users configure (shoutrrr URLs).
    return [Internet(ports=(443,), reason="barcode product lookups and notifiers")]
