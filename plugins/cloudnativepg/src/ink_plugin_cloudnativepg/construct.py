"""The operator install, the shared Cluster, and one Database per claim."""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import DatabaseClaim
from ink_plugin_cloudnativepg import CLUSTER, password_secret_name

CHART_REPO = "https://cloudnative-pg.github.io/charts"


def postgres(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    kube.helm_application(
        scope,
        ctx=ctx,
        name="cloudnative-pg-operator",
        repo_url=CHART_REPO,
        chart="cloudnative-pg",
        version=ctx.setting("chart_version"),
        values={"fullnameOverride": "cnpg-operator"},
        sync_wave=-20,
    )
    claims = sorted((need for need, _ in ctx.served if isinstance(need, DatabaseClaim)), key=lambda c: c.name)
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
            },
        },
    )
    for claim in claims:
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
