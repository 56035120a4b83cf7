"""ink plugin: CloudNativePG.

Provides ``database``: one shared PostgreSQL cluster, ``postgres-ha``, and for each claim a
role, a database (with its extensions) and the connection secret in the consumer's namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    Capability,
    DatabaseBinding,
    DatabaseClaim,
    GeneratedSecret,
    Quantity,
    SecretClaim,
    SecretKeyRef,
    SecretTemplate,
    ServiceInfo,
)
from ink.settings import PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

OPERATOR_VERSION = "1.30.1"
CLUSTER = "postgres-ha"
PORT = 5432


class CloudNativePGSettings(PluginSettings):
    instances: int = Field(default=3, ge=1, le=9, description="PostgreSQL instances (1 primary + replicas).")
    storage_size: Quantity = Field(default="50Gi", description="Volume size of each instance.")
    storage_class: str | None = Field(default=None, description="StorageClass; unset uses the global storage_class.")
    # The operator 1.30.1 default operand (pkg/versions/versions.go); "system" images carry pgvector.
    image: str = Field(
        default="ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie",
        description="PostgreSQL operand image (a ghcr.io/cloudnative-pg/postgresql tag).",
    )
    chart_version: str = Field(default="0.29.1", description="cloudnative-pg Helm chart version (ships 1.30.1).")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="cloudnativepg",
        title="CloudNativePG",
        version=OPERATOR_VERSION,
        homepage="https://cloudnative-pg.io",
        description="PostgreSQL operator; runs the shared HA cluster every service's database lives on.",
        settings_model=CloudNativePGSettings,
        provides=(Capability.DATABASE,),
    )


def password_secret_name(database: str) -> str:
    return f"{CLUSTER}-role-{database}"


@hookimpl
def ink_provide_database(claim: DatabaseClaim, ctx: ServiceContext) -> DatabaseBinding:
    host = f"{CLUSTER}-rw.{ctx.namespace}.svc"
    password = GeneratedSecret(id=f"cloudnativepg/{CLUSTER}/{claim.name}/password")
    consumer_secret = f"{claim.name}-db"
    return DatabaseBinding(
        host=host,
        port=PORT,
        database=claim.name,
        user=claim.name,
        password=SecretKeyRef(name=consumer_secret, key="password"),
        uri=SecretKeyRef(name=consumer_secret, key="uri"),
        secrets=(
            # In the consumer's namespace: what its pods read through secretKeyRef.
            SecretClaim(
                owner=claim.owner,
                name=consumer_secret,
                data={
                    "username": claim.name,
                    "password": password,
                    "host": host,
                    "port": str(PORT),
                    "dbname": claim.name,
                    "uri": SecretTemplate(
                        template=f"postgresql://{claim.name}:{{password}}@{host}:{PORT}/{claim.name}",
                        values={"password": password},
                    ),
                },
            ),
            # In the cluster's namespace: the managed role's password. CNPG requires these two keys,
            # and the reload label makes it apply a changed password.
            SecretClaim(
                owner=ctx.name,
                name=password_secret_name(claim.name),
                type="kubernetes.io/basic-auth",
                labels={"cnpg.io/reload": "true"},
                data={"username": claim.name, "password": password},
            ),
        ),
    )


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_cloudnativepg.construct import postgres

    postgres(scope, ctx=ctx)
