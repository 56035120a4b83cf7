"""WorkAdventure's five components, written with the workload vocabulary.

Upstream facts (workadventure/workadventure at v1.33.3): play, back, map-storage and uploader are
Node 24 images that end with ``USER node`` (uid 1000) and run ``npm run ...`` from
``/usr/src/<component>``; map-storage keeps maps in ``STORAGE_DIRECTORY=/maps`` (its Dockerfile).
The environment is that of ``contrib/docker/docker-compose.prod.yaml`` and ``contrib/helm``'s
ConfigMaps; the probes are the images' HEALTHCHECKs (``GET /ping``) and the chart's
(map-storage liveness ``GET /health/live``).
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink_plugin_workadventure import (
    BACK_GRPC,
    BACK_HTTP,
    ICON_HTTP,
    MAP_STORAGE_GRPC,
    MAP_STORAGE_HTTP,
    NAME,
    PLAY_HTTP,
    PLAY_WS,
    SECRET,
    UPLOADER_HTTP,
    WorkAdventureSettings,
    component_name,
    scraped,
)

REGISTRY = "docker.io/thecodingmachine"
ICON_IMAGE = "docker.io/matthiasluedtke/iconserver"
# The uploader's files go to Redis database 1, the rooms' variables stay in 0 (contrib/helm uploader-env.yaml).
UPLOADER_REDIS_DB = "1"


def _scratch() -> list[kube.Scratch]:
    # npm writes its logs and cache under $HOME/.npm; Node and the apps use /tmp. Nothing to keep.
    return [
        kube.Scratch(name="tmp", mount_path="/tmp", size_limit="256Mi"),
        kube.Scratch(name="npm", mount_path="/home/node/.npm", size_limit="64Mi"),
    ]


def back_addresses(ctx: ServiceContext, replicas: int) -> str:
    """API_URL: every back pod by name, through the StatefulSet's headless Service (contrib/helm play-env.yaml)."""
    back = component_name("back")
    return ",".join(f"{back}-{i}.{back}-headless.{ctx.namespace}.svc:{BACK_GRPC}" for i in range(replicas))


def workadventure(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: WorkAdventureSettings = ctx.settings  # type: ignore[assignment]
    url = ctx.public_url()
    tag = settings.image_tag or ctx.service.version
    secret_key = SecretKeyRef(name=SECRET, key="SECRET_KEY")
    api_token = SecretKeyRef(name=SECRET, key="MAP_STORAGE_API_TOKEN")
    map_storage = f"{component_name('map-storage')}.{ctx.namespace}.svc"
    api_url = back_addresses(ctx, settings.back_replicas)
    redis = _redis_env(ctx)
    common: dict[str, object] = {"TZ": ctx.config.timezone, "SECRET_KEY": secret_key}
    # back and play (both read it): /metrics on their HTTP port, for this bearer token only.
    metrics: dict[str, object] = {}
    if scraped(ctx):
        metrics = {"PROMETHEUS_AUTHORIZATION_TOKEN": SecretKeyRef(name=SECRET, key="PROMETHEUS_AUTHORIZATION_TOKEN")}

    play_env: dict[str, object] = {
        **common,
        **metrics,
        "PUSHER_URL": f"{url}/",
        "FRONT_URL": "/",
        "ALLOWED_CORS_ORIGIN": url,
        "API_URL": api_url,
        "PUBLIC_MAP_STORAGE_URL": f"{url}/map-storage",
        "INTERNAL_MAP_STORAGE_URL": f"http://{map_storage}:{MAP_STORAGE_HTTP}",
        "MAP_STORAGE_PATH_PREFIX": "/map-storage",
        "MAP_STORAGE_API_TOKEN": api_token,
        "UPLOADER_URL": "/uploader",
        "ICON_URL": "/icon",
        "START_ROOM_URL": settings.start_room_url,
        "MAX_PER_GROUP": str(settings.max_per_group),
        **redis,
        **_oidc_env(ctx),
        **_jitsi_env(ctx),
        **_turn_env(ctx),
    }
    back_env: dict[str, object] = {
        **common,
        **metrics,
        "PLAY_URL": url,
        "MAP_STORAGE_URL": f"{map_storage}:{MAP_STORAGE_GRPC}",
        "INTERNAL_MAP_STORAGE_URL": f"http://{map_storage}:{MAP_STORAGE_HTTP}",
        "PUBLIC_MAP_STORAGE_URL": f"{url}/map-storage",
        "MAX_PER_GROUP": str(settings.max_per_group),
        **redis,
        **{k: v for k, v in _jitsi_env(ctx).items() if k == "JITSI_URL"},
    }
    map_storage_env: dict[str, object] = {
        **common,
        "API_URL": api_url,
        "PUSHER_URL": f"{url}/",
        "PATH_PREFIX": "/map-storage",
        "STORAGE_DIRECTORY": "/maps",
        "MAP_STORAGE_API_TOKEN": api_token,
        # Uploading maps (the map starter kit's `npm run upload`) takes this bearer token.
        "ENABLE_BEARER_AUTHENTICATION": "true",
        "AUTHENTICATION_TOKEN": SecretKeyRef(name=SECRET, key="MAP_UPLOAD_TOKEN"),
        "ENTITY_COLLECTION_URLS": f"{url}/collections/FurnitureCollection.json,{url}/collections/OfficeCollection.json",
    }
    uploader_env: dict[str, object] = {
        "TZ": ctx.config.timezone,
        "UPLOADER_URL": f"{url}/uploader",
        **redis,
        "REDIS_DB_NUMBER": UPLOADER_REDIS_DB,
    }
    image = lambda component: f"{REGISTRY}/workadventure-{component}:{tag}"  # noqa: E731

    play = kube.Container(
        name="play",
        image=image("play"),
        env=ctx.with_user_env(play_env),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PLAY_HTTP), kube.Port(name="ws", number=PLAY_WS)],
        mounts=_scratch(),
        resources=kube.Resources.of(settings.resources),
        health=kube.HttpProbe(path="/ping", port=PLAY_HTTP),
    )
    back = kube.Container(
        name="back",
        image=image("back"),
        env=back_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=BACK_HTTP), kube.Port(name="grpc", number=BACK_GRPC)],
        mounts=_scratch(),
        resources=kube.Resources.of(settings.back_resources),
        health=kube.HttpProbe(path="/ping", port=BACK_HTTP),
    )
    maps = kube.Container(
        name="map-storage",
        image=image("map-storage"),
        env=map_storage_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=MAP_STORAGE_HTTP), kube.Port(name="grpc", number=MAP_STORAGE_GRPC)],
        mounts=[kube.Volume(name="maps", mount_path="/maps", size=settings.storage_size), *_scratch()],
        resources=kube.Resources.of(settings.map_storage_resources),
        # The chart's: alive on /health/live, ready on /ping.
        liveness=kube.HttpProbe(path="/health/live", port=MAP_STORAGE_HTTP),
        readiness=kube.HttpProbe(path="/ping", port=MAP_STORAGE_HTTP),
        startup=kube.HttpProbe(path="/ping", port=MAP_STORAGE_HTTP),
    )
    uploader = kube.Container(
        name="uploader",
        image=image("uploader"),
        env=uploader_env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=UPLOADER_HTTP)],
        mounts=_scratch(),
        resources=kube.Resources.of(settings.uploader_resources),
        health=kube.HttpProbe(path="/ping", port=UPLOADER_HTTP),
    )
    icon = kube.Container(
        name="icon",
        image=f"{ICON_IMAGE}:{settings.icon_image_tag}",
        # A static Go binary; PORT 8080 is the image's default.
        env={"PORT": str(ICON_HTTP)},
        ports=[kube.Port(name="http", number=ICON_HTTP)],
        resources=kube.Resources.of(settings.icon_resources),
        # The chart's probe: the icon server's index page.
        health=kube.HttpProbe(path="/", port=ICON_HTTP),
    )
    components = [
        kube.Component(
            name="play",
            object_name=component_name("play"),
            containers=[play],
            replicas=settings.replicas,
            spread=settings.replicas > 1,
        ),
        # A StatefulSet, as upstream's chart: play and map-storage address each back pod by its stable name.
        kube.Component(
            name="back",
            object_name=component_name("back"),
            kind="StatefulSet",
            containers=[back],
            replicas=settings.back_replicas,
        ),
        # One writer of the maps volume (ReadWriteOnce; the vocabulary recreates instead of rolling).
        kube.Component(name="map-storage", object_name=component_name("map-storage"), containers=[maps]),
        kube.Component(name="uploader", object_name=component_name("uploader"), containers=[uploader]),
        kube.Component(name="icon", object_name=component_name("icon"), containers=[icon]),
    ]
    if settings.sso and not settings.anonymous and f"auth/{settings.hostname}" not in ctx.bindings:
        ctx.warn("anonymous = false needs a login, but no auth provider is installed: everybody enters anonymously")
    kube.Workloads(scope, NAME, ctx=ctx, components=components)


def _redis_env(ctx: ServiceContext) -> dict[str, object]:
    store = ctx.bindings.get(f"redis/{NAME}")
    if store is None:
        return {}
    # The client sends AUTH <password> (no user name); the need asks for password_only.
    return {
        "REDIS_HOST": store.host,  # type: ignore[attr-defined]
        "REDIS_PORT": str(store.port),  # type: ignore[attr-defined]
        "REDIS_PASSWORD": store.password,  # type: ignore[attr-defined]
    }


def _oidc_env(ctx: ServiceContext) -> dict[str, object]:
    """play's OPENID_* (docs/others/self-hosting/openid.md), from the auth binding."""
    settings: WorkAdventureSettings = ctx.settings  # type: ignore[assignment]
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")
    if not settings.sso or not isinstance(oidc, AuthBinding):
        return {}
    if oidc.client_secret is None:
        raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")
    return {
        "OPENID_CLIENT_ID": oidc.client_id,
        "OPENID_CLIENT_SECRET": oidc.client_secret,
        "OPENID_CLIENT_ISSUER": oidc.issuer_url,
        "OPENID_SCOPE": "openid email profile",
        "OPENID_USERNAME_CLAIM": "preferred_username",
        # The Woka's name comes from the login, and the user may change it.
        "OPENID_WOKA_NAME_POLICY": "allow_override_opid",
        "DISABLE_ANONYMOUS": "false" if settings.anonymous else "true",
    }


def _jitsi_env(ctx: ServiceContext) -> dict[str, object]:
    jitsi = ctx.link("jitsi")
    if jitsi is None or not jitsi.public_url:
        return {}
    # The browser embeds Jitsi's External API from this URL (play/src/front/.../GameMapPropertiesListener.ts
    # prefixes https:// only when the scheme is missing). Jitsi is not in JWT mode: not private.
    return {"JITSI_URL": jitsi.public_url, "JITSI_PRIVATE_MODE": "false"}


def _turn_env(ctx: ServiceContext) -> dict[str, object]:
    """play's TURN_SERVER, TURN_STATIC_AUTH_SECRET and STUN_SERVER, from the turn binding."""
    turn = ctx.bindings.get(f"turn/{NAME}")
    if turn is None:
        return {}
    return {
        # A comma-separated list of turn:/turns: URIs (.env.prod.template); the pusher mints TURN REST
        # credentials for each client from the shared secret (coturn's static-auth-secret).
        "TURN_SERVER": ",".join(u for u in turn.uris if u.startswith(("turn:", "turns:"))),  # type: ignore[attr-defined]
        "TURN_STATIC_AUTH_SECRET": turn.secret,  # type: ignore[attr-defined]
        "STUN_SERVER": turn.stun,  # type: ignore[attr-defined]
    }
