"""ink plugin: Vaultwarden (https://github.com/dani-garcia/vaultwarden)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import DatabaseClaim, DnsLabel, Quantity, ServiceInfo
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

VERSION = "1.37.4"


class VaultwardenSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="vault", description="Subdomain: https://<hostname>.<domain>.")
    storage_size: Quantity = Field(default="5Gi", description="Data volume: RSA keys, attachments, sends, icons.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=20,
        description="Pods. More than 1 needs a ReadWriteMany storage class (the data folder is shared), "
        "and each pod pushes live updates only to its own clients.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="128Mi", memory_limit="512Mi")
    )
    signups_allowed: bool = Field(default=False, description="Let anyone create an account (SIGNUPS_ALLOWED).")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="vaultwarden",
        title="Vaultwarden",
        version=VERSION,
        homepage="https://github.com/dani-garcia/vaultwarden",
        description="Bitwarden-compatible password manager.",
        settings_model=VaultwardenSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name="vaultwarden")]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_vaultwarden.construct import vaultwarden

    vaultwarden(scope, ctx=ctx)
