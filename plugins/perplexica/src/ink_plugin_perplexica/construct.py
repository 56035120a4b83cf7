"""Perplexica's Deployment, Service and data volume.

Facts read at v1.12.1 of ItzCrazyKns/Perplexica (the same code is in ItzCrazyKns/Vane at that tag):
- ``Dockerfile.slim``: ``node:24.5.0-slim``, ``WORKDIR /home/perplexica``, Next.js' standalone
  ``server.js`` on port 3000, no bundled SearXNG (the full ``Dockerfile`` runs one inside, as root).
- ``src/lib/config/index.ts``: settings live in ``<cwd>/data/config.json``; at every start each model
  provider whose env variables are set is added unless one with the same settings exists
  (``OLLAMA_BASE_URL`` for Ollama, ``src/lib/models/providers/ollama``), and ``search.searxngURL`` is
  taken from ``SEARXNG_API_URL`` while it is empty.
- ``src/lib/db/index.ts``, ``src/lib/uploads/manager.ts``: ``data/db.sqlite`` and ``data/uploads``.
- ``src/instrumentation.ts``: the drizzle migrations run at start, before the config is read.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink_plugin_perplexica import NAME, PORT

IMAGE = "docker.io/itzcrazykns1337/perplexica"
HOME = "/home/perplexica"
USER = 1000  # the node image's "node" user: the image's files are root's but world-readable


def perplexica(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    env: dict[str, object] = {}
    search = ctx.link("search")
    if search is not None:
        # SearXNG's base URL; Perplexica calls <url>/search?format=json (src/lib/searxng.ts).
        env["SEARXNG_API_URL"] = search.url
    ollama = ctx.link("ollama")
    if ollama is not None:
        # The Ollama API root: it lists <url>/api/tags and gives the URL to the ollama client as its host.
        env["OLLAMA_BASE_URL"] = ollama.url
    env = ctx.with_user_env(env)
    app = kube.Container(
        name=NAME,
        # The slim variant: it relies on an external SearXNG (ours, through the link).
        image=f"{IMAGE}:{settings.image_tag or f'slim-v{ctx.service.version}'}",  # type: ignore[attr-defined]
        env=env,  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        mounts=[
            kube.Volume(name="data", mount_path=f"{HOME}/data", size=settings.storage_size),  # type: ignore[attr-defined]
            # Next.js' image-optimisation cache and Node's temporary files; nothing to keep.
            kube.Scratch(name="next-cache", mount_path=f"{HOME}/.next/cache", size_limit="512Mi"),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="256Mi"),
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        # The app's home page (the upstream chart probes GET /); the first start runs the migrations.
        health=kube.HttpProbe(path="/", port=PORT),
        startup_seconds=300,
    )
    component = kube.Component(
        name=NAME,
        containers=[app],
        replicas=settings.replicas,
        user=USER,  # type: ignore[attr-defined]
    )
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])
