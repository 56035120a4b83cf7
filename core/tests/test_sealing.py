"""Tests for ink.sealing: SealedSecrets wire format, determinism, certificate loading, dev keypair."""

from __future__ import annotations

import base64
import datetime
import hashlib
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from ink import sealing
from ink.errors import SecretsError
from ink.sealing import (
    Scope,
    SealingCertificate,
    generate_dev_keypair,
    load_certificate,
    scope_label,
    seal_value,
    unseal_value,
)

ENTROPY = bytes(range(32))
PLAINTEXTS = [b"", b"x", b"hunter2", "pässwörd ✓".encode(), bytes(range(256)) * 40]  # last one is 10 KiB


def _self_signed_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return _self_signed_pem(private_key)


@pytest.fixture(scope="module")
def cert(cert_pem: bytes) -> SealingCertificate:
    return SealingCertificate.from_pem(cert_pem)


def _seal(cert: SealingCertificate, **overrides: object) -> str:
    args: dict[str, object] = {"namespace": "apps", "name": "db", "key": "password", "plaintext": b"s3cret"}
    args["entropy"] = ENTROPY
    args.update(overrides)
    return seal_value(cert, **args)  # type: ignore[arg-type]


# --- round trip and wire format ---------------------------------------------------------------------------


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("plaintext", PLAINTEXTS, ids=lambda p: f"{len(p)}B")
def test_round_trip(cert: SealingCertificate, private_key: rsa.RSAPrivateKey, plaintext: bytes, scope: Scope) -> None:
    sealed = _seal(cert, plaintext=plaintext, scope=scope)
    assert unseal_value(private_key, namespace="apps", name="db", ciphertext=sealed, scope=scope) == plaintext


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=4096), key=st.text(min_size=1, max_size=20))
def test_round_trip_property(
    cert: SealingCertificate, private_key: rsa.RSAPrivateKey, plaintext: bytes, key: str
) -> None:
    sealed = _seal(cert, plaintext=plaintext, key=key)
    assert unseal_value(private_key, namespace="apps", name="db", ciphertext=sealed) == plaintext


def test_byte_layout(cert: SealingCertificate, private_key: rsa.RSAPrivateKey) -> None:
    raw = base64.b64decode(_seal(cert, plaintext=b"abc"), validate=True)
    modulus_bytes = private_key.key_size // 8
    assert int.from_bytes(raw[:2], "big") == modulus_bytes == 256
    assert len(raw) == 2 + modulus_bytes + len(b"abc") + 16  # GCM tag appended
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=b"apps/db")
    session_key = private_key.decrypt(raw[2 : 2 + modulus_bytes], oaep)
    assert len(session_key) == 32  # AES-256
    assert AESGCM(session_key).decrypt(bytes(12), raw[2 + modulus_bytes :], None) == b"abc"


def test_scope_labels() -> None:
    assert scope_label(Scope.STRICT, "apps", "db") == b"apps/db"
    assert scope_label(Scope.NAMESPACE_WIDE, "apps", "db") == b"apps"
    assert scope_label(Scope.CLUSTER_WIDE, "apps", "db") == b""
    with pytest.raises(ValueError, match="needs a namespace and name"):
        scope_label(Scope.STRICT, "", "db")
    with pytest.raises(ValueError, match="needs a namespace"):
        scope_label(Scope.NAMESPACE_WIDE, "", "db")


# --- determinism ------------------------------------------------------------------------------------------


def test_deterministic(cert: SealingCertificate, cert_pem: bytes) -> None:
    assert _seal(cert) == _seal(cert)
    assert _seal(cert) == _seal(SealingCertificate.from_pem(cert_pem))


@pytest.mark.parametrize(
    "override",
    [
        {"plaintext": b"s3cret!"},
        {"key": "passwd"},
        {"namespace": "other"},
        {"name": "db2"},
        {"entropy": bytes(32)},
        {"scope": Scope.NAMESPACE_WIDE},
        {"scope": Scope.CLUSTER_WIDE},
    ],
)
def test_output_changes_with_each_input(cert: SealingCertificate, override: dict[str, object]) -> None:
    assert _seal(cert, **override) != _seal(cert)


def test_output_changes_with_certificate(cert: SealingCertificate) -> None:
    other = SealingCertificate.from_pem(
        _self_signed_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    )
    assert _seal(other) != _seal(cert)


def test_short_entropy_rejected(cert: SealingCertificate) -> None:
    with pytest.raises(ValueError, match="entropy"):
        _seal(cert, entropy=b"short")


# --- scopes are enforced by the label ----------------------------------------------------------------------


@pytest.mark.parametrize(("namespace", "name"), [("other", "db"), ("apps", "other")])
def test_strict_wrong_namespace_or_name_fails(
    cert: SealingCertificate, private_key: rsa.RSAPrivateKey, namespace: str, name: str
) -> None:
    with pytest.raises(ValueError, match="did not decrypt"):
        unseal_value(private_key, namespace=namespace, name=name, ciphertext=_seal(cert))


def test_wider_scopes(cert: SealingCertificate, private_key: rsa.RSAPrivateKey) -> None:
    ns_wide = _seal(cert, scope=Scope.NAMESPACE_WIDE)
    opened = unseal_value(private_key, namespace="apps", name="x", ciphertext=ns_wide, scope=Scope.NAMESPACE_WIDE)
    assert opened == b"s3cret"
    with pytest.raises(ValueError, match="did not decrypt"):
        unseal_value(private_key, namespace="other", name="db", ciphertext=ns_wide, scope=Scope.NAMESPACE_WIDE)
    with pytest.raises(ValueError, match="did not decrypt"):  # a namespace-wide value is not a strict one
        unseal_value(private_key, namespace="apps", name="db", ciphertext=ns_wide)
    cluster = _seal(cert, scope=Scope.CLUSTER_WIDE)
    opened = unseal_value(private_key, namespace="x", name="y", ciphertext=cluster, scope=Scope.CLUSTER_WIDE)
    assert opened == b"s3cret"


def test_tampered_or_truncated_fails(cert: SealingCertificate, private_key: rsa.RSAPrivateKey) -> None:
    raw = bytearray(base64.b64decode(_seal(cert)))
    raw[-1] ^= 1
    with pytest.raises(ValueError, match="authentication"):
        unseal_value(private_key, namespace="apps", name="db", ciphertext=base64.b64encode(raw).decode())
    with pytest.raises(ValueError, match="too short"):
        unseal_value(private_key, namespace="apps", name="db", ciphertext=base64.b64encode(raw[:100]).decode())


# --- certificates ------------------------------------------------------------------------------------------


def test_from_pem_certificate_and_public_key(cert_pem: bytes, private_key: rsa.RSAPrivateKey) -> None:
    from_cert = SealingCertificate.from_pem(cert_pem)
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    assert from_cert.fingerprint == hashlib.sha256(der).hexdigest()
    assert from_cert.public_key.public_numbers() == private_key.public_key().public_numbers()
    pub_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    from_key = SealingCertificate.from_pem(pub_pem)
    assert from_key.public_key.public_numbers() == private_key.public_key().public_numbers()
    assert len(from_key.fingerprint) == 64
    assert from_key.path is None


def test_load_certificate(tmp_path: Path, cert_pem: bytes) -> None:
    path = tmp_path / "sealing.crt"
    path.write_bytes(cert_pem)
    loaded = load_certificate(path)
    assert loaded.path == path
    assert loaded == SealingCertificate.from_pem(cert_pem, path=path)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.crt", "does not exist"),
        (lambda d: d, "is a directory, not a regular file"),
        (lambda d: _write(d / "junk.crt", b"not a certificate\n"), "not a PEM certificate"),
        (
            lambda d: _write(d / "ec.crt", _self_signed_pem(ec.generate_private_key(ec.SECP256R1()))),
            "not RSA",
        ),
        (lambda d: _write(d / "small.crt", _self_signed_pem(rsa.generate_private_key(65537, 1024))), "2048"),
    ],
    ids=["missing", "directory", "non-pem", "ec", "small-rsa"],
)
def test_load_certificate_errors(tmp_path: Path, make: Callable[[Path], Path], fragment: str) -> None:
    path = make(tmp_path)
    with pytest.raises(SecretsError) as info:
        load_certificate(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    assert "kubeseal --fetch-cert" in message
    assert "\n" not in message


# --- dev keypair (the only RSA-4096 generation in the suite) ----------------------------------------------


@pytest.fixture(scope="module")
def dev_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_dev_keypair(tmp_path_factory.mktemp("dev") / "secrets" / "sealing")


def test_generate_dev_keypair(dev_pair: tuple[Path, Path]) -> None:
    cert_path, key_path = dev_pair
    assert (cert_path.name, key_path.name) == ("dev-sealing.crt", "dev-sealing.key")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.parent.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.subject == cert.issuer
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        assert [a.value for a in cert.subject.get_attributes_for_oid(oid)] == ["sealed-secret"]
    assert 3649 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 3651
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 4096
    assert b"BEGIN PRIVATE KEY" in key_path.read_bytes()  # PKCS8, unencrypted
    sealed = seal_value(load_certificate(cert_path), namespace="a", name="b", key="k", plaintext=b"v", entropy=ENTROPY)
    assert unseal_value(key, namespace="a", name="b", ciphertext=sealed) == b"v"


def test_generate_dev_keypair_is_idempotent(dev_pair: tuple[Path, Path]) -> None:
    cert_path, key_path = dev_pair
    before = (cert_path.read_bytes(), key_path.read_bytes())
    assert generate_dev_keypair(cert_path.parent) == dev_pair
    assert (cert_path.read_bytes(), key_path.read_bytes()) == before


def test_generate_dev_keypair_replaces_half_a_pair(
    dev_pair: tuple[Path, Path],
    tmp_path: Path,
    private_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stub key generation with the 2048-bit fixture key: only one test pays for RSA-4096.
    monkeypatch.setattr(sealing.rsa, "generate_private_key", lambda **_: private_key)
    public = private_key.public_key().public_numbers()
    # A key without its certificate (an interrupted run), left world-readable.
    shutil.copy(dev_pair[1], tmp_path / "dev-sealing.key")
    (tmp_path / "dev-sealing.key").chmod(0o644)
    cert_path, key_path = generate_dev_keypair(tmp_path)
    assert load_certificate(cert_path).public_key.public_numbers() == public
    assert key_path.read_bytes() != dev_pair[1].read_bytes()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    # A certificate without its key.
    key_path.unlink()
    shutil.copy(dev_pair[0], cert_path)
    generate_dev_keypair(tmp_path)
    assert key_path.exists()
    assert load_certificate(cert_path).public_key.public_numbers() == public
