"""ink plugin: Open WebUI (https://github.com/open-webui/open-webui), a chat interface for local models.

Served at ``https://webui.<domain>``, on PostgreSQL with pgvector (chats, settings and the RAG vectors),
logged in through the auth provider (native OIDC). The AI services are links, each optional so Open WebUI
synthesises alone: Ollama (kind ``ollama``) for the models, Kokoro (``openai-tts``) for speech, docling-serve
(``docling``) for document extraction, SearXNG (``searxng``) for web search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

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
    SecretClaim,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/open-webui/open-webui extractVersion=^v(?<version>.+)$
VERSION = "0.11.4"  # the image tag is v<VERSION>
NAME = "open-webui"
PORT = 8080  # PORT in the image (Dockerfile; backend/start.sh)
SECRET = f"{NAME}-secret"
# Where Open WebUI receives the OIDC answer: /oauth/{provider}/callback, provider 'oidc' for OPENID_PROVIDER_URL.
OIDC_REDIRECT = "/oauth/oidc/callback"
# The link names (ctx.link(name)) and the endpoint kinds they follow (the AI link contract of issue 14).
LINKS = {"ollama": "ollama", "tts": "openai-tts", "docling": "docling", "search": "searxng"}


class OpenWebuiSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="webui", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=20,
        description="Pods. More than 1 needs storage_access_mode = 'ReadWriteMany' (uploads and caches are shared) "
        "and a redis provider (websockets and app state); the vectors are in PostgreSQL already.",
    )
    storage_size: Quantity = Field(
        default="10Gi", description="Data volume: uploaded files, the embedding and speech-to-text model caches."
    )
    storage_access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = Field(
        default="ReadWriteOnce",
        description="Access mode of the data volume. Fixed once the volume exists: choose before the first deploy.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="250m", memory_request="1Gi", memory_limit="4Gi")
    )
    sso: bool = Field(
        default=True,
        description="Log in through the auth provider (native OIDC, OAUTH_* variables), when one is installed.",
    )
    sso_only: bool = Field(default=False, description="Hide the email and password login form (ENABLE_LOGIN_FORM).")
    signup: bool = Field(default=False, description="Let anyone create a local account (ENABLE_SIGNUP).")
    web_search: bool = Field(
        default=True, description="Web search through the linked SearXNG (ENABLE_WEB_SEARCH), when one is installed."
    )
    tts_voice: str = Field(
        default="af_heart", min_length=1, description="Voice of the linked speech server (AUDIO_TTS_VOICE)."
    )
    tts_model: str = Field(
        default="kokoro", min_length=1, description="Model of the linked speech server (AUDIO_TTS_MODEL)."
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the data volume with the backup provider, when one is installed."
    )

    @model_validator(mode="after")
    def _shared_volume_for_replicas(self) -> OpenWebuiSettings:
        if self.replicas > 1 and self.storage_access_mode != "ReadWriteMany":
            raise ValueError(
                "replicas > 1 share one data folder (uploads): set storage_access_mode = 'ReadWriteMany' "
                "(and a storage class that supports it, e.g. an NFS one)"
            )
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Open WebUI",
        version=VERSION,
        homepage="https://github.com/open-webui/open-webui",
        description="Chat interface for the local models, with speech, document extraction and web search.",
        settings_model=OpenWebuiSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    # VECTOR_DB=pgvector keeps the RAG vectors in the same database: the extension is declared here.
    return [DatabaseClaim(name=NAME, extensions=("vector",))]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # Optional: without an ingress provider Open WebUI still runs, reachable inside the cluster.
    return [Route(host=settings.hostname, service=NAME, port=PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    return [
        AuthClient(
            kind="oidc", host=ctx.settings.hostname, redirect_paths=(OIDC_REDIRECT,), optional=True, enabled_by="sso"
        )
    ]


@hookimpl
def ink_links(ctx: ServiceContext) -> list[Link]:
    kinds = dict(LINKS)
    if not ctx.settings.web_search:
        del kinds["search"]
    # Optional: each partner may be absent; Open WebUI then runs without that feature.
    return [Link(name=name, kind=kind, optional=True) for name, kind in kinds.items()]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    if ctx.settings.replicas <= 1:
        return []
    # Several pods share websockets and app state through Redis (REDIS_URL, WEBSOCKET_MANAGER=redis): required
    # then, so synth names the missing provider. Live state, not a cache: nothing may be evicted.
    params = {"max_memory": "128Mi", "eviction_policy": "noeviction"}
    return [NamedNeed(capability="redis", id=NAME, params=params)]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    # WEBUI_SECRET_KEY signs the session tokens: every replica needs the same one, and OAuth needs it set.
    return [SecretClaim(name=SECRET, data={"WEBUI_SECRET_KEY": GeneratedSecret(id=f"{NAME}/secret-key", length=64)})]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=f"{NAME}-data", pod_volume="data", optional=True, enabled_by="backup")]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_open_webui.construct import open_webui

    open_webui(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [
        Internet(
            ports=(443, 80),
            reason="the pages of web search results and URLs users attach; the embedding and speech-to-text models "
            "(Hugging Face) on first use",
        )
    ]
