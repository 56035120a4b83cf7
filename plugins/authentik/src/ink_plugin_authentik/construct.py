"""authentik's install (the official chart through Argo CD) and the blueprint ConfigMap of the clients.

Chart facts (goauthentik/helm, charts/authentik, 2026.8.x): ``global.env`` reaches server and worker,
``worker.env`` the worker only; ``authentik.enabled: false`` creates no configuration Secret and mounts none
(PR #497, in 2026.8.0), so every setting comes from ``global.env``; ``blueprints.configMaps`` mounts each
ConfigMap on the worker at /blueprints/mounted/cm-<name> (keys ending in .yaml are applied); the server
Service is ``<fullname>-server`` with port 80 -> 9000; ``server.pdb`` renders a PodDisruptionBudget; the
Redis subchart is gone (PR #409) and ``postgresql.enabled`` switches the bundled PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthClient, SecretKeyRef
from ink.podsecurity import restricted_container_context, restricted_pod_context
from ink.workload import mount_of
from ink_plugin_authentik import BOOTSTRAP_SECRET, SECRET_KEY_SECRET
from ink_plugin_authentik import clients as clients_mod

CHART_REPO = "https://charts.goauthentik.io"
RELEASE = "authentik"
# The argocd plugin names its Application of this service's folder "authentik" (in namespace argocd), so the
# chart's Application needs another name; the Helm release keeps "authentik" (selector labels, upstream names).
APPLICATION = "authentik-chart"
BLUEPRINTS_CONFIGMAP = "authentik-ink-blueprints"
USER = 1000  # the image's user (lifecycle/container/Dockerfile: adduser --uid 1000 authentik; USER 1000)


def _pdb(replicas: int) -> dict[str, Any]:
    return {"enabled": True, "maxUnavailable": 1} if replicas > 1 else {"enabled": False}


# Restricted Pod Security Standard; the chart leaves both contexts empty by default.
POD_SECURITY = restricted_pod_context(USER)
CONTAINER_SECURITY = restricted_container_context(USER)
# The only paths written at run time: /data (file storage: media, icons; `./data:/data` in upstream's compose),
# /dev/shm (the image sets TMPDIR=/dev/shm/; compose gives it shm_size 512mb, Kubernetes only 64Mi) and /tmp.
VOLUMES = [
    {"name": "data", "emptyDir": {}},
    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "512Mi"}},
    {"name": "tmp", "emptyDir": {}},
]
VOLUME_MOUNTS = [
    {"name": "data", "mountPath": "/data"},
    {"name": "dshm", "mountPath": "/dev/shm"},
    {"name": "tmp", "mountPath": "/tmp"},
]


def authentik(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    served = [need for need, _ in ctx.served if isinstance(need, AuthClient)]
    clients = clients_mod.clients(served)
    authentik_url = ctx.url(settings.hostname, "/")
    configmaps: list[str] = []
    if clients:
        text = clients_mod.blueprint(
            clients,
            url=ctx.url,
            titles={name: info.title for name, info in ctx.services.items()},
            authentik_url=authentik_url,
            warn=ctx.warn,
        )
        kube.api_object(
            scope,
            "blueprints",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": BLUEPRINTS_CONFIGMAP, "namespace": ctx.namespace, "labels": ctx.labels("worker")},
                "data": {clients_mod.BLUEPRINT_FILE: text},
            },
        )
        configmaps.append(BLUEPRINTS_CONFIGMAP)

    database = ctx.database()
    common_env = kube.env_vars(
        {
            "AUTHENTIK_SECRET_KEY": SecretKeyRef(name=SECRET_KEY_SECRET, key="secret-key"),
            "AUTHENTIK_POSTGRESQL__HOST": database.host,
            "AUTHENTIK_POSTGRESQL__PORT": str(database.port),
            "AUTHENTIK_POSTGRESQL__NAME": database.database,
            "AUTHENTIK_POSTGRESQL__USER": database.user,
            "AUTHENTIK_POSTGRESQL__PASSWORD": database.password,
            # Over TLS, checked against the database's CA (authentik docs, Configuration → PostgreSQL
            # TLS settings: postgresql.sslmode, postgresql.sslrootcert; libpq's meaning).
            **(
                {"AUTHENTIK_POSTGRESQL__SSLMODE": "verify-full", "AUTHENTIK_POSTGRESQL__SSLROOTCERT": database.ca_file}
                if database.tls
                else {}
            ),
            "AUTHENTIK_LOG_LEVEL": settings.log_level,
            "AUTHENTIK_ERROR_REPORTING__ENABLED": "false",
            **_smtp_env(ctx),
        }
    )
    worker_env = kube.env_vars(
        {
            # First start only: the admin user akadmin (docs: install-config/automated-install).
            "AUTHENTIK_BOOTSTRAP_EMAIL": settings.bootstrap_email or f"admin@{ctx.domain}",
            "AUTHENTIK_BOOTSTRAP_PASSWORD": SecretKeyRef(name=BOOTSTRAP_SECRET, key="password"),
            "AUTHENTIK_BOOTSTRAP_TOKEN": SecretKeyRef(name=BOOTSTRAP_SECRET, key="token"),
            # The blueprint reads each client secret with !Env; the worker applies blueprints.
            **{
                c.env_name: SecretKeyRef(name=c.authentik_secret, key="client-secret")
                for c in clients
                if c.need.kind == "oidc"
            },
        }
    )
    no_token = {"serviceAccountName": "default", "automountServiceAccountToken": False}
    values = {
        "global": {
            "fullnameOverride": RELEASE,
            "image": {
                "repository": settings.image_repository,
                "tag": settings.image_tag or ctx.service.version,
                "pullPolicy": settings.pull_policy,
            },
            "securityContext": POD_SECURITY,
            "env": common_env,
            # The database's CA beside the writable paths, on server and worker (both connect).
            "volumes": [*VOLUMES, *(m.pod_volume() for m in database.ca_mounts())],
            "volumeMounts": [*VOLUME_MOUNTS, *(mount_of(m) for m in database.ca_mounts())],
        },
        # No chart-made configuration Secret: secrets come from SealedSecrets through global.env.
        "authentik": {"enabled": False},
        "blueprints": {"configMaps": configmaps},
        # The database is the shared CloudNativePG cluster; Redis is no longer used (authentik 2025.10+).
        "postgresql": {"enabled": False},
        # No Kubernetes API access: only the embedded outpost is used, no managed outposts.
        "serviceAccount": {"create": False},
        "server": {
            "replicas": settings.server_replicas,
            "pdb": _pdb(settings.server_replicas),
            "resources": kube.Resources.of(settings.server_resources).manifest(),
            "containerSecurityContext": CONTAINER_SECURITY,
            **no_token,
        },
        "worker": {
            "replicas": settings.worker_replicas,
            "pdb": _pdb(settings.worker_replicas),
            "resources": kube.Resources.of(settings.worker_resources).manifest(),
            "containerSecurityContext": CONTAINER_SECURITY,
            "env": worker_env,
            **no_token,
        },
    }
    kube.helm_application(
        scope,
        ctx=ctx,
        name=APPLICATION,
        release=RELEASE,
        repo_url=CHART_REPO,
        chart="authentik",
        cluster_kinds=(),  # the chart installs nothing cluster-wide (tests/test_charts.py)
        version=settings.chart_version,
        values=values,
    )


def _smtp_env(ctx: ServiceContext) -> dict[str, str | SecretKeyRef]:
    """AUTHENTIK_EMAIL__* from the smtp binding (docs: install-config/configuration, "Email settings").

    On both server and worker: the worker sends the mail, the server tests the settings.
    """
    mail = ctx.bindings.get("smtp/authentik")
    if mail is None:
        return {}
    env = {
        "AUTHENTIK_EMAIL__HOST": mail.host,  # type: ignore[attr-defined]
        "AUTHENTIK_EMAIL__PORT": str(mail.port),  # type: ignore[attr-defined]
        "AUTHENTIK_EMAIL__USE_TLS": str(mail.tls == "starttls").lower(),  # type: ignore[attr-defined]
        "AUTHENTIK_EMAIL__USE_SSL": str(mail.tls == "tls").lower(),  # type: ignore[attr-defined]
        "AUTHENTIK_EMAIL__FROM": mail.from_address,  # type: ignore[attr-defined]
    }
    if mail.username:  # type: ignore[attr-defined]
        env |= {
            "AUTHENTIK_EMAIL__USERNAME": mail.username,  # type: ignore[attr-defined]
            "AUTHENTIK_EMAIL__PASSWORD": mail.password,  # type: ignore[attr-defined]
        }
    return env
