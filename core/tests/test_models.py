"""Declaration models: the rules a plugin's declarations must follow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ink.models import AuthClient


def test_auth_client_does_not_ask_for_a_verified_email_by_default() -> None:
    assert AuthClient(kind="oidc", host="notes").verified_email is False


def test_verified_email_with_the_email_scope() -> None:
    assert AuthClient(kind="oidc", host="vault", verified_email=True).verified_email is True


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "oidc", "scopes": ("openid", "profile")},  # no email claim to mark verified
        {"kind": "forward-auth"},  # no claims at all: the proxy passes headers
    ],
)
def test_verified_email_without_an_email_claim_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="verified_email=True needs kind='oidc' and 'email'"):
        AuthClient(host="notes", verified_email=True, **fields)  # type: ignore[arg-type]
