"""Vaultwarden's Deployment, Service and data volume.

Facts (upstream .env.template, src/api/web.rs, docker/healthcheck.sh): the image listens on
ROCKET_PORT (80 by default, so 8080 to run as non-root), answers GET /alive, keeps its data in
/data, and reads DATABASE_URL (postgresql://...). DOMAIN must be the exact public URL.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding
from ink_plugin_vaultwarden import NAME

IMAGE = "docker.io/vaultwarden/server"
PORT = 8080


def vaultwarden(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    database = ctx.database()
    env: dict[str, object] = {
        # The exact public URL (WebAuthn, attachments and SSO need it), from the route when there is one.
        "DOMAIN": ctx.public_url(),
        "ROCKET_PORT": str(PORT),
        "DATA_FOLDER": "/data",
        "DATABASE_URL": database.uri,
        "SIGNUPS_ALLOWED": str(settings.signups_allowed).lower(),
        "TZ": ctx.config.timezone,
    }
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")
    if settings.sso and isinstance(oidc, AuthBinding):
        if oidc.client_secret is None:
            raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")
        env |= {
            "SSO_ENABLED": "true",
            "SSO_ONLY": str(settings.sso_only).lower(),
            # The issuer, without /.well-known/...; Authentik's ends with '/', which it requires (SSO.md).
            "SSO_AUTHORITY": oidc.issuer_url,
            "SSO_CLIENT_ID": oidc.client_id,
            "SSO_CLIENT_SECRET": oidc.client_secret,
            "SSO_SCOPES": "email profile offline_access",
            "SSO_PKCE": "true",
            "SSO_SIGNUPS_MATCH_EMAIL": "true",
        }
    env |= _smtp_env(ctx)
    env = ctx.with_user_env(env)
    server = kube.Container(
        name="server",
        image=f"{IMAGE}:{settings.image_tag or ctx.service.version}",
        ports=[kube.Port(name="http", number=PORT, service_port=80)],
        health=kube.HttpProbe(path="/alive", port=PORT),
        env=env,  # type: ignore[arg-type]
        resources=kube.Resources.of(settings.resources),
        mounts=[
            kube.Volume(
                name="data", mount_path="/data", size=settings.storage_size, access_mode=settings.storage_access_mode
            ),
            kube.Scratch(name="tmp", mount_path="/tmp"),
            # The database's CA for DATABASE_URL's sslrootcert (verify-full); none for a plain connection.
            *database.ca_mounts(),
        ],
    )
    component = kube.Component(name="server", object_name=NAME, replicas=settings.replicas, containers=[server])
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])


# SMTP_SECURITY's values for the smtp binding's TLS modes (.env.template, "SMTP Email settings").
SMTP_SECURITY = {"starttls": "starttls", "tls": "force_tls", "none": "off"}


def _smtp_env(ctx: ServiceContext) -> dict[str, object]:
    """SMTP_* from the smtp binding (an optional need: absent without a provider)."""
    mail = ctx.bindings.get(f"smtp/{ctx.name}")
    if mail is None:
        return {}
    env: dict[str, object] = {
        "SMTP_HOST": mail.host,  # type: ignore[attr-defined]
        "SMTP_PORT": str(mail.port),  # type: ignore[attr-defined]
        "SMTP_SECURITY": SMTP_SECURITY[mail.tls],  # type: ignore[attr-defined]
        "SMTP_FROM": mail.from_address,  # type: ignore[attr-defined]
    }
    if mail.username:  # type: ignore[attr-defined]
        env |= {"SMTP_USERNAME": mail.username, "SMTP_PASSWORD": mail.password}  # type: ignore[attr-defined]
    return env
