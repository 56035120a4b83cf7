"""ink plugin: authentik (https://goauthentik.io).

Provides ``auth``: a native OIDC client (OAuth2 provider + application) or forward auth (proxy provider in
``forward_single`` mode, bound to the embedded outpost) for every service that asks. authentik itself runs
from the official Helm chart on the shared PostgreSQL cluster; the clients reach it as one blueprint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ink import hookimpl
from ink.models import (
    AuthBinding,
    AuthClient,
    Capability,
    ChartService,
    DatabaseClaim,
    DnsLabel,
    GeneratedSecret,
    Internet,
    MetricsTarget,
    NamedNeed,
    NetworkRule,
    Route,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
    ServiceRef,
)
from ink.settings import ContainerResources, ImageTag, PluginSettings
from ink_plugin_authentik import clients as clients_mod

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/goauthentik/server
VERSION = "2026.8.3"
# renovate: datasource=helm depName=authentik registryUrl=https://charts.goauthentik.io
CHART_VERSION = "2026.8.3"  # the goauthentik/helm chart is versioned like authentik itself
SECRET_KEY_SECRET = "authentik-secret-key"
BOOTSTRAP_SECRET = "authentik-bootstrap"
SECRET_KEY = GeneratedSecret(id="authentik/secret-key", length=64)
BOOTSTRAP_PASSWORD = GeneratedSecret(id="authentik/bootstrap/password", length=32)
BOOTSTRAP_TOKEN = GeneratedSecret(id="authentik/bootstrap/token", length=64)


class AuthentikSettings(PluginSettings):
    hostname: DnsLabel = Field(default="auth", description="Subdomain of the login pages: https://<hostname>.<domain>.")
    public: bool = Field(
        default=False,
        description="Also expose the login pages through the external tunnel (needed if any public service uses SSO).",
    )
    chart_version: str = Field(
        default=CHART_VERSION,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="Version of the authentik Helm chart (https://charts.goauthentik.io).",
    )
    image_repository: str = Field(
        default="ghcr.io/goauthentik/server",
        description="Image of server and worker (both run the same image).",
    )
    image_tag: ImageTag | None = Field(
        default=None,
        description=f"Tag of the image; unset: {VERSION}. Upstream: only change the patch version without "
        "also changing chart_version.",
    )
    pull_policy: Literal["Always", "IfNotPresent"] = Field(default="IfNotPresent", description="imagePullPolicy.")
    bootstrap_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Email of the first admin user (akadmin); unset: admin@<domain>.",
    )
    server_replicas: int = Field(
        default=2, ge=1, le=10, description="Server pods (web, API, embedded outpost). More than 1 adds a PDB."
    )
    worker_replicas: int = Field(
        default=1, ge=1, le=10, description="Worker pods (background tasks, blueprints). More than 1 adds a PDB."
    )
    server_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="512Mi", memory_limit="1Gi"),
        description="Requests and limits of each server container.",
    )
    worker_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="512Mi", memory_limit="1Gi"),
        description="Requests and limits of each worker container.",
    )
    log_level: Literal["trace", "debug", "info", "warning", "error"] = Field(
        default="info", description="AUTHENTIK_LOG_LEVEL of server and worker."
    )
    smtp: bool = Field(
        default=True,
        description="Send mail (recovery, verification, notifications) through the smtp provider, when one is "
        "enabled (AUTHENTIK_EMAIL__* variables).",
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="authentik",
        title="authentik",
        version=VERSION,
        homepage="https://goauthentik.io",
        description="Identity provider: single sign-on through OIDC, and forward auth for the rest.",
        settings_model=AuthentikSettings,
        provides=(Capability.AUTH,),
    )


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    return [
        Route(
            host=ctx.settings.hostname,
            service=clients_mod.SERVER_SERVICE,
            port=clients_mod.SERVER_PORT,
            public=ctx.settings.public,
        )
    ]


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name="authentik")]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    if not ctx.settings.smtp:
        return []
    # By name: authentik runs without mail, so it does not depend on the package that defines smtp.
    return [NamedNeed(capability="smtp", id="authentik", optional=True, enabled_by="smtp")]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [
        # Signs cookies and derives unique ids: it must never change after the first start.
        SecretClaim(name=SECRET_KEY_SECRET, data={"secret-key": SECRET_KEY}),
        # Read by the worker on the very first start only (password and API token of akadmin).
        SecretClaim(name=BOOTSTRAP_SECRET, data={"password": BOOTSTRAP_PASSWORD, "token": BOOTSTRAP_TOKEN}),
    ]


@hookimpl
def ink_provide_auth(client: AuthClient, ctx: ServiceContext) -> AuthBinding:
    named = clients_mod.client_for(client, ctx.needs)
    if client.kind == "forward-auth":
        server = f"{clients_mod.SERVER_SERVICE}.{ctx.namespace}.svc:{clients_mod.SERVER_PORT}"
        return AuthBinding(
            kind="forward-auth",
            forward_auth_url=f"http://{server}/outpost.goauthentik.io/auth/traefik",
            forward_auth_headers=clients_mod.FORWARD_AUTH_HEADERS,
            outpost_path=clients_mod.OUTPOST_PATH,
            outpost_service=ServiceRef(
                namespace=ctx.namespace, name=clients_mod.SERVER_SERVICE, port=clients_mod.SERVER_PORT
            ),
        )
    secret = named.client_secret
    return AuthBinding(
        kind="oidc",
        issuer_url=ctx.url(ctx.settings.hostname, f"/application/o/{named.slug}/"),
        # Shared by every application (goauthentik docs, "OAuth 2.0 provider": endpoints).
        authorization_url=ctx.url(ctx.settings.hostname, "/application/o/authorize/"),
        token_url=ctx.url(ctx.settings.hostname, "/application/o/token/"),
        userinfo_url=ctx.url(ctx.settings.hostname, "/application/o/userinfo/"),
        client_id=named.slug,
        client_secret=SecretKeyRef(name=named.consumer_secret, key="client-secret"),
        secrets=(
            # What the consumer's pods read.
            SecretClaim(
                owner=client.owner,
                name=named.consumer_secret,
                data={"client-id": named.slug, "client-secret": secret},
            ),
            # The same value in authentik's namespace: the worker gets it as an environment variable
            # and the blueprint reads it with !Env.
            SecretClaim(owner=ctx.name, name=named.authentik_secret, data={"client-secret": secret}),
        ),
    )


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Server and worker run one image, with the repository and tag ink passes (construct: global.image).
    settings = ctx.settings
    return [f"{settings.image_repository}:{settings.image_tag or VERSION}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_authentik.construct import authentik

    authentik(scope, ctx=ctx)


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # The server serves /metrics on container port `metrics` 9300 (chart templates/server/deployment.yaml,
    # values server.containerPorts.metrics; authentik docs, 'Monitoring'); the chart's metrics Service is not needed.
    pods = {"app.kubernetes.io/name": "authentik", "app.kubernetes.io/component": "server"}
    return [MetricsTarget(name="server", pods=pods, port=9300)]


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [
        # authentik chart: Service authentik-server ports 80 → http (9000), 443 → https (9443).
        ChartService(
            name=clients_mod.SERVER_SERVICE,
            pods={"app.kubernetes.io/name": "authentik", "app.kubernetes.io/component": "server"},
            ports={80: 9000, 443: 9443},
            source="authentik chart 2026.8: templates of server.service and server.containerPorts",
        ),
        # Federation with outside identity providers (OIDC/SAML sources) and the version check
        # (AUTHENTIK_DISABLE_UPDATE_CHECK unset) reach the internet over HTTPS.
        Internet(ports=(443,), reason="outside identity providers (sources) and the update check"),
    ]
