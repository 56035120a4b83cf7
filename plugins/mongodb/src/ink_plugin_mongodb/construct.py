"""The operator install, the replica set with one user per need, and the daily dump to S3.

Upstream (mongodb/mongodb-kubernetes, MongoDB Controllers for Kubernetes; the Community operator
lives in ``mongodb-community-operator/``): a ``MongoDBCommunity`` resource (CRD
``mongodbcommunity.mongodb.com/v1``) makes a StatefulSet ``<name>`` with a headless Service
``<name>-svc``; the operator's automation agent initiates the replica set ``<name>`` and keeps it
configured; each ``spec.users`` entry becomes a SCRAM user whose password the operator reads from
``passwordSecretRef`` and whose SCRAM credentials it stores in ``scramCredentialsSecretName``.
``statefulSet.spec`` is merged into the operator's StatefulSet (volume claim ``data-volume``,
containers ``mongod`` and ``mongodb-agent``: public/samples/community/...).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ink import kube, tls
from ink.context import ServiceContext
from ink.models import SecretKeyRef
from ink_plugin_mongodb import (
    ADMIN_USER,
    AUTH_DB,
    BACKUP_BUCKET,
    BACKUP_USER,
    METRICS_PORT,
    METRICS_SECRET,
    METRICS_USER,
    REPLICA_SET,
    SERVER_CERTIFICATE,
    metrics_on,
    password_secret_name,
    tls_enabled,
)
from ink_plugin_mongodb.capability import MongoBinding, MongoNeed

CHART_REPO = "https://mongodb.github.io/helm-charts"
BACKUP = f"{REPLICA_SET}-backup"
DUMPS_PREFIX = "dumps"  # objects are s3://<bucket>/dumps/mongodb-<UTC time>.archive.gz
# The official mongo image runs as mongodb, uid 999 (docker-library/mongo 8.0/Dockerfile).
MONGO_UID = 999


def mongodb(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    kube.helm_application(
        scope,
        ctx=ctx,
        name="mongodb-kubernetes-operator",
        repo_url=CHART_REPO,
        chart="mongodb-kubernetes",
        version=settings.chart_version,  # type: ignore[attr-defined]
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ),  # checked against the rendered chart (tests/test_charts.py)
        values={
            "operator": {
                # Only the Community resources: ink runs no Ops Manager, search or enterprise databases.
                "watchedResources": ["mongodbcommunity"],
                "enableClusterMongoDBRoles": False,
                # templates/operator.yaml: no usage data sent to MongoDB (it could not leave the cluster anyway).
                "telemetry": {"enabled": False},
                "resources": kube.Resources(cpu_request="50m", memory_request="128Mi", memory_limit="512Mi").manifest(),
            },
            "registry": {"pullPolicy": "IfNotPresent"},
            # The MongoDB server image flavour (quay.io/mongodb/mongodb-community-server:<version>-ubi9).
            "community": {"mongodb": {"imageType": "ubi9"}},
        },
        sync_wave=-20,
    )
    replica_set(scope, ctx=ctx)
    if ctx.bindings.get(f"s3/{BACKUP_BUCKET}") is not None:
        backup(scope, ctx=ctx)


def _roles(need: MongoNeed) -> list[dict[str, str]]:
    roles = [{"name": "readWrite", "db": need.name}]
    if need.oplog:
        roles.append({"name": "read", "db": "local"})
    if need.cluster_monitor:
        roles.append({"name": "clusterMonitor", "db": "admin"})
    return roles


def _user(name: str, roles: list[dict[str, str]]) -> dict:
    return {
        "name": name,
        "db": AUTH_DB,
        "passwordSecretRef": {"name": password_secret_name(name), "key": "password"},
        "roles": roles,
        "scramCredentialsSecretName": f"{REPLICA_SET}-scram-{name}",
    }


def security(ctx: ServiceContext) -> dict:
    """SCRAM always; with a TLS provider, TLS only, with the certificate from the in-cluster CA.

    ``spec.security.tls`` (CRD schema; public/samples/community/mongodb.com_v1_mongodbcommunity_tls_cr.yaml):
    the key pair is tls.crt/tls.key of ``certificateKeySecretRef``, the CA ``ca.crt`` of
    ``caCertificateSecretRef`` — the one Secret cert-manager's CA issuer writes holds all three.
    ``optional: false`` is net.tls.mode requireTLS, ``true`` preferTLS (controllers/mongodb_tls.go
    tlsConfigModification); ``tls_optional`` is the upgrade path of a plaintext install (README).
    """
    spec: dict = {"authentication": {"modes": ["SCRAM"]}}
    if tls_enabled(ctx):
        spec["tls"] = {
            "enabled": True,
            "optional": ctx.settings.tls_optional,  # type: ignore[attr-defined]
            "certificateKeySecretRef": {"name": SERVER_CERTIFICATE},
            "caCertificateSecretRef": {"name": SERVER_CERTIFICATE},
        }
    return spec


def replica_set(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    needs = sorted((n for n, _ in ctx.served if isinstance(n, MongoNeed)), key=lambda n: n.name)
    admin_roles = [
        {"name": role, "db": "admin"}
        for role in ("clusterAdmin", "userAdminAnyDatabase", "readWriteAnyDatabase", "backup", "restore")
    ]
    users = [_user(ADMIN_USER, admin_roles), _user(BACKUP_USER, [{"name": "backup", "db": "admin"}])]
    users += [_user(need.name, _roles(need)) for need in needs]
    claim: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": settings.storage_size}},  # type: ignore[attr-defined]
    }
    storage_class = settings.storage_class or ctx.config.storage_class  # type: ignore[attr-defined]
    if storage_class:
        claim["storageClassName"] = storage_class
    small = kube.Resources(cpu_request="20m", memory_request="128Mi", memory_limit="256Mi").manifest()
    agent: dict = {"name": "mongodb-agent", "resources": small}
    metrics: dict = {}
    if metrics_on(ctx):
        metrics = {
            "prometheus": {
                "username": METRICS_USER,
                "passwordSecretRef": {"name": METRICS_SECRET, "key": "password"},
                "port": METRICS_PORT,
            }
        }
        # The operator opens 9216 only on its Service; a PodMonitor's portNumber keeps only a declared container
        # port (prometheus-operator's pod relabelling), so the agent, which serves it, declares it (merged by name).
        agent["ports"] = [{"name": "prometheus", "containerPort": METRICS_PORT, "protocol": "TCP"}]
    kube.api_object(
        scope,
        "replica-set",
        {
            "apiVersion": "mongodbcommunity.mongodb.com/v1",
            "kind": "MongoDBCommunity",
            "metadata": {
                "name": REPLICA_SET,
                "namespace": ctx.namespace,
                "labels": ctx.labels("database"),
                "annotations": kube.KEEP_ANNOTATIONS,
            },
            "spec": {
                "type": "ReplicaSet",
                "members": settings.members,  # type: ignore[attr-defined]
                "version": settings.version,  # type: ignore[attr-defined]
                "security": security(ctx),
                "users": users,
                **metrics,
                "statefulSet": {
                    "spec": {
                        "volumeClaimTemplates": [{"metadata": {"name": "data-volume"}, "spec": claim}],
                        "template": {
                            "spec": {
                                "containers": [
                                    {"name": "mongod", "resources": kube.Resources.of(settings.resources).manifest()},  # type: ignore[attr-defined]
                                    agent,
                                ]
                            }
                        },
                    }
                },
            },
        },
    )


DUMP_SCRIPT = """\
set -eu
name="mongodb-$$(date -u +%Y%m%dT%H%M%SZ).archive.gz"
mongodump --uri="$$MONGODB_URI" ${tls}--oplog --gzip --archive="/backup/$$name"
echo "$$name" > /backup/name
echo "dumped $$name"
"""

# The mc image has a shell but few tools: read and the variables are shell builtins.
UPLOAD_SCRIPT = """\
set -eu
read -r name < /backup/name
export MC_HOST_s3="$scheme://$${AWS_ACCESS_KEY_ID}:$${AWS_SECRET_ACCESS_KEY}@$host"
mc cp "/backup/$$name" "s3/$bucket/$prefix/$$name"
mc rm --recursive --force --older-than ${days}d "s3/$bucket/$prefix/"
echo "uploaded s3/$bucket/$prefix/$$name"
"""


def backup(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """A CronJob: mongodump of the whole replica set into an emptyDir, then upload and expiry with mc."""
    settings = ctx.settings
    bucket = ctx.bucket(BACKUP_BUCKET)
    endpoint = urlsplit(bucket.endpoint)
    scratch = kube.Scratch(name="backup", mount_path="/backup", size_limit=settings.backup_scratch_size)  # type: ignore[attr-defined]
    tmp = kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi")
    secure = tls_enabled(ctx)
    # With TLS the dump verifies the members against the CA in their own certificate's Secret (mongodump
    # --tls --tlsCAFile: MongoDB Database Tools, 'mongodump' TLS options); the uri itself stays plain.
    ca = (
        [
            kube.SecretFiles(
                name=SERVER_CERTIFICATE,
                volume=MongoBinding.CA_VOLUME,
                mount_path=MongoBinding.CA_DIR,
                keys=(tls.CA_KEY,),
            )
        ]
        if secure
        else []
    )
    flags = f"--tls --tlsCAFile={MongoBinding.CA_DIR}/{tls.CA_KEY} " if secure else ""
    dump = kube.Container(
        name="dump",
        image=settings.dump_image,  # type: ignore[attr-defined]
        command=["bash", "-c", kube.render_template(DUMP_SCRIPT, {"tls": flags})],
        env={"MONGODB_URI": SecretKeyRef(name=password_secret_name(BACKUP_USER), key="uri")},
        mounts=[scratch, tmp, *ca],
        resources=kube.Resources(cpu_request="50m", memory_request="128Mi", memory_limit="512Mi"),
    )
    upload = kube.Container(
        name="upload",
        image=settings.mc_image,  # type: ignore[attr-defined]
        command=[
            "/bin/sh",
            "-c",
            kube.render_template(
                UPLOAD_SCRIPT,
                {
                    "scheme": endpoint.scheme,
                    "host": endpoint.netloc,
                    "bucket": bucket.bucket,
                    "prefix": DUMPS_PREFIX,
                    "days": settings.backup_retention_days,  # type: ignore[attr-defined]
                },
            ),
        ],
        env={
            "HOME": "/tmp",
            "MC_CONFIG_DIR": "/tmp/.mc",
            "AWS_ACCESS_KEY_ID": bucket.access_key_id,
            "AWS_SECRET_ACCESS_KEY": bucket.secret_access_key,
            # Over TLS mc (Go) verifies the store with the CA: SSL_CERT_FILE adds it to the roots it trusts.
            **({"SSL_CERT_FILE": bucket.ca_file} if bucket.tls else {}),
        },
        mounts=[scratch, tmp, *bucket.ca_mounts()],
        resources=kube.Resources(cpu_request="10m", memory_request="32Mi", memory_limit="256Mi"),
    )
    kube.Workloads(
        scope,
        "backup",
        ctx=ctx,
        components=[
            kube.Component(
                name="backup",
                object_name=BACKUP,
                kind="CronJob",
                schedule=settings.backup_schedule,  # type: ignore[attr-defined]
                user=MONGO_UID,
                job=kube.SetupJob(backoff_limit=2),
                init_containers=[dump],
                containers=[upload],
            )
        ],
    )
