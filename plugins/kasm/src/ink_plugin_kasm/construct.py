"""Kasm's control plane, written with the workload vocabulary.

Upstream facts (kasmtech/kasm-helm charts/kasm 1.1181.x, templates/*-deployment.yaml, db-init-job.yaml and
_helpers.tpl): every kasmweb image runs as uid/gid 1000 with a read-only root filesystem and drops every
capability (``kasm.podSecurity``/``kasm.containerSecurity``), except the api container and the db-init Job;
each component reads the database from ``POSTGRES_HOST``/``PORT``/``DB``/``USER``/``PASSWORD``; the images
find each other by the fixed Service names ``kasm-api``, ``kasm-manager``, ``kasm-guac``, ``kasm-share``
(``kasm.constants``), so the objects keep those names.
"""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import SecretKeyRef
from ink_plugin_kasm import (
    API_PORT,
    GUAC_CLUSTER_PORTS,
    GUAC_CLUSTER_SIZE,
    GUAC_PORT,
    MANAGER_PORT,
    NAME,
    OIDC_REDIRECT,
    PROXY_PORT,
    REGISTRY,
    SECRETS,
    SHARE_PORT,
    VERSION,
    WRITABLE_ROOT,
    ZONE,
    KasmSettings,
    component_name,
)
from ink_plugin_kasm.nginx import BASE, services_files, settings_files

REDIS_PORT = 6379  # kasm-share takes REDIS_HOST only and connects to Redis' default port
PROXY_CONFIG_DIR = "/etc/kasm-proxy"

# Idempotent: startup.sh (POST_DB_INIT_EXIT, DB_AUTO_INITIALIZE) creates the schema and seeds the default users,
# zone and tokens, so it runs only while the database has no zone yet (the chart runs it once, as a pre-install
# hook); the api waits for the same zone before it starts (its db-is-ready init container).
DB_INIT = """\
set -eu
export PGPASSWORD="$POSTGRES_PASSWORD"
until pg_isready -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -t 10; do echo "Waiting for the database..."; sleep 5; done
zones=$(psql -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc \\
  'select count(*) from zones' 2>/dev/null || echo 0)
if [ "${zones:-0}" -gt 0 ]; then
  echo "Kasm's database is initialised already: nothing to do"
  exit 0
fi
exec /usr/bin/startup.sh
"""
DB_READY = """\
export PGPASSWORD="$POSTGRES_PASSWORD"
until [ "$(psql -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc \\
  'select count(*) from zones' 2>/dev/null || echo 0)" -gt 0 ]; do
  echo "Waiting for the db-init Job to initialise the database..."
  sleep 5
done
"""


def image(ctx: ServiceContext, component: str) -> str:
    return f"{REGISTRY}/{component}:{ctx.settings.image_tag or VERSION}"  # type: ignore[attr-defined]


def secret(key: str) -> SecretKeyRef:
    return SecretKeyRef(name=SECRETS, key=key)


def database_env(ctx: ServiceContext) -> dict[str, str | SecretKeyRef]:
    database = ctx.database()
    env: dict[str, str | SecretKeyRef] = {
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_DB": database.database,
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": database.password,
    }
    if database.tls:
        # Kasm connects through libpq (psql, psycopg2), which reads these when the connection sets no sslmode
        # itself; the chart sets none (README, "Database TLS").
        env |= {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": database.ca_file}
    return env


def _tmp(size: str = "256Mi") -> kube.Scratch:
    return kube.Scratch(name="tmp", mount_path="/tmp", size_limit=size)


def kasm(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    database = ctx.database()
    db_env = database_env(ctx)
    db_mounts = database.ca_mounts()
    redis = ctx.bindings.get(f"redis/{NAME}") if settings.session_sharing else None
    share = redis is not None
    replicas = settings.replicas
    spread = replicas > 1

    api = kube.Container(
        name="api",
        image=image(ctx, "api"),
        env=ctx.with_user_env({"START_SERVICES": "true", "KUBERNETES_SERVICE_HOST": "true", **db_env}),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=API_PORT)],
        mounts=[_tmp(), *db_mounts],
        resources=kube.Resources.of(settings.resources),
        liveness=kube.TcpProbe(port=API_PORT),
        readiness=kube.HttpProbe(path="/api/__healthcheck", port=API_PORT),
        startup=kube.TcpProbe(port=API_PORT),
        startup_seconds=300,  # the first start after the db-init Job
        exemptions=(WRITABLE_ROOT,),
    )
    db_ready = kube.Container(
        name="db-is-ready",
        image=image(ctx, "api"),
        command=["/bin/bash", "-c", DB_READY],
        env=db_env,
        mounts=[_tmp(), *db_mounts],
        resources=kube.Resources(cpu_request="10m", memory_request="32Mi", memory_limit="128Mi"),
    )
    manager = kube.Container(
        name="manager",
        image=image(ctx, "manager"),
        env={"LOG_LEVEL": "INFO", "SERVER_ZONE_NAME": ZONE, **db_env},
        ports=[kube.Port(name="http", number=MANAGER_PORT)],
        mounts=[_tmp("1Gi"), *db_mounts],
        resources=kube.Resources.of(settings.manager_resources),
        liveness=kube.TcpProbe(port=MANAGER_PORT),
        readiness=kube.HttpProbe(path="/__healthcheck", port=MANAGER_PORT),
        startup=kube.TcpProbe(port=MANAGER_PORT),
        startup_seconds=300,
    )
    proxy = kube.Container(
        name="proxy",
        image=image(ctx, "proxy"),
        # The chart replaces /etc/nginx/nginx.conf through a subPath mount; a folder mount and -c keep the image's
        # mime.types beside it.
        command=["nginx", "-c", f"{PROXY_CONFIG_DIR}/nginx.conf", "-g", "daemon off;"],
        ports=[kube.Port(name="http", number=PROXY_PORT)],
        mounts=[
            kube.ConfigFiles(
                name=component_name("proxy-base"), mount_path=PROXY_CONFIG_DIR, files={"nginx.conf": BASE}
            ),
            kube.ConfigFiles(
                name=component_name("proxy-settings"),
                mount_path="/etc/nginx/conf.d",
                files=settings_files(guac=settings.guac, share=share),
            ),
            kube.ConfigFiles(
                name=component_name("proxy-services"),
                mount_path="/etc/nginx/conf.d/services.d",
                files=services_files(guac=settings.guac, share=share),
            ),
            # The chart's proxy-data volume, mounted at each path nginx writes.
            kube.Scratch(name="cache", mount_path="/var/cache/nginx", size_limit="1Gi"),
            kube.Scratch(name="logs", mount_path="/var/log/external/nginx", size_limit="256Mi"),
            kube.Scratch(name="run", mount_path="/run", size_limit="16Mi"),
            _tmp(),
        ],
        resources=kube.Resources.of(settings.proxy_resources),
        liveness=kube.TcpProbe(port=PROXY_PORT),
        # closest.conf's /checkvalid answers 200 from nginx itself (the chart runs `nginx -t` instead).
        readiness=kube.HttpProbe(path="/checkvalid", port=PROXY_PORT),
    )
    components = [
        kube.Component(
            name="api",
            containers=[api],
            init_containers=[db_ready],
            replicas=replicas,
            spread=spread,
        ),
        kube.Component(name="manager", containers=[manager], replicas=replicas, spread=spread),
        kube.Component(name="proxy", containers=[proxy], replicas=replicas, spread=spread),
        _db_init(ctx, db_env, db_mounts),
    ]
    if settings.guac:
        components.append(_guac(ctx, replicas))
    if redis is not None:
        components.append(_share(ctx, redis, db_env, db_mounts))
    kube.Workloads(scope, NAME, ctx=ctx, components=components)
    kube.api_object(scope, "setup", _setup_info(ctx))


def _db_init(ctx: ServiceContext, db_env: dict[str, str | SecretKeyRef], db_mounts: tuple[Any, ...]) -> kube.Component:
    container = kube.Container(
        name="db-init",
        image=image(ctx, "api"),
        command=["/bin/bash", "/setup/db-init.sh"],
        env={
            "POST_DB_INIT_EXIT": "true",
            "DB_AUTO_INITIALIZE": "true",
            **db_env,
            "DEFAULT_ADMIN_PASSWORD": secret("admin-password"),
            "DEFAULT_USER_PASSWORD": secret("user-password"),
            "DEFAULT_MANAGER_TOKEN": secret("manager-token"),
            "DEFAULT_REGISTRATION_TOKEN": secret("service-token"),
        },
        mounts=[
            kube.ConfigFiles(name=component_name("db-init"), mount_path="/setup", files={"db-init.sh": DB_INIT}),
            _tmp(),
            *db_mounts,
        ],
        resources=kube.Resources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi"),
        exemptions=(WRITABLE_ROOT,),
    )
    # A Sync hook, not PostSync: the api waits for the schema, so the app never becomes healthy before it runs.
    return kube.Component(name="db-init", kind="Job", containers=[container], job=kube.SetupJob(argocd_hook="Sync"))


def _guac(ctx: ServiceContext, replicas: int) -> kube.Component:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    guac = kube.Container(
        name="guac",
        image=image(ctx, "kasm-guac"),
        env={
            "CLUSTER_SIZE": str(GUAC_CLUSTER_SIZE),
            "REGISTRATION_TOKEN": secret("service-token"),
            "ZONE": ZONE,
            "KUBERNETES_SERVICE_HOST": "true",
            "SERVER_ADDRESS": component_name("guac"),
            "SERVER_PORT": str(GUAC_PORT),
        },
        ports=[
            kube.Port(name="http", number=GUAC_PORT),
            *(kube.Port(name=f"guacd-{n}", number=port) for n, port in enumerate(GUAC_CLUSTER_PORTS, start=1)),
        ],
        # The chart's guac-data (/tmp, the guac temp folder) and a log folder.
        mounts=[
            _tmp("1Gi"),
            kube.Scratch(name="logs", mount_path="/opt/kasm/current/log", size_limit="150Mi"),
            kube.Scratch(name="guac-tmp", mount_path="/opt/kasm/current/tmp/guac", size_limit="1Gi"),
        ],
        resources=kube.Resources.of(settings.guac_resources),
        liveness=kube.TcpProbe(port=GUAC_PORT),
        readiness=kube.HttpProbe(path="/__healthcheck", port=GUAC_PORT),
        startup=kube.TcpProbe(port=GUAC_PORT),
        startup_seconds=180,
    )
    return kube.Component(name="guac", containers=[guac], replicas=replicas, spread=replicas > 1)


def _share(
    ctx: ServiceContext, redis: Any, db_env: dict[str, str | SecretKeyRef], db_mounts: tuple[Any, ...]
) -> kube.Component:
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    if redis.port != REDIS_PORT:
        raise ValueError(
            f"kasm-share connects to Redis on port {REDIS_PORT} only; the redis provider serves {redis.port}"
        )
    share = kube.Container(
        name="share",
        image=image(ctx, "share"),
        env={
            "REDIS_HOST": redis.host,
            "REDIS_PASSWORD": redis.password,
            "SHARE_ID": "auto",
            "SERVER_HOSTNAME": component_name("share"),
            **db_env,
        },
        ports=[kube.Port(name="http", number=SHARE_PORT)],
        mounts=[_tmp(), *db_mounts],
        resources=kube.Resources.of(settings.share_resources),
        health=kube.TcpProbe(port=SHARE_PORT),
        startup_seconds=180,
    )
    return kube.Component(name="share", containers=[share])


def _setup_info(ctx: ServiceContext) -> dict[str, Any]:
    """What the admin enters by hand: the agents' registration and Kasm's OpenID form. No secret values in it."""
    settings: KasmSettings = ctx.settings  # type: ignore[assignment]
    url = ctx.public_url()
    host = url.split("://", 1)[1].split("/", 1)[0]
    data = {
        "agent-manager-hostname": host,
        "agent-manager-port": "443",
        "agent-manager-token": f"Secret {SECRETS}, key manager-token",
        "admin-user": "admin@kasm.local",
        "admin-password": f"Secret {SECRETS}, key admin-password",
    }
    oidc = ctx.bindings.get(f"auth/{settings.hostname}") if settings.sso else None
    if oidc is not None:
        secret_ref = oidc.client_secret  # type: ignore[attr-defined]
        data |= {
            "oidc-client-id": oidc.client_id,  # type: ignore[attr-defined]
            "oidc-client-secret": f"Secret {secret_ref.name}, key {secret_ref.key}" if secret_ref else "",
            "oidc-authorization-url": oidc.authorization_url,  # type: ignore[attr-defined]
            "oidc-token-url": oidc.token_url,  # type: ignore[attr-defined]
            "oidc-user-info-url": oidc.userinfo_url,  # type: ignore[attr-defined]
            "oidc-issuer": oidc.issuer_url,  # type: ignore[attr-defined]
            "oidc-scope": "openid email profile",
            "oidc-username-attribute": "preferred_username",
            "oidc-redirect-url": url + OIDC_REDIRECT,
        }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": component_name("setup"), "namespace": ctx.namespace, "labels": ctx.labels("setup")},
        "data": dict(sorted(data.items())),
    }
