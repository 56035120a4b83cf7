"""ink plugin: Langflow (https://github.com/langflow-ai/langflow), a visual builder of AI flows and agents.

Served at ``https://langflow.<domain>`` behind forward-auth (Langflow has no OIDC of its own), on
PostgreSQL. Ollama is a link (kind ``ollama``, optional): its in-cluster URL becomes the global variable
``OLLAMA_BASE_URL`` that flows select in the Ollama component's Base URL field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    AuthClient,
    BackupTarget,
    Capability,
    DatabaseClaim,
    DnsLabel,
    GeneratedSecret,
    Internet,
    Link,
    MetricsTarget,
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

# renovate: datasource=docker depName=docker.io/langflowai/langflow
VERSION = "1.12.5"
NAME = "langflow"
PORT = 7860  # LANGFLOW_PORT's default (docs.langflow.org/environment-variables)
SECRET = f"{NAME}-secret"
# LANGFLOW_PROMETHEUS_ENABLED (default false) and LANGFLOW_PROMETHEUS_PORT (default 9090): create_app() then starts
# prometheus_client's start_http_server on that port, all interfaces (docs.langflow.org/environment-variables;
# src/backend/base/langflow/main.py).
METRICS_PORT = 9090


def scraped(ctx: ServiceContext) -> bool:
    """Only with a metrics provider: without one the metrics server stays off, as upstream ships it."""
    return ctx.provider_of(Capability.METRICS) is not None


class LangflowSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="langflow", description="Subdomain: https://<hostname>.<domain>.")
    storage_size: Quantity = Field(
        default="5Gi", description="Config folder (LANGFLOW_CONFIG_DIR): uploaded files, logs, the flows' cache."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="500m", memory_request="1Gi", memory_limit="3Gi")
    )
    sso: bool = Field(
        default=True, description="Forward-auth in front of the route, when an auth provider is installed."
    )
    auto_login: bool | None = Field(
        default=None,
        description="Skip Langflow's own login and open the UI as the superuser (LANGFLOW_AUTO_LOGIN). Unset: on "
        "behind forward-auth (the auth provider is the login), off without it (log in as the superuser).",
    )
    superuser: str = Field(
        default="admin",
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9_.@-]+$",
        description="The superuser's name (LANGFLOW_SUPERUSER); its password is generated (`ink secrets show`).",
    )
    new_user_is_active: bool = Field(
        default=False, description="Accounts the superuser creates are active at once (LANGFLOW_NEW_USER_IS_ACTIVE)."
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the config folder with the backup provider, when one is installed."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Langflow",
        version=VERSION,
        homepage="https://github.com/langflow-ai/langflow",
        description="Visual builder of AI flows and agents, with the local models of Ollama.",
        settings_model=LangflowSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name=NAME)]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    return [Route(host=settings.hostname, service=NAME, port=PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # No OIDC in Langflow (langflow-ai/langflow#2855): the ingress asks the auth provider first.
    return [AuthClient(kind="forward-auth", host=ctx.settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_links() -> list[Link]:
    return [Link(name="ollama", kind="ollama", optional=True)]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [
        SecretClaim(
            name=SECRET,
            data={
                # Encrypts the stored global variables and API keys: it must survive restarts.
                "LANGFLOW_SECRET_KEY": GeneratedSecret(id=f"{NAME}/secret-key", length=64),
                "LANGFLOW_SUPERUSER_PASSWORD": GeneratedSecret(id=f"{NAME}/superuser-password", length=32),
            },
        )
    ]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:
        return []
    return [BackupTarget(volume=f"{NAME}-config", pod_volume="config", optional=True, enabled_by="backup")]


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not scraped(ctx):
        return []
    return [MetricsTarget(pods=ctx.selector_labels(NAME), port=METRICS_PORT)]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_langflow.construct import langflow

    langflow(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [Internet(ports=(443, 80), reason="the model providers and APIs that flows call")]
