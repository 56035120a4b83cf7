"""ink plugin: outgoing mail through your mail provider (provides ``smtp``).

Deploys nothing of its own: each consumer gets an :class:`~ink_plugin_smtp.capability.SmtpBinding`
and, when the server needs a login, a Secret in its own namespace with the password, sealed from
the user secret ``smtp-password``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints, model_validator

from ink import hookimpl
from ink.models import SecretClaim, SecretKeyRef, ServiceInfo, UserSecret
from ink.settings import PluginSettings
from ink_plugin_smtp.capability import NAME, SmtpBinding, SmtpNeed, TlsMode

if TYPE_CHECKING:
    from ink.context import ServiceContext

VERSION = "0.1.0"
PASSWORD = UserSecret(name="smtp-password", description="Password (or app token) of the SMTP account")
PASSWORD_KEY = "password"
# The ports each mode is served on by convention (RFC 8314: 465 implicit TLS, 587 submission with STARTTLS).
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Hostname = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?$")]


class SmtpSettings(PluginSettings):
    enabled: bool = Field(
        default=False, description="Off until you configure your mail provider: set true together with host."
    )
    host: Hostname | None = Field(default=None, description="Your provider's SMTP server, e.g. smtp.fastmail.com.")
    port: int | None = Field(default=None, ge=1, le=65535, description="Unset: 587 (starttls), 465 (tls), 25 (none).")
    tls: TlsMode = Field(default="starttls", description="starttls, tls (implicit TLS, 'SSL') or none.")
    from_address: Email | None = Field(default=None, description="Sender address. Unset: noreply@<domain>.")
    username: str = Field(
        default="",
        description="Login at the server; '' to send without one. The password is the user secret smtp-password "
        "(INK_SECRET_SMTP_PASSWORD or .ink/secrets.toml).",
    )

    @model_validator(mode="after")
    def _host_when_enabled(self) -> SmtpSettings:
        if self.enabled and self.host is None:
            raise ValueError("host is required when smtp is enabled, e.g. host = 'smtp.example.com'")
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="SMTP relay settings",
        version=VERSION,
        homepage="https://www.rfc-editor.org/rfc/rfc8314",
        description="Outgoing mail through your mail provider, for every service that sends mail.",
        settings_model=SmtpSettings,
        provides=(NAME,),
    )


@hookimpl
def ink_provide_smtp(need: SmtpNeed, ctx: ServiceContext) -> SmtpBinding:
    settings: SmtpSettings = ctx.settings  # type: ignore[assignment]
    assert settings.host is not None  # the settings model requires it when enabled
    secrets: tuple[SecretClaim, ...] = ()
    password = None
    if settings.username:
        name = f"{need.name}-smtp"
        secrets = (SecretClaim(name=name, data={PASSWORD_KEY: PASSWORD}),)
        password = SecretKeyRef(name=name, key=PASSWORD_KEY)
    return SmtpBinding(
        host=settings.host,
        port=settings.port or DEFAULT_PORTS[settings.tls],
        tls=settings.tls,
        from_address=settings.from_address or f"noreply@{ctx.domain}",
        username=settings.username,
        password=password,
        secrets=secrets,
    )
