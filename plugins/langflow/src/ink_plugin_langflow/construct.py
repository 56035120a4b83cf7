"""Langflow's Deployment, Service and config volume.

Upstream facts (docs.langflow.org 1.12: environment-variables, configuration-authentication,
configuration-global-variables; langflow-ai/langflow-helm-charts: charts/langflow-ide):
- ``langflow run`` serves the UI and the API on ``LANGFLOW_PORT`` 7860; ``GET /health`` answers when it
  is up (the chart's liveness and readiness probes);
- ``LANGFLOW_DATABASE_URL`` takes a SQLAlchemy URL (``postgresql://...``); ``LANGFLOW_CONFIG_DIR`` holds
  files, logs and, without ``LANGFLOW_SECRET_KEY``, a generated key;
- ``LANGFLOW_VARIABLES_TO_GET_FROM_ENVIRONMENT`` names environment variables that become global variables
  (type Credential) of each user, with ``LANGFLOW_STORE_ENVIRONMENT_VARIABLES`` true;
- the chart runs UID 1000 with a read-only root filesystem and emptyDirs at /tmp, /app/data, /app/flows;
- a Service named ``langflow`` makes Kubernetes inject ``LANGFLOW_PORT=tcp://...`` (service links), which
  Langflow reads as its port (langflow-ai/langflow#4330): ``LANGFLOW_PORT`` is set explicitly below, and
  a container's own variables win over the injected ones.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink_plugin_langflow import METRICS_PORT, NAME, PORT, SECRET, scraped

IMAGE = "docker.io/langflowai/langflow"
CONFIG_DIR = "/app/langflow"
USER = 1000  # the image's user (the langflow-ide chart's runAsUser)


def behind_forward_auth(ctx: ServiceContext) -> bool:
    auth = ctx.bindings.get(f"auth/{ctx.settings.hostname}")  # type: ignore[attr-defined]
    return bool(ctx.settings.sso) and isinstance(auth, AuthBinding)  # type: ignore[attr-defined]


def auto_login(ctx: ServiceContext) -> bool:
    chosen = ctx.settings.auto_login  # type: ignore[attr-defined]
    return behind_forward_auth(ctx) if chosen is None else bool(chosen)


def langflow(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    database = ctx.database()
    if auto_login(ctx) and not behind_forward_auth(ctx):
        ctx.warn("auto_login is on without forward-auth: anyone who reaches Langflow is its superuser")
    env: dict[str, object] = {
        "LANGFLOW_HOST": "0.0.0.0",
        "LANGFLOW_PORT": str(PORT),
        "LANGFLOW_DATABASE_URL": database.uri,
        "LANGFLOW_CONFIG_DIR": CONFIG_DIR,
        "LANGFLOW_SECRET_KEY": SecretKeyRef(name=SECRET, key="LANGFLOW_SECRET_KEY"),
        "LANGFLOW_AUTO_LOGIN": "true" if auto_login(ctx) else "false",
        "LANGFLOW_SUPERUSER": settings.superuser,  # type: ignore[attr-defined]
        "LANGFLOW_SUPERUSER_PASSWORD": SecretKeyRef(name=SECRET, key="LANGFLOW_SUPERUSER_PASSWORD"),
        "LANGFLOW_NEW_USER_IS_ACTIVE": "true" if settings.new_user_is_active else "false",  # type: ignore[attr-defined]
        # The starter projects are rewritten on every start otherwise (the chart turns it off too).
        "LANGFLOW_UPDATE_STARTER_PROJECTS": "false",
        "LANGFLOW_ALEMBIC_LOG_TO_STDOUT": "true",
        "DO_NOT_TRACK": "true",
    }
    ollama = ctx.link("ollama")
    if ollama is not None:
        # A global variable each user can pick in the Ollama component's Base URL field.
        env |= {
            "OLLAMA_BASE_URL": ollama.url,
            "LANGFLOW_STORE_ENVIRONMENT_VARIABLES": "true",
            "LANGFLOW_VARIABLES_TO_GET_FROM_ENVIRONMENT": "OLLAMA_BASE_URL",
        }
    ports = [kube.Port(name="http", number=PORT)]
    if scraped(ctx):
        env |= {"LANGFLOW_PROMETHEUS_ENABLED": "true", "LANGFLOW_PROMETHEUS_PORT": str(METRICS_PORT)}
        ports.append(kube.Port(name="metrics", number=METRICS_PORT))
    env = ctx.with_user_env(env)
    container = kube.Container(
        name=NAME,
        image=f"{IMAGE}:{settings.image_tag or ctx.service.version}",  # type: ignore[attr-defined]
        env=env,  # type: ignore[arg-type]
        ports=ports,
        mounts=[
            kube.Volume(name="config", mount_path=CONFIG_DIR, size=settings.storage_size),  # type: ignore[attr-defined]
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="1Gi"),
            kube.Scratch(name="data", mount_path="/app/data", size_limit="1Gi"),
            kube.Scratch(name="flows", mount_path="/app/flows", size_limit="256Mi"),
            *database.ca_mounts(),
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/health", port=PORT),
        # The first start migrates the database and loads every component.
        startup_seconds=300,
    )
    # One replica: the config folder is a ReadWriteOnce volume of files (uploads, cache) one pod owns.
    # The Service publishes only the web port: the metrics provider scrapes the metrics port on the pod.
    component = kube.Component(name=NAME, containers=[container], user=USER, services=[kube.Service(ports=["http"])])
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])
