"""ink plugin: Velero.

Provides ``backup``: one daily ``Schedule`` that backs up every namespace that declared backup
targets, with file-system backup (node agent, kopia) of exactly the pod volumes the targets name.
Backups go to a bucket claimed from the S3 provider. A weekly restore drill per namespace restores
the latest backup into a sealed scratch namespace and checks every volume came back (see drill.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, field_validator

from ink import hookimpl
from ink.drill import late_alert
from ink.errors import UserError
from ink.models import (
    AlertRule,
    BackupBinding,
    BackupTarget,
    BucketClaim,
    Capability,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    OwnedNamespace,
    SecretClaim,
    SecretTemplate,
    ServiceInfo,
)
from ink.podsecurity import HostPath, RunAsRoot
from ink.settings import Cron, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/velero/velero
VERSION = "v1.18.4"
# renovate: datasource=helm depName=velero registryUrl=https://vmware-tanzu.github.io/helm-charts
CHART_VERSION = "12.2.0"
# renovate: datasource=docker depName=docker.io/velero/velero-plugin-for-aws
AWS_PLUGIN_VERSION = "v1.14.4"
BUCKET = "velero"
CREDENTIALS_SECRET = "velero-s3-credentials"
CREDENTIALS_KEY = "cloud"
METHOD = "velero file-system backup"

# A Go duration as Velero's ttl reads it, e.g. "720h" or "720h0m0s".
Duration = Annotated[str, Field(pattern=r"^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$")]
Tag = Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$")]
# A namespace to drill: a DNS label short enough for the CronJob `drill-<namespace>` (CronJob names are at most
# 52 characters: the Job controller appends 11) and the scratch namespace `drill-<namespace>`.
DRILL_PREFIX = "drill-"
DrillNamespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=52 - len(DRILL_PREFIX))]


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
    drill: bool = Field(
        default=True,
        description="Restore drills: on drill_schedule a CronJob per drilled namespace restores its latest completed "
        "backup into the scratch namespace drill-<namespace>, checks every backed-up volume is there and not empty, "
        "records the result and cleans up. false: no drills.",
    )
    drill_namespaces: list[DrillNamespace] | None = Field(
        default=None,
        description="Which namespaces are drilled: unset = every namespace with backup targets that name a pod "
        "volume; a list = only those (each must have such targets); [] = none.",
    )
    drill_schedule: Cron = Field(
        default="0 5 * * 0",
        description="When the first namespace's drill runs (5-field cron, global timezone; Sundays 05:00, after the "
        "03:00 backup); each next namespace, in name order, starts drill_spacing minutes later. Minute and hour must "
        "be plain numbers.",
    )
    drill_spacing: int = Field(
        default=30, ge=1, le=720, description="Minutes between the drills of two namespaces (they never overlap)."
    )

    @field_validator("drill_schedule")
    @classmethod
    def _plain_start(cls, value: str) -> str:
        minute, hour = value.split()[:2]
        if not (minute.isdigit() and hour.isdigit()):
            raise ValueError(
                f"minute and hour must be plain numbers (e.g. '0 5 * * 0'), not {minute!r} {hour!r}: each "
                "namespace's drill starts drill_spacing minutes after the previous one"
            )
        return value

    @field_validator("drill_namespaces")
    @classmethod
    def _no_repeats(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            repeated = sorted({n for n in value if value.count(n) > 1})
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return value


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
    drill = next((d for d in drills(ctx) if d.namespace == target.namespace), None)
    return BackupBinding(
        schedule=settings.schedule,  # type: ignore[attr-defined]
        ttl=settings.ttl,  # type: ignore[attr-defined]
        method=METHOD,
        pod_annotations=annotations,
        drill_schedule=drill.schedule if drill and target.pod_volume else "",
        drill_result=f"ConfigMap {ctx.namespace}/{drill.result}" if drill and target.pod_volume else "",
    )


@dataclass(frozen=True)
class Drill:
    """The restore drill of one backed-up namespace."""

    namespace: str
    schedule: str
    targets: tuple[BackupTarget, ...]  # its targets that name a pod volume: the volumes a restore brings back

    @property
    def name(self) -> str:
        """The CronJob, the Restore and the scratch namespace."""
        return f"{DRILL_PREFIX}{self.namespace}"

    @property
    def result(self) -> str:
        return f"{self.name}-result"

    @property
    def owners(self) -> tuple[str, ...]:
        return tuple(sorted({t.owner for t in self.targets}))


def drills(ctx: ServiceContext) -> list[Drill]:
    """Every drilled namespace in name order, each starting drill_spacing minutes after the one before.

    Read from every backup target of the run (``ctx.needs``), so the provide hook and the build phase agree;
    worked out once per run.
    """
    if "drills" not in ctx.cache:
        ctx.cache["drills"] = _drills(ctx)
    return ctx.cache["drills"]


def _drills(ctx: ServiceContext) -> list[Drill]:
    settings = ctx.settings
    if not settings.drill:  # type: ignore[attr-defined]
        return []
    targets: dict[str, list[BackupTarget]] = {}
    for need in ctx.needs:
        if isinstance(need, BackupTarget) and need.pod_volume:
            targets.setdefault(need.namespace, []).append(need)
    chosen = settings.drill_namespaces  # type: ignore[attr-defined]
    if chosen is None:
        chosen = sorted(ns for ns in targets if len(ns) <= 52 - len(DRILL_PREFIX))
        for namespace in sorted(set(targets) - set(chosen)):
            ctx.warn(f"namespace {namespace!r} is too long for a restore drill (drill-<namespace> is a CronJob name)")
    for namespace in chosen:
        if namespace not in targets:
            having = ", ".join(sorted(targets)) or "none"
            raise UserError(
                f"[plugins.velero] drill_namespaces lists {namespace!r}, which has no backup target with a pod "
                f"volume (namespaces that have: {having}); remove it"
            )
    minute, hour, *rest = settings.drill_schedule.split()  # type: ignore[attr-defined]
    start = int(hour) * 60 + int(minute)
    spacing = settings.drill_spacing  # type: ignore[attr-defined]
    result = []
    for index, namespace in enumerate(sorted(chosen)):
        at = start + index * spacing
        if at >= 24 * 60:
            raise UserError(
                f"[plugins.velero] the drill of {namespace!r} would start past midnight ({len(chosen)} namespaces, "
                f"drill_spacing = {spacing} minutes from {hour}:{int(minute):02d}); start drill_schedule earlier "
                "or lower drill_spacing"
            )
        schedule = " ".join([str(at % 60), str(at // 60), *rest])
        found = tuple(sorted(targets[namespace], key=lambda t: (t.owner, t.volume)))
        result.append(Drill(namespace, schedule, found))
    return result


@hookimpl
def ink_namespaces(ctx: ServiceContext) -> list[OwnedNamespace]:
    # The scratch namespace of each drill. Its Pod Security level is that of the services whose pods are restored
    # into it: a restored pod keeps its pod-level securityContext, and Velero's restore-wait init container copies
    # the first container's (pkg/restore/actions/pod_volume_restore_action.go).
    return [
        OwnedNamespace(
            name=drill.name,
            reason=f"velero restore drill of {drill.namespace}: restored copies, sealed, cleaned after each drill",
            pod_security_of=drill.owners,
        )
        for drill in drills(ctx)
    ]


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Server, node agent and CRD upgrade Job run velero with the tag ink passes; the AWS plugin is the init
    # container ink adds (construct: image, initContainers).
    settings = ctx.settings
    return [
        f"docker.io/velero/velero:{settings.image_tag}",  # type: ignore[attr-defined]
        f"docker.io/velero/velero-plugin-for-aws:{settings.aws_plugin_tag}",  # type: ignore[attr-defined]
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_velero.construct import velero
    from ink_plugin_velero.drill import drill_all

    velero(scope, ctx=ctx)
    drill_all(scope, ctx=ctx, drills=drills(ctx))


# The server's pods (chart templates/deployment.yaml: pod labels `name: velero` and app.kubernetes.io/name and
# instance = the release; `name` tells them from the node agent's and ink's drill pods, which share the other two),
# container port `http-monitoring` 8085, served whenever the chart's metrics.enabled, its default.
SERVER_PODS = {"name": "velero", "app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"}
METRICS_PORT = 8085
# A daily backup that last succeeded over 26 h ago missed a run (2 h of slack for a long backup).
BACKUP_LATE_HOURS = 26


def _alerts(ctx: ServiceContext) -> tuple[AlertRule, ...]:
    settings = ctx.settings
    # velero_backup_last_successful_timestamp{schedule}: pkg/metrics/metrics.go (backupLastSuccessfulTimestamp),
    # set by the backup controller on every Completed backup; backups of ink's Schedule carry its name.
    alerts = [
        AlertRule(
            alert="VeleroBackupLate",
            expr=f'time() - velero_backup_last_successful_timestamp{{schedule!=""}} > {BACKUP_LATE_HOURS} * 3600',
            for_="15m",
            severity="critical",
            summary="Velero schedule {{ $labels.schedule }} has had no successful backup for over "
            f"{BACKUP_LATE_HOURS} hours",
            description=f"Check `velero backup get` and the velero server logs; the schedule runs {settings.schedule}.",  # type: ignore[attr-defined]
        )
    ]
    if settings.drill:  # type: ignore[attr-defined]
        # Every drill CronJob (drill-<namespace>) has the day fields of drill_schedule, so one threshold fits all.
        alerts.append(
            late_alert(
                "VeleroRestoreDrillLate",
                namespace=ctx.namespace,
                cronjob=f'=~"{DRILL_PREFIX}.+"',
                schedule=settings.drill_schedule,  # type: ignore[attr-defined]
                what="Velero restore drill {{ $labels.cronjob }}",
                description="The drill's Job logs say which step failed; its scratch namespace is left for "
                "inspection (plugins/velero README, 'The restore drill').",
            )
        )
    return tuple(alerts)


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    return [MetricsTarget(name="server", pods=SERVER_PODS, port=METRICS_PORT, alerts=_alerts(ctx))]


@hookimpl
def ink_network() -> list[NetworkRule]:
    # The object store is reached through the s3 need's binding (its endpoint): no declaration for it here.
    return [KubeApi(reason="the server and the node agents read and write backups, restores and volumes")]
