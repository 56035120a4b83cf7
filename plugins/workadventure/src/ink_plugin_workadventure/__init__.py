"""ink plugin: WorkAdventure (https://github.com/workadventure/workadventure), a virtual office.

Five components from the official images, as upstream's ``contrib/docker/docker-compose.prod.yaml``
and ``contrib/helm`` run them: ``play`` (the front end and the pusher, websockets on ``/ws/``),
``back`` (the rooms), ``map-storage`` (the maps, on a volume), ``uploader`` (chat uploads) and
``icon`` (favicons). All of them share one host, ``https://work.<domain>``, under path prefixes.
Redis comes from the ``redis`` capability, login from the auth provider (native OIDC), video
rooms from a linked Jitsi and relayed media from the ``turn`` capability, each when installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    Capability,
    DnsLabel,
    GeneratedSecret,
    Internet,
    Link,
    MetricsTarget,
    NamedNeed,
    NetworkRule,
    Quantity,
    Route,
    RoutePath,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
)
from ink.settings import ContainerResources, ImageTag, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# The release every WorkAdventure image is tagged with (README, "Versions").
# renovate: datasource=docker depName=docker.io/thecodingmachine/workadventure-play
VERSION = "v1.33.3"
# The favicon server upstream's compose file and chart pin (contrib/docker/docker-compose.prod.yaml).
# renovate: datasource=docker depName=docker.io/matthiasluedtke/iconserver
ICON_VERSION = "v3.21.0"
NAME = "workadventure"
PLAY_HTTP = 3000  # PUSHER_HTTP_PORT's default; play/Dockerfile EXPOSE 3000
PLAY_WS = 3001  # PUSHER_WS_PORT's default
BACK_HTTP = 8080  # back/Dockerfile EXPOSE 8080 50051
BACK_GRPC = 50051
MAP_STORAGE_HTTP = 3000  # map-storage/Dockerfile EXPOSE 3000 50053
MAP_STORAGE_GRPC = 50053
UPLOADER_HTTP = 8080  # uploader/Dockerfile EXPOSE 8080
ICON_HTTP = 8080  # the iconserver's PORT
# Where play receives the OIDC answer (docs/others/self-hosting/openid.md).
OIDC_REDIRECT = "/openid-callback"
# The cookie upstream's Traefik labels pin a websocket client to one play pod with.
STICKY_COOKIE = "wa_ws_affinity"
SECRET = "workadventure"
# SECRET_KEY signs the session tokens play issues and back and map-storage check; MAP_STORAGE_API_TOKEN lets
# play call map-storage's API; the bearer token lets an admin upload maps (the map starter kit's upload).
SECRET_KEY = GeneratedSecret(id=f"{NAME}/secret-key", length=64)
MAP_STORAGE_API_TOKEN = GeneratedSecret(id=f"{NAME}/map-storage-api-token", length=48)
MAP_UPLOAD_TOKEN = GeneratedSecret(id=f"{NAME}/map-upload-token", length=48)
# back and play serve /metrics on their HTTP port once PROMETHEUS_AUTHORIZATION_TOKEN is set, and then only to
# "Authorization: Bearer <token>" (back/src/Controller/PrometheusController.ts, play/src/pusher/controllers/
# PrometheusController.ts at v1.33.3; without the token or PROMETHEUS_PORT they answer 501).
PROMETHEUS_TOKEN = GeneratedSecret(id=f"{NAME}/prometheus-token", length=48)
METRICS_COMPONENTS = {"play": PLAY_HTTP, "back": BACK_HTTP}


def scraped(ctx: ServiceContext) -> bool:
    """Only with a metrics provider: without one /metrics stays disabled, as upstream ships it."""
    return ctx.provider_of(Capability.METRICS) is not None


def _resources(cpu: str, memory: str, limit: str) -> ContainerResources:
    return ContainerResources(cpu_request=cpu, memory_request=memory, memory_limit=limit)


class WorkAdventureSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="work", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Pods of play (front end and pusher). Above 1, the websocket route is sticky (cookie "
        f"{STICKY_COOKIE}) and a PodDisruptionBudget keeps one up.",
    )
    back_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Pods of back (a StatefulSet): each room lives on one of them, and play and map-storage list "
        "every pod by name (API_URL), as upstream's chart does.",
    )
    storage_size: Quantity = Field(default="1Gi", description="The maps volume (map-storage's /maps).")
    icon_image_tag: ImageTag = Field(default=ICON_VERSION, description="Tag of docker.io/matthiasluedtke/iconserver.")
    start_room_url: str = Field(
        default="/_/global/workadventure.github.io/map-starter-kit/office.tmj",
        pattern=r"^/[_@~]/\S+$",
        description="The room visitors start in (START_ROOM_URL): '/_/global/<host>/<path>.tmj' for a map on the "
        "web, '/~/<path>.wam' for one in map-storage. Default: upstream's starter office.",
    )
    max_per_group: int = Field(
        default=4,
        ge=2,
        le=4,
        description="People in one bubble (MAX_PER_GROUP). Peer-to-peer video allows 4 (upstream's default); more "
        "needs LiveKit, which ink does not deploy.",
    )
    sso: bool = Field(
        default=True, description="Log in through the auth provider (native OIDC), when one is installed."
    )
    anonymous: bool = Field(
        default=False,
        description="Let visitors in without logging in. Only takes effect with SSO: without an auth provider "
        "everybody is anonymous (upstream's DISABLE_ANONYMOUS needs OIDC).",
    )
    jitsi: bool = Field(
        default=True, description="Open Jitsi rooms (meeting areas of the map) on the jitsi plugin, when installed."
    )
    turn: bool = Field(
        default=True, description="Relay video through the turn provider (coturn) for people behind strict NAT."
    )
    backup: bool = Field(
        default=True, description="Back up the maps and the Redis data with the backup provider, when installed."
    )
    public: bool = Field(default=False, description="Also expose the route through the external tunnel.")
    resources: ContainerResources = Field(
        default_factory=lambda: _resources("100m", "256Mi", "1Gi"), description="Requests and limits of play."
    )
    back_resources: ContainerResources = Field(
        default_factory=lambda: _resources("100m", "256Mi", "1Gi"), description="Requests and limits of back."
    )
    map_storage_resources: ContainerResources = Field(
        default_factory=lambda: _resources("50m", "192Mi", "768Mi"), description="Requests and limits of map-storage."
    )
    uploader_resources: ContainerResources = Field(
        default_factory=lambda: _resources("25m", "128Mi", "512Mi"), description="Requests and limits of uploader."
    )
    icon_resources: ContainerResources = Field(
        default_factory=lambda: _resources("10m", "32Mi", "128Mi"), description="Requests and limits of icon."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="WorkAdventure",
        version=VERSION,
        homepage="https://workadventu.re/",
        description="Virtual office: walk an avatar through a map, talk by walking up to people, meet in Jitsi rooms.",
        settings_model=WorkAdventureSettings,
    )


def component_name(component: str) -> str:
    return f"{NAME}-{component}"


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings: WorkAdventureSettings = ctx.settings  # type: ignore[assignment]
    # One host, as upstream's compose file: the prefixes are stripped except /ws/ (the pusher's own paths) and
    # /lettericons (the icon server redirects there). The websocket is sticky with several play pods: a
    # client's socket and its HTTP calls must reach the pod that holds its session.
    sticky = STICKY_COOKIE if settings.replicas > 1 else ""
    paths = (
        RoutePath(path="/ws/", service=component_name("play"), port=PLAY_WS, sticky_cookie=sticky),
        RoutePath(path="/api", service=component_name("back"), port=BACK_HTTP, strip_prefix=True),
        RoutePath(path="/map-storage", service=component_name("map-storage"), port=MAP_STORAGE_HTTP, strip_prefix=True),
        RoutePath(path="/uploader", service=component_name("uploader"), port=UPLOADER_HTTP, strip_prefix=True),
        RoutePath(path="/icon", service=component_name("icon"), port=ICON_HTTP, strip_prefix=True),
        RoutePath(path="/lettericons", service=component_name("icon"), port=ICON_HTTP),
    )
    return [
        Route(
            host=settings.hostname,
            service=component_name("play"),
            port=PLAY_HTTP,
            paths=paths,
            public=settings.public,
            optional=True,
        )
    ]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    settings: WorkAdventureSettings = ctx.settings  # type: ignore[assignment]
    if not settings.sso:
        return []
    return [
        AuthClient(
            kind="oidc", host=settings.hostname, redirect_paths=(OIDC_REDIRECT,), optional=True, enabled_by="sso"
        )
    ]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    settings: WorkAdventureSettings = ctx.settings  # type: ignore[assignment]
    # By name: neither package is imported. WorkAdventure's Redis client sends a password without a user name
    # (back/src/Services/RedisClient.ts), and the uploader keeps chat files there (no S3): persisted, no eviction.
    # Its clients take only REDIS_HOST/PORT/PASSWORD, no TLS option, so this hop stays plain (ink graph shows it).
    needs = [
        NamedNeed(
            capability="redis",
            id=NAME,
            params={
                "password_only": True,
                "tls": False,
                "persistence": True,
                "max_memory": "256Mi",
                "storage_size": "2Gi",
            },
        )
    ]
    if settings.turn:
        needs.append(NamedNeed(capability="turn", id=NAME, optional=True, enabled_by="turn"))
    return needs


@hookimpl
def ink_links(ctx: ServiceContext) -> list[Link]:
    if not ctx.settings.jitsi:  # type: ignore[attr-defined]
        return []
    # Any service serving kind "jitsi" (the jitsi plugin): the browser opens its public URL in an iframe.
    return [Link(name="jitsi", kind="jitsi", optional=True, dialled=False)]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:  # type: ignore[attr-defined]
        return []
    return [
        BackupTarget(
            volume=f"{component_name('map-storage')}-maps", pod_volume="maps", optional=True, enabled_by="backup"
        ),
        # The redis provider's volume in this namespace (the redis capability names it <need>-redis-data).
        BackupTarget(volume=f"{NAME}-redis-data", pod_volume="data", optional=True, enabled_by="backup"),
    ]


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    data = {
        "SECRET_KEY": SECRET_KEY,
        "MAP_STORAGE_API_TOKEN": MAP_STORAGE_API_TOKEN,
        "MAP_UPLOAD_TOKEN": MAP_UPLOAD_TOKEN,
    }
    if scraped(ctx):
        data["PROMETHEUS_AUTHORIZATION_TOKEN"] = PROMETHEUS_TOKEN
    return [SecretClaim(name=SECRET, data=data)]


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not scraped(ctx):
        return []
    token = SecretKeyRef(name=SECRET, key="PROMETHEUS_AUTHORIZATION_TOKEN")
    return [
        MetricsTarget(name=component, pods=ctx.selector_labels(component), port=port, bearer_token=token)
        for component, port in METRICS_COMPONENTS.items()
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_workadventure.construct import workadventure

    workadventure(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [
        # back and play load maps from the web ('/_/global/...' rooms, the starter kit on GitHub Pages) and
        # the icon server fetches the favicons of the sites people link to.
        Internet(ports=(443, 80), pods={"app.kubernetes.io/component": "back"}, reason="maps on the web"),
        Internet(ports=(443, 80), pods={"app.kubernetes.io/component": "play"}, reason="maps on the web"),
        Internet(ports=(443, 80), pods={"app.kubernetes.io/component": "icon"}, reason="favicons of linked sites"),
    ]
