"""ink plugin: MongoDB, the provider of the ``mongodb`` capability.

One replica set, ``mongodb``, run by MongoDB's own operator (MongoDB Controllers for Kubernetes, the
``mongodb-kubernetes`` chart, which ships the Community operator): the operator initiates the
replica set, keeps its members' configuration, and creates one SCRAM user per need, with roles on
that need's database only. Each consumer gets the password and ready connection strings in a
Secret of its own namespace. With ``backups`` on (the default) the plugin claims the bucket
``mongodb-backups`` from the S3 provider and a CronJob dumps the replica set there daily
(``mongodump --oplog``, a consistent point-in-time archive). The claim is optional: without an S3
provider core drops it with a warning and there are no dumps.

With a TLS provider (cert-manager) the members serve TLS only, with a certificate from the in-cluster
CA (``spec.security.tls``); every connection string then verifies it (``tls=true&tlsCAFile=``)
against the CA, which reaches each consumer's namespace as for CloudNativePG and Valkey.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl, tls
from ink.errors import UserError
from ink.models import (
    BasicAuth,
    BucketClaim,
    Capability,
    CertificateClaim,
    ChartService,
    GeneratedSecret,
    Inbound,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    Quantity,
    SecretClaim,
    SecretKeyRef,
    SecretTemplate,
    ServiceInfo,
)
from ink.settings import ContainerResources, Cron, ImageTag, PluginSettings
from ink_plugin_mongodb.capability import NAME, MongoBinding, MongoNeed

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=helm depName=mongodb-kubernetes registryUrl=https://mongodb.github.io/helm-charts
OPERATOR_VERSION = "1.10.1"  # chart and operator (mongodb/mongodb-kubernetes helm_chart/Chart.yaml)
# renovate: datasource=docker depName=quay.io/mongodb/mongodb-community-server extractVersion=^(?<version>.+)-ubi9$
MONGODB_VERSION = "8.0.26"
REPLICA_SET = "mongodb"  # the MongoDBCommunity resource; the operator names the replica set after it
SERVICE = f"{REPLICA_SET}-svc"  # the operator's headless Service (api/v1 mongodbcommunity_types.go ServiceName)
PORT = 27017
AUTH_DB = "admin"
BACKUP_BUCKET = "mongodb-backups"
ADMIN_USER = "ink-admin"
BACKUP_USER = "ink-backup"
# Databases MongoDB itself uses, and the users ink keeps for itself: no consumer may claim them.
RESERVED = frozenset({"admin", "local", "config", ADMIN_USER, BACKUP_USER})
# The community database pods (controllers/construct/mongodbstatefulset.go: label app=<name>-svc).
MEMBER_PODS = {"app": SERVICE}
OPERATOR_PODS = {"app.kubernetes.io/name": "mongodb-kubernetes-operator"}
WEBHOOK_PORT = 1993  # main.go: MDB_WEBHOOK_PORT default
# spec.prometheus: each member's agent serves http://0.0.0.0:9216/metrics behind HTTP basic auth
# (controllers/prometheus.go DefaultPrometheusPort, pkg/automationconfig NewDefaultPrometheus).
METRICS_PORT = 9216
METRICS_SECRET = f"{REPLICA_SET}-metrics"
METRICS_USER = "prometheus"
# The members' certificate from the in-cluster CA (tls.crt, tls.key, ca.crt): spec.security.tls names it
# both as the key pair and as the CA. Not <name>-ca-certificate or <name>-server-certificate-key, the
# Secrets the operator derives from it (api/v1 mongodbcommunity_types.go TLSOperator*SecretNamespacedName).
SERVER_CERTIFICATE = f"{REPLICA_SET}-tls"
# The official image, for mongodump in the backup job (docker-library/mongo 8.0/Dockerfile installs the tools).
DUMP_IMAGE = f"docker.io/library/mongo:{MONGODB_VERSION}"
# The MinIO client the minio plugin pins (PGSTY's maintained fork), to upload the dumps.
# renovate: datasource=docker depName=docker.io/pgsty/mc
MC_IMAGE = "docker.io/pgsty/mc:RELEASE.2026-09-16T00-00-00Z"


class MongoDBSettings(PluginSettings):
    members: int = Field(
        default=3, ge=1, le=7, description="Replica set members (1 is a valid replica set; 3 survive one loss)."
    )
    version: ImageTag = Field(
        default=MONGODB_VERSION,
        description="MongoDB server version (image quay.io/mongodb/mongodb-community-server:<version>-ubi9).",
    )
    storage_size: Quantity = Field(default="10Gi", description="Data volume of each member.")
    storage_class: str | None = Field(default=None, description="StorageClass; unset uses the global storage_class.")
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="512Mi", memory_limit="1Gi"),
        description="Requests and limits of each member's mongod container.",
    )
    tls_optional: bool = Field(
        default=False,
        description="With a TLS provider, also accept plaintext clients (net.tls.mode preferTLS): only while "
        "an install that was plain moves to TLS (README). false: TLS only.",
    )
    chart_version: str = Field(
        default=OPERATOR_VERSION, description="mongodb-kubernetes Helm chart version (operator of the same version)."
    )
    backups: bool = Field(
        default=True,
        description="Dump the replica set to S3 daily (mongodump --oplog). Without an enabled S3 provider there "
        "are no dumps and synth warns; false silences that.",
    )
    backup_schedule: Cron = Field(
        default="30 2 * * *", description="When the dump runs: 5-field cron, in the global timezone."
    )
    backup_retention_days: int = Field(default=30, ge=1, le=3650, description="Dumps older than this are removed.")
    backup_scratch_size: Quantity = Field(
        default="10Gi", description="Space for one compressed dump while it is uploaded (an emptyDir)."
    )
    dump_image: str = Field(default=DUMP_IMAGE, description="Image with mongodump (the official mongo image).")
    mc_image: str = Field(default=MC_IMAGE, description="Image with the MinIO client, to upload dumps.")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="MongoDB",
        version=MONGODB_VERSION,
        homepage="https://www.mongodb.com/docs/kubernetes/",
        description="MongoDB replica set (MongoDB's operator); a database and user of its own for each service.",
        settings_model=MongoDBSettings,
        provides=(NAME,),
    )


def member_hosts(ctx: ServiceContext) -> tuple[str, ...]:
    """Each member's DNS name, as the operator writes it into the replica set's configuration."""
    count = ctx.settings.members  # type: ignore[attr-defined]
    return tuple(f"{REPLICA_SET}-{i}.{SERVICE}.{ctx.namespace}.svc.cluster.local" for i in range(count))


def members(ctx: ServiceContext) -> tuple[str, ...]:
    """host:port of each member, the seed list of every connection string."""
    return tuple(f"{host}:{PORT}" for host in member_hosts(ctx))


def tls_enabled(ctx: ServiceContext) -> bool:
    """Whether the members serve TLS from the in-cluster CA: a TLS provider answers the certificate claim.

    Decided from the provider, as CloudNativePG does: ``ink_provide_mongodb`` runs before certificates are.
    """
    return tls.available(ctx)


def connection_string(
    ctx: ServiceContext, user: str, database: str, password: str = "{password}", *, secure: bool = False
) -> str:
    hosts = ",".join(members(ctx))
    uri = f"mongodb://{user}:{password}@{hosts}/{database}?replicaSet={REPLICA_SET}&authSource={AUTH_DB}"
    if secure:
        # Connection string options (MongoDB manual, 'Connection String Options' > TLS; the Node.js driver's
        # 'Enable TLS on a Connection'): verify every member's certificate against the CA file the pod mounts.
        uri += f"&tls=true&tlsCAFile={MongoBinding.CA_DIR}/{tls.CA_KEY}"
    return uri


def user_password(database: str) -> GeneratedSecret:
    # One id for the operator's password Secret and the consumer's: both hold the same value.
    return GeneratedSecret(id=f"mongodb/{REPLICA_SET}/{database}/password")


def password_secret_name(user: str) -> str:
    """The Secret in this namespace the operator reads a user's password from (key ``password``)."""
    return f"{REPLICA_SET}-user-{user}"


def backups_enabled(ctx: ServiceContext) -> bool:
    """``backups`` is on and an S3 provider answers the (optional) bucket claim."""
    return bool(ctx.settings.backups) and ctx.provider_of(Capability.S3) is not None  # type: ignore[attr-defined]


@hookimpl
def ink_bucket_claims(ctx: ServiceContext) -> list[BucketClaim]:
    if not ctx.settings.backups:  # type: ignore[attr-defined]
        return []
    return [BucketClaim(bucket=BACKUP_BUCKET, optional=True, tls=True)]  # the upload verifies an https store


@hookimpl
def ink_certificate_claims(ctx: ServiceContext) -> list[CertificateClaim]:
    # One certificate for every member (the operator mounts the same key pair in each): their pod DNS names,
    # which clients and the members themselves dial, and the Service's names. Optional: without a TLS
    # provider the replica set stays plain. No extended key usage is set (cert-manager's default), so the
    # members may also present it to each other as clients (mongod uses certificateKeyFile both ways).
    names = (*member_hosts(ctx), *tls.service_names(SERVICE, ctx.namespace))
    return [CertificateClaim(name=SERVER_CERTIFICATE, dns_names=names, issuer="internal", optional=True)]


def ca_secret_name(database: str) -> str:
    """The in-cluster CA's copy in a consumer's namespace (key ca.crt)."""
    return f"{database}-mongodb-ca"


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    admin = GeneratedSecret(id=f"mongodb/{REPLICA_SET}/{ADMIN_USER}/password")
    backup = GeneratedSecret(id=f"mongodb/{REPLICA_SET}/{BACKUP_USER}/password")
    claims = [
        # The administrator, for restores and maintenance (README); the operator's agent has a user of its own.
        SecretClaim(name=password_secret_name(ADMIN_USER), data={"password": admin, "username": ADMIN_USER}),
        SecretClaim(
            name=password_secret_name(BACKUP_USER),
            data={
                "password": backup,
                "uri": SecretTemplate(
                    template=connection_string(ctx, BACKUP_USER, AUTH_DB) + "&readPreference=secondaryPreferred",
                    values={"password": backup},
                ),
            },
        ),
    ]
    if metrics_on(ctx):
        # spec.prometheus.passwordSecretRef (the operator reads it) and the PodMonitor's basicAuth: one Secret.
        password = GeneratedSecret(id=f"mongodb/{REPLICA_SET}/metrics/password")
        claims.append(SecretClaim(name=METRICS_SECRET, data={"username": METRICS_USER, "password": password}))
    return claims


def metrics_on(ctx: ServiceContext) -> bool:
    return ctx.provider_of("metrics") is not None


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    auth = BasicAuth(
        username=SecretKeyRef(name=METRICS_SECRET, key="username"),
        password=SecretKeyRef(name=METRICS_SECRET, key="password"),
    )
    # The member pods the operator makes; their agent serves the server's metrics (spec.prometheus).
    return [MetricsTarget(name="members", pods=MEMBER_PODS, port=METRICS_PORT, basic_auth=auth)]


@hookimpl
def ink_provide_mongodb(need: MongoNeed, scope: Construct, ctx: ServiceContext) -> MongoBinding:
    if need.name in RESERVED:
        raise UserError(
            f"{need.owner} asks for the MongoDB database {need.name!r}, which MongoDB or ink reserves for itself; "
            f"rename it in [plugins.{need.owner}] if the plugin allows, or report it to the plugin's authors"
        )
    other = next((n for n, _ in ctx.served if isinstance(n, MongoNeed) and n.name == need.name), None)
    if other is not None:
        raise UserError(
            f"{need.owner} and {other.owner} both ask for the MongoDB database {need.name!r}; "
            "a database belongs to one service: disable one of them"
        )
    password = user_password(need.name)
    secret = f"{need.name}-mongodb"
    secure = tls_enabled(ctx)
    ca = None
    if secure:
        # In the consumer's folder, applied with its namespace: the CA's key pair is made at run time, so
        # a certificate from the same issuer there carries it as ca.crt (ink.tls.internal_ca).
        ca = tls.internal_ca(
            scope,
            f"ca-{need.name}",
            ctx=ctx,
            name=ca_secret_name(need.name),
            namespace=need.namespace,
            component="database",
            common_name=need.name,
        )
    data: dict[str, str | GeneratedSecret | SecretTemplate] = {
        "username": need.name,
        "password": password,
        "uri": SecretTemplate(
            template=connection_string(ctx, need.name, need.name, secure=secure), values={"password": password}
        ),
    }
    if need.oplog:
        data["oplog-uri"] = SecretTemplate(
            template=connection_string(ctx, need.name, "local", secure=secure), values={"password": password}
        )
    return MongoBinding(
        host=f"{SERVICE}.{ctx.namespace}.svc",
        port=PORT,
        hosts=members(ctx),
        replica_set=REPLICA_SET,
        database=need.name,
        username=need.name,
        auth_source=AUTH_DB,
        password=SecretKeyRef(name=secret, key="password"),
        uri=SecretKeyRef(name=secret, key="uri"),
        oplog_uri=SecretKeyRef(name=secret, key="oplog-uri") if need.oplog else None,
        tls=secure,
        ca=ca,
        backup_schedule=ctx.settings.backup_schedule if backups_enabled(ctx) else "",  # type: ignore[attr-defined]
        secrets=(
            # In the consumer's namespace: what its pods read through secretKeyRef.
            SecretClaim(owner=need.owner, name=secret, data=data),  # type: ignore[arg-type]
            # In this namespace: the password the operator sets on the user (passwordSecretRef).
            SecretClaim(owner=ctx.name, name=password_secret_name(need.name), data={"password": password}),
        ),
    )


# What chart 1.10.1 runs and has the operator start for a MongoDBCommunity resource (values.yaml registry.*,
# community.*, versionUpgradeHook, readinessProbe; passed as the operator's AGENT_IMAGE,
# VERSION_UPGRADE_HOOK_IMAGE and READINESS_PROBE_IMAGE).
CHART_IMAGES = (
    "quay.io/mongodb/mongodb-kubernetes:1.10.1",
    "quay.io/mongodb/mongodb-agent:108.0.26.9062-1",
    "quay.io/mongodb/mongodb-kubernetes-operator-version-upgrade-post-start-hook:1.0.10",
    "quay.io/mongodb/mongodb-kubernetes-readinessprobe:1.0.24",
)


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # The server: MONGODB_IMAGE with the version ink sets and the flavour it passes (community.mongodb.imageType).
    return [*CHART_IMAGES, f"quay.io/mongodb/mongodb-community-server:{ctx.settings.version}-ubi9"]  # type: ignore[attr-defined]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_mongodb.construct import mongodb

    mongodb(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [
        # The operator's headless Service selects every member; a client then talks to the primary by the
        # member names the replica set advertises, all behind the same pods.
        ChartService(
            name=SERVICE,
            pods=MEMBER_PODS,
            ports={PORT: PORT},
            source="mongodb/mongodb-kubernetes mongodb-community-operator/controllers/replica_set_controller.go "
            "(buildService: selector app=<name>-svc, headless) and construct/mongodbstatefulset.go (port 27017)",
        ),
        KubeApi(reason="the operator watches its resources and writes StatefulSets and Secrets", pods=OPERATOR_PODS),
        # cmd/readiness/main.go: each member's readiness probe reads and patches its own Pod (agent version).
        KubeApi(reason="the members' readiness probe patches its Pod's annotations", pods=MEMBER_PODS),
        Inbound(
            ports=(WEBHOOK_PORT,),
            source="api-server",
            pods=OPERATOR_PODS,
            reason="the operator's validating webhook (it registers itself; failurePolicy Ignore)",
        ),
    ]
