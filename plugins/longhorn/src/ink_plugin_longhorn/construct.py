"""The Longhorn install (official chart), recurring jobs and the S3 backup target.

Upstream facts:
- The ``longhorn`` StorageClass is owned by longhorn-manager: it is rebuilt from the chart's
  ConfigMap ``longhorn-storageclass``, and a StorageClass applied beside it is reverted
  (longhorn/longhorn#2119, #9391; longhorn-manager#738). So it is configured through the chart's
  ``persistence`` values, not emitted as a separate object.
- Since 1.8 the backup target is a ``BackupTarget`` resource (``default`` is created by Longhorn);
  1.11 removed the ``backup-target`` settings. Its credential Secret needs ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY`` and ``AWS_ENDPOINTS`` (plus ``VIRTUAL_HOSTED_STYLE`` for path style).
- ``RecurringJob`` (``longhorn.io/v1beta2``): ``name, cron, task, groups, retain, concurrency``;
  the ``default`` group covers every volume that has no recurring job of its own.
- With Argo CD the chart's pre-upgrade hook must be off (``preUpgradeChecker.jobEnabled: false``).
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink_plugin_longhorn import BUCKET, CREDENTIALS_SECRET

CHART_REPO = "https://charts.longhorn.io"
GROUP = "default"


def longhorn(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    bucket = ctx.bucket(BUCKET)
    replicas = settings.replicas  # type: ignore[attr-defined]
    kube.helm_application(
        scope,
        ctx=ctx,
        release="longhorn",
        repo_url=CHART_REPO,
        chart="longhorn",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "PriorityClass",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=settings.chart_version,  # type: ignore[attr-defined]
        values={
            "preUpgradeChecker": {"jobEnabled": False},
            "persistence": {
                "defaultClass": settings.default_class,  # type: ignore[attr-defined]
                "defaultClassReplicaCount": replicas,
                "reclaimPolicy": settings.reclaim_policy,  # type: ignore[attr-defined]
                "defaultFsType": "ext4",
            },
            "defaultSettings": {"defaultReplicaCount": replicas},
        },
        sync_wave=-10,
    )
    for name, task, cron, retain in (
        ("daily-snapshot", "snapshot", settings.snapshot_schedule, settings.snapshot_retain),  # type: ignore[attr-defined]
        ("daily-backup", "backup", settings.backup_schedule, settings.backup_retain),  # type: ignore[attr-defined]
    ):
        kube.api_object(
            scope,
            f"recurring-{name}",
            {
                "apiVersion": "longhorn.io/v1beta2",
                "kind": "RecurringJob",
                "metadata": {"name": name, "namespace": ctx.namespace, "labels": ctx.labels("backup")},
                "spec": {
                    "name": name,
                    "task": task,
                    "cron": cron,
                    "retain": retain,
                    "concurrency": 2,
                    "groups": [GROUP],
                    "labels": {},
                },
            },
        )
    kube.api_object(
        scope,
        "backup-target",
        {
            "apiVersion": "longhorn.io/v1beta2",
            "kind": "BackupTarget",
            # Longhorn creates "default" itself; this sets its URL and credentials.
            "metadata": {"name": "default", "namespace": ctx.namespace, "labels": ctx.labels("backup")},
            "spec": {
                "backupTargetURL": f"s3://{bucket.bucket}@{bucket.region}/",
                "credentialSecret": CREDENTIALS_SECRET,
                "pollInterval": settings.backup_poll_interval,  # type: ignore[attr-defined]
            },
        },
    )
