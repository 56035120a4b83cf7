"""ink plugin: Vaultwarden (https://github.com/dani-garcia/vaultwarden)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    DatabaseClaim,
    DnsLabel,
    Internet,
    NamedNeed,
    NetworkRule,
    Quantity,
    Route,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/vaultwarden/server
VERSION = "1.37.4"
NAME = "vaultwarden"
HTTP_PORT = 80  # the Service's port; the container listens on 8080
# Where Vaultwarden receives the OIDC answer (src/api/identity.rs; SSO.md).
OIDC_REDIRECT = "/identity/connect/oidc-signin"


class VaultwardenSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="vault", description="Subdomain: https://<hostname>.<domain>.")
    storage_size: Quantity = Field(default="5Gi", description="Data volume: RSA keys, attachments, sends, icons.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=20,
        description="Pods. More than 1 needs storage_access_mode = 'ReadWriteMany' (the data folder is shared), "
        "and each pod pushes live updates only to its own clients.",
    )
    storage_access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = Field(
        default="ReadWriteOnce",
        description="Access mode of the data volume. Fixed once the volume exists: choose before the first deploy.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="128Mi", memory_limit="512Mi")
    )
    signups_allowed: bool = Field(default=False, description="Let anyone create an account (SIGNUPS_ALLOWED).")
    sso: bool = Field(
        default=True,
        description="Log in through the SSO provider (native OIDC, SSO_* variables), when one is installed.",
    )
    sso_only: bool = Field(default=False, description="Disable email+master-password login (SSO_ONLY).")
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    smtp: bool = Field(
        default=True,
        description="Send mail (invitations, verification, 2FA codes, emergency access) through the smtp provider, "
        "when one is enabled (SMTP_* variables).",
    )

    @model_validator(mode="after")
    def _shared_volume_for_replicas(self) -> VaultwardenSettings:
        if self.replicas > 1 and self.storage_access_mode != "ReadWriteMany":
            raise ValueError(
                "replicas > 1 share one data folder: set storage_access_mode = 'ReadWriteMany' "
                "(and a storage class that supports it, e.g. an NFS one)"
            )
        return self

    backup: bool = Field(
        default=True, description="Back up the data volume with the backup provider, when one is installed."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Vaultwarden",
        version=VERSION,
        homepage="https://github.com/dani-garcia/vaultwarden",
        description="Bitwarden-compatible password manager.",
        settings_model=VaultwardenSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name=NAME)]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # Optional: without an ingress provider Vaultwarden still runs, reachable inside the cluster.
    return [Route(host=settings.hostname, service=NAME, port=HTTP_PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # offline_access: Vaultwarden refreshes the session with the IdP's refresh token (SSO.md).
    scopes = ("openid", "email", "profile", "offline_access")
    # verified_email: Vaultwarden refuses an SSO login whose email_verified claim is false, and one without
    # the claim unless SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION (src/api/identity.rs, sso_login).
    return [
        AuthClient(
            kind="oidc",
            host=ctx.settings.hostname,
            redirect_paths=(OIDC_REDIRECT,),
            scopes=scopes,
            verified_email=True,
            optional=True,
            enabled_by="sso",
        )
    ]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    if not ctx.settings.smtp:
        return []
    # By name: Vaultwarden runs without mail, so it does not depend on the package that defines smtp.
    return [NamedNeed(capability="smtp", id=NAME, optional=True, enabled_by="smtp")]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=f"{NAME}-data", pod_volume="data", optional=True, enabled_by="backup")]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_vaultwarden.construct import vaultwarden

    vaultwarden(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    # Vaultwarden downloads website icons itself by default (ICON_SERVICE=internal, .env.template).
    return [Internet(ports=(443, 80), reason="website icons (ICON_SERVICE internal)")]
