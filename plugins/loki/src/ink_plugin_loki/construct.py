"""Loki from the grafana-community chart: one monolithic StatefulSet, its store on the claimed bucket.

Upstream facts (chart 18.11.0 values.yaml and templates; Loki docs "Install the monolithic Helm chart"):
``deploymentMode: Monolithic`` (the chart's name for SingleBinary) runs every target in one StatefulSet whose
Service is the release's full name; ``loki.storage`` with ``bucketNames`` fills ``common.storage`` and the
ruler's; ``loki.schemaConfig`` is empty by default and must be set; the bundled memcached caches, canary,
Helm test and nginx gateway are on by default. Loki expands ``${VAR}`` in its config with
``-config.expand-env=true`` (docs "Configuration: use environment variables").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ink import kube
from ink.context import ServiceContext
from ink.models import S3Binding
from ink_plugin_loki import BUCKET, LokiSettings

CHART_REPO = "https://grafana-community.github.io/helm-charts"
# Environment variables the config refers to; their values come from the binding's Secret.
KEY_ID_ENV = "LOKI_S3_ACCESS_KEY_ID"
SECRET_KEY_ENV = "LOKI_S3_SECRET_ACCESS_KEY"
# The schema of every chunk from this date on: TSDB index, schema v13, one index table per day (the
# chart's and the docs' recommended values; the date only has to be before the first log).
SCHEMA = {
    "from": "2024-04-01",
    "store": "tsdb",
    "object_store": "s3",
    "schema": "v13",
    "index": {"prefix": "index_", "period": "24h"},
}


def _storage(bucket: S3Binding) -> dict[str, Any]:
    """``loki.storage``: chunks and ruler in the claimed bucket, credentials by environment variable."""
    endpoint = urlsplit(bucket.endpoint)
    s3: dict[str, Any] = {
        # host:port; `insecure` chooses http (Loki's s3 client: endpoint plus insecure).
        "endpoint": endpoint.netloc,
        "region": bucket.region,
        "accessKeyId": f"${{{KEY_ID_ENV}}}",
        "secretAccessKey": f"${{{SECRET_KEY_ENV}}}",
        "s3ForcePathStyle": bucket.path_style,
        "insecure": endpoint.scheme != "https",
    }
    if bucket.ca is not None:
        s3["http_config"] = {"ca_file": f"{S3Binding.CA_DIR}/{bucket.ca.key}"}
    return {"type": "s3", "bucketNames": {"chunks": bucket.bucket, "ruler": bucket.bucket}, "s3": s3}


def _ca_volume(bucket: S3Binding) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The S3 provider's CA as a file, when the binding is TLS: (volumes, mounts)."""
    if bucket.ca is None:
        return [], []
    volume = {
        "name": S3Binding.CA_VOLUME,
        "secret": {"secretName": bucket.ca.name, "items": [{"key": bucket.ca.key, "path": bucket.ca.key}]},
    }
    mount = {"name": S3Binding.CA_VOLUME, "mountPath": S3Binding.CA_DIR, "readOnly": True}
    return [volume], [mount]


def loki(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: LokiSettings = ctx.settings  # type: ignore[assignment]
    bucket = ctx.bucket(BUCKET)
    volumes, mounts = _ca_volume(bucket)
    persistence: dict[str, Any] = {"enabled": True, "size": settings.storage_size}
    if storage_class := settings.storage_class or ctx.config.storage_class:
        persistence["storageClass"] = storage_class
    resources = settings.resources
    container_resources = resources.kubernetes()
    kube.helm_application(
        scope,
        ctx=ctx,
        release="loki",
        repo_url=CHART_REPO,
        chart="loki",
        version=settings.chart_version,
        # checked against the rendered chart (tests/test_charts.py)
        cluster_kinds=(),
        values={
            # A homelab writes far below the few tens of GB a day one binary handles; SimpleScalable (3 targets,
            # deprecated, gone in Loki 4) and Distributed are for more.
            "deploymentMode": "Monolithic",
            "loki": {
                "image": {"registry": "docker.io", "repository": "grafana/loki", "tag": settings.image_tag},
                # One tenant: only in-cluster agents and Grafana reach it (NetworkPolicies), there is no route.
                "auth_enabled": False,
                "commonConfig": {"replication_factor": 1},
                "schemaConfig": {"configs": [SCHEMA]},
                "storage": _storage(bucket),
                "compactor": {
                    "retention_enabled": True,
                    # Where delete requests are kept; required with retention (Loki 3 compactor).
                    "delete_request_store": "s3",
                },
                "limits_config": {"retention_period": settings.retention},
                # No usage reports to stats.grafana.org: the pod has no internet egress.
                "analytics": {"reporting_enabled": False},
            },
            "singleBinary": {
                "replicas": 1,
                "extraArgs": ["-config.expand-env=true"],
                "extraEnv": [
                    {
                        "name": KEY_ID_ENV,
                        "valueFrom": {
                            "secretKeyRef": {"name": bucket.access_key_id.name, "key": bucket.access_key_id.key}
                        },
                    },
                    {
                        "name": SECRET_KEY_ENV,
                        "valueFrom": {
                            "secretKeyRef": {
                                "name": bucket.secret_access_key.name,
                                "key": bucket.secret_access_key.key,
                            }
                        },
                    },
                ],
                "extraVolumes": volumes,
                "extraVolumeMounts": mounts,
                "resources": container_resources,
                # The write-ahead log and the TSDB head live under /var/loki until shipped to the bucket.
                "persistence": persistence,
                # The rules sidecar (k8s-sidecar) watches ConfigMaps for Loki alert rules; ink's alerts are
                # PrometheusRules, so neither it nor the ruler has anything to do.
                "sidecar": False,
            },
            "ruler": {"enabled": False},
            # The ClusterRole lets the rules sidecar read ConfigMaps of every namespace; no sidecar, so no ClusterRole.
            "rbac": {"namespaced": True},
            # The simple-scalable targets, which the chart sizes for SimpleScalable.
            "read": {"replicas": 0},
            "write": {"replicas": 0},
            "backend": {"replicas": 0},
            # memcached caches: two more StatefulSets (chunks cache asks for ~10 GiB of memory by default) for
            # query speed a homelab's volume does not need; Loki's embedded in-process caches remain.
            "chunksCache": {"enabled": False},
            "resultsCache": {"enabled": False},
            # The canary DaemonSet writes and queries synthetic logs, the Helm test needs it; Argo CD skips
            # Helm tests anyway. The nginx gateway routes between targets and adds auth: one target, no auth.
            "lokiCanary": {"enabled": False},
            "test": {"enabled": False},
            "gateway": {"enabled": False},
        },
        sync_wave=-5,
    )
