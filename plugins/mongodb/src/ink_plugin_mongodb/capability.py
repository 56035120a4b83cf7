"""The ``mongodb`` capability: a database and a user of its own on a MongoDB replica set.

A consumer declares ``NamedNeed(capability="mongodb", id=<database>, params={...})`` in ``ink_needs``
(it does not import this package) and reads the :class:`MongoBinding` from
``ctx.bindings["mongodb/<database>"]`` by attribute. ``params`` are the optional fields of
:class:`MongoNeed` (``oplog``, ``cluster_monitor``).

The binding's ``uri`` is a ready connection string (``mongodb://user:password@member,.../<database>
?replicaSet=<name>&authSource=<db>``) in a Secret of the consumer's namespace; ``oplog_uri`` (with
``oplog``) is the same for the ``local`` database, which holds the replica set's oplog. With a TLS
provider both end in ``&tls=true&tlsCAFile=/etc/ink/mongodb-ca/ca.crt``: mount ``binding.ca_mounts()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from ink.capabilities import CapabilitySpec
from ink.hookspecs import hookspec
from ink.models import DnsLabel, Need, SecretKeyRef, TlsBinding

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

NAME = "mongodb"


class MongoNeed(Need):
    """A database for one consumer, with a user that may only use it."""

    capability: ClassVar[str] = NAME
    id_field: ClassVar[str] = "name"
    name: DnsLabel = Field(max_length=40, description="The database's name; also the user's. Usually the owner's name.")
    oplog: bool = Field(
        default=False,
        description="Also read the replica set's oplog (the 'local' database): for apps that tail it, such as "
        "Rocket.Chat's MONGO_OPLOG_URL. The binding then has oplog_uri.",
    )
    cluster_monitor: bool = Field(
        default=False,
        description="Grant clusterMonitor (server and replica-set status), which some apps read for their "
        "statistics pages (Rocket.Chat's chart grants it to its user).",
    )


class MongoBinding(TlsBinding):
    """How the consumer connects. The password reaches it only as a Secret in its own namespace.

    With a TLS provider the members serve TLS only: ``tls`` is True, the URIs carry
    ``tls=true&tlsCAFile=<ca_file>`` and the consumer mounts :meth:`ca_mounts` (the in-cluster CA, ``ca``).
    """

    CA_DIR: ClassVar[str] = "/etc/ink/mongodb-ca"
    CA_VOLUME: ClassVar[str] = "mongodb-ca"

    host: str = Field(description="The members' headless Service, e.g. mongodb-svc.mongodb.svc.")
    port: int = Field(description="The members' port.")
    hosts: tuple[str, ...] = Field(description="Every member as host:port, in the order of the connection string.")
    replica_set: str = Field(description="The replica set's name (the replicaSet URI option).")
    database: str = Field(description="The consumer's database.")
    username: str = Field(description="The consumer's own user, with readWrite on its database.")
    auth_source: str = Field(description="The database the user is defined in (the authSource URI option).")
    password: SecretKeyRef = Field(description="The user's password, a Secret in the consumer's namespace.")
    uri: SecretKeyRef = Field(description="mongodb://user:password@hosts/database?replicaSet=...&authSource=...")
    oplog_uri: SecretKeyRef | None = Field(default=None, description="The same for the 'local' database; with oplog.")
    backup_schedule: str = Field(default="", description="Cron schedule of the database's dumps; '' for none.")


class Hooks:
    """The capability's hook specification, added to every plugin manager by core."""

    @hookspec(firstresult=True)
    def ink_provide_mongodb(
        self, need: MongoNeed, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
    ) -> MongoBinding | None:
        """Answer a service's need for a MongoDB database.

        Called only on the plugin that provides ``mongodb``. Build the database side (the user on the
        replica set) in ``ink_workloads`` from ``ctx.served``; ask for the consumer's connection
        Secret through the binding's ``secrets``.

        :return: The members, replica set, database, user and the secret refs of password and URIs.
        :param need: The need, with ``owner`` and ``namespace`` of the consumer.
        :param scope: A construct inside the consumer's part of the output.
        :param ctx: The provider's own context.
        :param consumer: The consumer's context, with the bindings it has so far.
        """


MONGODB = CapabilitySpec(
    name=NAME,
    need=MongoNeed,
    binding=MongoBinding,
    provide_hook="ink_provide_mongodb",
    hookspecs=Hooks,
    description="MongoDB databases with a user of their own, on a replica set",
)
