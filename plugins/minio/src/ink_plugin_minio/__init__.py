"""ink plugin: the S3 provider.

Upstream MinIO stopped publishing community images in October 2025 and archived its repository
in 2026, so this plugin runs PGSTY Silo, a maintained MinIO fork with pinned, signed releases that
keeps MinIO's S3 API, ``MINIO_*`` variables, ``/minio/health/*`` routes and on-disk format. The
plugin keeps the name ``minio`` (the design documents' name); consumers only see the generic
:class:`~ink.models.S3Binding`, so another S3 server can replace it.

For each bucket claim: a bucket, a user that may use only that bucket, and the same credentials
in two Secrets, ``<bucket>-s3`` in the consumer's namespace and in this plugin's namespace (the
second feeds the Job that creates bucket and user).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field

from ink import hookimpl, tls
from ink.models import (
    BucketClaim,
    Capability,
    GeneratedSecret,
    MetricsTarget,
    Quantity,
    S3Binding,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
)
from ink.settings import ContainerResources, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/pgsty/silo
VERSION = "RELEASE.2026-09-16T00-00-00Z"
IMAGE = f"docker.io/pgsty/silo:{VERSION}"
# renovate: datasource=docker depName=docker.io/pgsty/mc
MC_IMAGE = "docker.io/pgsty/mc:RELEASE.2026-09-16T00-00-00Z"
SERVICE = "minio"
S3_PORT = 9000
CONSOLE_PORT = 9001
ROOT_SECRET = "minio-root"
ROOT_USER = "minio-root"

SERVER_CERTIFICATE = "minio-tls"
# MinIO's cluster metrics (pgsty/minio cmd/metrics-router.go: /minio/v2/metrics/cluster on the S3 port, behind a JWT
# unless MINIO_PROMETHEUS_AUTH_TYPE=public).
METRICS_PATH = "/minio/v2/metrics/cluster"

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"


def access_key_id(bucket: str) -> GeneratedSecret:
    """The access key id of a bucket's user.

    The binding exposes it as ``access_key_id_value``: a consumer that needs the same value in a
    Secret of its own shape (Longhorn, Velero) reuses it from ``ink_binding_secrets``.
    """
    return GeneratedSecret(id=f"s3/{bucket}/access-key-id", length=20)


def secret_access_key(bucket: str) -> GeneratedSecret:
    """The secret access key of a bucket's user (see :func:`access_key_id`)."""
    return GeneratedSecret(id=f"s3/{bucket}/secret-access-key", length=40)


def credentials_secret(bucket: str) -> str:
    """The Secret with a bucket's credentials, in the consumer's and in this plugin's namespace."""
    return f"{bucket}-s3"


def _pinned(value: str) -> str:
    if value.endswith(":latest"):
        raise ValueError("must be pinned to a released version, not :latest")
    return value


# registry/repository:tag, e.g. docker.io/pgsty/silo:RELEASE.2026-09-16T00-00-00Z
Image = Annotated[
    str,
    Field(pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
    AfterValidator(_pinned),
]


class MinioSettings(PluginSettings):
    image: Image = Field(
        default=IMAGE,
        description="S3 server image (registry/repository:tag). Any MinIO-compatible server image whose "
        "executable is /usr/bin/silo; change the command with another image.",
    )
    mc_image: Image = Field(
        default=MC_IMAGE,
        description="MinIO client image (mc) of the Job that creates buckets, users and policies.",
    )
    storage_size: Quantity = Field(default="100Gi", description="Size of the data volume (every bucket).")
    region: str = Field(
        default="us-east-1",
        pattern=r"^[a-z0-9-]{1,32}$",
        description="Region the server reports (MINIO_SITE_REGION) and clients sign with.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="512Mi", memory_limit="2Gi"),
        description="Requests and limits of the server container.",
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="minio",
        title="S3 object storage (PGSTY Silo, MinIO-compatible)",
        version=VERSION,
        homepage="https://github.com/pgsty/silo",
        description="S3 server for backups and app data; one bucket and user per claim.",
        settings_model=MinioSettings,
        provides=(Capability.S3,),
    )


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [
        SecretClaim(
            name=ROOT_SECRET,
            data={
                "MINIO_ROOT_USER": ROOT_USER,
                "MINIO_ROOT_PASSWORD": GeneratedSecret(id="minio/root-password", length=40),
            },
        )
    ]


def serves_tls(ctx: ServiceContext) -> bool:
    """TLS with a certificate from the in-cluster CA: a TLS provider is enabled and every bucket's consumer
    can verify it. One port serves every bucket, so a single consumer that cannot keeps the server plain
    (:func:`ink.tls.all_claims_verify`; the warning names it)."""
    return tls.available(ctx) and tls.all_claims_verify(ctx, BucketClaim)[0]


def endpoint(ctx: ServiceContext) -> str:
    scheme = "https" if serves_tls(ctx) else "http"
    return f"{scheme}://{SERVICE}.{ctx.namespace}.svc:{S3_PORT}"


def ca_secret(bucket: str) -> str:
    """The in-cluster CA in the consumer's namespace, for verifying the endpoint."""
    return f"{bucket}-s3-ca"


@hookimpl
def ink_provide_bucket(claim: BucketClaim, scope: Construct, ctx: ServiceContext) -> S3Binding:
    bucket = claim.bucket
    if not 3 <= len(bucket) <= 60:
        raise ValueError(
            f"{claim.owner} claims bucket {bucket!r}: bucket names must have 3 to 60 characters "
            "(S3 allows 3-63; ink adds '-s3' for the credentials Secret)"
        )
    name = credentials_secret(bucket)
    data = {
        ACCESS_KEY_ID: access_key_id(bucket),
        SECRET_ACCESS_KEY: secret_access_key(bucket),
        "AWS_ENDPOINT_URL": endpoint(ctx),
        "AWS_REGION": ctx.settings.region,  # type: ignore[attr-defined]
    }
    secure = serves_tls(ctx)
    ca = None
    if secure:
        # In the consumer's folder and namespace, applied with it (see ink.tls.internal_ca).
        ca = tls.internal_ca(scope, f"s3-ca-{bucket}", ctx=ctx, name=ca_secret(bucket), namespace=claim.namespace)
    return S3Binding(
        endpoint=endpoint(ctx),
        tls=secure,
        ca=ca,
        bucket=bucket,
        region=ctx.settings.region,  # type: ignore[attr-defined]
        access_key_id=SecretKeyRef(name=name, key=ACCESS_KEY_ID),
        secret_access_key=SecretKeyRef(name=name, key=SECRET_ACCESS_KEY),
        path_style=True,
        access_key_id_value=access_key_id(bucket),
        secret_access_key_value=secret_access_key(bucket),
        secrets=(
            # What the consumer's pods read.
            SecretClaim(owner=claim.owner, name=name, data=data),
            # The same credentials here, for the Job that creates the bucket's user.
            SecretClaim(owner=ctx.name, name=name, data=data),
        ),
    )


def scraped(ctx: ServiceContext) -> bool:
    """Only with a metrics provider: without one the metrics stay behind MinIO's JWT, as upstream ships them."""
    return ctx.provider_of(Capability.METRICS) is not None


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not scraped(ctx):
        return []
    # ctx.needs holds every bucket claim here (they are declared before metrics targets), so serves_tls is what the
    # build phase decides: the same port, the same scheme and certificate as the S3 clients.
    target = MetricsTarget(name="cluster", pods=ctx.selector_labels("server"), port=S3_PORT, path=METRICS_PATH)
    if serves_tls(ctx):
        ca = SecretKeyRef(name=SERVER_CERTIFICATE, key=tls.CA_KEY)
        server_name = f"{SERVICE}.{ctx.namespace}.svc"
        target = target.model_copy(update={"scheme": "https", "ca": ca, "server_name": server_name})
    return [target]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_minio.construct import minio

    minio(scope, ctx=ctx)
