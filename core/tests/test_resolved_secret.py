"""ResolvedSecret carries the declared values and rotation generations (for providers that generate in-cluster)."""

from __future__ import annotations

from pathlib import Path

from ink import testing
from ink.models import GeneratedSecret, SecretClaim, SecretTemplate, UserSecret
from ink.secrets import MasterKey, UserSecrets, resolve, with_rotations

PASSWORD = GeneratedSecret(id="app/password")
TOKEN = GeneratedSecret(id="app/token", length=16, alphabet="hex")
CLAIM = SecretClaim(
    name="app",
    owner="app",
    namespace="app",
    data={
        "user": "admin",
        "password": PASSWORD,
        "uri": SecretTemplate(template="postgresql://admin:{pw}@db/app", values={"pw": PASSWORD}),
        "token": TOKEN,
        "api": UserSecret(name="api-key"),
    },
)


def key(rotations: dict[str, int] | None = None) -> MasterKey:
    return with_rotations(MasterKey(testing.TEST_MASTER_KEY.encode(), "test"), rotations or {})


def test_sources_are_the_declared_values_by_key() -> None:
    resolved = resolve(CLAIM, key(), UserSecrets({}, Path("secrets.toml")))
    assert resolved.sources == CLAIM.data
    assert list(resolved.sources) == sorted(CLAIM.data) == list(resolved.data)


def test_generations_name_every_generated_credential_with_its_rotation() -> None:
    resolved = resolve(CLAIM, key({"app/token": 2, "other/id": 5}), UserSecrets({}, Path("secrets.toml")))
    assert resolved.generations == {"app/password": 0, "app/token": 2}


def test_repr_shows_neither_values_nor_sources() -> None:
    resolved = resolve(CLAIM, key(), UserSecrets({}, Path("secrets.toml")))
    assert repr(resolved) == "ResolvedSecret(app/app, keys=['api', 'password', 'token', 'uri', 'user'])"
    assert resolved.data["password"] not in repr(resolved)
