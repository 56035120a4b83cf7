"""Vaultwarden's Deployment, Service and data volume.

Facts (upstream .env.template, src/api/web.rs, docker/healthcheck.sh): the image listens on
ROCKET_PORT (80 by default, so 8080 to run as non-root), answers GET /alive, keeps its data in
/data, and reads DATABASE_URL (postgresql://...). DOMAIN must be the exact public URL.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext

IMAGE = "docker.io/vaultwarden/server"
PORT = 8080


def vaultwarden(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    database = ctx.database()
    replicas = settings.replicas
    env: dict[str, object] = {
        "DOMAIN": ctx.url(settings.hostname),
        "ROCKET_PORT": str(PORT),
        "DATA_FOLDER": "/data",
        "DATABASE_URL": database.uri,
        "SIGNUPS_ALLOWED": str(settings.signups_allowed).lower(),
        # Traefik sets X-Forwarded-For; Vaultwarden logs and rate-limits by this client address.
        "IP_HEADER": "X-Forwarded-For",
        "TZ": ctx.config.timezone,
        **settings.env,
    }
    kube.WebService(
        scope,
        "vaultwarden",
        ctx=ctx,
        name="vaultwarden",
        component="server",
        props=kube.WebServiceProps(
            image=f"{IMAGE}:{settings.image_tag or ctx.service.version}",
            ports=[kube.Port("http", PORT, service_port=80)],
            health=kube.HttpCheck("/alive"),
            env=env,  # type: ignore[arg-type]
            volumes=[
                kube.Volume(
                    "data",
                    "/data",
                    settings.storage_size,
                    access_mode="ReadWriteMany" if replicas > 1 else "ReadWriteOnce",
                )
            ],
            replicas=replicas,
        ),
    )
