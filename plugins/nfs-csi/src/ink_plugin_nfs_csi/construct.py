"""The driver install (official chart) and the StorageClass.

Upstream facts (kubernetes-csi/csi-driver-nfs: charts/v4.13.4/csi-driver-nfs/{Chart.yaml,values.yaml},
docs/driver-parameters.md, deploy/example/storageclass-nfs.yaml): driver name ``nfs.csi.k8s.io``;
StorageClass parameters ``server`` and ``share`` (required); ``mountOptions`` such as
``nfsvers=4.1``; the chart creates no StorageClass unless ``storageClass.create``.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink_plugin_nfs_csi import DRIVER

CHART_REPO = "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts"


def nfs_csi(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    kube.helm_application(
        scope,
        ctx=ctx,
        name="csi-driver-nfs",
        repo_url=CHART_REPO,
        chart="csi-driver-nfs",
        cluster_kinds=(
            "ClusterRole",
            "ClusterRoleBinding",
            "CSIDriver",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=settings.chart_version,  # type: ignore[attr-defined]
        values={
            "driver": {"name": DRIVER},
            # ink emits the StorageClass itself (below), with the share from ink.toml.
            "storageClass": {"create": False},
            "controller": {"replicas": 1},
        },
        sync_wave=-10,
    )
    kube.api_object(
        scope,
        "storage-class",
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": settings.storage_class,  # type: ignore[attr-defined]
                "labels": ctx.labels("storage"),
                "annotations": {
                    "storageclass.kubernetes.io/is-default-class": str(settings.default_class).lower()  # type: ignore[attr-defined]
                },
            },
            "provisioner": DRIVER,
            "parameters": {"server": settings.server, "share": settings.share},  # type: ignore[attr-defined]
            "reclaimPolicy": settings.reclaim_policy,  # type: ignore[attr-defined]
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
            "mountOptions": list(settings.mount_options),  # type: ignore[attr-defined]
        },
    )
