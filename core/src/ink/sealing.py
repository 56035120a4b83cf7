"""Seal secret values offline as Bitnami SealedSecrets, deterministically.

The wire format is sealed-secrets' ``HybridEncrypt`` (pkg/crypto/crypto.go): a 32-byte session key is
RSA-OAEP(SHA-256)-encrypted under the scope label, the value is AES-256-GCM-encrypted with that key and an
all-zero nonce, and the output is ``len(rsa_ct) as 2 bytes BE || rsa_ct || gcm_ct``, base64-encoded.

Re-running with unchanged inputs must not change the output, so the session key and the OAEP seed are
HMAC-SHA256 of a secret ``entropy`` over all inputs including the plaintext. A changed value therefore gets a
fresh key, and the zero GCM nonce is never reused under one key.
"""

from __future__ import annotations

import base64
import datetime
import enum
import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import gmpy2
from cryptography import x509
from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from cryptography.x509.oid import NameOID

from ink.errors import SecretsError
from ink.files import BoundedReadError, read_bounded

_H_LEN = 32  # SHA-256 output length, the OAEP hLen
_ZERO_NONCE = bytes(12)
_MIN_KEY_BITS = 2048
_MAX_CERT_BYTES = 1024 * 1024  # a PEM certificate is a few KiB
DEV_CERT_NAME = "dev-sealing.crt"
DEV_KEY_NAME = "dev-sealing.key"


class Scope(enum.Enum):
    """Where a SealedSecret may be unsealed (the ``sealedsecrets.bitnami.com/*`` scope)."""

    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"


@dataclass(frozen=True)
class SealingCertificate:
    """The controller's RSA public key and the fingerprint that identifies it."""

    public_key: rsa.RSAPublicKey
    fingerprint: str  # sha256 hex of the certificate DER (of the SubjectPublicKeyInfo DER for a bare key)
    path: Path | None = None

    @classmethod
    def from_pem(cls, data: bytes, *, path: Path | None = None) -> SealingCertificate:
        """Parse a PEM certificate (``kubeseal --fetch-cert``) or PEM public key; SecretsError otherwise."""
        where = str(path) if path is not None else "<input>"
        fix = f"fetch it with {_fetch(where)}"
        try:
            cert = x509.load_pem_x509_certificate(data)
            key, der = cert.public_key(), cert.public_bytes(Encoding.DER)
        except ValueError:
            try:
                key = serialization.load_pem_public_key(data)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                raise SecretsError(f"sealing certificate {where} is not a PEM certificate; {fix}") from None
            der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if not isinstance(key, rsa.RSAPublicKey):
            raise SecretsError(f"sealing certificate {where} holds a {type(key).__name__}, not RSA; {fix}")
        if key.key_size < _MIN_KEY_BITS:
            raise SecretsError(f"sealing certificate {where} has a {key.key_size}-bit key (< 2048); {fix}")
        return cls(key, hashlib.sha256(der).hexdigest(), path)


def _fetch(where: object) -> str:
    """The command that fetches the certificate to ``where``, unless that would write outside the project."""
    target = Path(os.path.realpath(str(where)))
    if target.is_relative_to(Path.cwd()) and not target.is_relative_to(Path.cwd() / ".git"):
        return f"`kubeseal --fetch-cert > {where}`"
    return "`kubeseal --fetch-cert > sealed-secrets.pem` in your project, then point the certificate setting at it"


def load_certificate(path: Path) -> SealingCertificate:
    """Read the sealing certificate at ``path``; SecretsError naming the path if it is missing or invalid."""
    try:
        data = read_bounded(path, _MAX_CERT_BYTES)
    except BoundedReadError as exc:
        raise SecretsError(f"sealing certificate {path} {exc}; fetch it with {_fetch(path)}") from None
    except OSError as exc:
        why = "does not exist" if isinstance(exc, FileNotFoundError) else f"is unreadable ({exc.strerror})"
        raise SecretsError(f"sealing certificate {path} {why}; fetch it with {_fetch(path)}") from None
    return SealingCertificate.from_pem(data, path=path)


def scope_label(scope: Scope, namespace: str, name: str) -> bytes:
    """The OAEP label the controller expects for ``scope`` (sealed-secrets ``EncryptionLabel``)."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if not namespace or (scope is Scope.STRICT and not name):
        raise ValueError(f"{scope.value} scope needs a namespace{' and name' * (scope is Scope.STRICT)}")
    return f"{namespace}/{name}".encode() if scope is Scope.STRICT else namespace.encode()


def _derive(entropy: bytes, purpose: bytes, *fields: bytes) -> bytes:
    """HMAC-SHA256(entropy, purpose || each field prefixed by its 8-byte big-endian length)."""
    msg = b"ink-seal-v1:" + purpose + b"".join(len(f).to_bytes(8, "big") + f for f in fields)
    return hmac.new(entropy, msg, hashlib.sha256).digest()


def _mgf1(seed: bytes, length: int) -> bytes:
    """MGF1 with SHA-256, RFC 8017 appendix B.2.1."""
    out = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(-(-length // _H_LEN)))
    return out[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _rsaes_oaep_encrypt(key: rsa.RSAPublicKey, message: bytes, label: bytes, seed: bytes) -> bytes:
    """RSAES-OAEP-ENCRYPT with SHA-256 and a caller-supplied seed, RFC 8017 section 7.1.1."""
    numbers = key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    # Step 1b: length check.
    if len(message) > k - 2 * _H_LEN - 2:
        raise ValueError("message too long for RSA-OAEP")
    # Step 2 (EME-OAEP encoding): DB = lHash || PS || 0x01 || M, then mask DB and the seed.
    db = hashlib.sha256(label).digest() + bytes(k - len(message) - 2 * _H_LEN - 2) + b"\x01" + message
    masked_db = _xor(db, _mgf1(seed, k - _H_LEN - 1))
    masked_seed = _xor(seed, _mgf1(masked_db, _H_LEN))
    em = b"\x00" + masked_seed + masked_db
    # Steps 3-4: RSAEP (section 5.1.1) c = m^e mod n, then I2OSP to k bytes. GMP's powmod, because Python's
    # pow takes 0.5 ms for a 4096-bit modulus, 0.12 s of a default synth's 236 sealed values (docs/performance.md).
    return int(gmpy2.powmod(int.from_bytes(em, "big"), numbers.e, numbers.n)).to_bytes(k, "big")


def seal_value(
    cert: SealingCertificate,
    *,
    namespace: str,
    name: str,
    key: str,
    plaintext: bytes,
    entropy: bytes,
    scope: Scope = Scope.STRICT,
) -> str:
    """Seal ``plaintext`` for ``spec.encryptedData[key]``; the same inputs always give the same string."""
    if len(entropy) < 32:
        raise ValueError("sealing entropy must be at least 32 bytes")
    label = scope_label(scope, namespace, name)
    fields = (cert.fingerprint.encode(), label, namespace.encode(), name.encode(), key.encode(), plaintext)
    session_key = _derive(entropy, b"session-key", *fields)
    seed = _derive(entropy, b"oaep-seed", *fields)
    rsa_ct = _rsaes_oaep_encrypt(cert.public_key, session_key, label, seed)
    gcm_ct = AESGCM(session_key).encrypt(_ZERO_NONCE, plaintext, None)
    return base64.b64encode(len(rsa_ct).to_bytes(2, "big") + rsa_ct + gcm_ct).decode("ascii")


def unseal_value(
    private_key: rsa.RSAPrivateKey, *, namespace: str, name: str, ciphertext: str, scope: Scope = Scope.STRICT
) -> bytes:
    """Open a sealed value as the controller would (cryptography's OAEP + AESGCM); ValueError on failure."""
    raw = base64.b64decode(ciphertext, validate=True)
    rsa_len = int.from_bytes(raw[:2], "big")
    if len(raw) < 2 + rsa_len:
        raise ValueError("sealed value is too short")
    label = scope_label(scope, namespace, name)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
    try:
        session_key = private_key.decrypt(raw[2 : 2 + rsa_len], oaep)
    except ValueError:
        raise ValueError("sealed value's session key did not decrypt (wrong key or scope label)") from None
    try:
        return AESGCM(session_key).decrypt(_ZERO_NONCE, raw[2 + rsa_len :], None)
    except InvalidTag:
        raise ValueError("sealed value failed AES-GCM authentication") from None


def new_dev_keypair() -> tuple[bytes, bytes]:
    """A self-signed RSA-4096 sealing keypair like the controller's: (certificate PEM, private key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    subject = x509.Name(
        [x509.NameAttribute(oid, "sealed-secret") for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)]
    )
    now = datetime.datetime.now(datetime.UTC)
    validity = (now, now + datetime.timedelta(days=3650))  # like the controller: created once, valid 10 years
    builder = x509.CertificateBuilder(subject, subject, key.public_key(), x509.random_serial_number(), *validity)
    cert = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return cert.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM), pem


def dev_certificate(
    directory: Path,
    keep: Callable[[Path, bytes, int], None],
    kept: Mapping[Path, tuple[bytes, int]] | None = None,
) -> SealingCertificate:
    """The development certificate in ``directory``; if there is no whole pair, a new one handed to ``keep``
    (path, bytes, mode) to be written only if the run writes its output.

    ``kept`` (:attr:`ink.context.ServiceContext.kept_files`) holds the pair an earlier build of the same run
    made and has not written yet: ``ink synth --all-environments`` seals every environment with that one pair.
    """
    cert_path, key_path = directory / DEV_CERT_NAME, directory / DEV_KEY_NAME
    pending = kept or {}
    if cert_path in pending and key_path in pending:
        return SealingCertificate.from_pem(pending[cert_path][0], path=cert_path)
    if cert_path.is_file() and key_path.is_file():
        return load_certificate(cert_path)
    # Half a pair (e.g. an interrupted run) is useless: replace it with a fresh pair.
    cert_pem, key_pem = new_dev_keypair()
    keep(key_path, key_pem, 0o600)
    keep(cert_path, cert_pem, 0o644)
    return SealingCertificate.from_pem(cert_pem, path=cert_path)


def write_key_file(path: Path, data: bytes, mode: int) -> None:
    """Write key material: its folder 0700, the file created with ``mode`` from the start, synced."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is masked by the umask
    path.unlink(missing_ok=True)  # so that O_EXCL creates it with its mode from the start
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def generate_dev_keypair(directory: Path) -> tuple[Path, Path]:
    """Write a development keypair to ``directory`` now; reuse it if both files exist."""
    cert_path, key_path = directory / DEV_CERT_NAME, directory / DEV_KEY_NAME
    dev_certificate(directory, write_key_file)
    return cert_path, key_path
