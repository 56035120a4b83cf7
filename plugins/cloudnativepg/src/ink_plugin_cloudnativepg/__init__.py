"""ink plugin: CloudNativePG.

Provides ``database``: one shared PostgreSQL cluster, ``postgres-ha``, and for each claim a
role, a database (with its extensions) and the connection secret in the consumer's namespace.
With ``backups`` on (the default) it claims the bucket ``postgres-backups`` from the S3 provider
and backs the cluster up there through the Barman Cloud plugin: WAL archiving plus a daily base
backup. The claim is optional: without an S3 provider core drops it with a warning, and the
cluster runs without backups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl, tls
from ink.drill import cron_period_hours, late_alert
from ink.errors import UserError
from ink.models import (
    AlertRule,
    BucketClaim,
    Capability,
    CertificateClaim,
    ChartService,
    DatabaseBinding,
    DatabaseClaim,
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
from ink.settings import Cron, PluginSettings, SecondsCron

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

OPERATOR_VERSION = "1.30.1"
CLUSTER = "postgres-ha"
# postgres and the templates exist in every cluster; "app" is what CNPG's initdb bootstrap creates.
RESERVED = frozenset({"postgres", "template0", "template1", "app"})
PORT = 5432
BACKUP_BUCKET = "postgres-backups"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE = f"{CLUSTER}-backups"
SERVER_CERTIFICATE = f"{CLUSTER}-server"
# CloudNativePG docs, 'Service management': the operator makes -rw (primary), -ro (replicas), -r (any).
SERVICES = ("rw", "ro", "r")
DRILL = f"{CLUSTER}-drill"
DRILL_RESULT = f"{DRILL}-result"  # the ConfigMap a successful drill writes


class CloudNativePGSettings(PluginSettings):
    instances: int = Field(default=3, ge=1, le=9, description="PostgreSQL instances (1 primary + replicas).")
    storage_size: Quantity = Field(default="50Gi", description="Volume size of each instance.")
    storage_class: str | None = Field(default=None, description="StorageClass; unset uses the global storage_class.")
    # The operator's default operand (pkg/versions/versions.go: 18.6-system-trixie) in the "standard" flavour:
    # "system" images are deprecated and carry the in-core Barman Cloud ink does not use; "standard" has
    # pgvector and is the flavour meant for the Barman Cloud plugin (cloudnative-pg/postgres-containers
    # README; listed in cloudnative-pg/artifacts image-catalogs/catalog-standard-trixie.yaml).
    image: str = Field(
        # renovate: datasource=docker depName=ghcr.io/cloudnative-pg/postgresql
        default="ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie",
        description="PostgreSQL operand image (a ghcr.io/cloudnative-pg/postgresql tag).",
    )
    # renovate: datasource=helm depName=cloudnative-pg registryUrl=https://cloudnative-pg.github.io/charts
    chart_version: str = Field(default="0.29.1", description="cloudnative-pg Helm chart version (ships 1.30.1).")
    backups: bool = Field(
        default=True,
        description="Back the cluster up to S3 (Barman Cloud plugin: WAL archive and daily base backups). "
        "Without an enabled S3 provider there are no backups and synth warns; false silences that.",
    )
    backup_schedule: SecondsCron = Field(
        default="0 0 2 * * *", description="When the daily base backup runs: 6-field cron, seconds first."
    )
    backup_retention: str = Field(
        default="30d",
        pattern=r"^[1-9][0-9]*[dwm]$",
        description="How long base backups and WAL are kept (days d, weeks w, months m).",
    )
    drill: bool = Field(
        default=True,
        description="Restore drill (with backups): on drill_schedule a CronJob recovers the latest backup into "
        "a scratch cluster, checks every database is there, records the result and deletes the cluster.",
    )
    drill_schedule: Cron = Field(
        default="0 4 * * 0",
        description="When the restore drill runs: 5-field Kubernetes cron, in the global timezone (Sundays 04:00).",
    )
    barman_chart_version: str = Field(
        # renovate: datasource=helm depName=plugin-barman-cloud registryUrl=https://cloudnative-pg.github.io/charts
        default="0.8.1",
        description="plugin-barman-cloud Helm chart version (ships plugin v0.15.1).",
    )


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


@hookimpl
def ink_bucket_claims(ctx: ServiceContext) -> list[BucketClaim]:
    if not ctx.settings.backups:  # type: ignore[attr-defined]
        return []
    # Optional: without an S3 provider core leaves it out with a warning (see backups_enabled).
    # tls: the ObjectStore verifies an https endpoint with the CA Secret the binding names (endpointCA).
    return [BucketClaim(bucket=BACKUP_BUCKET, optional=True, tls=True)]


@hookimpl
def ink_certificate_claims(ctx: ServiceContext) -> list[CertificateClaim]:
    # The server certificate from the in-cluster CA, for every name of every Service the operator makes
    # (verify-full checks the host in the uri against them). Optional: without a TLS provider the
    # cluster keeps CloudNativePG's own self-signed CA and bindings connect without verifying.
    names = [name for service in SERVICES for name in tls.service_names(f"{CLUSTER}-{service}", ctx.namespace)]
    return [CertificateClaim(name=SERVER_CERTIFICATE, dns_names=tuple(names), issuer="internal", optional=True)]


def tls_enabled(ctx: ServiceContext) -> bool:
    """Whether the server presents a certificate from the in-cluster CA: a TLS provider answers the claim.

    Decided from the provider, as for backups: ``ink_provide_database`` runs before certificates are.
    """
    return tls.available(ctx)


def ca_secret_name(database: str) -> str:
    return f"{database}-db-ca"


def backups_enabled(ctx: ServiceContext) -> bool:
    """Whether the cluster is backed up: ``backups`` is on and an S3 provider answers the bucket claim.

    ``ink_provide_database`` runs before bucket claims are answered, so it cannot look at
    ``ctx.bindings``; whether an S3 provider is enabled is what decides if the claim is kept.
    """
    return bool(ctx.settings.backups) and ctx.provider_of(Capability.S3) is not None  # type: ignore[attr-defined]


def password_secret_name(role: str) -> str:
    return f"{CLUSTER}-role-{role}"


@hookimpl
def ink_provide_database(claim: DatabaseClaim, scope: Construct, ctx: ServiceContext) -> DatabaseBinding:
    for kind, value in (("database", claim.name), ("role", claim.role_name)):
        if value in RESERVED:
            raise UserError(
                f"{claim.owner} claims the {kind} {value!r}, which PostgreSQL or CloudNativePG reserves; "
                f"rename it in [plugins.{claim.owner}] if the plugin allows, or report it to the plugin's authors"
            )
    for n, _ in ctx.served:
        if not isinstance(n, DatabaseClaim) or n is claim:
            continue
        clash = "database" if n.name == claim.name else "role" if n.role_name == claim.role_name else ""
        if clash:
            value = claim.name if clash == "database" else claim.role_name
            raise UserError(
                f"{claim.owner} and {n.owner} both claim the {clash} {value!r} on {CLUSTER}; "
                f"a {clash} belongs to one service: disable one of them"
            )
    host = f"{CLUSTER}-rw.{ctx.namespace}.svc"
    drills = backups_enabled(ctx) and bool(ctx.settings.drill)  # type: ignore[attr-defined]
    password = GeneratedSecret(id=f"cloudnativepg/{CLUSTER}/{claim.name}/password")
    consumer_secret = f"{claim.name}-db"
    tls = tls_enabled(ctx)
    # libpq's connection parameters (PostgreSQL docs, 'Connection Strings' and 'SSL Support'): verify-full
    # checks the chain against sslrootcert and the host name against the certificate's names.
    ca = SecretKeyRef(name=ca_secret_name(claim.name), key="ca.crt") if tls else None
    if tls:
        from ink_plugin_cloudnativepg.construct import consumer_ca

        # In the consumer's folder: its Argo CD Application creates it with the namespace it lives in.
        consumer_ca(scope, claim=claim, ctx=ctx)
    query = f"?sslmode=verify-full&sslrootcert={DatabaseBinding.CA_DIR}/{ca.key}" if ca is not None else ""
    return DatabaseBinding(
        host=host,
        port=PORT,
        database=claim.name,
        user=claim.role_name,
        password=SecretKeyRef(name=consumer_secret, key="password"),
        uri=SecretKeyRef(name=consumer_secret, key="uri"),
        backup_schedule=ctx.settings.backup_schedule if backups_enabled(ctx) else "",  # type: ignore[attr-defined]
        tls=tls,
        ca=ca,
        drill_schedule=ctx.settings.drill_schedule if drills else "",  # type: ignore[attr-defined]
        drill_result=f"ConfigMap {ctx.namespace}/{DRILL_RESULT}" if drills else "",
        secrets=(
            # In the consumer's namespace: what its pods read through secretKeyRef.
            SecretClaim(
                owner=claim.owner,
                name=consumer_secret,
                data={
                    "username": claim.role_name,
                    "password": password,
                    "host": host,
                    "port": str(PORT),
                    "dbname": claim.name,
                    "uri": SecretTemplate(
                        template=f"postgresql://{claim.role_name}:{{password}}@{host}:{PORT}/{claim.name}{query}",
                        values={"password": password},
                    ),
                },
            ),
            # In the cluster's namespace: the managed role's password. CNPG requires these two keys,
            # and the reload label makes it apply a changed password.
            SecretClaim(
                owner=ctx.name,
                name=password_secret_name(claim.role_name),
                type="kubernetes.io/basic-auth",
                labels={"cnpg.io/reload": "true"},
                data={"username": claim.role_name, "password": password},
            ),
        ),
    )


# The operator (chart cloudnative-pg 0.29.1 ships 1.30.1) and the Barman Cloud plugin (chart 0.8.1 ships v0.15.1),
# whose sidecar the plugin adds to every PostgreSQL pod (values.yaml sidecarImage; the plugin's SIDECAR_IMAGE).
BARMAN_VERSION = "v0.15.1"
CHART_IMAGES = (
    f"ghcr.io/cloudnative-pg/cloudnative-pg:{OPERATOR_VERSION}",
    f"ghcr.io/cloudnative-pg/plugin-barman-cloud:{BARMAN_VERSION}",
    f"ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:{BARMAN_VERSION}",
)


@hookimpl
def ink_images() -> list[str]:
    return list(CHART_IMAGES)


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_cloudnativepg.construct import postgres

    postgres(scope, ctx=ctx)


# The instance pods (CloudNativePG docs, 'Labels and annotations': cnpg.io/cluster, and cnpg.io/podRole=instance,
# which its Jobs lack) serve the exporter of the instance manager on container port `metrics` 9187 (docs,
# 'Monitoring'). The operator (chart templates/deployment.yaml: selector = cloudnative-pg.selectorLabels, name and
# release) serves its own metrics on container port `metrics` 8080.
INSTANCE_PODS = {"cnpg.io/cluster": CLUSTER, "cnpg.io/podRole": "instance"}
OPERATOR_PODS = {"app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": "cloudnative-pg-operator"}


def _cluster_alerts(ctx: ServiceContext) -> list[AlertRule]:
    settings = ctx.settings
    instances = settings.instances  # type: ignore[attr-defined]
    job = f'namespace="{ctx.namespace}", pod=~"{CLUSTER}-[0-9]+"'
    # cnpg_collector_up (1 while PostgreSQL answers the exporter) and cnpg_pg_replication_streaming_replicas (the
    # default monitoring queries, pg_replication): CloudNativePG docs, 'Monitoring'; the chart `cluster` of
    # cloudnative-pg/charts alerts on the same (CNPGClusterHAWarning, CNPGClusterOffline).
    alerts = [
        AlertRule(
            alert="CloudNativePGClusterDegraded",
            expr=f"(count(cnpg_collector_up{{{job}}} == 1) or on () vector(0)) < {instances}",
            for_="10m",
            severity="critical" if instances == 1 else "warning",
            summary=f"{{{{ $value }}}} of the {instances} PostgreSQL instances of {CLUSTER} are up",
            description=f"kubectl -n {ctx.namespace} get cluster {CLUSTER}; the operator's logs say why an "
            "instance is missing.",
        )
    ]
    if instances > 1:
        alerts.append(
            AlertRule(
                alert="CloudNativePGReplicationBroken",
                expr=f"(max(cnpg_pg_replication_streaming_replicas{{{job}}}) or on () vector(0)) < {instances - 1}",
                for_="10m",
                summary=f"the primary of {CLUSTER} streams to {{{{ $value }}}} of its {instances - 1} replicas",
                description="A replica is down or cannot follow the primary; check the instance pods' logs.",
            )
        )
    if backups_enabled(ctx):
        # barman_cloud_cloudnative_pg_io_last_available_backup_timestamp: plugin-barman-cloud docs,
        # 'Observability' (exported by the instance manager, superseding the in-core cnpg_collector_* ones).
        late = cron_period_hours(settings.backup_schedule) + 2  # type: ignore[attr-defined]
        alerts.append(
            AlertRule(
                alert="CloudNativePGBackupLate",
                expr=f"time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{{{job}}}) "
                f"> {late} * 3600",
                for_="15m",
                severity="critical",
                summary=f"{CLUSTER} has had no successful base backup for over {late} hours",
                description=f"kubectl -n {ctx.namespace} get backups; the plugin-barman-cloud sidecar logs say why.",
            )
        )
        if settings.drill:  # type: ignore[attr-defined]
            alerts.append(
                late_alert(
                    "CloudNativePGRestoreDrillLate",
                    namespace=ctx.namespace,
                    cronjob=f'="{DRILL}"',
                    schedule=settings.drill_schedule,  # type: ignore[attr-defined]
                    what=f"the restore drill of {CLUSTER}",
                    description=f"The drill Job's logs say which step failed; {DRILL} is left for inspection.",
                )
            )
    return alerts


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    return [
        MetricsTarget(name="cluster", pods=INSTANCE_PODS, port=9187, alerts=tuple(_cluster_alerts(ctx))),
        MetricsTarget(name="operator", pods=OPERATOR_PODS, port=8080),
    ]


@hookimpl
def ink_network() -> list[NetworkRule]:
    operator = {"app.kubernetes.io/name": "cloudnative-pg"}
    return [
        # The operator's <cluster>-rw Service selects the primary; the primary moves on failover, so every
        # instance of the cluster (label cnpg.io/cluster) may be the target.
        ChartService(
            name=f"{CLUSTER}-rw",
            pods={"cnpg.io/cluster": CLUSTER},
            ports={PORT: PORT},
            source="CloudNativePG docs, 'Service management' and 'Labels and annotations' (cnpg.io/cluster)",
        ),
        # CloudNativePG docs, 'Networking': the operator and the instance managers talk to the API server,
        # the API server calls the operator's webhook on 9443; the operator reaches the instances on 8000
        # (same namespace here).
        KubeApi(reason="the operator and every instance manager watch their resources"),
        Inbound(ports=(9443,), source="api-server", pods=operator, reason="the operator's admission webhooks"),
    ]
