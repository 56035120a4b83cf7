"""The operator install, the shared Cluster, one Database per claim, and the cluster's backups.

Backups (upstream: cloudnative-pg/plugin-barman-cloud docs, usage and installation; CloudNativePG
1.30 ScheduledBackup API): in-tree ``spec.backup.barmanObjectStore`` is deprecated since 1.26, so
the Barman Cloud plugin is installed from its official chart into the operator's namespace (it
needs cert-manager for its TLS certificates). An ``ObjectStore`` holds the S3 location and
credentials and the retention; the Cluster names it in ``spec.plugins`` as its WAL archiver; a
``ScheduledBackup`` with ``method: plugin`` takes the base backups. ScheduledBackup's cron has a
seconds field (6 fields), unlike Kubernetes CronJobs.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import INTERNAL_CA_ISSUER, DatabaseClaim
from ink_plugin_cloudnativepg import (
    BACKUP_BUCKET,
    BARMAN_PLUGIN,
    CLUSTER,
    OBJECT_STORE,
    SERVER_CERTIFICATE,
    ca_secret_name,
    password_secret_name,
    tls_enabled,
)

CHART_REPO = "https://cloudnative-pg.github.io/charts"


def postgres(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    kube.helm_application(
        scope,
        ctx=ctx,
        name="cloudnative-pg-operator",
        repo_url=CHART_REPO,
        chart="cloudnative-pg",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=ctx.setting("chart_version"),
        values={"fullnameOverride": "cnpg-operator"},
        sync_wave=-20,
    )
    # The bucket claim is optional: with no S3 provider enabled it has no binding (core warned).
    backups = bool(ctx.setting("backups")) and ctx.bindings.get(f"s3/{BACKUP_BUCKET}") is not None
    if backups:
        barman_cloud(scope, ctx=ctx)
    claims = sorted((need for need, _ in ctx.served if isinstance(need, DatabaseClaim)), key=lambda c: c.name)
    tls = tls_enabled(ctx)
    # CloudNativePG docs, 'Certificates' → 'User-provided server certificate' (with a cert-manager example):
    # serverTLSSecret is a kubernetes.io/tls Secret, serverCASecret needs only ca.crt when serverTLSSecret
    # is given; cert-manager's Secret has all three keys, so it serves as both.
    certificates = {"serverTLSSecret": SERVER_CERTIFICATE, "serverCASecret": SERVER_CERTIFICATE} if tls else {}
    storage: dict[str, str] = {"size": ctx.setting("storage_size")}
    storage_class = ctx.setting("storage_class") or ctx.config.storage_class
    if storage_class:
        storage["storageClass"] = storage_class
    kube.api_object(
        scope,
        "cluster",
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {
                "name": CLUSTER,
                "namespace": ctx.namespace,
                "labels": ctx.labels("database"),
                "annotations": kube.KEEP_ANNOTATIONS,
            },
            "spec": {
                "instances": ctx.setting("instances"),
                "imageName": ctx.setting("image"),
                "storage": storage,
                "enableSuperuserAccess": False,
                "affinity": {"podAntiAffinityType": "preferred"},
                **({"certificates": certificates} if certificates else {}),
                "managed": {
                    "roles": [
                        {
                            "name": claim.name,
                            "ensure": "present",
                            "login": True,
                            "passwordSecret": {"name": password_secret_name(claim.name)},
                        }
                        for claim in claims
                    ]
                },
                **(
                    {
                        "plugins": [
                            {
                                "name": BARMAN_PLUGIN,
                                "isWALArchiver": True,
                                "parameters": {"barmanObjectName": OBJECT_STORE},
                            }
                        ]
                    }
                    if backups
                    else {}
                ),
            },
        },
    )
    for claim in claims:
        if tls:
            consumer_ca(scope, claim=claim, ctx=ctx)
        spec = {
            "name": claim.name,
            "owner": claim.name,
            "cluster": {"name": CLUSTER},
            "ensure": "present",
            # Removing a service from ink.toml must never drop its data.
            "databaseReclaimPolicy": "retain",
        }
        if claim.extensions:
            spec["extensions"] = [{"name": ext, "ensure": "present"} for ext in claim.extensions]
        kube.api_object(
            scope,
            f"database-{claim.name}",
            {
                "apiVersion": "postgresql.cnpg.io/v1",
                "kind": "Database",
                "metadata": {
                    "name": f"{CLUSTER}-{claim.name}",
                    "namespace": ctx.namespace,
                    "labels": ctx.labels("database"),
                    "annotations": kube.KEEP_ANNOTATIONS,
                },
                "spec": spec,
            },
        )


def consumer_ca(scope: kube.Construct, *, claim: DatabaseClaim, ctx: ServiceContext) -> None:
    """The in-cluster CA in the consumer's namespace, as ``ca.crt`` of a certificate for its role.

    CloudNativePG's CA Secret is made at run time in this namespace, so synth cannot copy it; a
    cert-manager Certificate from the same CA issuer, in the consumer's namespace, carries that CA
    as ``ca.crt`` (cert-manager docs, 'CA' issuer). Its tls.crt/tls.key (CN = the role, client
    auth) are not used: the role logs in with its password.
    """
    kube.api_object(
        scope,
        f"ca-{claim.name}",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {
                "name": ca_secret_name(claim.name),
                "namespace": claim.namespace,
                "labels": ctx.labels("database"),
            },
            "spec": {
                "secretName": ca_secret_name(claim.name),
                "commonName": claim.name,
                "usages": ["client auth"],
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": INTERNAL_CA_ISSUER},
            },
        },
    )


def barman_cloud(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """The Barman Cloud plugin, the ObjectStore on the claimed bucket, and the daily base backup."""
    bucket = ctx.bucket(BACKUP_BUCKET)
    kube.helm_application(
        scope,
        ctx=ctx,
        name="plugin-barman-cloud",
        repo_url=CHART_REPO,
        chart="plugin-barman-cloud",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=ctx.setting("barman_chart_version"),
        values={},
        sync_wave=-19,  # after the operator (and its CRDs), before the cluster uses it
    )
    kube.api_object(
        scope,
        "object-store",
        {
            "apiVersion": "barmancloud.cnpg.io/v1",
            "kind": "ObjectStore",
            "metadata": {"name": OBJECT_STORE, "namespace": ctx.namespace, "labels": ctx.labels("backup")},
            "spec": {
                "configuration": {
                    # Barman adds the server name (the cluster's) below this path.
                    "destinationPath": f"s3://{bucket.bucket}/",
                    "endpointURL": bucket.endpoint,
                    "s3Credentials": {
                        "accessKeyId": {"name": bucket.access_key_id.name, "key": bucket.access_key_id.key},
                        "secretAccessKey": {
                            "name": bucket.secret_access_key.name,
                            "key": bucket.secret_access_key.key,
                        },
                    },
                    "wal": {"compression": "gzip"},
                },
                "retentionPolicy": ctx.setting("backup_retention"),
            },
        },
    )
    kube.api_object(
        scope,
        "scheduled-backup",
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "ScheduledBackup",
            "metadata": {"name": f"{CLUSTER}-daily", "namespace": ctx.namespace, "labels": ctx.labels("backup")},
            "spec": {
                "schedule": ctx.setting("backup_schedule"),
                "cluster": {"name": CLUSTER},
                "method": "plugin",
                "pluginConfiguration": {"name": BARMAN_PLUGIN},
                "backupOwnerReference": "self",
                # A base backup right away, so point-in-time recovery works before the first 02:00.
                "immediate": True,
            },
        },
    )
