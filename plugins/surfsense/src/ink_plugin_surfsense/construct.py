"""SurfSense's components: migrations, backend + worker, beat, zero-cache, web.

Upstream facts, read at the release tag v0.0.38 of MODSetter/SurfSense:
- ``docker/docker-compose.yml``: one backend image in four roles (``SERVICE_ROLE`` migrate, api, worker,
  beat; ``surfsense_backend/scripts/docker/entrypoint.sh``); the api and the worker share ``/shared_tmp``
  (``TMPDIR``) and ``/app/.local_object_store`` (``FILE_STORAGE_LOCAL_PATH``); ``rocicorp/zero:1.6.0``
  with ``ZERO_UPSTREAM_DB``/``ZERO_CVR_DB``/``ZERO_CHANGE_DB`` (plain ``postgresql://`` URLs), its replica
  file ``/data/zero.db`` and ``ZERO_QUERY_URL``/``ZERO_MUTATE_URL`` on the frontend; the frontend reaches
  the backend at ``SURFSENSE_BACKEND_INTERNAL_URL``.
- ``surfsense_backend/app/app.py``: ``GET /health`` (liveness) and ``GET /ready`` (200 once the
  ``zero_publication`` exists, i.e. the migrations ran).
- ``surfsense_backend/app/config/__init__.py``: ``DATABASE_URL`` (SQLAlchemy, ``postgresql+asyncpg://``),
  ``CELERY_BROKER_URL``/``CELERY_RESULT_BACKEND``/``REDIS_APP_URL``, ``SEARXNG_URL``; global chat models
  from ``/app/app/config/global_llm_config.yaml`` (``BASE_DIR / "app" / "config"``), Ollama's provider name
  ``ollama_chat`` (``app/services/provider_registry.py``).
"""

from __future__ import annotations

import json

from ink import kube
from ink.context import ServiceContext
from ink.models import SecretKeyRef
from ink_plugin_surfsense import (
    BACKEND_PORT,
    NAME,
    RUN_AS_ROOT,
    SECRET,
    WEB_PORT,
    WRITABLE_ROOT,
    ZERO_PORT,
    ZERO_VERSION,
    component_name,
)

BACKEND_IMAGE = "ghcr.io/modsetter/surfsense-backend"
WEB_IMAGE = "ghcr.io/modsetter/surfsense-web"
ZERO_IMAGE = "docker.io/rocicorp/zero"
WEB_USER = 1001  # nextjs (surfsense_web/Dockerfile)
ZERO_USER = 1000  # node, of the node:22 alpine base (the image sets no USER)
LLM_DIR = "/etc/ink/surfsense-llm"
ENTRYPOINT = "/app/scripts/docker/entrypoint.sh"

# One global chat model on the linked Ollama, offered to every user (app/config/global_llm_config.example.yaml:
# negative ids are server-owned, provider names as in app/services/provider_registry.py).
LLM_CONFIG = """\
# Written by ink: the Ollama linked to SurfSense, as a global chat model.
global_llm_configs:
  - id: -1
    name: $name
    billing_tier: free
    provider: ollama_chat
    model_name: $model
    api_key: ""
    api_base: $api_base
    system_instructions: ""
    use_default_system_instructions: true
    citations_enabled: true
"""


def _database_env(ctx: ServiceContext) -> dict[str, object]:
    """The password first: the URLs use it through $(DB_PASSWORD) (dependent environment variables)."""
    database = ctx.database()
    env: dict[str, object] = {"DB_PASSWORD": database.password}
    # asyncpg takes libpq's PGSSLMODE and PGSSLROOTCERT when the URL names none.
    env["DATABASE_URL"] = (
        f"postgresql+asyncpg://{database.user}:$(DB_PASSWORD)@{database.host}:{database.port}/{database.database}"
    )
    if database.tls:
        env |= {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": database.ca_file}
    return env


def _redis_env(ctx: ServiceContext) -> dict[str, object]:
    store = ctx.bindings[f"redis/{NAME}"]
    url: SecretKeyRef = store.url  # type: ignore[attr-defined]
    return {"CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url, "REDIS_APP_URL": url}


def llm_config(ctx: ServiceContext) -> kube.ConfigFiles | None:
    ollama = ctx.link("ollama")
    if ollama is None:
        return None
    model: str = ctx.settings.ollama_model  # type: ignore[attr-defined]
    return kube.ConfigFiles(
        name=f"{NAME}-llm",
        mount_path=LLM_DIR,
        files={"global_llm_config.yaml": LLM_CONFIG},
        # JSON strings are YAML strings.
        values={"name": json.dumps(f"Ollama {model}"), "model": json.dumps(model), "api_base": json.dumps(ollama.url)},
    )


def surfsense(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    database = ctx.database()
    tag = settings.image_tag or ctx.service.version  # type: ignore[attr-defined]
    backend_image = f"{BACKEND_IMAGE}:{tag}"
    backend_url = f"http://{component_name('backend')}.{ctx.namespace}.svc:{BACKEND_PORT}"
    web_url = f"http://{component_name('web')}.{ctx.namespace}.svc:{WEB_PORT}"
    public = ctx.public_url()
    secret = {
        key: SecretKeyRef(name=SECRET, key=key) for key in ("SECRET_KEY", "ZERO_ADMIN_PASSWORD", "ZERO_QUERY_API_KEY")
    }

    common: dict[str, object] = {
        **_database_env(ctx),
        **_redis_env(ctx),
        "CELERY_TASK_DEFAULT_QUEUE": "surfsense",
        "PYTHONPATH": "/app",
        "SECRET_KEY": secret["SECRET_KEY"],
        "AUTH_TYPE": "LOCAL",
        "REGISTRATION_ENABLED": "TRUE" if settings.registration else "FALSE",  # type: ignore[attr-defined]
        # In-process Docling (the docling library in the backend image): SurfSense has no docling-serve client.
        "ETL_SERVICE": "DOCLING",
        "EMBEDDING_MODEL": "sentence-transformers/all-MiniLM-L6-v2",  # baked into the image
        "DEPLOYMENT_MODE": "self-hosted",
        "NEXT_FRONTEND_URL": public,
        "BACKEND_URL": public,
        "FILE_STORAGE_LOCAL_PATH": "/app/.local_object_store",
        # The sandbox's self-hosted provider spawns containers on the host's Docker socket: not on Kubernetes.
        "SANDBOX_ENABLED": "FALSE",
    }
    search = ctx.link("search")
    if search is not None:
        common["SEARXNG_URL"] = search.url  # app/proprietary/platforms/google_search/searxng.py
    llm = llm_config(ctx)
    # The model list must be a file in the app's config folder (no setting names another path); the image's
    # entrypoint then starts the role. Without a linked Ollama the plain entrypoint runs.
    copy = f"cp {LLM_DIR}/global_llm_config.yaml /app/app/config/global_llm_config.yaml && " if llm else ""
    command = ["/bin/sh", "-c", f"{copy}exec {ENTRYPOINT}"]
    database_ca = list(database.ca_mounts())

    def backend_container(role: str, **kwargs: object) -> kube.Container:
        env = ctx.with_user_env({**common, "SERVICE_ROLE": role, **kwargs.pop("env", {})})  # type: ignore[dict-item]
        return kube.Container(
            name=role,
            image=backend_image,
            command=command,
            env=env,  # type: ignore[arg-type]
            exemptions=(RUN_AS_ROOT, WRITABLE_ROOT),
            **kwargs,  # type: ignore[arg-type]
        )

    files = kube.Volume(name="files", mount_path="/app/.local_object_store", size=settings.storage_size)  # type: ignore[attr-defined]
    shared_tmp = kube.Scratch(name="shared-tmp", mount_path="/shared_tmp", size_limit="10Gi")
    llm_mounts = [llm] if llm else []
    api = backend_container(
        "api",
        env={"UVICORN_LOOP": "asyncio", "UNSTRUCTURED_HAS_PATCHED_LOOP": "1"},
        ports=[kube.Port(name="http", number=BACKEND_PORT)],
        mounts=[files, shared_tmp, *llm_mounts, *database_ca],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        liveness=kube.HttpProbe(path="/health", port=BACKEND_PORT),
        readiness=kube.HttpProbe(path="/ready", port=BACKEND_PORT),
        startup=kube.HttpProbe(path="/health", port=BACKEND_PORT, period_seconds=10, failure_threshold=60),
    )
    worker = backend_container(
        "worker",
        mounts=[files, shared_tmp, *llm_mounts, *database_ca],
        resources=kube.Resources.of(settings.worker_resources),  # type: ignore[attr-defined]
    )
    beat = backend_container(
        "beat",
        mounts=[kube.Scratch(name="tmp", mount_path="/shared_tmp", size_limit="256Mi"), *database_ca],
        resources=kube.Resources.of(settings.beat_resources),  # type: ignore[attr-defined]
    )
    migrate = backend_container(
        "migrate",
        env={"MIGRATION_TIMEOUT": "900"},
        mounts=[kube.Scratch(name="tmp", mount_path="/shared_tmp", size_limit="256Mi"), *database_ca],
        resources=kube.Resources.of(settings.beat_resources),  # type: ignore[attr-defined]
    )

    zero_db = _zero_database_url(ctx)
    zero_env = ctx.with_user_env(
        {
            "DB_PASSWORD": database.password,
            "ZERO_UPSTREAM_DB": zero_db,
            "ZERO_CVR_DB": zero_db,
            "ZERO_CHANGE_DB": zero_db,
            **({"NODE_EXTRA_CA_CERTS": database.ca_file} if database.tls else {}),
            "ZERO_REPLICA_FILE": "/data/zero.db",
            "ZERO_ADMIN_PASSWORD": secret["ZERO_ADMIN_PASSWORD"],
            "ZERO_APP_PUBLICATIONS": "zero_publication",
            # If replication halts, zero-cache re-syncs its replica from PostgreSQL (docker/.env.example).
            "ZERO_AUTO_RESET": "true",
            "ZERO_NUM_SYNC_WORKERS": "4",
            "ZERO_UPSTREAM_MAX_CONNS": "20",
            "ZERO_CVR_MAX_CONNS": "30",
            "ZERO_QUERY_URL": f"{web_url}/api/zero/query",
            "ZERO_MUTATE_URL": f"{web_url}/api/zero/mutate",
            "ZERO_QUERY_FORWARD_COOKIES": "true",
            "ZERO_QUERY_API_KEY": secret["ZERO_QUERY_API_KEY"],
            "HOME": "/home/node",
        }
    )
    zero = kube.Container(
        name="zero",
        image=f"{ZERO_IMAGE}:{ZERO_VERSION}",
        env=zero_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=ZERO_PORT)],
        mounts=[
            kube.Volume(
                name="replica",
                mount_path="/data",
                size=settings.zero_storage_size,  # type: ignore[attr-defined]
                backup_exempt="zero-cache's SQLite replica of PostgreSQL tables, rebuilt from the database",
            ),
            kube.Scratch(name="home", mount_path="/home/node", size_limit="256Mi"),  # npx's cache and logs
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="512Mi"),
            *database_ca,
        ],
        resources=kube.Resources.of(settings.zero_resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/keepalive", port=ZERO_PORT),
        startup_seconds=600,  # the first sync copies the published tables (compose: start_period 600s)
    )

    web_env = ctx.with_user_env(
        {
            "AUTH_TYPE": "LOCAL",
            "ETL_SERVICE": "DOCLING",
            "DEPLOYMENT_MODE": "self-hosted",
            "SURFSENSE_BACKEND_INTERNAL_URL": backend_url,
            "ZERO_QUERY_API_KEY": secret["ZERO_QUERY_API_KEY"],
        }
    )
    web = kube.Container(
        name="web",
        image=f"{WEB_IMAGE}:{tag}",
        env=web_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=WEB_PORT)],
        mounts=[
            kube.Scratch(name="next-cache", mount_path="/app/.next/cache", size_limit="512Mi"),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="256Mi"),
        ],
        resources=kube.Resources.of(settings.web_resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/", port=WEB_PORT),
    )

    kube.Workloads(
        scope,
        NAME,
        ctx=ctx,
        components=[
            # Idempotent (alembic upgrade head), in the sync phase: the database Secret is synced with it.
            kube.Component(
                name="migrate",
                kind="Job",
                containers=[migrate],
                job=kube.SetupJob(argocd_hook="Sync", backoff_limit=6),
            ),
            # The API and its Celery worker in one pod: they share /shared_tmp and the uploaded files.
            kube.Component(name="backend", containers=[api, worker], replicas=1),
            # One scheduler: two beats would queue every periodic task twice.
            kube.Component(name="beat", containers=[beat], replicas=1),
            # One replica: its replication slot and SQLite replica belong to one process.
            kube.Component(name="zero", containers=[zero], replicas=1, user=ZERO_USER),
            kube.Component(
                name="web",
                containers=[web],
                replicas=settings.replicas,  # type: ignore[attr-defined]
                user=WEB_USER,
                spread=True,
            ),
        ],
    )


def _zero_database_url(ctx: ServiceContext) -> str:
    database = ctx.database()
    # Node's postgres client verifies the server against NODE_EXTRA_CA_CERTS with sslmode=verify-full.
    mode = "verify-full" if database.tls else "disable"
    return (
        f"postgresql://{database.user}:$(DB_PASSWORD)@{database.host}:{database.port}/{database.database}"
        f"?sslmode={mode}"
    )
