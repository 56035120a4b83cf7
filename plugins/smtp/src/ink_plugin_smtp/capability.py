"""The ``smtp`` capability: outgoing mail through a mail server the user has an account with.

A consumer declares ``NamedNeed(capability="smtp", id=<name>, optional=True)`` in ``ink_needs`` (it
does not import this package) and reads the :class:`SmtpBinding` from ``ctx.bindings["smtp/<name>"]``
to set its own variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ink.capabilities import CapabilitySpec
from ink.hookspecs import hookspec
from ink.models import Binding, DnsLabel, Need, SecretKeyRef

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

NAME = "smtp"
TlsMode = Literal["starttls", "tls", "none"]


class SmtpNeed(Need):
    """A service that sends mail (password resets, invitations, notifications)."""

    capability: ClassVar[str] = NAME
    id_field: ClassVar[str] = "name"
    name: DnsLabel = Field(description="Identifies the need within its owner; usually the owner's name.")


class SmtpBinding(Binding):
    """How the consumer sends mail. The password reaches it only as a Secret in its own namespace."""

    host: str = Field(description="The mail server's host name.")
    port: int = Field(description="Its submission port, e.g. 587 (starttls) or 465 (tls).")
    tls: TlsMode = Field(description="starttls (upgrade after connecting), tls (implicit TLS) or none.")
    from_address: str = Field(description="The sender address of the consumer's mail.")
    username: str = Field(default="", description="'' when the server accepts mail without logging in.")
    password: SecretKeyRef | None = Field(default=None, description="None without a username.")


class Hooks:
    """The capability's hook specification, added to every plugin manager by core."""

    @hookspec(firstresult=True)
    def ink_provide_smtp(
        self, need: SmtpNeed, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
    ) -> SmtpBinding | None:
        """Answer a service's need for outgoing mail.

        Called only on the plugin that provides ``smtp``. Ask for the consumer's password Secret
        through the binding's ``secrets``.

        :return: Host, port, TLS mode, from address, user name and the password's secret ref.
        :param need: The need, with ``owner`` and ``namespace`` of the consumer.
        :param scope: A construct inside the consumer's part of the output.
        :param ctx: The provider's own context.
        :param consumer: The consumer's context.
        """


SMTP = CapabilitySpec(
    name=NAME,
    need=SmtpNeed,
    binding=SmtpBinding,
    provide_hook="ink_provide_smtp",
    hookspecs=Hooks,
    description="outgoing mail through the user's mail provider",
)
