"""The Velero install (official chart), its BackupStorageLocation on the S3 bucket, and one Schedule.

Upstream facts: a ``Backup`` has no schedule; a ``Schedule`` (``velero.io/v1``) has ``spec.schedule``
and a Backup ``template`` (velero.io docs, api-types/schedule). The AWS plugin reads
``config.region`` / ``s3ForcePathStyle`` / ``s3Url`` and a credentials file from
``spec.credential`` (velero-plugin-for-aws README). File-system backup needs the node agent
(chart ``deployNodeAgent``) and the pod annotation ``backup.velero.io/backup-volumes``.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import BackupTarget
from ink.podsecurity import restricted_container_context, restricted_pod_context
from ink_plugin_velero import BUCKET, CREDENTIALS_KEY, CREDENTIALS_SECRET

CHART_REPO = "https://vmware-tanzu.github.io/helm-charts"
# The server, its plugin init container and the CRD upgrade Job meet Pod Security "restricted": non-root,
# no privilege escalation, no capabilities, RuntimeDefault seccomp. The image's user is the name `cnb`
# (paketobuildpacks/run-jammy-tiny, velero's Dockerfile), which the kubelet cannot check against
# runAsNonRoot, so the pod gets a numeric one; 65532 is the distroless `nonroot` user the plugin images use.
NON_ROOT = 65532
POD_SECURITY_CONTEXT = restricted_pod_context(NON_ROOT)  # fsGroup: the plugins' and scratch emptyDirs
# Read-only root: the chart then mounts an emptyDir at /tmp (templates/deployment.yaml).
CONTAINER_SECURITY_CONTEXT = restricted_container_context()
LOCATION = "default"
SCHEDULE = "declared-volumes"


def velero(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    bucket = ctx.bucket(BUCKET)
    kube.helm_application(
        scope,
        ctx=ctx,
        release="velero",
        repo_url=CHART_REPO,
        chart="velero",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=settings.chart_version,  # type: ignore[attr-defined]
        values={
            "image": {
                "repository": "docker.io/velero/velero",
                "tag": settings.image_tag,  # type: ignore[attr-defined]
                "pullPolicy": "IfNotPresent",
            },
            "initContainers": [
                {
                    "name": "velero-plugin-for-aws",
                    "image": f"docker.io/velero/velero-plugin-for-aws:{settings.aws_plugin_tag}",  # type: ignore[attr-defined]
                    "imagePullPolicy": "IfNotPresent",
                    "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
                    "securityContext": CONTAINER_SECURITY_CONTEXT,
                    # It copies the plugin binary into the emptyDir and exits.
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                }
            ],
            # The CRD upgrade Job (`velero install --crds-only --apply`), which the chart leaves unsized.
            "upgradeJobResources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            # Server and CRD upgrade Job (both read these two keys): restricted. The node agent has its own
            # keys (nodeAgent.podSecurityContext: runAsUser 0) and stays as upstream needs it (see the README).
            "podSecurityContext": POD_SECURITY_CONTEXT,
            "containerSecurityContext": CONTAINER_SECURITY_CONTEXT,
            # The BackupStorageLocation below carries its own credential; no chart-made secret.
            "credentials": {"useSecret": False},
            # ink emits the location and the schedule itself; the chart makes neither.
            "backupsEnabled": False,
            "snapshotsEnabled": False,
            "configuration": {
                "backupStorageLocation": [],
                "volumeSnapshotLocation": [],
                "uploaderType": "kopia",
                "defaultVolumesToFsBackup": False,
            },
            "deployNodeAgent": True,
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "nodeAgent": {
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            },
        },
        sync_wave=-10,
    )
    kube.api_object(
        scope,
        "location",
        {
            "apiVersion": "velero.io/v1",
            "kind": "BackupStorageLocation",
            "metadata": {"name": LOCATION, "namespace": ctx.namespace, "labels": ctx.labels("backup")},
            "spec": {
                "provider": "aws",
                "default": True,
                "accessMode": "ReadWrite",
                "objectStorage": {"bucket": bucket.bucket},
                "config": {
                    "region": bucket.region,  # required whenever s3Url is set
                    "s3ForcePathStyle": "true" if bucket.path_style else "false",
                    "s3Url": bucket.endpoint,
                },
                "credential": {"name": CREDENTIALS_SECRET, "key": CREDENTIALS_KEY},
            },
        },
    )
    targets = [need for need, _ in ctx.served if isinstance(need, BackupTarget)]
    namespaces = sorted({target.namespace for target in targets})
    if not namespaces:
        # An empty includedNamespaces means *every* namespace to Velero: no targets, no schedule.
        return
    kube.api_object(
        scope,
        "schedule",
        {
            "apiVersion": "velero.io/v1",
            "kind": "Schedule",
            "metadata": {"name": SCHEDULE, "namespace": ctx.namespace, "labels": ctx.labels("backup")},
            "spec": {
                "schedule": settings.schedule,  # type: ignore[attr-defined]
                "useOwnerReferencesInBackup": False,
                "template": {
                    "ttl": settings.ttl,  # type: ignore[attr-defined]
                    "includedNamespaces": namespaces,
                    "storageLocation": LOCATION,
                    # Only the pod volumes named in backup.velero.io/backup-volumes (the targets).
                    "defaultVolumesToFsBackup": False,
                    "snapshotVolumes": False,
                },
            },
        },
    )
