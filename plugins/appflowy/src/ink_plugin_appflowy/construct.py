"""AppFlowy Cloud's six components, written with the workload vocabulary.

Upstream facts: the environment is that of AppFlowy-IO/AppFlowy-Cloud's ``docker-compose.yml`` and
``deploy.env`` (commit 4fb9c92) and of the official chart in AppFlowy-IO/AppFlowy-SelfHost-Commercial
(``helm/appflowy-cloud``, commit b01b8f3): probes ``/api/health`` and ``/api/ready`` (cloud), ``/health``
(gotrue), ``/`` (web) and the console prefix (admin); the chart runs every pod as uid 1000, the uid
GoTrue's image was built with (``docker/gotrue/Dockerfile``). The Rust services keep nothing on disk
but search's keyword index.
"""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import DatabaseBinding, SecretKeyRef
from ink_plugin_appflowy import (
    ADMIN_PORT,
    ADMIN_PREFIX,
    CLOUD_PORT,
    GOTRUE_PORT,
    NAME,
    REGISTRY,
    SEARCH_PORT,
    SECRET,
    WEB_EXEMPTIONS,
    WEB_PORT,
    WORKER_PORT,
    AppFlowySettings,
    component_name,
)

KEYWORD_INDEX = "/var/lib/appflowy/keyword_index"  # APPFLOWY_KEYWORD_INDEX_DIR's default (docker-compose.yml)
# APPFLOWY_MAILER_SMTP_TLS_KIND's values ("none" "wrapper" "required" "opportunistic", deploy.env) for the smtp
# binding's modes.
MAILER_TLS = {"starttls": "required", "tls": "wrapper", "none": "none"}
JWT = SecretKeyRef(name=SECRET, key="GOTRUE_JWT_SECRET")


def _tmp() -> kube.Scratch:
    return kube.Scratch(name="tmp", mount_path="/tmp", size_limit="256Mi")


def internal_url(ctx: ServiceContext, component: str, port: int) -> str:
    return f"http://{component_name(component)}.{ctx.namespace}.svc:{port}"


def appflowy(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: AppFlowySettings = ctx.settings  # type: ignore[assignment]
    url = ctx.public_url()
    tag = settings.image_tag or ctx.service.version
    database = ctx.database()
    redis = ctx.bindings[f"redis/{NAME}"]
    mail = ctx.bindings.get(f"smtp/{NAME}")
    s3 = _s3_env(ctx)
    mailer = _mailer_env(ctx)
    gotrue_internal = internal_url(ctx, "gotrue", GOTRUE_PORT)
    db_mounts = database.ca_mounts()
    # sqlx honours sslmode=verify-full from the URL, but cloud and worker replace the mode with 'prefer', or
    # 'require' with *_DATABASE_REQUIRE_SSL (src/config/config.rs pg_connect_options): ask for TLS when it is there.
    require_ssl = database.tls

    cloud_env: dict[str, object] = {
        "RUST_LOG": "info",
        "APPFLOWY_ENVIRONMENT": "production",
        "APPFLOWY_BASE_URL": url,
        "APPFLOWY_WEB_URL": url,
        "APPFLOWY_DATABASE_URL": database.uri,
        **({"APPFLOWY_DATABASE_REQUIRE_SSL": "true"} if require_ssl else {}),
        "APPFLOWY_DATABASE_MAX_CONNECTIONS": "40",
        "APPFLOWY_REDIS_URI": redis.url,  # type: ignore[attr-defined]
        "APPFLOWY_GOTRUE_JWT_SECRET": JWT,
        "APPFLOWY_GOTRUE_BASE_URL": gotrue_internal,
        "APPFLOWY_ACCESS_CONTROL": "true",
        "APPFLOWY_SEARCH_SERVICE_URL": internal_url(ctx, "search", SEARCH_PORT),
        **s3,
        **mailer,
    }
    worker_env: dict[str, object] = {
        "RUST_LOG": "info",
        "APPFLOWY_ENVIRONMENT": "production",
        "APPFLOWY_WORKER_ENVIRONMENT": "production",
        "APPFLOWY_WORKER_REDIS_URL": redis.url,  # type: ignore[attr-defined]
        "APPFLOWY_WORKER_DATABASE_URL": database.uri,
        **({"APPFLOWY_WORKER_DATABASE_REQUIRE_SSL": "true"} if require_ssl else {}),
        "APPFLOWY_WORKER_DATABASE_NAME": database.database,
        "APPFLOWY_WORKER_IMPORT_TICK_INTERVAL": "30",
        **s3,
        **mailer,
    }
    search_env: dict[str, object] = {
        "RUST_LOG": "info",
        "APPFLOWY_SEARCH_HOST": "[::]",
        "APPFLOWY_SEARCH_PORT": str(SEARCH_PORT),
        "APPFLOWY_SEARCH_DATABASE_URL": database.uri,
        "APPFLOWY_SEARCH_REDIS_URL": redis.url,  # type: ignore[attr-defined]
        "APPFLOWY_GOTRUE_JWT_SECRET": JWT,
        "APPFLOWY_BACKGROUND_INDEXER_ENABLED": "true",
        # Embeddings need an AI provider, which the free edition does not configure (see the README).
        "APPFLOWY_INDEXER_DATABASE_ENABLED": "false",
        "APPFLOWY_KEYWORD_SEARCH_ENABLED": "true",
        "APPFLOWY_KEYWORD_WORKER_ENABLED": "true",
        "APPFLOWY_KEYWORD_INDEX_MAP_SIZE_BYTES": "2147483648",
        "APPFLOWY_KEYWORD_INDEX_DIR": KEYWORD_INDEX,
    }
    gotrue_env: dict[str, object] = {
        "PORT": str(GOTRUE_PORT),
        "API_EXTERNAL_URL": f"{url}/gotrue",
        "GOTRUE_SITE_URL": "appflowy-flutter://",  # back to the app after a link in a mail (compose)
        "GOTRUE_URI_ALLOW_LIST": "**",
        "GOTRUE_JWT_SECRET": JWT,
        "GOTRUE_JWT_EXP": "604800",  # deploy.env
        # Without it `auth admin createuser` makes an 'admin' instead of the 'supabase_admin' cloud expects (compose).
        "GOTRUE_JWT_ADMIN_GROUP_NAME": "supabase_admin",
        "GOTRUE_DB_DRIVER": "postgres",
        **_gotrue_database_env(database),
        # docker/gotrue/start.sh creates this admin at start when it does not exist yet.
        "GOTRUE_ADMIN_EMAIL": settings.admin_email or f"admin@{ctx.config.domain}",
        "GOTRUE_ADMIN_PASSWORD": SecretKeyRef(name=SECRET, key="GOTRUE_ADMIN_PASSWORD"),
        "GOTRUE_DISABLE_SIGNUP": str(settings.disable_signup).lower(),
        # Without mail nobody could confirm an address: confirm them at sign-up (deploy.env's default), as upstream.
        "GOTRUE_MAILER_AUTOCONFIRM": "false" if mail is not None else "true",
        "GOTRUE_RATE_LIMIT_EMAIL_SENT": "100",
        **{f"GOTRUE_MAILER_URLPATHS_{kind}": "/gotrue/verify" for kind in ("CONFIRMATION", "INVITE", "RECOVERY")},
        "GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE": "/gotrue/verify",
        **_gotrue_smtp_env(ctx),
    }
    web_env: dict[str, object] = {
        "APPFLOWY_BASE_URL": url,
        "APPFLOWY_GOTRUE_BASE_URL": f"{url}/gotrue",
        "APPFLOWY_WS_BASE_URL": f"{url.replace('https://', 'wss://', 1)}/ws/v2",
    }
    admin_env: dict[str, object] = {
        "APPFLOWY_BASE_URL": url,
        "APPFLOWY_GOTRUE_BASE_URL": f"{url}/gotrue",
        # The chart's: Next.js binds HOSTNAME; the console lives under /console.
        "HOSTNAME": "0.0.0.0",
        "ADMIN_FRONTEND_PATH_PREFIX": ADMIN_PREFIX,
        "ADMIN_FRONTEND_REDIS_URL": redis.url,  # type: ignore[attr-defined]
        "ADMIN_FRONTEND_GOTRUE_URL": gotrue_internal,
        "ADMIN_FRONTEND_APPFLOWY_CLOUD_URL": internal_url(ctx, "cloud", CLOUD_PORT),
    }

    cloud = kube.Container(
        name="cloud",
        image=f"{REGISTRY}/appflowy_cloud:{tag}",
        env=ctx.with_user_env(cloud_env),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=CLOUD_PORT)],
        mounts=[_tmp(), *db_mounts],
        resources=kube.Resources.of(settings.resources),
        liveness=kube.HttpProbe(path="/api/health", port=CLOUD_PORT),
        readiness=kube.HttpProbe(path="/api/ready", port=CLOUD_PORT),
        # The first start runs the database migrations.
        startup=kube.HttpProbe(path="/api/health", port=CLOUD_PORT),
        startup_seconds=300,
    )
    gotrue = kube.Container(
        name="gotrue",
        image=f"{REGISTRY}/gotrue:{tag}",
        env=gotrue_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=GOTRUE_PORT)],
        mounts=[_tmp(), *db_mounts],
        resources=kube.Resources.of(settings.gotrue_resources),
        health=kube.HttpProbe(path="/health", port=GOTRUE_PORT),
        startup_seconds=180,
    )
    worker = kube.Container(
        name="worker",
        image=f"{REGISTRY}/appflowy_worker:{tag}",
        env=worker_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=WORKER_PORT)],
        mounts=[_tmp(), *db_mounts],
        resources=kube.Resources.of(settings.worker_resources),
        # It serves /metrics only (services/appflowy-worker/src/application.rs); the chart has no probe.
        health=kube.HttpProbe(path="/metrics", port=WORKER_PORT),
    )
    search = kube.Container(
        name="search",
        image=f"{REGISTRY}/appflowy_search:{tag}",
        env=search_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=SEARCH_PORT)],
        mounts=[
            kube.Volume(
                name="keyword-index",
                mount_path=KEYWORD_INDEX,
                size=settings.storage_size,
                backup_exempt="the keyword index is rebuilt from the database by search's background indexer",
            ),
            _tmp(),
            *db_mounts,
        ],
        resources=kube.Resources.of(settings.search_resources),
        # The image is closed source and documents no health route: the port answering.
        health=kube.TcpProbe(port=SEARCH_PORT),
    )
    web = kube.Container(
        name="web",
        image=f"{REGISTRY}/appflowy_web:{settings.web_image_tag}",
        env=web_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=WEB_PORT)],
        resources=kube.Resources.of(settings.web_resources),
        health=kube.HttpProbe(path="/", port=WEB_PORT),
        exemptions=WEB_EXEMPTIONS,
    )
    admin = kube.Container(
        name="admin",
        image=f"{REGISTRY}/admin_frontend:{settings.admin_image_tag}",
        env=admin_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=ADMIN_PORT)],
        mounts=[_tmp()],
        resources=kube.Resources.of(settings.admin_resources),
        health=kube.HttpProbe(path=ADMIN_PREFIX, port=ADMIN_PORT),
    )
    # The stateless components the chart scales (hpa.yaml of cloud, gotrue and web).
    scaled: dict[str, Any] = {"replicas": settings.replicas, "spread": settings.replicas > 1}
    components = [
        kube.Component(name="cloud", object_name=component_name("cloud"), containers=[cloud], **scaled),
        kube.Component(name="gotrue", object_name=component_name("gotrue"), containers=[gotrue], **scaled),
        kube.Component(name="worker", object_name=component_name("worker"), containers=[worker]),
        # One writer of the keyword index (ReadWriteOnce; the vocabulary recreates instead of rolling).
        kube.Component(name="search", object_name=component_name("search"), containers=[search]),
        kube.Component(name="web", object_name=component_name("web"), containers=[web], user=0, **scaled),
        kube.Component(name="admin", object_name=component_name("admin"), containers=[admin]),
    ]
    kube.Workloads(scope, NAME, ctx=ctx, components=components)


def _gotrue_database_env(database: DatabaseBinding) -> dict[str, object]:
    """DATABASE_URL with search_path=auth (deploy.env GOTRUE_DATABASE_URL): GoTrue's tables live in 'auth'.

    The binding's uri is a Secret; Kubernetes expands ``$(INK_DATABASE_URI)`` from the variable defined just
    before it. The uri already has a query (sslmode, sslrootcert) over TLS.
    """
    separator = "&" if database.tls else "?"
    return {"INK_DATABASE_URI": database.uri, "DATABASE_URL": f"$(INK_DATABASE_URI){separator}search_path=auth"}


def _s3_env(ctx: ServiceContext) -> dict[str, object]:
    """APPFLOWY_S3_* from the bucket binding (docker-compose.yml, appflowy_cloud and appflowy_worker)."""
    settings: AppFlowySettings = ctx.settings  # type: ignore[assignment]
    s3 = ctx.bucket(NAME)
    env: dict[str, object] = {
        # The S3 provider creates the bucket and a user allowed on it alone.
        "APPFLOWY_S3_CREATE_BUCKET": "false",
        # 'minio' means a custom, path-style endpoint (libs/database/src/file/s3_client_impl.rs).
        "APPFLOWY_S3_USE_MINIO": "true",
        "APPFLOWY_S3_MINIO_URL": s3.endpoint,
        "APPFLOWY_S3_ACCESS_KEY": s3.access_key_id,
        "APPFLOWY_S3_SECRET_KEY": s3.secret_access_key,
        "APPFLOWY_S3_BUCKET": s3.bucket,
        "APPFLOWY_S3_REGION": s3.region,
    }
    if settings.s3_public_url:
        env["APPFLOWY_S3_PRESIGNED_URL_ENDPOINT"] = settings.s3_public_url
    return env


def _mailer_env(ctx: ServiceContext) -> dict[str, object]:
    """APPFLOWY_MAILER_SMTP_* (cloud's and the worker's own mails: invitations, notifications)."""
    mail = ctx.bindings.get(f"smtp/{NAME}")
    if mail is None:
        return {}
    env: dict[str, object] = {
        "APPFLOWY_MAILER_SMTP_HOST": mail.host,  # type: ignore[attr-defined]
        "APPFLOWY_MAILER_SMTP_PORT": str(mail.port),  # type: ignore[attr-defined]
        "APPFLOWY_MAILER_SMTP_EMAIL": mail.from_address,  # type: ignore[attr-defined]
        "APPFLOWY_MAILER_SMTP_TLS_KIND": MAILER_TLS[mail.tls],  # type: ignore[attr-defined]
    }
    if mail.username:  # type: ignore[attr-defined]
        env |= {
            "APPFLOWY_MAILER_SMTP_USERNAME": mail.username,  # type: ignore[attr-defined]
            "APPFLOWY_MAILER_SMTP_PASSWORD": mail.password,  # type: ignore[attr-defined]
        }
    return env


def _gotrue_smtp_env(ctx: ServiceContext) -> dict[str, object]:
    """GOTRUE_SMTP_* (sign-up confirmations, magic links, recovery), from the smtp binding."""
    mail = ctx.bindings.get(f"smtp/{NAME}")
    if mail is None:
        return {}
    env: dict[str, object] = {
        "GOTRUE_SMTP_HOST": mail.host,  # type: ignore[attr-defined]
        "GOTRUE_SMTP_PORT": str(mail.port),  # type: ignore[attr-defined]
        # The sender address (compose: 'email with admin privileges', the From of GoTrue's mails).
        "GOTRUE_SMTP_ADMIN_EMAIL": mail.from_address,  # type: ignore[attr-defined]
    }
    if mail.username:  # type: ignore[attr-defined]
        env |= {"GOTRUE_SMTP_USER": mail.username, "GOTRUE_SMTP_PASS": mail.password}  # type: ignore[attr-defined]
    return env
