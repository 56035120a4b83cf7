"""Linkwarden's Deployment, Service and archive volume.

Facts (linkwarden/linkwarden at v2.16.1): the Dockerfile's CMD runs ``prisma migrate deploy`` and then the
web app (``next start``, port 3000) and the worker (``tsx worker.ts``) side by side; WORKDIR is ``/data``
and files land in ``<cwd>/../../<STORAGE_FOLDER>`` = ``/data/data`` (packages/filesystem/createFile.ts);
``apps/web/.next/cache`` is the one path it writes inside the image. Environment from ``.env.sample``.
"""

from __future__ import annotations

from urllib.parse import quote

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink_plugin_linkwarden import AUTH_PATH, HTTP_PORT, NAME, PORT, SECRET

IMAGE = "ghcr.io/linkwarden/linkwarden"
# The image runs as root (no USER); node:22-bullseye-slim has the user node (1000, home /home/node), and the
# Dockerfile makes .next/cache world-writable "so it also works when the container runs as a non-root user".
USER = 1000


def linkwarden(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    url = ctx.public_url()
    database = ctx.database()
    env: dict[str, object] = {
        # Referenced below as $(LINKWARDEN_DB_PASSWORD): Kubernetes expands a variable defined earlier in the list.
        "LINKWARDEN_DB_PASSWORD": database.password,
        "DATABASE_URL": _database_url(ctx),
        # Must be the public URL including /api/v1/auth (.env.sample); https:// also makes the cookies __Secure-.
        "NEXTAUTH_URL": f"{url}{AUTH_PATH}",
        "NEXTAUTH_SECRET": SecretKeyRef(name=SECRET, key="nextauth-secret"),
        "NEXT_PUBLIC_DISABLE_REGISTRATION": str(not settings.registration).lower(),
        "NEXT_PUBLIC_CREDENTIALS_ENABLED": str(settings.password_login).lower(),
        "DISABLE_NEW_SSO_USERS": str(not settings.sso_signups).lower(),
        # Prisma's update check writes to the home folder and calls checkpoint.prisma.io on every migrate.
        "CHECKPOINT_DISABLE": "1",
        "NEXT_TELEMETRY_DISABLED": "1",
    }
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")
    if settings.sso and isinstance(oidc, AuthBinding):
        if oidc.client_secret is None:
            raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")
        env |= {
            "NEXT_PUBLIC_AUTHENTIK_ENABLED": "true",
            "AUTHENTIK_CUSTOM_NAME": settings.sso_name,
            # NextAuth's authentik provider: "issuer should include the slug without a trailing slash" (authjs.dev).
            "AUTHENTIK_ISSUER": oidc.issuer_url.rstrip("/"),
            "AUTHENTIK_CLIENT_ID": oidc.client_id,
            "AUTHENTIK_CLIENT_SECRET": oidc.client_secret,
        }
    env |= _smtp_env(ctx, url)
    env = ctx.with_user_env(env)
    app = kube.Container(
        name="linkwarden",
        image=f"{IMAGE}:{settings.image_tag or f'v{ctx.service.version}'}",
        ports=[kube.Port(name="http", number=PORT, service_port=HTTP_PORT)],
        # The image's HEALTHCHECK: GET / on 3000 (a redirect to /login counts as healthy).
        health=kube.HttpProbe(path="/", port=PORT, timeout_seconds=5),
        # The first start applies every Prisma migration before the web app listens.
        startup_seconds=300,
        env=env,  # type: ignore[arg-type]
        resources=kube.Resources.of(settings.resources),
        mounts=[
            kube.Volume(name="data", mount_path="/data/data", size=settings.storage_size),
            # The read-only root filesystem's writable paths: Chromium's profiles and tsx's cache (/tmp), the
            # home folder, and Next.js' image-optimizer cache.
            kube.Scratch(name="tmp", mount_path="/tmp"),
            kube.Scratch(name="home", mount_path="/home/node"),
            kube.Scratch(name="next-cache", mount_path="/data/apps/web/.next/cache"),
            *database.ca_mounts(),
        ],
    )
    component = kube.Component(name=NAME, object_name=NAME, replicas=settings.replicas, user=USER, containers=[app])
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])


def _database_url(ctx: ServiceContext) -> str:
    """Prisma's URL: the binding's parts, with Prisma's own TLS parameters.

    Prisma 6's engine knows sslmode disable/prefer/require only and takes the CA as ``sslcert``; it reads
    the binding's ``sslmode=verify-full&sslrootcert=`` as an unknown mode (prefer) without the CA, which
    would not verify the server. ``sslaccept=strict`` rejects a certificate the CA did not sign.
    """
    database = ctx.database()
    query = f"?sslmode=require&sslcert={database.ca_file}&sslaccept=strict" if database.tls else ""
    user = quote(database.user, safe="")
    return f"postgresql://{user}:$(LINKWARDEN_DB_PASSWORD)@{database.host}:{database.port}/{database.database}{query}"


def _smtp_env(ctx: ServiceContext, url: str) -> dict[str, object]:
    """EMAIL_SERVER (a nodemailer connection URL) and the rest from the smtp binding, when there is one."""
    mail = ctx.bindings.get(f"smtp/{ctx.name}")
    if mail is None:
        return {}
    host, port, tls = mail.host, mail.port, mail.tls  # type: ignore[attr-defined]
    # nodemailer: smtps:// is implicit TLS; smtp:// with requireTLS insists on STARTTLS; ignoreTLS never upgrades.
    scheme = "smtps" if tls == "tls" else "smtp"
    options = {"starttls": "?requireTLS=true", "tls": "", "none": "?ignoreTLS=true"}[tls]
    env: dict[str, object] = {}
    credentials = ""
    if mail.username:  # type: ignore[attr-defined]
        env["LINKWARDEN_SMTP_PASSWORD"] = mail.password  # type: ignore[attr-defined]
        credentials = f"{quote(mail.username, safe='')}:$(LINKWARDEN_SMTP_PASSWORD)@"  # type: ignore[attr-defined]
    return env | {
        "NEXT_PUBLIC_EMAIL_PROVIDER": "true",
        "EMAIL_FROM": mail.from_address,  # type: ignore[attr-defined]
        "EMAIL_SERVER": f"{scheme}://{credentials}{host}:{port}{options}",
        # The links in verification and password-reset mails (apps/web/lib/api/sendVerificationRequest.ts).
        "BASE_URL": url,
    }
