"""ink plugin: Velero.

Provides ``backup``: one daily ``Schedule`` that backs up every namespace that declared backup
targets, with file-system backup (node agent, kopia) of exactly the pod volumes the targets name.
Backups go to a bucket claimed from the S3 provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from ink import hookimpl
from ink.models import (
    BackupBinding,
    BackupTarget,
    BucketClaim,
    Capability,
    SecretClaim,
    SecretTemplate,
    ServiceInfo,
)
from ink.podsecurity import HostPath, RunAsRoot
from ink.settings import Cron, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

VERSION = "v1.18.4"
CHART_VERSION = "12.2.0"
AWS_PLUGIN_VERSION = "v1.14.4"
BUCKET = "velero"
CREDENTIALS_SECRET = "velero-s3-credentials"
CREDENTIALS_KEY = "cloud"
METHOD = "velero file-system backup"

# A Go duration as Velero's ttl reads it, e.g. "720h" or "720h0m0s".
Duration = Annotated[str, Field(pattern=r"^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$")]
Tag = Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$")]


class VeleroSettings(PluginSettings):
    schedule: Cron = Field(default="0 3 * * *", description="When the daily backup runs (5-field cron, cluster time).")
    ttl: Duration = Field(default="720h", description="How long each backup is kept (Go duration; 720h = 30 days).")
    chart_version: str = Field(default=CHART_VERSION, description="Version of the velero Helm chart.")
    image_tag: Tag = Field(default=VERSION, description="Tag of docker.io/velero/velero (server and node agent).")
    aws_plugin_tag: Tag = Field(
        default=AWS_PLUGIN_VERSION,
        description="Tag of docker.io/velero/velero-plugin-for-aws, the S3 object-store plugin "
        "(v1.14.x goes with Velero 1.18).",
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="velero",
        title="Velero",
        version=VERSION,
        homepage="https://velero.io",
        description="Backs up the namespaces and volumes services declare, daily, into S3.",
        settings_model=VeleroSettings,
        provides=(Capability.BACKUP,),
        # Only the node agent (and the per-volume backup pods Velero starts in its own namespace) need more
        # than restricted; the server runs restricted. Why they share a namespace: README, "Pod Security".
        exemptions=(
            HostPath(
                paths=("/var/lib/kubelet/pods", "/var/lib/kubelet/plugins"),
                reason="the node agent reads every pod's volumes from the node to back them up (file-system "
                "backup); Velero requires it in the server's namespace and starts its backup pods there too",
            ),
            RunAsRoot(reason="the node agent reads volume files owned by any user (chart: nodeAgent runAsUser 0)"),
        ),
    )


@hookimpl
def ink_bucket_claims() -> list[BucketClaim]:
    return [BucketClaim(bucket=BUCKET)]


@hookimpl
def ink_binding_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    bucket = ctx.bucket(BUCKET)
    key_id, key = bucket.key_pair("Velero's credentials file")
    return [
        SecretClaim(
            name=CREDENTIALS_SECRET,
            data={
                # An AWS shared credentials file: what the BackupStorageLocation's credential points at.
                CREDENTIALS_KEY: SecretTemplate(
                    template="[default]\naws_access_key_id={key_id}\naws_secret_access_key={key}\n",
                    values={"key_id": key_id, "key": key},
                )
            },
        )
    ]


@hookimpl
def ink_provide_backup(target: BackupTarget, ctx: ServiceContext) -> BackupBinding:
    settings = ctx.settings
    annotations = {"backup.velero.io/backup-volumes": target.pod_volume} if target.pod_volume else {}
    if not target.pod_volume:
        ctx.warn(
            f"{target.owner}'s backup target {target.volume} names no pod volume: its namespace is backed up, "
            "but not the volume's files (set BackupTarget.pod_volume)"
        )
    return BackupBinding(
        schedule=settings.schedule,  # type: ignore[attr-defined]
        ttl=settings.ttl,  # type: ignore[attr-defined]
        method=METHOD,
        pod_annotations=annotations,
    )


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_velero.construct import velero

    velero(scope, ctx=ctx)
