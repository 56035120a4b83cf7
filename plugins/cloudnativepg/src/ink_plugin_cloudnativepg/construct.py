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

import yaml

from ink import drill as drill_mod
from ink import kube, tls
from ink.context import ServiceContext
from ink.models import DatabaseClaim, SecretKeyRef
from ink.workload import Mount
from ink_plugin_cloudnativepg import (
    BACKUP_BUCKET,
    BARMAN_PLUGIN,
    CLUSTER,
    DRILL,
    DRILL_RESULT,
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
    # CloudNativePG already defaults wal_level to logical (pkg/postgres/configuration.go, GlobalDefaultSettings;
    # configurable since cloudnative-pg#4020): a claim that streams logical replication states it, so it holds
    # whatever the operator's default becomes.
    parameters = {"wal_level": "logical"} if any(c.logical_replication for c in claims) else {}
    if backups:
        barman_cloud(scope, ctx=ctx)
        if ctx.setting("drill"):
            drill(scope, ctx=ctx, databases=[claim.name for claim in claims], storage=storage)
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
                **({"postgresql": {"parameters": parameters}} if parameters else {}),
                "managed": {
                    "roles": [
                        {
                            "name": claim.role_name,
                            "ensure": "present",
                            "login": True,
                            # Logical replication slots and the walsender connection need the REPLICATION attribute.
                            **({"replication": True} if claim.logical_replication else {}),
                            "passwordSecret": {"name": password_secret_name(claim.role_name)},
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
        spec = {
            "name": claim.name,
            "owner": claim.role_name,
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
    """The in-cluster CA in the consumer's namespace (:func:`ink.tls.internal_ca`).

    CloudNativePG's CA Secret is made at run time in this namespace, so synth cannot copy it.
    """
    tls.internal_ca(
        scope,
        f"ca-{claim.name}",
        ctx=ctx,
        name=ca_secret_name(claim.name),
        namespace=claim.namespace,
        component="database",
        common_name=claim.role_name,  # the role's name, as CloudNativePG's client certificates have it
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
                    # plugin-barman-cloud ObjectStore API: endpointCA, a key of a Secret in this namespace,
                    # is the CA bundle barman-cloud verifies the endpoint with.
                    **({"endpointCA": {"name": bucket.ca.name, "key": bucket.ca.key}} if bucket.ca else {}),
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


# How long the recovery may take before the drill fails (kubectl wait --timeout): a base backup plus WAL replay.
DRILL_TIMEOUT = "3h"
# The PostgreSQL image's postgres user (cloudnative-pg/postgres-containers Dockerfile: uid 26).
POSTGRES_UID = 26


def drill_cluster(ctx: ServiceContext, storage: dict[str, str]) -> dict:
    """A one-instance Cluster recovered from the latest base backup plus the archived WAL.

    plugin-barman-cloud ``hack/examples/cluster-restore.yaml``: ``bootstrap.recovery.source`` names an
    ``externalClusters`` entry that reads the ObjectStore through the plugin; ``serverName`` is the
    backed-up cluster's name (Barman's folder in the bucket). The drill cluster archives nothing
    (no ``spec.plugins``), so it never writes into the bucket. Superuser access makes the operator
    generate ``<name>-superuser``, which the check logs in with.
    """
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": DRILL, "namespace": ctx.namespace, "labels": ctx.labels("drill")},
        "spec": {
            "instances": 1,
            "imageName": ctx.setting("image"),
            "storage": storage,
            "enableSuperuserAccess": True,
            "bootstrap": {"recovery": {"source": "origin"}},
            "externalClusters": [
                {
                    "name": "origin",
                    "plugin": {
                        "name": BARMAN_PLUGIN,
                        "parameters": {"barmanObjectName": OBJECT_STORE, "serverName": CLUSTER},
                    },
                }
            ],
        },
    }


# The check: every claimed database is in the restore and answers a query; then the result as a ConfigMap
# manifest for the next step to apply (that image has kubectl but no shell, this one a shell but no kubectl).
# A template for kube.render_template: $$ is a literal $.
CHECK_SCRIPT = """\
set -eu
checked=""
for db in $databases; do
  relations=$$(psql -d "$$db" -tAc "select count(*) from pg_class")
  echo "$$db: $$relations relations"
  checked="$$checked $$db=$$relations"
done
count=$$(psql -d postgres -tAc "select count(*) from pg_database")
"""


def _rbac(scope: kube.Construct, ctx: ServiceContext) -> None:
    """The drill's ServiceAccount may touch only the drill Cluster and the result ConfigMap."""
    meta = {"name": DRILL, "namespace": ctx.namespace, "labels": ctx.labels("drill")}
    kube.api_object(scope, "drill-serviceaccount", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    rules = [
        # create cannot be limited to a name (Kubernetes RBAC docs, "Referring to resources").
        {"apiGroups": ["postgresql.cnpg.io"], "resources": ["clusters"], "verbs": ["create"]},
        {
            "apiGroups": ["postgresql.cnpg.io"],
            "resources": ["clusters"],
            "resourceNames": [DRILL],
            "verbs": ["get", "list", "watch", "delete"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [DRILL_RESULT], "verbs": ["get", "patch"]},
    ]
    rbac = "rbac.authorization.k8s.io"
    kube.api_object(scope, "drill-role", {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": meta, "rules": rules})
    kube.api_object(
        scope,
        "drill-rolebinding",
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": DRILL},
            "subjects": [{"kind": "ServiceAccount", "name": DRILL, "namespace": ctx.namespace}],
        },
    )


def drill(scope: kube.Construct, *, ctx: ServiceContext, databases: list[str], storage: dict[str, str]) -> None:
    """The restore drill: a CronJob that recovers the backup into ``postgres-ha-drill`` and checks it.

    Init containers run one after another: delete a leftover drill cluster, create it, wait until it
    is Ready, query each claimed database, record ``postgres-ha-drill-result``; the main container then
    deletes the drill cluster. A failing step fails the Job and leaves the drill cluster for
    inspection; the next drill's first step removes it.
    """
    _rbac(scope, ctx)
    manifest = kube.ConfigFiles(
        name=f"{DRILL}-cluster",
        mount_path="/drill",
        files={"cluster.yaml": yaml.safe_dump(drill_cluster(ctx, storage), sort_keys=False)},
    )
    cluster = f"cluster.postgresql.cnpg.io/{DRILL}"

    def kubectl(name: str, *args: str, mounts: tuple[Mount, ...] = ()) -> kube.Container:
        return drill_mod.kubectl(name, ctx.namespace, *args, mounts=mounts)

    script = kube.render_template(CHECK_SCRIPT, {"databases": " ".join(databases)}) + drill_mod.result_script(
        DRILL_RESULT, ctx.namespace, {"databases": "$count", "checked": "${checked# }"}
    )
    check = kube.Container(
        name="check",
        image=ctx.setting("image"),
        command=["bash", "-c", script],
        env={
            "PGHOST": f"{DRILL}-rw",
            "PGUSER": "postgres",
            "PGPASSWORD": SecretKeyRef(name=f"{DRILL}-superuser", key="password"),
            "PGSSLMODE": "require",
        },
        mounts=(drill_mod.RESULT_VOLUME,),
        resources=drill_mod.STEP_RESOURCES,
    )
    kube.Workloads(
        scope,
        "drill",
        ctx=ctx,
        components=[
            kube.Component(
                name="drill",
                object_name=DRILL,
                kind="CronJob",
                schedule=ctx.setting("drill_schedule"),
                service_account=DRILL,
                user=POSTGRES_UID,
                job=kube.SetupJob(backoff_limit=1),
                init_containers=[
                    kubectl("cleanup", "delete", cluster, "--ignore-not-found", "--wait=true"),
                    kubectl("restore", "create", "--filename=/drill/cluster.yaml", mounts=(manifest,)),
                    kubectl("wait", "wait", cluster, "--for=condition=Ready", f"--timeout={DRILL_TIMEOUT}"),
                    check,
                    drill_mod.record(ctx.namespace),
                ],
                containers=[kubectl("delete", "delete", cluster, "--wait=false")],
            )
        ],
    )
