"""Declaration models: the rules a plugin's declarations must follow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ink.models import AuthClient, DatabaseClaim


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


def test_every_tls_binding_shares_one_vocabulary_with_a_mount_path_of_its_own() -> None:
    from ink.models import DatabaseBinding, S3Binding, SecretKeyRef, TlsBinding

    ref = SecretKeyRef(name="bucket-s3", key="key")
    ca = SecretKeyRef(name="bucket-s3-ca", key="ca.crt")
    common = {
        "endpoint": "https://s3.store.svc:9000",
        "bucket": "bucket",
        "access_key_id": ref,
        "secret_access_key": ref,
    }
    with pytest.raises(ValidationError, match="a TLS S3Binding carries the CA"):
        S3Binding(**common, tls=True)
    s3 = S3Binding(**common, tls=True, ca=ca)
    assert isinstance(s3, TlsBinding) and issubclass(DatabaseBinding, TlsBinding)
    assert (s3.ca_file, s3.transport) == ("/etc/ink/s3-ca/ca.crt", "tls")
    (mount,) = s3.ca_mounts()
    assert mount.pod_volume()["name"] == "s3-ca"  # not database-ca: a pod may mount both
    unverified = S3Binding(**common, tls=True, ca=ca, tls_verified=False)
    assert unverified.transport == "tls-unverified"
    assert S3Binding(**{**common, "endpoint": "http://s3.store.svc:9000"}).transport == "plain"


def test_transport_of_a_binding_without_a_tls_field_comes_from_its_addresses() -> None:
    from ink.models import CertificateBinding, LinkBinding
    from ink.tls import transport

    link = {"service": "ollama", "endpoint": "api", "host": "ollama.ollama.svc", "port": 11434}
    assert transport(LinkBinding(**link, url="http://ollama.ollama.svc:11434")) == "plain"
    # The URL says https; the host and port beside it say nothing either way.
    assert transport(LinkBinding(**link, url="https://ollama.ollama.svc:11434")) == "tls"
    assert transport(CertificateBinding(secret_name="x")) is None  # no address: no traffic
    assert transport(None) is None


def test_secret_files_can_put_keys_at_paths_of_their_own() -> None:
    from ink.workload import SecretFiles

    paths = {"tls.crt": "public.crt", "ca.crt": "CAs/ca.crt"}
    volume = SecretFiles(name="server-tls", mount_path="/certs", paths=paths, volume="certs").pod_volume()
    assert volume["secret"]["items"] == [
        {"key": "tls.crt", "path": "public.crt"},
        {"key": "ca.crt", "path": "CAs/ca.crt"},
    ]
    with pytest.raises(ValueError, match="keys or paths, not both"):
        SecretFiles(name="server-tls", mount_path="/certs", paths=paths, keys=("tls.crt",)).pod_volume()


def test_a_database_claims_role_defaults_to_its_name() -> None:

    assert DatabaseClaim(name="notes").role_name == "notes"
    assert DatabaseClaim(name="kasm", role="kasmapp").role_name == "kasmapp"
    with pytest.raises(ValidationError):
        DatabaseClaim(name="kasm", role="Not_A_Label")
