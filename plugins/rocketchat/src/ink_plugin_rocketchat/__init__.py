"""ink plugin: Rocket.Chat (https://rocket.chat), team chat.

Runs the official image as ink's own Workload (not the upstream chart, see the README), on a
database of the ``mongodb`` capability (Rocket.Chat needs a replica set: it reads change streams).
Single sign-on through the auth provider is Rocket.Chat's Custom OAuth, created and kept in step
from environment variables; video calls go to the ``jitsi`` plugin's public URL when it is installed
(a link to any service of kind ``jitsi``); mail goes out through ``smtp``. Uploads are on a volume,
backed up by the backup provider.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

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
    SecretClaim,
    ServiceInfo,
    UserSecret,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=registry.rocket.chat/rocketchat/rocket.chat
VERSION = "8.8.0"
NAME = "rocketchat"
HTTP_PORT = 80  # the Service's port; the container listens on 3000 (PORT)
# Settings Prometheus_Enabled (default false) and Prometheus_Port (default 9458): the exporter then serves /metrics
# on 0.0.0.0:<port> (the Prometheus section of apps/meteor/server/settings/; app/metrics/server/lib/collectMetrics.ts).
METRICS_PORT = 9458


# Rocket.Chat's Custom OAuth services are named by their settings; the callback is /_oauth/<name in lower case>
# (docs.rocket.chat "Custom OAuth Setup": https://<workspace>/_oauth/<oauth-name>).
OAUTH_NAME = "Authentik"
OAUTH_CALLBACK = f"/_oauth/{OAUTH_NAME.lower()}"
ADMIN_SECRET = f"{NAME}-admin"
LICENSE_SECRET = f"{NAME}-license"
JITSI_SECRET = f"{NAME}-jitsi"  # what the Jitsi setup Job applies (jitsi.json)
LICENSE = UserSecret(name=LICENSE_SECRET, description="Rocket.Chat Enterprise licence (needed for more than one pod)")


def scraped(ctx: ServiceContext) -> bool:
    """Only with a metrics provider: without one the exporter stays off, as upstream ships it."""
    return ctx.provider_of(Capability.METRICS) is not None


class RocketChatSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="chat", description="Subdomain: https://<hostname>.<domain>.")
    replicas: int = Field(
        default=1,
        ge=0,
        le=20,
        description="Pods. More than 1 needs a Rocket.Chat Enterprise licence (enterprise_license) and "
        "storage_access_mode = 'ReadWriteMany'.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="250m", memory_request="1Gi", memory_limit="2Gi")
    )
    storage_size: Quantity = Field(default="8Gi", description="Uploads volume (/app/uploads).")
    storage_access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = Field(
        default="ReadWriteOnce",
        description="Access mode of the uploads volume. Fixed once the volume exists: choose before the first deploy.",
    )
    enterprise_license: bool = Field(
        default=False,
        description="Apply a Rocket.Chat Enterprise licence from the user secret rocketchat-license "
        "(INK_SECRET_ROCKETCHAT_LICENSE or .ink/secrets.toml).",
    )
    admin_username: DnsLabel = Field(
        default="admin", description="The first administrator, created on the first start (ADMIN_USERNAME)."
    )
    admin_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="The first administrator's email (ADMIN_EMAIL); unset: none.",
    )
    sso: bool = Field(
        default=True, description="Log in through the SSO provider (Custom OAuth), when one is installed."
    )
    jitsi: bool = Field(
        default=True,
        description="Point the Jitsi video-conference app at the jitsi plugin's public URL, when that plugin is "
        "installed (a setup Job applies it once the app is installed from the Marketplace).",
    )
    smtp: bool = Field(default=True, description="Send mail through the smtp provider, when one is enabled.")
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")
    backup: bool = Field(
        default=True, description="Back up the uploads volume with the backup provider, when one is installed."
    )

    @model_validator(mode="after")
    def _replicas_need_a_licence_and_a_shared_volume(self) -> RocketChatSettings:
        if self.replicas > 1 and not self.enterprise_license:
            raise ValueError(
                "replicas > 1 needs a Rocket.Chat Enterprise licence (the Community edition runs one instance): "
                "set enterprise_license = true and the user secret rocketchat-license, or replicas = 1"
            )
        if self.replicas > 1 and self.storage_access_mode != "ReadWriteMany":
            raise ValueError(
                "replicas > 1 share one uploads folder: set storage_access_mode = 'ReadWriteMany' "
                "(and a storage class that supports it, e.g. an NFS one)"
            )
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Rocket.Chat",
        version=VERSION,
        homepage="https://rocket.chat",
        description="Team chat with channels, threads, calls and file sharing.",
        settings_model=RocketChatSettings,
    )


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    # By name: the plugin does not depend on the packages that define mongodb and smtp.
    # oplog: MONGO_OPLOG_URL; cluster_monitor: the upstream chart grants it to its user (server statistics).
    needs = [NamedNeed(capability="mongodb", id=NAME, params={"oplog": True, "cluster_monitor": True})]
    if ctx.settings.smtp:  # type: ignore[attr-defined]
        needs.append(NamedNeed(capability="smtp", id=NAME, optional=True, enabled_by="smtp"))
    return needs


@hookimpl
def ink_links(ctx: ServiceContext) -> list[Link]:
    if not ctx.settings.jitsi:  # type: ignore[attr-defined]
        return []
    # Any service serving a Jitsi Meet web endpoint; only its public URL is used (browsers open it).
    return [Link(name="jitsi", kind="jitsi", optional=True, dialled=False)]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # WebSockets (DDP at /websocket and /sockjs) pass through Traefik without extra configuration.
    return [Route(host=settings.hostname, service=NAME, port=HTTP_PORT, public=settings.public, optional=True)]  # type: ignore[attr-defined]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:  # type: ignore[attr-defined]
        return []
    return [
        AuthClient(
            kind="oidc",
            host=ctx.settings.hostname,  # type: ignore[attr-defined]
            redirect_paths=(OAUTH_CALLBACK,),
            optional=True,
            enabled_by="sso",
        )
    ]


@hookimpl
def ink_backup_targets(ctx: ServiceContext) -> list[BackupTarget]:
    if not ctx.settings.backup:  # type: ignore[attr-defined]
        return []
    return [BackupTarget(volume=f"{NAME}-uploads", pod_volume="uploads", optional=True, enabled_by="backup")]


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not scraped(ctx):
        return []
    return [MetricsTarget(pods=ctx.selector_labels("server"), port=METRICS_PORT)]


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    claims = [
        SecretClaim(
            name=ADMIN_SECRET,
            data={"username": ctx.settings.admin_username, "password": GeneratedSecret(id=f"{NAME}/admin")},  # type: ignore[attr-defined]
        )
    ]
    if ctx.settings.enterprise_license:  # type: ignore[attr-defined]
        claims.append(SecretClaim(name=LICENSE_SECRET, data={"license": LICENSE}))
    return claims


@hookimpl
def ink_binding_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    # The Jitsi app's settings, from the link's public URL. In a Secret the Job mounts, not in its pod template:
    # the Job is named by its pod's content, and a domain change must edit files, not rename them.
    jitsi = ctx.link("jitsi")
    if not ctx.settings.jitsi or jitsi is None or not jitsi.public_url:  # type: ignore[attr-defined]
        return []
    url = urlsplit(jitsi.public_url)
    wanted = {"jitsi_domain": url.netloc, "jitsi_ssl": url.scheme == "https"}
    return [SecretClaim(name=JITSI_SECRET, data={"jitsi.json": json.dumps(wanted, sort_keys=True) + "\n"})]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_rocketchat.construct import rocketchat

    rocketchat(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    # Rocket.Chat Cloud: workspace registration, the Marketplace (apps such as Jitsi), the push gateway for the
    # mobile apps, and link previews (OEmbed) fetch pages over HTTPS.
    return [Internet(ports=(443,), reason="Rocket.Chat Cloud, Marketplace, push gateway and link previews")]
