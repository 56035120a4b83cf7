"""Generated credentials, derived from one master key so they never change between synths.

A credential is ``HMAC-SHA256(master key, "ink/v1/secret/<id>/<block>")`` mapped onto its
alphabet. The same master key and id give the same value on every machine; a new id gives
an unrelated value; nothing but the master key (kept out of Git) reveals any of them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _random
import string
from dataclasses import dataclass
from pathlib import Path

from ink.errors import SecretsError
from ink.models import GeneratedSecret, ResolvedSecret, SecretClaim, SecretTemplate

MIN_KEY_CHARS = 32
ALPHABETS = {
    "alphanumeric": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
}


@dataclass(frozen=True)
class MasterKey:
    material: bytes
    origin: str

    def __repr__(self) -> str:
        return f"MasterKey(origin={self.origin!r})"

    def derive(self, spec: GeneratedSecret) -> str:
        """The credential named by ``spec.id``, ``spec.length`` characters of its alphabet."""
        alphabet = ALPHABETS[spec.alphabet]
        # Rejection sampling keeps every character equally likely.
        limit = 256 - (256 % len(alphabet))
        chars: list[str] = []
        block = 0
        while len(chars) < spec.length:
            digest = self._mac(f"ink/v1/secret/{spec.id}/{block}")
            chars.extend(alphabet[b % len(alphabet)] for b in digest if b < limit)
            block += 1
        return "".join(chars[: spec.length])

    def purpose_key(self, purpose: str) -> bytes:
        """32 secret bytes for one purpose, e.g. ``"sealing"`` (see :mod:`ink.sealing`)."""
        return self._mac(f"ink/v1/purpose/{purpose}")

    def _mac(self, message: str) -> bytes:
        return hmac.new(self.material, message.encode(), hashlib.sha256).digest()


def load_master_key(path: Path, *, environ: dict[str, str], create: bool) -> tuple[MasterKey, bool]:
    """The master key from ``INK_MASTER_KEY`` or ``path``; returns (key, created).

    With ``create`` a missing file is generated (0600, in a folder Git ignores); without it a
    missing file is an error.
    """
    if environ.get("INK_MASTER_KEY"):
        return _checked(environ["INK_MASTER_KEY"], "environment variable INK_MASTER_KEY"), False
    if not path.exists():
        if not create:
            raise SecretsError(
                f"{path}: master key file not found; restore it from your backup, set INK_MASTER_KEY, "
                "or remove secrets.master_key_file to generate a new one (this changes every generated secret)"
            )
        _write_new_key(path)
        return _checked(path.read_text(encoding="utf-8"), str(path)), True
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise SecretsError(
            f"{path}: cannot read the master key ({reason}); fix the file's permissions or contents"
        ) from None
    return _checked(text, str(path)), False


def _checked(text: str, origin: str) -> MasterKey:
    material = text.strip()
    if len(material) < MIN_KEY_CHARS:
        raise SecretsError(
            f"{origin}: master key is {len(material)} characters, fewer than {MIN_KEY_CHARS}; "
            "use a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return MasterKey(material.encode(), origin)


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# ink: keys live here; never commit them.\n*\n", encoding="utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(_random.token_urlsafe(48) + "\n")


def resolve(claim: SecretClaim, key: MasterKey) -> ResolvedSecret:
    """Compute every value of a claim."""
    data = {name: _value(value, key) for name, value in sorted(claim.data.items())}
    return ResolvedSecret(
        owner=claim.owner, namespace=claim.namespace, name=claim.name, type=claim.type, labels=claim.labels, data=data
    )


def _value(value: str | GeneratedSecret | SecretTemplate, key: MasterKey) -> str:
    if isinstance(value, GeneratedSecret):
        return key.derive(value)
    if isinstance(value, SecretTemplate):
        return value.template.format(**{name: key.derive(spec) for name, spec in value.values.items()})
    return value


def generated_values(claim: SecretClaim, key: MasterKey) -> list[str]:
    """Every generated (secret) value of a claim: what must never appear in the output in plain text."""
    found: list[str] = []
    for value in claim.data.values():
        if isinstance(value, GeneratedSecret):
            found.append(key.derive(value))
        elif isinstance(value, SecretTemplate):
            found.extend(key.derive(spec) for spec in value.values.values())
            found.append(_value(value, key))
    return found
