"""One Valkey for one consumer's need: a Deployment, its Service, its config and credentials.

Upstream facts (valkey-io/valkey-container ``Dockerfile.template`` and ``docker-entrypoint.sh``;
valkey-io/valkey ``valkey.conf``):
- The Debian image runs ``docker-entrypoint.sh valkey-server``, user and group ``valkey`` =
  999:999 (the Alpine image's group is 1000), WORKDIR and VOLUME ``/data``; started as non-root
  the entrypoint changes no ownership and execs the server with umask 0077.
- ``user <name> on ><password> ~* &* +@all`` adds an ACL user; a ``default`` user flagged
  ``nopass`` authenticates every new connection as itself, so here it may only PING.
- Protected mode refuses non-loopback clients while the default user has no password, so it is
  off: the default user can do nothing but PING, every other command needs the consumer's user.
- ``maxmemory`` takes bytes; ``save ""`` turns RDB snapshots off; ``appendonly yes`` with
  ``appendfsync everysec`` loses at most a second of writes.
"""

from __future__ import annotations

import dataclasses
import math

from ink import kube
from ink.context import ServiceContext
from ink.models import GeneratedSecret, SecretClaim, SecretKeyRef, SecretTemplate, quantity_value
from ink_plugin_valkey.capability import RedisBinding, RedisNeed

IMAGE = "docker.io/valkey/valkey"
PORT = 6379
USER = 999  # valkey:valkey in the Debian image
CONFIG_DIR = "/etc/valkey"
MI = 2**20

CONFIG = """\
# Written by ink: the Valkey of $owner's redis need $need.
bind * -::*
port $port
protected-mode no
$users
dir /data
maxmemory $max_memory
maxmemory-policy $eviction_policy
save ""
appendonly $appendonly
appendfsync everysec
"""


ACL_USERS = """\
# The probes PING without logging in; everything else needs the consumer's user.
user default on nopass resetchannels -@all +ping
user $username on >$password ~* &* +@all"""
# A client that sends AUTH <password> alone logs in as the default user (Redis < 6 style): the
# default user is then the consumer's, and the probes log in with REDISCLI_AUTH.
PASSWORD_USERS = """\
# The consumer logs in with a password alone: it is the default user.
user default on >$password ~* &* +@all"""


def object_name(need: RedisNeed) -> str:
    """``<name>-redis``: the name the capability promises (Deployment, Service, Secret, volume prefix)."""
    return f"{need.name}-redis"


def password_secret(need: RedisNeed) -> GeneratedSecret:
    # One id for the server's config and the consumer's connection Secret: both hold the same value.
    return GeneratedSecret(id=f"redis/{need.owner}/{need.name}")


def resources(ctx: ServiceContext, need: RedisNeed) -> kube.Resources:
    """Requests cover the data; the limit leaves room for a copy-on-write fork (AOF rewrite)."""
    data = math.ceil(quantity_value(need.max_memory) / MI)
    return kube.Resources(
        cpu_request=ctx.settings.cpu_request,  # type: ignore[attr-defined]
        memory_request=f"{data + 32}Mi",
        memory_limit=f"{2 * data + 64}Mi",
    )


def instance(scope: kube.Construct, *, need: RedisNeed, ctx: ServiceContext, consumer: ServiceContext) -> RedisBinding:
    name = object_name(need)
    username = "default" if need.password_only else need.owner
    password = password_secret(need)
    users = PASSWORD_USERS if need.password_only else ACL_USERS
    config = kube.SecretFiles(
        name=f"{name}-config",
        volume="config",
        mount_path=CONFIG_DIR,
        files={"valkey.conf": CONFIG.replace("$users", users)},
        values={
            "owner": need.owner,
            "need": need.key,
            "port": PORT,
            "username": username,
            "max_memory": int(quantity_value(need.max_memory)),
            "eviction_policy": need.eviction_policy,
            "appendonly": "yes" if need.persistence else "no",
        },
        secrets={"password": password},
    )
    data: kube.Volume | kube.Scratch
    if need.persistence:
        data = kube.Volume(name="data", mount_path="/data", size=need.storage_size)
        if f"backup/{name}-data" not in consumer.bindings:
            ctx.warn(
                f"{need.owner}'s {need.key} keeps its data on the volume {name}-data, which no backup covers; "
                f"{need.owner} declares BackupTarget(volume='{name}-data', pod_volume='data') to back it up"
            )
    else:
        data = kube.Scratch(name="data", mount_path="/data")
    valkey = kube.Container(
        name="valkey",
        image=f"{IMAGE}:{ctx.settings.image_tag or ctx.service.version}",  # type: ignore[attr-defined]
        args=["valkey-server", f"{CONFIG_DIR}/valkey.conf"],
        # valkey-cli reads the password from REDISCLI_AUTH (the probe's PING needs it then).
        env={"REDISCLI_AUTH": SecretKeyRef(name=name, key="password")} if need.password_only else {},
        ports=[kube.Port(name="redis", number=PORT)],
        mounts=[config, data],
        resources=resources(ctx, need),
        # PONG only once the data is loaded (LOADING before): ready means usable.
        health=kube.ExecProbe(command=["sh", "-c", f"valkey-cli -p {PORT} ping | grep -q PONG"]),
        # Loading a large append-only file takes a while.
        startup_seconds=300 if need.persistence else 60,
    )
    # The instance lives in the consumer's namespace but is labelled as Valkey's, with Valkey's version.
    # A copy of the provider's own context, so warnings and deferred values still reach the run.
    here = dataclasses.replace(
        ctx,
        service=ctx.service.model_copy(update={"namespace": consumer.namespace}),
        bindings=consumer.bindings,  # the backup provider's pod annotations for the data volume
    )
    kube.Workloads(
        scope,
        "valkey",
        ctx=here,
        components=[kube.Component(name=name, object_name=name, containers=[valkey], user=USER)],
    )
    url = SecretTemplate(
        template=f"redis://{username}:{{password}}@{name}.{consumer.namespace}.svc:{PORT}/0",
        values={"password": password},
    )
    connection = SecretClaim(name=name, data={"password": password, "url": url})
    return RedisBinding(
        host=f"{name}.{consumer.namespace}.svc",
        port=PORT,
        username=username,
        password=SecretKeyRef(name=name, key="password"),
        url=SecretKeyRef(name=name, key="url"),
        volume=f"{name}-data" if need.persistence else "",
        secrets=(connection, config.claim()),
    )
