"""ink plugin: SurfSense (https://github.com/MODSetter/SurfSense), a research agent over your own knowledge base.

Every component of upstream's production compose (``docker/docker-compose.yml``): the schema migrations
(a Job), the FastAPI backend with its Celery worker beside it (they share files), the Celery beat
scheduler, the Zero real-time sync cache (``zero-cache``, logical replication from PostgreSQL) and the
Next.js web frontend, at ``https://research.<domain>`` with the paths upstream's Caddy proxy routes.
PostgreSQL with pgvector and logical replication through the database hook, Redis (Celery broker and
results) through the ``redis`` capability, SearXNG and Ollama through links; forward-auth in front,
since SurfSense's only single sign-on is Google OAuth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    DatabaseClaim,
    DnsLabel,
    GeneratedSecret,
    Internet,
    Link,
    NamedNeed,
    NetworkRule,
    Quantity,
    Route,
    RoutePath,
    SecretClaim,
    ServiceInfo,
)
from ink.podsecurity import RunAsRoot, WritableRootFilesystem
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/modsetter/surfsense-backend
VERSION = "0.0.38"  # release v0.0.38; images are tagged without the "v" (.github/workflows/docker-build.yml)
# renovate: datasource=docker depName=docker.io/rocicorp/zero
ZERO_VERSION = "1.6.0"  # docker.io/rocicorp/zero, as pinned by upstream's docker/docker-compose.yml at v0.0.38
NAME = "surfsense"
BACKEND_PORT = 8000  # UVICORN_PORT's default (app/config/uvicorn.py)
WEB_PORT = 3000  # PORT in surfsense_web/Dockerfile
ZERO_PORT = 4848  # zero-cache's port (EXPOSE 4848 in rocicorp/mono packages/zero/Dockerfile)
SECRET = f"{NAME}-keys"
FILES_VOLUME = f"{NAME}-backend-files"

SECRET_KEY = GeneratedSecret(id=f"{NAME}/secret-key", length=64)  # SECRET_KEY: signs the JWTs
ZERO_ADMIN_PASSWORD = GeneratedSecret(id=f"{NAME}/zero-admin-password", length=32)
# The shared secret of the zero-cache → /api/zero/query hop (docker/.env.example, ZERO_QUERY_API_KEY).
ZERO_QUERY_API_KEY = GeneratedSecret(id=f"{NAME}/zero-query-api-key", length=48)

# The backend image (python:3.12-slim, no USER) bakes its models under /root: EasyOCR's, Docling's, the
# embedding model's Hugging Face cache and Scrapling's browsers (surfsense_backend/Dockerfile).
RUN_AS_ROOT = RunAsRoot(
    reason="the backend image has no user of its own and keeps the models and browsers it bakes in under /root "
    "(EasyOCR, Docling, the embedding model, Scrapling's browsers), which only root may read"
)
WRITABLE_ROOT = WritableRootFilesystem(
    reason="the backend writes the models it fetches on first use (speech-to-text, text-to-speech, rerankers) into "
    "the caches under /root/.cache beside the baked ones, so no volume can be mounted there without hiding them; "
    "and the start command copies the Ollama model list into the app's config folder"
)


class SurfSenseSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="research", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=2, ge=0, le=20, description="Pods of the web frontend (stateless): 2 survive a drain."
    )
    storage_size: Quantity = Field(
        default="20Gi",
        description="The uploaded files' volume (FILE_STORAGE_LOCAL_PATH), shared by the backend and its worker.",
    )
    zero_storage_size: Quantity = Field(
        default="2Gi", description="zero-cache's volume: its SQLite replica of the synced tables (/data/zero.db)."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="250m", memory_request="1536Mi", memory_limit="4Gi"),
        description="The backend API container (it loads the embedding model).",
    )
    worker_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="250m", memory_request="2Gi", memory_limit="6Gi"),
        description="The Celery worker (document parsing with Docling, embeddings, podcasts).",
    )
    beat_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="768Mi", memory_limit="1536Mi"),
        description="The Celery beat scheduler and the migrations Job (each loads the app's configuration).",
    )
    zero_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="512Mi", memory_limit="2Gi"),
        description="zero-cache (the real-time sync).",
    )
    web_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="256Mi", memory_limit="1Gi"),
        description="The Next.js web frontend.",
    )
    registration: bool = Field(
        default=True,
        description="Let people who pass the forward-auth create a SurfSense account (REGISTRATION_ENABLED).",
    )
    ollama_model: str = Field(
        default="llama3.2:3b",
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
        description="The Ollama chat model offered to every user (global_llm_config.yaml), when Ollama is linked; "
        "pull it in Ollama's settings (plugins.ollama).",
    )
    sso: bool = Field(
        default=True,
        description="Forward-auth in front of every path, when an auth provider is installed (SurfSense's own "
        "single sign-on is Google OAuth only).",
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the uploaded files' volume with the backup provider, when installed."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="SurfSense",
        version=VERSION,
        homepage="https://github.com/MODSetter/SurfSense",
        description="Research agent over your own knowledge base (an open NotebookLM / Perplexity).",
        settings_model=SurfSenseSettings,
        exemptions=(RUN_AS_ROOT, WRITABLE_ROOT),
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    # pgvector for the embeddings; zero-cache replicates the zero_publication tables (Alembic migration 116)
    # over logical replication (docker/postgresql.conf: wal_level = logical).
    return [DatabaseClaim(name=NAME, extensions=("vector",), logical_replication=True)]


@hookimpl
def ink_needs() -> list[NamedNeed]:
    # Celery's broker and results, and the app's cache (REDIS_URL in docker/.env.example): a queue, so kept
    # (upstream runs redis with --appendonly yes) and never evicted. Plain: Celery's redis backend refuses a
    # rediss:// URL without ssl_cert_reqs, which the binding's URLs do not carry.
    params = {"persistence": True, "max_memory": "256Mi", "eviction_policy": "noeviction", "tls": False}
    return [NamedNeed(capability="redis", id=NAME, params=params)]


@hookimpl
def ink_links() -> list[Link]:
    # Optional: SurfSense runs without them (no web-search fallback; models added by hand in its UI).
    return [
        Link(name="search", kind="searxng", optional=True),
        Link(name="ollama", kind="ollama", optional=True),
    ]


def component_name(component: str) -> str:
    return f"{NAME}-{component}"


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    backend, zero = component_name("backend"), component_name("zero")
    # One origin, routed as upstream's Caddy does (docker/proxy/Caddyfile): the longest prefix wins.
    paths = (
        RoutePath(path="/auth/callback", service=component_name("web"), port=WEB_PORT),  # the frontend's page
        RoutePath(path="/auth/", service=backend, port=BACKEND_PORT),  # FastAPI Users and OAuth helpers
        RoutePath(path="/users/", service=backend, port=BACKEND_PORT),
        RoutePath(path="/api/v1/", service=backend, port=BACKEND_PORT),  # REST and streamed answers
        RoutePath(path="/zero/context", service=backend, port=BACKEND_PORT, exact=True),
        RoutePath(path="/zero/", service=zero, port=ZERO_PORT),  # the sync websocket
    )
    return [
        Route(
            host=settings.hostname,
            service=component_name("web"),
            port=WEB_PORT,
            paths=paths,
            public=settings.public,
            optional=True,
        )
    ]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # No generic OIDC (AUTH_TYPE is LOCAL or GOOGLE): the ingress asks the auth provider first, on every path.
    return [AuthClient(kind="forward-auth", host=ctx.settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [
        SecretClaim(
            name=SECRET,
            data={
                "SECRET_KEY": SECRET_KEY,
                "ZERO_ADMIN_PASSWORD": ZERO_ADMIN_PASSWORD,
                "ZERO_QUERY_API_KEY": ZERO_QUERY_API_KEY,
            },
        )
    ]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [
        BackupTarget(volume=FILES_VOLUME, pod_volume="files", optional=True, enabled_by="backup"),
        # The queue in the redis provider's volume here (the redis capability names it <need>-redis-data).
        BackupTarget(volume=f"{NAME}-redis-data", pod_volume="data", optional=True, enabled_by="backup"),
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_surfsense.construct import surfsense

    surfsense(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    backend = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
    return [
        Internet(
            ports=(443, 80),
            reason="the backend and its worker: web pages and connectors it indexes (crawler, YouTube, Notion, "
            "Slack...), hosted model providers set up in its UI, and models it downloads on first use (Hugging Face)",
            pods={**backend, "app.kubernetes.io/component": "backend"},
        )
    ]
