"""The ``redis`` capability: a Redis-protocol key-value store (cache, queue, rate-limit counters).

A consumer declares ``NamedNeed(capability="redis", id=<name>, optional=..., params={...})`` in
``ink_needs`` (it does not import this package) and reads the :class:`RedisBinding` from
``ctx.bindings["redis/<name>"]`` by attribute. ``params`` are the optional fields of
:class:`RedisNeed` (``persistence``, ``max_memory``, ``eviction_policy``, ``storage_size``).

Names every provider keeps, so a consumer can rely on them before it has a binding: the store's
objects are called ``<name>-redis`` in the consumer's namespace, and a persistent need keeps its
data on the PersistentVolumeClaim ``<name>-redis-data`` (pod volume ``data``). A consumer backs it
up by declaring ``BackupTarget(volume="<name>-redis-data", pod_volume="data")`` as for its own
volumes (a provider cannot declare needs on a consumer's behalf).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ink.capabilities import CapabilitySpec
from ink.hookspecs import hookspec
from ink.models import DnsLabel, Need, Quantity, SecretKeyRef, TlsBinding

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

NAME = "redis"
# Valkey's maxmemory-policy values (valkey.conf, "MEMORY MANAGEMENT").
EvictionPolicy = Literal[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
]


class RedisNeed(Need):
    """A Redis-protocol store for one consumer."""

    capability: ClassVar[str] = NAME
    id_field: ClassVar[str] = "name"
    name: DnsLabel = Field(max_length=50, description="Identifies the need within its owner; usually the owner's name.")
    persistence: bool = Field(
        default=False,
        description="Keep the data across restarts (append-only file on a volume). Off: a cache, empty after a "
        "restart.",
    )
    max_memory: Quantity = Field(
        default="64Mi", description="Memory for data (maxmemory); the container's limit is sized from it."
    )
    eviction_policy: EvictionPolicy = Field(
        default="noeviction",
        description="What happens when max_memory is full: 'noeviction' refuses writes (queues, sessions), "
        "'allkeys-lru' drops the least recently used keys (caches).",
    )
    storage_size: Quantity = Field(default="1Gi", description="Size of the volume, with persistence.")
    tls: bool = Field(
        default=True,
        description="Connect over TLS when the provider can (a TLS provider is installed). A consumer whose "
        "client cannot speak TLS sets False: its hop stays plain, and ink graph shows it.",
    )
    password_only: bool = Field(
        default=False,
        description="The client logs in with a password alone (AUTH <password>, no user name; e.g. WorkAdventure): "
        "the consumer's user is then the 'default' user, and the binding's username is 'default'.",
    )


class RedisBinding(TlsBinding):
    """How the consumer connects. The password reaches it only as a Secret in its own namespace.

    Over TLS (``tls``) the server presents a certificate from the in-cluster CA for its Service
    names; ``ca`` is that CA in the consumer's namespace: mount :meth:`ca_mounts` and verify with
    :attr:`ca_file` (the ``CA_DIR`` below).
    """

    host: str = Field(description="In-cluster DNS name, e.g. searxng-redis.searxng.svc.")
    port: int = Field(description="The server's port.")
    username: str = Field(description="The consumer's user (Redis 6 ACL: AUTH <username> <password>).")
    password: SecretKeyRef = Field(description="The user's password, a Secret in the consumer's namespace.")
    url: SecretKeyRef = Field(
        description="redis://<username>:<password>@<host>:<port>/0 (rediss:// over TLS), for apps that take a URL."
    )
    url_with_ca: SecretKeyRef | None = Field(
        default=None,
        description="The url with the TLS parameters of redis-py and valkey-py (ssl_ca_certs=<ca_file>, "
        "ssl_check_hostname=true), for Python clients configured by a URL alone; the url itself when plain.",
    )
    database: int = Field(default=0, description="The database number the consumer uses (the URL's /<n>).")
    volume: str = Field(default="", description="The PersistentVolumeClaim holding the data; '' without persistence.")

    CA_DIR: ClassVar[str] = "/etc/ink/redis-ca"
    CA_VOLUME: ClassVar[str] = "redis-ca"


class Hooks:
    """The capability's hook specification, added to every plugin manager by core."""

    @hookspec(firstresult=True)
    def ink_provide_redis(
        self, need: RedisNeed, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
    ) -> RedisBinding | None:
        """Answer a service's need for a Redis-protocol store.

        Called only on the plugin that provides ``redis``, after backups are answered (so a
        backup binding of the consumer's volume is known). Objects added under ``scope`` land in
        the consumer's folder and namespace; ask for the consumer's Secrets through the binding's
        ``secrets``.

        :return: Host, port, user name and the secret refs of the password and of the URL.
        :param need: The need, with ``owner`` and ``namespace`` of the consumer.
        :param scope: A construct inside the consumer's part of the output.
        :param ctx: The provider's own context.
        :param consumer: The consumer's context, with the bindings it has so far.
        """


REDIS = CapabilitySpec(
    name=NAME,
    need=RedisNeed,
    binding=RedisBinding,
    provide_hook="ink_provide_redis",
    hookspecs=Hooks,
    after=("backup",),
    description="Redis-protocol key-value stores (Valkey)",
)
