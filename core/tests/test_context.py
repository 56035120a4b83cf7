"""ServiceContext helpers every plugin uses."""

from __future__ import annotations

from pydantic import BaseModel

from ink.context import ServiceContext
from ink.models import RouteBinding, ServiceInfo
from ink.settings import InkSettings


class _Settings(BaseModel):
    hostname: str = "notes"


def _ctx(**bindings: RouteBinding) -> ServiceContext:
    info = ServiceInfo(name="notes", title="Notes", version="1", homepage="https://example.org")
    return ServiceContext(
        service=info, settings=_Settings(), config=InkSettings(domain="example.org"), bindings=dict(bindings)
    )


def test_public_url_is_the_routes_url_when_the_ingress_answered() -> None:
    route = RouteBinding(url="https://notes.example.org:8443", hostname="notes.example.org")
    ctx = _ctx(**{"ingress/notes": route})
    assert ctx.public_url() == "https://notes.example.org:8443"  # the provider's answer, not a guess
    assert ctx.public_url("other") == "https://other.example.org"


def test_public_url_without_an_ingress_provider_is_the_subdomain() -> None:
    assert _ctx().public_url() == "https://notes.example.org"
