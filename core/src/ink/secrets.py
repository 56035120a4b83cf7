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
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ink.errors import SecretsError, os_fault
from ink.files import BoundedReadError, read_bounded
from ink.models import GeneratedSecret, ResolvedSecret, SecretClaim, SecretTemplate, SecretValue, UserSecret

MIN_KEY_CHARS = 32
MAX_KEY_BYTES = 64 * 1024
ALPHABETS = {
    "alphanumeric": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
}


@dataclass(frozen=True)
class MasterKey:
    material: bytes
    origin: str
    rotations: Mapping[str, int] = field(default_factory=dict)
    """Credential id → how many times it was rotated (``[secrets.rotations]`` in ink.toml)."""

    def __repr__(self) -> str:
        return f"MasterKey(origin={self.origin!r})"

    def derive(self, spec: GeneratedSecret) -> str:
        """The credential named by ``spec.id``, ``spec.length`` characters of its alphabet."""
        alphabet = ALPHABETS[spec.alphabet]
        # Rejection sampling keeps every character equally likely.
        limit = 256 - (256 % len(alphabet))
        chars: list[str] = []
        block = 0
        # A rotated credential derives from "<id>#<generation>": a new value, and nothing else changes.
        generation = self.rotations.get(spec.id, 0)
        name = f"{spec.id}#{generation}" if generation else spec.id
        while len(chars) < spec.length:
            digest = self._mac(f"ink/v1/secret/{name}/{block}")
            chars.extend(alphabet[b % len(alphabet)] for b in digest if b < limit)
            block += 1
        return "".join(chars[: spec.length])

    @property
    def fingerprint(self) -> str:
        """Names this key without revealing it: recorded in the output, to notice a lost or swapped key."""
        return self._mac("ink/v1/fingerprint").hex()[:16]

    def for_environment(self, name: str) -> MasterKey:
        """The key of one ``[environments.<name>]``: its credentials differ from the base's and from every
        other environment's, and none of them reveals another's; the base's credentials do not change."""
        material = self._mac(f"ink/v1/environment/{name}").hex().encode()
        return MasterKey(material, f"{self.origin} (environment {name})", self.rotations)

    def purpose_key(self, purpose: str) -> bytes:
        """32 secret bytes for one purpose, e.g. ``"sealing"`` (see :mod:`ink.sealing`)."""
        return self._mac(f"ink/v1/purpose/{purpose}")

    def _mac(self, message: str) -> bytes:
        return hmac.new(self.material, message.encode(), hashlib.sha256).digest()


def load_master_key(path: Path, *, environ: Mapping[str, str], create: bool) -> tuple[MasterKey, bool]:
    """The master key from ``INK_MASTER_KEY`` or ``path``; returns (key, created).

    With ``create`` a missing file gives a new key *in memory only*: the caller writes it with
    :func:`write_master_key` once the run is known to succeed, so a refused or read-only run
    never leaves key material behind. Without ``create`` a missing file is an error.
    """
    if path.parent.exists() and not path.parent.is_dir():
        raise SecretsError(
            f"{path.parent}: is a file, but the master key {path.name} belongs in a folder of that name; move the "
            "file away (restore the key folder from your backup) or set secrets.master_key_file"
        )
    from_env = environ.get("INK_MASTER_KEY")
    if from_env:
        key = _checked(from_env, "environment variable INK_MASTER_KEY")
        if _exists(path) and _read_key_file(path).material != key.material:
            raise SecretsError(
                f"environment variable INK_MASTER_KEY: differs from the master key in {path}; unset "
                "INK_MASTER_KEY or make both the same key (which one wrote dist/ is shown by `ink diff`)"
            )
        return key, False
    if not _exists(path):
        if not create:
            raise SecretsError(
                f"{path}: master key file not found; restore it from your backup, set INK_MASTER_KEY, "
                "or remove secrets.master_key_file to generate a new one (this changes every generated secret)"
            )
        return MasterKey(_random.token_urlsafe(48).encode(), str(path)), True
    return _read_key_file(path), False


def _exists(path: Path) -> bool:
    """True if anything is at ``path``, a dangling symlink included (it must not be replaced silently)."""
    return path.is_symlink() or path.exists()


def _read_key_file(path: Path) -> MasterKey:
    if path.is_symlink() and not path.exists():
        raise SecretsError(
            f"{path}: is a symlink to {os.readlink(path)}, which does not exist; restore the key it points to "
            "or replace the link with the key file"
        )
    try:
        data = read_bounded(path, MAX_KEY_BYTES)
        text = data.decode("utf-8")
    except BoundedReadError as err:
        raise SecretsError(
            f"{path}: cannot read the master key: {err}; point secrets.master_key_file at the key file, "
            "or fix the file's permissions or contents"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise SecretsError(
            f"{path}: cannot read the master key ({reason}); fix the file's permissions or contents"
        ) from None
    return _checked(text, str(path))


def write_master_key(key: MasterKey, path: Path) -> None:
    """Keep a key that :func:`load_master_key` made (0600, in a folder Git ignores)."""
    try:
        _write_new_key(path, key.material.decode())
    except OSError as err:
        raise os_fault(path, err, "write the new master key") from None


def with_rotations(key: MasterKey, rotations: Mapping[str, int]) -> MasterKey:
    return MasterKey(key.material, key.origin, dict(rotations))


def _checked(text: str, origin: str) -> MasterKey:
    material = text.strip()
    if len(material) < MIN_KEY_CHARS:
        raise SecretsError(
            f"{origin}: master key is {len(material)} characters, fewer than {MIN_KEY_CHARS}; "
            "use a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return MasterKey(material.encode(), origin)


def _write_new_key(path: Path, material: str) -> None:
    if path.parent.exists() and not path.parent.is_dir():
        raise SecretsError(
            f"{path.parent}: is a file, but ink keeps its keys in this folder; move the file away "
            "or set secrets.master_key_file"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# ink: keys live here; never commit them.\n*\n", encoding="utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(material + "\n")
        handle.flush()
        os.fsync(handle.fileno())


USER_SECRETS_FILE = ".ink/secrets.toml"
USER_SECRET_PREFIX = "INK_SECRET_"


@dataclass
class UserSecrets:
    """Credentials only the user has (API tokens): ``INK_SECRET_<NAME>`` or ``.ink/secrets.toml``."""

    values: dict[str, str]
    path: Path
    missing: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, base_dir: Path, environ: Mapping[str, str]) -> UserSecrets:
        path = base_dir / USER_SECRETS_FILE
        values: dict[str, str] = {}
        if path.exists() or path.is_symlink():
            try:
                data = tomllib.loads(read_bounded(path, MAX_KEY_BYTES * 16).decode("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, BoundedReadError, RecursionError) as err:
                reason = getattr(err, "strerror", None) or str(err) or "nested too deeply"
                raise SecretsError(f'{path}: cannot read ({reason}); fix the file (name = "value" lines)') from None
            for name, value in data.items():
                if not isinstance(value, str):
                    raise SecretsError(f'{path}: {name}: expected a string; write {name} = "..."')
                values[name] = value
        for variable, value in environ.items():
            if variable.upper().startswith(USER_SECRET_PREFIX) and value:
                values[variable[len(USER_SECRET_PREFIX) :].lower().replace("_", "-")] = value
        return cls(values, path)

    def get(self, secret: UserSecret) -> str:
        value = self.values.get(secret.name)
        if value is None:
            self.missing[secret.name] = secret.description
            return f"unset-{secret.name}"
        return value

    def warnings(self, placed: Collection[str] | None = None) -> list[str]:
        """One line per unset user secret whose placeholder a Secret holds.

        :param placed: The names whose placeholder went into a Secret; None for every unset one. A provider
            that reads user secrets from its own store (``SecretBinding.from_sources``) never holds the
            placeholder, and says itself where the value goes.
        """
        return [
            f"secret {name!r} ({description or 'provided by you'}) is not set: its Secret holds a placeholder. "
            f'Set {USER_SECRET_PREFIX}{name.upper().replace("-", "_")} or add {name} = "..." to {self.path}'
            for name, description in sorted(self.missing.items())
            if placed is None or name in placed
        ]


def resolve(claim: SecretClaim, key: MasterKey, user: UserSecrets | None = None) -> ResolvedSecret:
    """Compute every value of a claim."""
    data = {name: _value(value, key, user) for name, value in sorted(claim.data.items())}
    return ResolvedSecret(
        owner=claim.owner,
        namespace=claim.namespace,
        name=claim.name,
        type=claim.type,
        labels=claim.labels,
        data=data,
        sources=dict(sorted(claim.data.items())),
        generations={spec.id: key.rotations.get(spec.id, 0) for _, spec in generated_specs(claim)},
    )


def _value(value: SecretValue, key: MasterKey, user: UserSecrets | None) -> str:
    if isinstance(value, GeneratedSecret):
        return key.derive(value)
    if isinstance(value, SecretTemplate):
        return value.template.format(**{name: key.derive(spec) for name, spec in value.values.items()})
    if isinstance(value, UserSecret):
        if user is None:
            raise SecretsError(f"secret {value.name!r} must be provided by you, but no user secrets were loaded")
        return user.get(value)
    return value


def generated_specs(claim: SecretClaim) -> list[tuple[str, GeneratedSecret]]:
    """(key, spec) for every generated credential a claim uses, directly or in a template."""
    found: list[tuple[str, GeneratedSecret]] = []
    for key, value in sorted(claim.data.items()):
        if isinstance(value, GeneratedSecret):
            found.append((key, value))
        elif isinstance(value, SecretTemplate):
            found.extend((key, spec) for spec in value.values.values())
    return found


def generated_values(claim: SecretClaim, key: MasterKey, user: UserSecrets | None = None) -> list[str]:
    """Every secret value of a claim: what must never appear in the output in plain text."""
    found: list[str] = []
    for value in claim.data.values():
        if isinstance(value, GeneratedSecret):
            found.append(key.derive(value))
        elif isinstance(value, SecretTemplate):
            found.extend(key.derive(spec) for spec in value.values.values())
            found.append(_value(value, key, user))
    return found


def user_values(claim: SecretClaim, user: UserSecrets) -> dict[str, str]:
    """value → where the user set it, for every user-provided secret of a claim (8+ characters)."""
    found: dict[str, str] = {}
    for value in claim.data.values():
        if isinstance(value, UserSecret) and len(user.values.get(value.name, "")) >= 8:  # shorter: false alarms
            found[user.values[value.name]] = f"{USER_SECRET_PREFIX}{value.name.upper().replace('-', '_')}"
    return found
