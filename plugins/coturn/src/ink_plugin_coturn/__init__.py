"""ink plugin: coturn, the STUN/TURN server (provides ``turn``).

One pod behind a MetalLB LoadBalancer: STUN/TURN on 3478 (UDP and TCP), TURN over TLS/DTLS on
5349 with a certificate from the TLS provider, and a bounded UDP relay range. Consumers get a
:class:`~ink_plugin_coturn.capability.TurnBinding` and a copy of the static-auth secret in their
own namespace; they mint TURN REST API credentials from it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from ink import hookimpl
from ink.models import (
    CertificateClaim,
    DnsLabel,
    Endpoint,
    GeneratedSecret,
    Inbound,
    Internet,
    MetricsTarget,
    NetworkRule,
    SecretClaim,
    SecretKeyRef,
    ServiceInfo,
)
from ink.podsecurity import AddCapabilities
from ink.settings import ContainerResources, ImageTag, PluginSettings
from ink.workload import MAX_RANGE_PORTS, SecretFiles
from ink_plugin_coturn.capability import NAME as TURN
from ink_plugin_coturn.capability import TurnBinding, TurnNeed

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# docker.io/coturn/coturn: the newest image release upstream publishes (docker/4.17.0-r0); see README.
# renovate: datasource=docker depName=docker.io/coturn/coturn
VERSION = "4.17.0"
NAME = "coturn"
IMAGE = "docker.io/coturn/coturn"
TURN_PORT = 3478
TLS_PORT = 5349
METRICS_PORT = 9641  # coturn's --prometheus default (src/apps/relay/mainrelay.c)
CONFIG_SECRET = "coturn-config"
CONFIG_DIR = "/etc/coturn"  # the image's --sysconfdir: turnserver.conf is read from here
TLS_DIR = "/etc/coturn-tls"
CERTIFICATE = "coturn-tls"
SECRET_KEY = "static-auth-secret"
# One value for coturn's config and every consumer's copy: the same id is the same secret.
STATIC_AUTH_SECRET = GeneratedSecret(id="coturn/static-auth-secret", length=48)
# The image's turnserver binary carries CAP_NET_BIND_SERVICE as a file capability (setcap in
# docker/coturn/debian/Dockerfile): with the capability dropped from the bounding set, the kernel
# refuses to execute it at all. Restricted Pod Security allows exactly this capability.
NET_BIND = AddCapabilities(
    capabilities=("NET_BIND_SERVICE",),
    reason="the image's turnserver binary has NET_BIND_SERVICE as a file capability; without it in the "
    "bounding set the kernel refuses to run the binary (no port below 1024 is used)",
)

# Peers a relay must never reach: the special-purpose IPv4 and IPv6 ranges (IANA registries, RFC 6890),
# so TURN cannot be used to reach the home network or the cluster (a TURN server is otherwise an
# open proxy into them). allowed_peer_ips and the consumers' peers open holes in it.
DENIED_PEERS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001::/23", "2001:db8::/32",
    "2002::/16", "fc00::/7", "fe80::/10", "ff00::/8",
)  # fmt: skip


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a single IP address, such as '192.168.1.241'") from None


def _peer(value: str) -> str:
    """An address or a CIDR, as a CIDR (an address becomes /32 or /128); host bits set are refused."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or a CIDR such as '192.168.1.50/32'") from None
    return str(network)


def peer_range(cidr: str) -> str:
    """coturn's ``denied-peer-ip`` / ``allowed-peer-ip`` take an address or ``first-last``."""
    network = ipaddress.ip_network(cidr)
    if network.num_addresses == 1:
        return str(network.network_address)
    return f"{network.network_address}-{network.broadcast_address}"


class CoturnSettings(PluginSettings):
    enabled: bool = Field(
        default=False,
        description="Off until you give it its address: set true together with load_balancer_ip. A TURN server "
        "that advertises the wrong address fails silently, so there is no default.",
    )
    image_tag: ImageTag = Field(default=VERSION, description="Tag of docker.io/coturn/coturn.")
    hostname: DnsLabel = Field(
        default="turn",
        description="Subdomain clients reach TURN over TLS at (turns:<hostname>.<domain>:5349); the certificate is "
        "for this name. Point its DNS record at external_ip.",
    )
    load_balancer_ip: str | None = Field(
        default=None,
        description="Address of coturn's LoadBalancer Service, from the MetalLB pool (required when enabled). "
        "Forward the TURN ports of your router to it for clients outside your network.",
    )
    external_ip: str | None = Field(
        default=None,
        description="The address clients reach coturn at, which it advertises in relayed candidates (external-ip): "
        "your public IP when the router forwards the ports. Unset: load_balancer_ip (clients on your network only).",
    )
    realm: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9.-]{1,253}$", description="TURN realm. Unset: the global domain."
    )
    relay_min_port: int = Field(default=49160, ge=1024, le=65535, description="First UDP relay port (min-port).")
    relay_max_port: int = Field(
        default=49200,
        ge=1024,
        le=65535,
        description=f"Last UDP relay port (max-port). At most {MAX_RANGE_PORTS} ports: each is a Service port; "
        "one call uses about one per participant.",
    )
    allowed_peer_ips: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDRs in private ranges the relay may still reach (allowed-peer-ip), e.g. a "
        "media server on your network. Everything private is denied otherwise; consumers add their own media "
        "servers' addresses through the turn need.",
    )
    tls: bool = Field(
        default=True,
        description="TURN over TLS/DTLS on 5349 with a certificate for <hostname>.<domain> from the TLS provider "
        "(cert-manager), when one is installed.",
    )
    metrics: bool = Field(default=True, description=f"Prometheus metrics on port {METRICS_PORT} (/metrics).")
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="64Mi", memory_limit="256Mi"),
        description="Requests and limits of the turnserver container.",
    )

    @field_validator("load_balancer_ip", "external_ip")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        return None if value is None else _ip(value)

    @field_validator("allowed_peer_ips")
    @classmethod
    def _peers(cls, value: list[str]) -> list[str]:
        return [_peer(v) for v in value]

    @model_validator(mode="after")
    def _address_and_range(self) -> CoturnSettings:
        if self.enabled and self.load_balancer_ip is None:
            raise ValueError(
                "load_balancer_ip is required when coturn is enabled: an address from the MetalLB pool, "
                "e.g. load_balancer_ip = '192.168.1.241'"
            )
        count = self.relay_max_port - self.relay_min_port + 1
        if count < 1:
            raise ValueError(
                f"relay_min_port {self.relay_min_port} is above relay_max_port {self.relay_max_port}; swap them"
            )
        if count > MAX_RANGE_PORTS:
            raise ValueError(
                f"relay ports {self.relay_min_port}-{self.relay_max_port} are {count} ports; at most "
                f"{MAX_RANGE_PORTS} (each is a Service port), e.g. relay_max_port = "
                f"{self.relay_min_port + MAX_RANGE_PORTS - 1}"
            )
        for port in (TURN_PORT, TLS_PORT, METRICS_PORT):
            if self.relay_min_port <= port <= self.relay_max_port:
                raise ValueError(f"the relay ports {self.relay_min_port}-{self.relay_max_port} include {port}")
        return self

    @property
    def advertised(self) -> str:
        assert self.load_balancer_ip is not None  # required when enabled
        return self.external_ip or self.load_balancer_ip


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="coturn",
        version=VERSION,
        homepage="https://github.com/coturn/coturn",
        description="STUN/TURN server relaying WebRTC media (calls, meetings) for clients behind NAT.",
        settings_model=CoturnSettings,
        provides=(TURN,),
        exemptions=(NET_BIND,),
    )


@hookimpl
def ink_certificate_claims(ctx: ServiceContext) -> list[CertificateClaim]:
    settings: CoturnSettings = ctx.settings  # type: ignore[assignment]
    if not settings.tls:
        return []
    # A certificate of its own for the TURN host, not a copy of the wildcard: the wildcard's key stays
    # in Traefik's namespace, and a distinct name set is not a Let's Encrypt duplicate certificate.
    return [
        CertificateClaim(
            name=CERTIFICATE, dns_names=(f"{settings.hostname}.{ctx.domain}",), optional=True, enabled_by="tls"
        )
    ]


def has_tls(ctx: ServiceContext) -> bool:
    return f"tls/{CERTIFICATE}" in ctx.bindings


def _uri_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@hookimpl
def ink_provide_turn(need: TurnNeed, ctx: ServiceContext) -> TurnBinding:
    settings: CoturnSettings = ctx.settings  # type: ignore[assignment]
    address, host = settings.advertised, f"{settings.hostname}.{ctx.domain}"
    uris = [
        f"turn:{_uri_host(address)}:{TURN_PORT}?transport=udp",
        f"turn:{_uri_host(address)}:{TURN_PORT}?transport=tcp",
    ]
    if has_tls(ctx):
        # TLS needs the name the certificate is for.
        uris.append(f"turns:{host}:{TLS_PORT}?transport=tcp")
    name = f"{need.name}-turn"
    return TurnBinding(
        host=host,
        address=address,
        port=TURN_PORT,
        tls_port=TLS_PORT if has_tls(ctx) else None,
        realm=settings.realm or ctx.domain,
        uris=tuple(uris),
        stun=f"stun:{_uri_host(address)}:{TURN_PORT}",
        secret=SecretKeyRef(name=name, key=SECRET_KEY),
        secret_value=STATIC_AUTH_SECRET,
        secrets=(SecretClaim(owner=need.owner, name=name, data={SECRET_KEY: STATIC_AUTH_SECRET}),),
    )


def consumer_peers(ctx: ServiceContext) -> list[str]:
    """The media servers the consumers asked the relay to reach, as CIDRs, each once."""
    peers = {p for need, _ in ctx.served if isinstance(need, TurnNeed) for p in need.peers}
    return sorted(peers, key=lambda p: (ipaddress.ip_network(p).version, ipaddress.ip_network(p)))


def config(ctx: ServiceContext) -> SecretFiles:
    """turnserver.conf: a Secret, because it holds the static-auth secret (coturn reads no env)."""
    settings: CoturnSettings = ctx.settings  # type: ignore[assignment]
    lines = [
        "# Generated by ink (ink-plugin-coturn). Options: coturn's examples/etc/turnserver.conf.",
        f"listening-port={TURN_PORT}",
        f"external-ip={settings.advertised}",
        f"realm={settings.realm or ctx.domain}",
        # TURN REST API: credentials minted by the consumers from the shared secret.
        "use-auth-secret",
        "static-auth-secret=$secret",
        f"min-port={settings.relay_min_port}",
        f"max-port={settings.relay_max_port}",
        # Only the UDP relay range is published: a TCP relay (RFC 6062) would hand out unreachable addresses.
        "no-tcp-relay",
        "fingerprint",
        "no-cli",
        "no-multicast-peers",
        "log-file=stdout",
        # Writable scratch paths: the root filesystem is read-only.
        "pidfile=/var/tmp/turnserver.pid",
        "userdb=/var/lib/coturn/turndb",
    ]
    if has_tls(ctx):
        lines += [f"tls-listening-port={TLS_PORT}", f"cert={TLS_DIR}/tls.crt", f"pkey={TLS_DIR}/tls.key"]
    else:
        lines += ["no-tls", "no-dtls"]
    if settings.metrics:
        lines += ["prometheus", f"prometheus-port={METRICS_PORT}"]
    lines += [f"denied-peer-ip={peer_range(cidr)}" for cidr in DENIED_PEERS]
    allowed = [*settings.allowed_peer_ips, *(p for p in consumer_peers(ctx) if p not in settings.allowed_peer_ips)]
    lines += [f"allowed-peer-ip={peer_range(cidr)}" for cidr in allowed]
    return SecretFiles(
        name=CONFIG_SECRET,
        mount_path=CONFIG_DIR,
        files={"turnserver.conf": "\n".join(lines) + "\n"},
        secrets={"secret": STATIC_AUTH_SECRET},
    )


@hookimpl
def ink_binding_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    # After the provide step: the config depends on the certificate binding and the consumers' peers.
    return [config(ctx).claim()]


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    if not ctx.settings.metrics:  # type: ignore[attr-defined]
        return []
    return [Endpoint(name="metrics", port=METRICS_PORT, protocol="http", path="/metrics", service="coturn-metrics")]


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    if not ctx.settings.metrics:  # type: ignore[attr-defined]
        return []
    # `prometheus` in turnserver.conf: /metrics on --prometheus-port (src/apps/relay/mainrelay.c, default 9641).
    return [MetricsTarget(pods=ctx.selector_labels(NAME), port=METRICS_PORT)]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_coturn.construct import coturn

    coturn(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    settings = ctx.settings
    relay = ((settings.relay_min_port, settings.relay_max_port),)  # type: ignore[attr-defined]
    return [
        Inbound(ports=(TURN_PORT, TLS_PORT), protocols=("UDP", "TCP"), source="anywhere", reason="STUN/TURN clients"),
        Inbound(ranges=relay, protocols=("UDP",), source="anywhere", reason="the relay range: peers answer here"),
        # A relayed allocation sends to whatever address and port the peer announced (its ephemeral ports).
        Internet(ranges=((1024, 65535),), protocols=("UDP",), reason="relayed media to the peers' addresses"),
    ]
