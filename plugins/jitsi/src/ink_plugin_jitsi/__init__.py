"""ink plugin: Jitsi Meet (https://github.com/jitsi/docker-jitsi-meet).

Four components from the official images: ``web`` (nginx and the web app), ``prosody`` (XMPP
signalling), ``jicofo`` (the conference focus) and ``jvb`` (the video bridge, media on UDP 10000
through a MetalLB LoadBalancer). Internal XMPP passwords are generated secrets shared by the
components through secretKeyRefs; TURN comes from the ``turn`` capability when one is provided.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    DnsLabel,
    Endpoint,
    GeneratedSecret,
    Inbound,
    Internet,
    MetricsTarget,
    NamedNeed,
    NetworkRule,
    Route,
    RoutePath,
    SecretClaim,
    ServiceInfo,
)
from ink.settings import ContainerResources, ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# The docker-jitsi-meet release every image is tagged with (README, "Versions").
# renovate: datasource=docker depName=ghcr.io/jitsi/web
VERSION = "stable-11146-2"
NAME = "jitsi"
WEB_PORT = 8000  # unprivileged since stable-11146 (web/Dockerfile EXPOSE 8000 8443)
HTTP_PORT = 80  # the web Service's port
# The bridge's private REST and jicofo's REST: health probes and /metrics (constants here, not in construct.py,
# so ink_metrics_targets starts no Node).
JICOFO_REST = 8888
JVB_REST = 8080
PROSODY_HTTP = 5280  # BOSH, websocket and, with PROSODY_ENABLE_METRICS, /metrics
JVB_PORT = 10000
# nginx serves the IFrame API here (web/rootfs/defaults/meet.conf: location = /external_api.js).
EXTERNAL_API = "/external_api.js"
SECRET = "jitsi-xmpp"
# The internal XMPP accounts' passwords (gen-passwords.sh): prosody registers the accounts with them,
# jicofo and jvb log in with them; one GeneratedSecret id each, so every copy holds one value.
JICOFO_PASSWORD = GeneratedSecret(id="jitsi/jicofo-auth-password", length=32, alphabet="hex")
JVB_PASSWORD = GeneratedSecret(id="jitsi/jvb-auth-password", length=32, alphabet="hex")


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a single IP address, such as '192.168.1.242'") from None


def _resources(cpu: str, memory: str, limit: str) -> ContainerResources:
    return ContainerResources(cpu_request=cpu, memory_request=memory, memory_limit=limit)


class JitsiSettings(PluginSettings):
    image_tag: ImageTag = Field(
        default=VERSION, description="Tag of the four images ghcr.io/jitsi/{web,prosody,jicofo,jvb} (one release)."
    )
    hostname: DnsLabel = Field(default="meet", description="Subdomain: https://<hostname>.<domain>.")
    jvb_load_balancer_ip: str | None = Field(
        default=None,
        description="Address of the video bridge's UDP LoadBalancer (port 10000), from the MetalLB pool. Set it: "
        "the bridge advertises it to clients, and media fails without a reachable address.",
    )
    jvb_advertise_ips: list[str] = Field(
        default_factory=list,
        description="Further addresses the bridge advertises (JVB_ADVERTISE_IPS), e.g. your public IP when the "
        "router forwards UDP 10000 to jvb_load_balancer_ip. The LoadBalancer address is always advertised.",
    )
    turn: bool = Field(
        default=True,
        description="Relay media through the turn provider (coturn) for clients behind strict NAT, when one is "
        "enabled. Without one, clients use upstream's public STUN server only.",
    )
    sso: bool = Field(
        default=True,
        description="Put the site behind the auth provider's forward-auth login, when one is installed. Guests "
        "without an account then cannot join, and the mobile apps cannot log in: set false for open meetings "
        "(see the README).",
    )
    public: bool = Field(default=False, description="Also expose the web route through the external tunnel.")
    web_replicas: int = Field(
        default=1, ge=1, le=10, description="Pods of the web front end (stateless nginx); more than 1 adds a PDB."
    )
    web_resources: ContainerResources = Field(
        default_factory=lambda: _resources("50m", "64Mi", "256Mi"), description="Requests and limits of web."
    )
    prosody_resources: ContainerResources = Field(
        default_factory=lambda: _resources("50m", "128Mi", "512Mi"), description="Requests and limits of prosody."
    )
    jicofo_resources: ContainerResources = Field(
        default_factory=lambda: _resources("100m", "384Mi", "1Gi"), description="Requests and limits of jicofo (Java)."
    )
    jvb_resources: ContainerResources = Field(
        default_factory=lambda: _resources("200m", "512Mi", "2Gi"),
        description="Requests and limits of the video bridge (Java; CPU grows with the participants' streams).",
    )
    pull_policy: Literal["Always", "IfNotPresent"] = Field(default="IfNotPresent", description="imagePullPolicy.")

    @field_validator("jvb_load_balancer_ip")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        return None if value is None else _ip(value)

    @field_validator("jvb_advertise_ips")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_ip(v) for v in value]

    @model_validator(mode="after")
    def _no_duplicates(self) -> JitsiSettings:
        if self.jvb_load_balancer_ip in self.jvb_advertise_ips:
            raise ValueError(
                f"jvb_advertise_ips repeats jvb_load_balancer_ip {self.jvb_load_balancer_ip}; it is always "
                "advertised, remove it from the list"
            )
        return self

    @property
    def advertised(self) -> list[str]:
        return [*([self.jvb_load_balancer_ip] if self.jvb_load_balancer_ip else []), *self.jvb_advertise_ips]


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Jitsi Meet",
        version=VERSION,
        homepage="https://jitsi.org/jitsi-meet/",
        description="Video meetings in the browser: web, prosody (XMPP), jicofo and the video bridge.",
        settings_model=JitsiSettings,
    )


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings: JitsiSettings = ctx.settings  # type: ignore[assignment]
    # One route for the page, BOSH (/http-bind) and XMPP over websocket (/xmpp-websocket): nginx in
    # the web container proxies those to prosody, and Traefik passes websocket upgrades as they are.
    # Behind forward-auth, the External API script stays public: pages on other hosts (WorkAdventure,
    # Rocket.Chat) load it with a <script> tag, which cannot follow a login; it is the same static file
    # for everybody, and the meeting it opens (an iframe) is behind the login.
    paths = (
        (RoutePath(path=EXTERNAL_API, service="jitsi-web", port=HTTP_PORT, exact=True, forward_auth=False),)
        if settings.sso
        else ()
    )
    return [
        Route(
            host=settings.hostname,
            service="jitsi-web",
            port=HTTP_PORT,
            paths=paths,
            public=settings.public,
            optional=True,
        )
    ]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    settings: JitsiSettings = ctx.settings  # type: ignore[assignment]
    if not settings.sso:
        return []
    # Jitsi has no OIDC of its own; forward-auth gates the page and the XMPP paths on the same host.
    return [AuthClient(kind="forward-auth", host=settings.hostname, optional=True, enabled_by="sso")]


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    settings: JitsiSettings = ctx.settings  # type: ignore[assignment]
    if not settings.turn:
        return []
    # By name: Jitsi runs without TURN, so it does not depend on the package that defines it. The
    # relay must reach the bridge's addresses, which are private on a home network.
    return [
        NamedNeed(capability="turn", id=NAME, params={"peers": settings.advertised}, optional=True, enabled_by="turn")
    ]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    return [SecretClaim(name=SECRET, data={"JICOFO_AUTH_PASSWORD": JICOFO_PASSWORD, "JVB_AUTH_PASSWORD": JVB_PASSWORD})]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    settings: JitsiSettings = ctx.settings  # type: ignore[assignment]
    # What Rocket.Chat's video-conference provider and others link to: the public URL of the meetings.
    return [Endpoint(name="web", port=HTTP_PORT, kind="jitsi", service="jitsi-web", route=settings.hostname)]


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    # What upstream's own Prometheus scrapes with the images' defaults (prometheus/prometheus.yml at stable-11146-2:
    # jvb:8080 and jicofo:8888, path /metrics): the bridge's private REST and jicofo's REST (JICOFO_ENABLE_REST, on
    # here), and prosody:5280, whose /metrics the workload turns on with a provider (construct.py).
    return [
        MetricsTarget(name="jvb", pods=ctx.selector_labels("jvb"), port=JVB_REST),
        MetricsTarget(name="jicofo", pods=ctx.selector_labels("jicofo"), port=JICOFO_REST),
        MetricsTarget(name="prosody", pods=ctx.selector_labels("prosody"), port=PROSODY_HTTP),
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_jitsi.construct import jitsi

    jitsi(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    jvb = {"app.kubernetes.io/component": "jvb"}
    return [
        Inbound(ports=(JVB_PORT,), protocols=("UDP",), source="anywhere", pods=jvb, reason="participants' media"),
        # ICE checks and media go to each participant's announced address and ephemeral port; the bridge's STUN
        # mapping harvester asks upstream's default server (JVB_STUN_SERVERS, meet-jit-si-turnrelay.jitsi.net:443).
        Internet(ranges=((1024, 65535),), protocols=("UDP",), pods=jvb, reason="media to participants' addresses"),
        Internet(ports=(443,), protocols=("UDP",), pods=jvb, reason="the STUN server that finds the public address"),
    ]
