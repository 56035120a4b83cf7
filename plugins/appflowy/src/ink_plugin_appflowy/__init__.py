"""ink plugin: AppFlowy Cloud (https://github.com/AppFlowy-IO/AppFlowy-Cloud), self-hosted.

The components the upstream ``docker-compose.yml`` runs, each from its official image: ``cloud``
(the API and the collaboration websocket), ``gotrue`` (AppFlowy's fork of Supabase Auth),
``worker`` (imports and exports), ``search`` (the keyword index), ``web`` (the web app) and
``admin`` (the admin console). ink provides the rest: PostgreSQL with pgvector through the
database hook, Redis through the ``redis`` capability, S3 through a bucket claim, mail through
``smtp``, and Traefik path routes on one host instead of upstream's nginx (``nginx/nginx.conf``).
The free self-hosted edition has no OIDC login (custom OIDC needs a paid plan), so an installed
auth provider gates the browser pages with forward-auth; see the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    BucketClaim,
    DatabaseClaim,
    DnsLabel,
    Endpoint,
    GeneratedSecret,
    NamedNeed,
    Quantity,
    Route,
    RoutePath,
    SecretClaim,
    ServiceInfo,
)
from ink.podsecurity import AddCapabilities, RunAsRoot, WritableRootFilesystem
from ink.settings import ContainerResources, ImageTag, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# The release of AppFlowy-IO/AppFlowy-SelfHost-Commercial's README ("v0.17.4 (Latest)"); appflowy_cloud,
# gotrue, appflowy_worker and appflowy_search are tagged with it (README, "Versions").
# renovate: datasource=docker depName=docker.io/appflowyinc/appflowy_cloud
VERSION = "0.17.4"
# The admin console's companion version of that line (README, v0.17.3 "Required Companion Versions").
# renovate: datasource=docker depName=docker.io/appflowyinc/admin_frontend
ADMIN_VERSION = "0.16.5"
# AppFlowy-IO/AppFlowy-Web's newest tag; its web_docker.yml pushes appflowyinc/appflowy_web:<tag>.
# renovate: datasource=docker depName=docker.io/appflowyinc/appflowy_web
WEB_VERSION = "0.16.18"
NAME = "appflowy"
REGISTRY = "docker.io/appflowyinc"

CLOUD_PORT = 8000  # APPFLOWY_APPLICATION_PORT's default (src/config/config.rs), Dockerfile EXPOSE
GOTRUE_PORT = 9999  # docker-compose.yml PORT=9999
WORKER_PORT = 4001  # services/appflowy-worker/src/main.rs binds [::]:4001 (/metrics)
SEARCH_PORT = 4002  # docker-compose.yml APPFLOWY_SEARCH_PORT's default
WEB_PORT = 80  # AppFlowy-Web docker/nginx-ssr.conf listens on 80 (EXPOSE 80)
ADMIN_PORT = 3000  # admin_frontend/Dockerfile PORT 3000; the chart's containerPort
ADMIN_PREFIX = "/console"  # nginx.conf location /console; the chart's ADMIN_FRONTEND_PATH_PREFIX

SECRET = "appflowy"
# One secret signs and checks every token: GoTrue issues them, cloud and search verify them (compose: the same
# GOTRUE_JWT_SECRET reaches GOTRUE_JWT_SECRET and APPFLOWY_GOTRUE_JWT_SECRET).
JWT_SECRET = GeneratedSecret(id=f"{NAME}/gotrue-jwt-secret", length=64)
ADMIN_PASSWORD = GeneratedSecret(id=f"{NAME}/gotrue-admin-password", length=32)


def _resources(cpu: str, memory: str, limit: str) -> ContainerResources:
    return ContainerResources(cpu_request=cpu, memory_request=memory, memory_limit=limit)


class AppFlowySettings(ServiceSettings):
    hostname: DnsLabel = Field(default="appflowy", description="Subdomain: https://<hostname>.<domain>.")
    admin_email: str = Field(
        default="",
        pattern=r"^([^@\s]+@[^@\s]+)?$",
        description="The GoTrue admin created at start (GOTRUE_ADMIN_EMAIL); its password is generated (Secret "
        "appflowy, key GOTRUE_ADMIN_PASSWORD). Default: admin@<domain>.",
    )
    disable_signup: bool = Field(
        default=False,
        description="Refuse sign-ups (GOTRUE_DISABLE_SIGNUP); the admin then creates the accounts in the console. "
        "Off by default, as upstream: the signup whitelist of the admin console needs sign-ups enabled.",
    )
    replicas: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Pods of cloud, gotrue and web (the official chart's default 1; its autoscalers go up to 10 for "
        "cloud). Above 1 they spread over nodes and a PodDisruptionBudget keeps one up. worker, search (one "
        "writer of its index volume) and admin stay at one, as the chart.",
    )
    storage_size: Quantity = Field(
        default="2Gi", description="The keyword index volume of search (/var/lib/appflowy/keyword_index)."
    )
    s3_public_url: str = Field(
        default="",
        pattern=r"^(https://\S+[^/])?$",
        description="Where clients reach the bucket's S3 endpoint (APPFLOWY_S3_PRESIGNED_URL_ENDPOINT), for the "
        "presigned uploads of workspace imports. '' (default): ink's S3 server has no public route, so imports of "
        "Notion/zip files are unavailable; see the README.",
    )
    sso: bool = Field(
        default=True,
        description="Put the web app and the admin console behind the auth provider's forward-auth, when one is "
        "installed (the free edition has no OIDC login). The API, websocket and GoTrue paths stay open for the "
        "desktop and mobile apps.",
    )
    smtp: bool = Field(
        default=True, description="Send confirmation, invitation and recovery mail through the smtp provider."
    )
    backup: bool = Field(
        default=True,
        description="Back up the Redis data (the collaboration streams not yet written to PostgreSQL) with the "
        "backup provider, when installed. The database is backed up by its provider.",
    )
    public: bool = Field(default=False, description="Also expose the route through the external tunnel.")
    admin_image_tag: ImageTag = Field(default=ADMIN_VERSION, description="Tag of appflowyinc/admin_frontend.")
    web_image_tag: ImageTag = Field(default=WEB_VERSION, description="Tag of appflowyinc/appflowy_web.")
    resources: ContainerResources = Field(
        default_factory=lambda: _resources("200m", "512Mi", "2Gi"), description="Requests and limits of cloud."
    )
    gotrue_resources: ContainerResources = Field(
        default_factory=lambda: _resources("50m", "64Mi", "256Mi"), description="Requests and limits of gotrue."
    )
    worker_resources: ContainerResources = Field(
        default_factory=lambda: _resources("100m", "256Mi", "1Gi"), description="Requests and limits of worker."
    )
    search_resources: ContainerResources = Field(
        default_factory=lambda: _resources("100m", "256Mi", "3Gi"),
        description="Requests and limits of search (its index is memory-mapped, up to 2 GiB by upstream's default).",
    )
    web_resources: ContainerResources = Field(
        default_factory=lambda: _resources("50m", "128Mi", "512Mi"), description="Requests and limits of web."
    )
    admin_resources: ContainerResources = Field(
        default_factory=lambda: _resources("50m", "128Mi", "512Mi"), description="Requests and limits of admin."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="AppFlowy Cloud",
        version=VERSION,
        homepage="https://appflowy.com",
        description="Self-hosted sync server of AppFlowy (notes, wikis, databases): the web app, the API for the "
        "desktop and mobile apps, and the admin console.",
        settings_model=AppFlowySettings,
        exemptions=WEB_EXEMPTIONS,
    )


# The web image (AppFlowy-Web docker/Dockerfile.ssr) is oven/bun with Debian's nginx under supervisord, all as
# root: the entrypoint writes the public URLs into index.html with sed -i, nginx binds port 80 and switches its
# workers to www-data, supervisord writes /var/run and /var/log/supervisor.
WEB_EXEMPTIONS = (
    RunAsRoot(reason="the web image starts supervisord, nginx and bun as root (AppFlowy-Web Dockerfile.ssr)"),
    WritableRootFilesystem(
        reason="the web entrypoint writes the public URLs into /usr/share/nginx/html and /app/dist index.html"
    ),
    AddCapabilities(
        capabilities=("CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"),
        reason="nginx binds port 80, owns its temp directories and switches its workers to www-data",
    ),
)


def component_name(component: str) -> str:
    return f"{NAME}-{component}"


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    # One database for every component, as upstream: cloud's migrations create pgvector (collab_embeddings) and
    # uuid-ossp; GoTrue (AppFlowy-IO/auth >= 0.7.0) creates its own 'auth' schema in it with the same role, which
    # owns the database (CREATE on it). uuid-ossp is a trusted extension the owner may create.
    return [DatabaseClaim(name=NAME, extensions=("vector",))]


@hookimpl
def ink_bucket_claims() -> list[BucketClaim]:
    # The blobs (files, images, collab snapshots). Plain: the Rust S3 client cannot be given the in-cluster CA.
    return [BucketClaim(bucket=NAME)]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    settings: AppFlowySettings = ctx.settings  # type: ignore[assignment]
    # Redis carries the collaboration streams and the worker's import queue: kept across restarts, never evicted.
    # The Rust redis client takes a redis:// URL and no CA, so the hop stays plain (ink graph shows it).
    needs = [
        NamedNeed(
            capability="redis",
            id=NAME,
            params={"persistence": True, "max_memory": "256Mi", "storage_size": "2Gi", "tls": False},
        )
    ]
    if settings.smtp:
        needs.append(NamedNeed(capability="smtp", id=NAME, optional=True, enabled_by="smtp"))
    return needs


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings: AppFlowySettings = ctx.settings  # type: ignore[assignment]
    # upstream nginx.conf's locations: /gotrue/ is stripped, /ws (websocket), /api and /ai go to cloud, /console to
    # the admin console, the rest to the web app. /api also carries SCIM's /scim (SelfHost-Commercial README v0.17.3)
    # Only browser pages sit behind forward-auth: the apps call the API, the websocket and GoTrue with their own
    # GoTrue tokens and cannot follow a login page.
    cloud = component_name("cloud")
    paths = (
        RoutePath(
            path="/gotrue/", service=component_name("gotrue"), port=GOTRUE_PORT, strip_prefix=True, forward_auth=False
        ),
        RoutePath(path="/ws", service=cloud, port=CLOUD_PORT, forward_auth=False),
        RoutePath(path="/api", service=cloud, port=CLOUD_PORT, forward_auth=False),
        RoutePath(path="/ai/", service=cloud, port=CLOUD_PORT, forward_auth=False),
        RoutePath(path="/scim", service=cloud, port=CLOUD_PORT, forward_auth=False),
        RoutePath(path=ADMIN_PREFIX, service=component_name("admin"), port=ADMIN_PORT),
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
    settings: AppFlowySettings = ctx.settings  # type: ignore[assignment]
    if not settings.sso:
        return []
    return [AuthClient(kind="forward-auth", host=settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:  # type: ignore[attr-defined]
        return []
    # The redis provider's volume in this namespace (the redis capability names it <need>-redis-data).
    return [BackupTarget(volume=f"{NAME}-redis-data", pod_volume="data", optional=True, enabled_by="backup")]


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    return [SecretClaim(name=SECRET, data={"GOTRUE_JWT_SECRET": JWT_SECRET, "GOTRUE_ADMIN_PASSWORD": ADMIN_PASSWORD})]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    # Prometheus metrics of cloud and worker (the SelfHost chart's ServiceMonitors scrape /metrics on both).
    return [
        Endpoint(name="metrics", port=CLOUD_PORT, path="/metrics", service=component_name("cloud")),
        Endpoint(name="worker-metrics", port=WORKER_PORT, path="/metrics", service=component_name("worker")),
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_appflowy.construct import appflowy

    appflowy(scope, ctx=ctx)
