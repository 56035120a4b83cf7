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
- TLS (valkey.io docs, 'TLS'; valkey.conf, 'TLS/SSL'): the image is built with ``BUILD_TLS=yes``
  (valkey-container ``Dockerfile.template``); ``port 0`` with ``tls-port 6379`` serves TLS alone on
  the usual port; ``tls-cert-file``/``tls-key-file`` are the server's pair, ``tls-ca-cert-file`` is
  required even when clients present no certificate; ``tls-auth-clients no`` asks none (clients
  log in with their ACL user). ``tls-auto-reload-interval`` (seconds; valkey-io/valkey PR #3020,
  released in 9.1) re-reads the files when cert-manager renews them; before it, only a restart did.
  ``valkey-cli --tls --cacert`` checks the chain (hiredis checks no host name), so the probe dials
  127.0.0.1 over TLS.
"""

from __future__ import annotations

import dataclasses
import math
import re

from ink import kube, tls
from ink.context import ServiceContext
from ink.models import GeneratedSecret, SecretClaim, SecretKeyRef, SecretTemplate, quantity_value
from ink_plugin_valkey.capability import RedisBinding, RedisNeed

IMAGE = "docker.io/valkey/valkey"
PORT = 6379
USER = 999  # valkey:valkey in the Debian image
CONFIG_DIR = "/etc/valkey"
TLS_DIR = "/etc/valkey-tls"  # beside the config folder: a mount point inside a read-only volume cannot be made
RELOAD_SECONDS = 3600  # cert-manager renews a 90-day certificate 30 days before it expires
MI = 2**20

CONFIG = """\
# Written by ink: the Valkey of $owner's redis need $need.
bind * -::*
$listen
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
    host = f"{name}.{consumer.namespace}.svc"
    # TLS when the in-cluster CA exists and the consumer's client can speak it (the need says).
    secure = need.tls and tls.available(ctx)
    tag = ctx.settings.image_tag or ctx.service.version  # type: ignore[attr-defined]
    reload = reloads_tls(tag)
    if secure and not reload:
        ctx.warn(
            f"image tag {tag!r} is older than 9.1 (or not a version): {need.owner}'s Valkey does not re-read its "
            "renewed certificate (tls-auto-reload-interval): restart it after each renewal, before the old one expires"
        )
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
            "listen": listen(secure, reload),
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
        image=f"{IMAGE}:{tag}",
        args=["valkey-server", f"{CONFIG_DIR}/valkey.conf"],
        # valkey-cli reads the password from REDISCLI_AUTH (the probe's PING needs it then).
        env={"REDISCLI_AUTH": SecretKeyRef(name=name, key="password")} if need.password_only else {},
        ports=[kube.Port(name="redis", number=PORT)],
        mounts=[config, data, *server_tls(secure, name)],
        resources=resources(ctx, need),
        # PONG only once the data is loaded (LOADING before): ready means usable.
        health=kube.ExecProbe(command=["sh", "-c", f"valkey-cli {cli_tls(secure)}-p {PORT} ping | grep -q PONG"]),
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
    ca = None
    if secure:
        # Its certificate, in the consumer's namespace: the server mounts the pair, the consumer ca.crt.
        ca = tls.internal_certificate(
            scope,
            "valkey-tls",
            ctx=here,
            name=tls_secret(name),
            namespace=consumer.namespace,
            dns_names=tls.service_names(name, consumer.namespace),
            component=name,
        )
    scheme = "rediss" if secure else "redis"
    template = f"{scheme}://{username}:{{password}}@{host}:{PORT}/0"
    url = SecretTemplate(template=template, values={"password": password})
    # redis-py and valkey-py pass unknown URL query parameters to the connection: ssl_ca_certs and
    # ssl_check_hostname (default False there) verify chain and name (valkey-py 6.1.1 _parsers/url_parser.py).
    query = f"?ssl_ca_certs={RedisBinding.CA_DIR}/{tls.CA_KEY}&ssl_check_hostname=true" if secure else ""
    url_with_ca = SecretTemplate(template=template + query, values={"password": password})
    connection = SecretClaim(name=name, data={"password": password, "url": url, "url_with_ca": url_with_ca})
    return RedisBinding(
        host=host,
        port=PORT,
        username=username,
        password=SecretKeyRef(name=name, key="password"),
        url=SecretKeyRef(name=name, key="url"),
        url_with_ca=SecretKeyRef(name=name, key="url_with_ca"),
        tls=secure,
        ca=ca,
        volume=f"{name}-data" if need.persistence else "",
        secrets=(connection, config.claim()),
    )


def reloads_tls(tag: str) -> bool:
    """Whether the image knows ``tls-auto-reload-interval`` (9.1 on; older servers refuse to start on it).

    Read from the tag's leading ``major.minor``; a tag that does not start so (a digest, a name) is taken as old.
    """
    match = re.match(r"^(\d+)\.(\d+)", tag)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (9, 1)


def tls_secret(name: str) -> str:
    """The server's certificate (tls.crt, tls.key) and the CA (ca.crt), in the consumer's namespace."""
    return f"{name}-tls"


def listen(secure: bool, reload: bool) -> str:
    if not secure:
        return f"port {PORT}"
    return "\n".join(
        [
            "# TLS only, on the usual port; clients log in with their user, no client certificate.",
            "port 0",
            f"tls-port {PORT}",
            f"tls-cert-file {TLS_DIR}/tls.crt",
            f"tls-key-file {TLS_DIR}/tls.key",
            f"tls-ca-cert-file {TLS_DIR}/{tls.CA_KEY}",
            "tls-auth-clients no",
            *([f"tls-auto-reload-interval {RELOAD_SECONDS}"] if reload else []),
        ]
    )


def server_tls(secure: bool, name: str) -> list[kube.SecretFiles]:
    if not secure:
        return []
    keys = ("tls.crt", "tls.key", tls.CA_KEY)
    return [kube.SecretFiles(name=tls_secret(name), mount_path=TLS_DIR, keys=keys, volume="tls")]


def cli_tls(secure: bool) -> str:
    return f"--tls --cacert {TLS_DIR}/{tls.CA_KEY} " if secure else ""
