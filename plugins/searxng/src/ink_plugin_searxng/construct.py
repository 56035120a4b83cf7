"""SearXNG's Deployment, Service and configuration (settings.yml, limiter.toml).

Upstream facts, read at the pinned commit 799086874 of searxng/searxng:
- ``container/dist.dockerfile``: granian serves the WSGI app on ``GRANIAN_PORT`` 8080; files are
  owned by 977:977 (the ``searxng`` user); the config folder is ``/etc/searxng``, the data folder
  (favicon cache) ``/var/cache/searxng``.
- ``container/entrypoint.sh``: it writes ``settings.yml`` only when the file is missing, and changes
  ownership only when run as root (otherwise it prints a warning), so a read-only mounted config
  folder works.
- ``searx/webapp.py``: ``GET /healthz`` answers ``OK``; ``/search`` takes GET and POST.
- ``searx/settings_defaults.py``: ``SEARXNG_VALKEY_URL`` overrides ``valkey.url`` (``redis.url``
  is the deprecated spelling); ``use_default_settings: true`` keeps upstream's settings.yml and
  applies these keys on top.
- ``searx/webapp.py`` ``stats_open_metrics``: ``GET /metrics`` answers only when ``general.enable_metrics``
  is true and ``general.open_metrics`` holds a password (else 404), and then only to a request whose HTTP
  basic auth password equals it (any user name; else 401). ``searx/settings_defaults.py``: ``enable_metrics``
  defaults to true, ``open_metrics`` to ''.
- ``searx/limiter.py``: the limiter reads ``limiter.toml`` beside settings.yml and needs Valkey;
  ``searx/botdetection/trusted_proxies.py`` takes the client from X-Forwarded-For only when the
  connection comes from a ``botdetection.trusted_proxies`` network.
"""

from __future__ import annotations

import json

from ink import kube
from ink.context import ServiceContext
from ink.models import GeneratedSecret
from ink_plugin_searxng import METRICS_PASSWORD, NAME, PORT, metrics_on

IMAGE = "docker.io/searxng/searxng"
USER = 977  # searxng:searxng, the owner of the image's files
CONFIG_DIR = "/etc/searxng"

SETTINGS = """\
# Written by ink: upstream's settings.yml, with these keys on top.
use_default_settings: true
general:
  instance_name: $instance_name
server:
  base_url: $base_url
  secret_key: "$secret_key"
  limiter: $limiter
  public_instance: false
  image_proxy: false
search:
  # JSON is the API other services (Open WebUI, Perplexica, SurfSense) call.
  formats:
    - html
    - json
# valkey.url comes from SEARXNG_VALKEY_URL: the password is in the redis binding's Secret.
"""

# Only with a metrics provider: /metrics then answers the scraper, which sends the password as basic auth.
METRICS_SETTINGS = """\
general:
  instance_name: $instance_name
  enable_metrics: true
  open_metrics: "$metrics_password"
"""

LIMITER = """\
# Written by ink: limiter.toml, upstream's defaults with these changes.
[botdetection]
# The ingress controller runs in the pod network: trust its X-Forwarded-For.
trusted_proxies = $trusted_proxies

[botdetection.ip_lists]
# Services in the cluster call the JSON API directly, without a browser's headers.
pass_ip = $pass_ip
"""


def limiter_on(ctx: ServiceContext) -> bool:
    return bool(ctx.settings.limiter) and f"redis/{NAME}" in ctx.bindings  # type: ignore[attr-defined]


def base_url(ctx: ServiceContext) -> str:
    return ctx.public_url() + "/"


def config_files(ctx: ServiceContext) -> kube.SecretFiles:
    settings = ctx.settings
    networks: list[str] = settings.cluster_networks  # type: ignore[attr-defined]
    template = SETTINGS
    secrets = {"secret_key": GeneratedSecret(id=f"{NAME}/secret-key", length=64)}
    if metrics_on(ctx):
        template = SETTINGS.replace("general:\n  instance_name: $instance_name\n", METRICS_SETTINGS, 1)
        # The same id as the scraper's Secret: one value in both.
        secrets["metrics_password"] = METRICS_PASSWORD
    return kube.SecretFiles(
        name=f"{NAME}-config",
        volume="config",
        mount_path=CONFIG_DIR,
        files={"settings.yml": template, "limiter.toml": LIMITER},
        values={
            # JSON strings are YAML and TOML strings: quoted and escaped.
            "instance_name": json.dumps(settings.instance_name),  # type: ignore[attr-defined]
            "base_url": json.dumps(base_url(ctx)),
            "limiter": "true" if limiter_on(ctx) else "false",
            "trusted_proxies": json.dumps(["127.0.0.0/8", "::1", *networks]),
            "pass_ip": json.dumps(networks),
        },
        # server.secret_key signs the image proxy's and the link token's URLs; every replica needs it.
        secrets=secrets,
    )


def searxng(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    if settings.limiter and not limiter_on(ctx):  # type: ignore[attr-defined]
        ctx.warn("the limiter is off: it keeps its state in Valkey, and no redis provider is enabled")
    env: dict[str, object] = {}
    store = ctx.bindings.get(f"redis/{NAME}")
    if store is not None:
        # valkey.url goes to valkey-py's Valkey.from_url (searx/valkeydb.py): over TLS the url_with_ca's
        # ssl_ca_certs and ssl_check_hostname make it verify the server against the CA mounted below.
        env["SEARXNG_VALKEY_URL"] = getattr(store, "url_with_ca", None) or store.url  # type: ignore[attr-defined]
    env = ctx.with_user_env(env)
    container = kube.Container(
        name=NAME,
        image=f"{IMAGE}:{settings.image_tag or ctx.service.version}",  # type: ignore[attr-defined]
        env=env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        mounts=[
            config_files(ctx),
            # The favicon cache (faviconcache.db) and Python's temporary files; nothing to keep.
            kube.Scratch(name="cache", mount_path="/var/cache/searxng", size_limit="256Mi"),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi"),
            # The store's CA (its ca_file, where url_with_ca points); nothing for a plain connection.
            *(store.ca_mounts() if store is not None else ()),  # type: ignore[attr-defined]
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/healthz", port=PORT),
        startup_seconds=60,
    )
    kube.Workloads(
        scope,
        NAME,
        ctx=ctx,
        components=[
            kube.Component(
                name=NAME,
                containers=[container],
                replicas=settings.replicas,  # type: ignore[attr-defined]
                user=USER,
                spread=True,
            )
        ],
    )
