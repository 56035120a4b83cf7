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


def test_a_database_binding_is_tls_exactly_when_it_carries_the_ca() -> None:
    from ink.models import DatabaseBinding, SecretKeyRef
    from ink.workload import SecretFiles

    common = {
        "host": "db.example.svc",
        "port": 5432,
        "database": "app",
        "user": "app",
        "password": SecretKeyRef(name="app-db", key="password"),
        "uri": SecretKeyRef(name="app-db", key="uri"),
    }
    ca = SecretKeyRef(name="app-db-ca", key="ca.crt")
    with pytest.raises(ValidationError, match="carries the CA"):
        DatabaseBinding(**common, tls=True)
    with pytest.raises(ValidationError, match="carries the CA"):
        DatabaseBinding(**common, ca=ca)
    plain = DatabaseBinding(**common)
    assert (plain.tls, plain.ca_file, plain.ca_mounts()) == (False, "", ())
    verified = DatabaseBinding(**common, tls=True, ca=ca)
    assert verified.ca_file == "/etc/ink/database-ca/ca.crt"
    (mount,) = verified.ca_mounts()
    assert isinstance(mount, SecretFiles)
    assert mount.pod_volume() == {
        "name": "database-ca",
        "secret": {"secretName": "app-db-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}], "defaultMode": 0o440},
    }
