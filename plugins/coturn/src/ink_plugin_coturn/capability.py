"""The ``turn`` capability: a STUN/TURN server that relays WebRTC media for clients behind NAT.

A consumer declares ``NamedNeed(capability="turn", id=<name>, optional=True)`` in ``ink_needs`` (it
does not import this package) and reads the :class:`TurnBinding` from ``ctx.bindings["turn/<name>"]``.

Credentials follow the TURN REST API (draft-uberti-behave-turn-rest-00), which coturn implements
with ``use-auth-secret``: the consumer hands its clients short-lived credentials it computes itself,
username ``<expiry unix time>:<user>`` and password ``base64(HMAC-SHA1(secret, username))``. The
shared secret reaches the consumer only as a Secret in its own namespace.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, field_validator

from ink.capabilities import CapabilitySpec
from ink.hookspecs import hookspec
from ink.models import Binding, DnsLabel, GeneratedSecret, Need, SecretKeyRef

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

NAME = "turn"


class TurnNeed(Need):
    """A service whose clients exchange real-time media (calls, video meetings, screen sharing)."""

    capability: ClassVar[str] = NAME
    id_field: ClassVar[str] = "name"
    name: DnsLabel = Field(description="Identifies the need within its owner; usually the owner's name.")
    peers: tuple[str, ...] = Field(
        default=(),
        description="Addresses or CIDRs of the consumer's own media servers that the relay must reach although "
        "they are private (a TURN server denies private peers), e.g. a video bridge's LAN address.",
    )

    @field_validator("peers")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(str(ipaddress.ip_network(v, strict=True)) for v in value)
        except ValueError as err:
            raise ValueError(f"peers: {err}; give addresses like '192.168.1.241' or CIDRs like '10.0.0.0/24'") from None


class TurnBinding(Binding):
    """Where clients find the TURN server and how the consumer mints their credentials."""

    # The consumer hands these to its clients; its own pods never dial them (no NetworkPolicy egress).
    not_dialled: ClassVar[frozenset[str]] = frozenset({"host", "address", "port", "tls_port", "uris", "stun"})

    host: str = Field(description="Public host name of the server, e.g. turn.example.com (what turns: URIs name).")
    address: str = Field(description="The IP address the server advertises to clients (its external IP).")
    port: int = Field(default=3478, description="STUN/TURN over UDP and TCP.")
    tls_port: int | None = Field(
        default=5349, description="TURN over TLS (and DTLS); None when the server has no certificate."
    )
    realm: str = Field(description="The TURN realm; the consumer's clients use it with the minted credentials.")
    uris: tuple[str, ...] = Field(description="ICE server URIs (RFC 7065), e.g. 'turn:192.0.2.10:3478?transport=udp'.")
    stun: str = Field(description="The STUN URI (RFC 7064), e.g. 'stun:192.0.2.10:3478'.")
    secret: SecretKeyRef = Field(
        description="The shared secret (coturn's static-auth-secret), in the consumer's namespace."
    )
    secret_value: GeneratedSecret = Field(
        description="How the secret derives, for a consumer that embeds it in a file of its own (ink_binding_secrets)."
    )
    ttl: int = Field(default=86400, description="Suggested lifetime of the credentials the consumer mints, in seconds.")


class Hooks:
    """The capability's hook specification, added to every plugin manager by core."""

    @hookspec(firstresult=True)
    def ink_provide_turn(
        self, need: TurnNeed, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
    ) -> TurnBinding | None:
        """Answer a service's need for a TURN server.

        Called only on the plugin that provides ``turn``. Ask for the consumer's copy of the shared
        secret through the binding's ``secrets``.

        :return: Host, address, ports, ICE URIs, realm and the shared secret's ref.
        :param need: The need, with ``owner`` and ``namespace`` of the consumer.
        :param scope: A construct inside the consumer's part of the output.
        :param ctx: The provider's own context (its certificate binding is there: ``tls`` is answered first).
        :param consumer: The consumer's context.
        """


TURN = CapabilitySpec(
    name=NAME,
    need=TurnNeed,
    binding=TurnBinding,
    provide_hook="ink_provide_turn",
    hookspecs=Hooks,
    # The provider's own certificate decides whether it offers turns: URIs.
    after=("tls",),
    description="a STUN/TURN relay for WebRTC media, with TURN REST API credentials",
)
