"""ink plugin: Longhorn.

Installs Longhorn from its official chart with the ``longhorn`` StorageClass configured through the
chart (3 replicas, Retain), recurring snapshot and backup jobs for the ``default`` group, and the
backup target on a bucket claimed from the S3 provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ink import hookimpl
from ink.cluster import nfs_client
from ink.models import (
    BucketClaim,
    ClusterRequirements,
    Inbound,
    K3sDisable,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    NodePackage,
    SecretClaim,
    ServiceInfo,
)
from ink.podsecurity import HostPath, Privileged, RunAsRoot
from ink.settings import Cron, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

VERSION = "v1.11.3"
# renovate: datasource=helm depName=longhorn registryUrl=https://charts.longhorn.io
CHART_VERSION = "1.11.3"
NAMESPACE = "longhorn-system"
BUCKET = "longhorn"
CREDENTIALS_SECRET = "longhorn-backup-target"


class LonghornSettings(PluginSettings):
    chart_version: str = Field(default=CHART_VERSION, description="Version of the longhorn Helm chart.")
    replicas: int = Field(
        default=3, ge=1, le=7, description="Replicas of every volume (StorageClass numberOfReplicas); 1 on one node."
    )
    default_class: bool = Field(default=True, description="Make the longhorn StorageClass the cluster default.")
    reclaim_policy: Literal["Retain", "Delete"] = Field(
        default="Retain", description="What happens to a volume when its claim is deleted."
    )
    snapshot_schedule: Cron = Field(default="0 1 * * *", description="Daily snapshot of every volume (cron).")
    snapshot_retain: int = Field(default=7, ge=1, le=250, description="Snapshots kept per volume.")
    backup_schedule: Cron = Field(default="0 2 * * *", description="Daily backup to S3 of every volume (cron).")
    backup_retain: int = Field(default=14, ge=1, le=250, description="Backups kept per volume.")
    backup_poll_interval: str = Field(
        default="300s", pattern=r"^[0-9]+(s|m|h)$", description="How often Longhorn lists the backup target."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="longhorn",
        title="Longhorn",
        version=VERSION,
        homepage="https://longhorn.io",
        description="Replicated block storage; snapshots and backups to S3.",
        namespace=NAMESPACE,
        settings_model=LonghornSettings,
        # Reasons from the chart's templates (daemonset-sa.yaml, deployment-driver.yaml); the instance managers
        # and the CSI plugin that longhorn-manager starts at run time need the same.
        exemptions=(
            Privileged(reason="longhorn-manager and its instance managers attach block devices and run iSCSI"),
            HostPath(
                paths=("/boot", "/dev", "/proc", "/etc", "/var/lib/longhorn"),
                reason="longhorn-manager keeps replicas under /var/lib/longhorn and checks the node's kernel "
                "modules and devices",
            ),
            RunAsRoot(reason="longhorn-driver-deployer runs as user 0 (chart deployment-driver.yaml)"),
        ),
    )


@hookimpl
def ink_bucket_claims() -> list[BucketClaim]:
    return [BucketClaim(bucket=BUCKET)]


@hookimpl
def ink_binding_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    bucket = ctx.bucket(BUCKET)
    key_id, key = bucket.key_pair("Longhorn's backup credentials")
    return [
        SecretClaim(
            name=CREDENTIALS_SECRET,
            data={
                "AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": key,
                "AWS_ENDPOINTS": bucket.endpoint,
                "VIRTUAL_HOSTED_STYLE": "false" if bucket.path_style else "true",
            },
        )
    ]


# values.yaml image.longhorn.* and image.csi.* of chart 1.11.3 (no registry: Docker Hub): the manager, UI and
# share-manager pods, and what the manager and the driver deployer start (--engine-image, CSI_*_IMAGE, ...).
CHART_IMAGES = tuple(
    f"docker.io/longhornio/{image}"
    for image in (
        "longhorn-manager:v1.11.3",
        "longhorn-ui:v1.11.3",
        "longhorn-engine:v1.11.3",
        "longhorn-instance-manager:v1.11.3",
        "longhorn-share-manager:v1.11.3",
        "backing-image-manager:v1.11.3",
        "support-bundle-kit:v0.0.88",
        "csi-attacher:v4.12.0",
        "csi-provisioner:v6.3.0",
        "csi-node-driver-registrar:v2.17.0",
        "csi-resizer:v2.2.0",
        "csi-snapshotter:v8.6.0",
        "livenessprobe:v2.19.0",
    )
)


@hookimpl
def ink_images() -> list[str]:
    return list(CHART_IMAGES)


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_longhorn.construct import longhorn

    longhorn(scope, ctx=ctx)


@hookimpl
def ink_cluster_requirements(ctx: ServiceContext) -> ClusterRequirements:
    # Installation requirements: https://longhorn.io/docs/1.11.1/deploy/install/
    packages = (
        NodePackage(
            debian="open-iscsi",
            rhel="iscsi-initiator-utils",
            reason="Longhorn attaches every volume through the host's iscsiadm; iscsid must be running",
        ),
        nfs_client("Longhorn's ReadWriteMany volumes are NFSv4 shares mounted on the host"),
    )
    disable = ()
    if ctx.settings.default_class:
        # k3s's local-path StorageClass is a default class too: claims without a class would land on either.
        reason = "the longhorn StorageClass is the cluster default (default_class); local-path would be a second"
        disable = (K3sDisable(component="local-storage", reason=reason),)
    return ClusterRequirements(k3s_disable=disable, node_packages=packages)


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # longhorn-manager serves /metrics on its API port 9500 (Longhorn docs, 'Monitoring > Prometheus and Grafana';
    # chart templates/daemonset-sa.yaml: the DaemonSet's pods are labelled app: longhorn-manager).
    return [MetricsTarget(name="manager", pods={"app": "longhorn-manager"}, port=9500)]


@hookimpl
def ink_network() -> list[NetworkRule]:
    # Longhorn's managers, engines, replicas and CSI pods talk to each other inside longhorn-system
    # (allowed: one namespace); the manager serves the admission webhook on 9502 (chart: Service
    # longhorn-admission-webhook → container port admission-wh).
    return [
        KubeApi(reason="the manager, the CSI components and the driver deployer manage volumes"),
        Inbound(ports=(9502,), source="api-server", pods={"app": "longhorn-manager"}, reason="the admission webhook"),
    ]
