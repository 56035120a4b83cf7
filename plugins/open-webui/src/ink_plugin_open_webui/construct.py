"""Open WebUI's Deployment, Service and data volume, configured by environment variables.

Upstream facts (open-webui/open-webui, backend/open_webui/config.py and env.py; Dockerfile):
- the image serves on ``PORT`` 8080 and answers ``GET /health``; its data folder is ``DATA_DIR``
  (``/app/backend/data``: uploads, ``cache/`` for the embedding and whisper models);
- most settings are persistent config: read from the environment on first start, then from the database
  (the admin panel edits them there). ``ENABLE_PERSISTENT_CONFIG=False`` makes every start take the
  environment's values, so ink.toml stays authoritative; ``ENABLE_OAUTH_PERSISTENT_CONFIG`` (default False)
  does the same for the OAuth settings and is set explicitly;
- ``OPENID_PROVIDER_URL`` is the discovery document (``.../.well-known/openid-configuration``);
- ``PGVECTOR_DB_URL`` defaults to ``DATABASE_URL``; ``WEBSOCKET_REDIS_URL`` to ``REDIS_URL``;
- ``SEARXNG_QUERY_URL`` is the search URL; Open WebUI adds ``q`` and ``format=json`` itself
  (``retrieval/web/searxng.py``).
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink_plugin_open_webui import NAME, OIDC_REDIRECT, PORT, SECRET

IMAGE = "ghcr.io/open-webui/open-webui"
DATA_DIR = "/app/backend/data"


def _flag(value: bool) -> str:
    return "True" if value else "False"


def links_env(ctx: ServiceContext) -> dict[str, object]:
    """The AI services, each only when its link found a target."""
    settings = ctx.settings
    env: dict[str, object] = {}
    ollama = ctx.link("ollama")
    # Without Ollama the API stays off: the image would otherwise probe host.docker.internal (config.py).
    env["ENABLE_OLLAMA_API"] = _flag(ollama is not None)
    if ollama is not None:
        env["OLLAMA_BASE_URL"] = ollama.url
    tts = ctx.link("tts")
    if tts is not None:
        env |= {
            "AUDIO_TTS_ENGINE": "openai",
            "AUDIO_TTS_OPENAI_API_BASE_URL": tts.url,
            # Kokoro-FastAPI checks no key, but the OpenAI client refuses an empty one.
            "AUDIO_TTS_OPENAI_API_KEY": tts.credentials.get("api-key") or "not-needed",
            "AUDIO_TTS_MODEL": settings.tts_model,  # type: ignore[attr-defined]
            "AUDIO_TTS_VOICE": settings.tts_voice,  # type: ignore[attr-defined]
        }
    docling = ctx.link("docling")
    if docling is not None:
        env |= {"CONTENT_EXTRACTION_ENGINE": "docling", "DOCLING_SERVER_URL": docling.url}
    search = ctx.link("search")
    if search is not None:
        env |= {
            "ENABLE_WEB_SEARCH": "True",
            "WEB_SEARCH_ENGINE": "searxng",
            "SEARXNG_QUERY_URL": f"{search.url}/search",
        }
    return env


def oidc_env(ctx: ServiceContext) -> dict[str, object]:
    settings = ctx.settings
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")  # type: ignore[attr-defined]
    if not (settings.sso and isinstance(oidc, AuthBinding)):  # type: ignore[attr-defined]
        return {}
    if oidc.client_secret is None:
        raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")  # type: ignore[attr-defined]
    issuer = oidc.issuer_url if oidc.issuer_url.endswith("/") else oidc.issuer_url + "/"
    provider = ctx.services.get(oidc.provider)
    return {
        "ENABLE_OAUTH_SIGNUP": "True",
        "OAUTH_CLIENT_ID": oidc.client_id,
        "OAUTH_CLIENT_SECRET": oidc.client_secret,
        "OPENID_PROVIDER_URL": f"{issuer}.well-known/openid-configuration",
        "OPENID_REDIRECT_URI": ctx.public_url() + OIDC_REDIRECT,
        "OAUTH_PROVIDER_NAME": provider.title if provider else oidc.provider,
        "OAUTH_SCOPES": "openid email profile",
    }


def redis_env(ctx: ServiceContext) -> dict[str, object]:
    store = ctx.bindings.get(f"redis/{NAME}")
    if store is None:
        return {}
    # redis-py's from_url takes the CA from url_with_ca's ssl_ca_certs (a plain url when the store is plain).
    url = getattr(store, "url_with_ca", None) or store.url  # type: ignore[attr-defined]
    return {
        "REDIS_URL": url,
        "ENABLE_WEBSOCKET_SUPPORT": "True",
        "WEBSOCKET_MANAGER": "redis",
        "WEBSOCKET_REDIS_URL": url,
    }


def open_webui(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    database = ctx.database()
    env: dict[str, object] = {
        "PORT": str(PORT),
        "DATA_DIR": DATA_DIR,
        # The image's HOME (/root) is not the pod user's; libraries write their caches under HOME.
        "HOME": "/tmp",
        "WEBUI_URL": ctx.public_url(),
        "WEBUI_SECRET_KEY": SecretKeyRef(name=SECRET, key="WEBUI_SECRET_KEY"),
        "DATABASE_URL": database.uri,
        "VECTOR_DB": "pgvector",
        "ENABLE_PERSISTENT_CONFIG": "False",
        "ENABLE_OAUTH_PERSISTENT_CONFIG": "False",
        "ENABLE_SIGNUP": _flag(settings.signup),  # type: ignore[attr-defined]
        "ENABLE_LOGIN_FORM": _flag(not settings.sso_only),  # type: ignore[attr-defined]
        "TZ": ctx.config.timezone,
    }
    env |= links_env(ctx) | oidc_env(ctx) | redis_env(ctx)
    env = ctx.with_user_env(env)
    store = ctx.bindings.get(f"redis/{NAME}")
    container = kube.Container(
        name=NAME,
        image=f"{IMAGE}:{settings.image_tag or 'v' + ctx.service.version}",  # type: ignore[attr-defined]
        env=env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        mounts=[
            kube.Volume(
                name="data",
                mount_path=DATA_DIR,
                size=settings.storage_size,  # type: ignore[attr-defined]
                access_mode=settings.storage_access_mode,  # type: ignore[attr-defined]
            ),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="2Gi"),
            # The database's CA for DATABASE_URL's sslrootcert; none for a plain connection.
            *database.ca_mounts(),
            *(store.ca_mounts() if store is not None else ()),  # type: ignore[attr-defined]
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/health", port=PORT),
        # The first start migrates the database and downloads the embedding model.
        startup_seconds=600,
    )
    component = kube.Component(
        name=NAME,
        containers=[container],
        replicas=settings.replicas,  # type: ignore[attr-defined]
        spread=settings.replicas > 1,  # type: ignore[attr-defined]
    )
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])
