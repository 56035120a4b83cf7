"""Homebox's Deployment, Service and attachments volume.

Facts (sysadminsmedia/homebox at v0.26.2): Dockerfile.rootless runs ``/app/api`` as ``nonroot`` (65532),
sets ``HBOX_MODE=production``, ``HBOX_STORAGE_CONN_STRING=file:///?no_tmp_dir=true`` and
``HBOX_STORAGE_PREFIX_PATH=data`` (attachments under ``/data``), and its HEALTHCHECK gets
``/api/v1/status`` on 7745. Every setting is an ``HBOX_*`` variable (docs/.../configure/index.mdx).
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink_plugin_homebox import HTTP_PORT, NAME, PORT, SECRET

IMAGE = "ghcr.io/sysadminsmedia/homebox"
USER = 65532  # nonroot in Dockerfile.rootless; /data belongs to it


def homebox(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    route = ctx.bindings.get(f"ingress/{settings.hostname}")
    hostname = route.hostname if route is not None else f"{settings.hostname}.{ctx.domain}"  # type: ignore[attr-defined]
    database = ctx.database()
    env: dict[str, object] = {
        "HBOX_DATABASE_DRIVER": "postgres",
        "HBOX_DATABASE_HOST": database.host,
        "HBOX_DATABASE_PORT": str(database.port),
        "HBOX_DATABASE_USERNAME": database.user,
        "HBOX_DATABASE_PASSWORD": database.password,
        "HBOX_DATABASE_DATABASE": database.database,
        # Upstream's default is 'require' (encrypted, not verified). With the database provider's CA, verify the
        # server; without one the binding is plain and 'require' would fail against a server without TLS.
        "HBOX_DATABASE_SSL_MODE": "verify-full" if database.tls else "disable",
        **({"HBOX_DATABASE_SSL_ROOT_CERT": database.ca_file} if database.tls else {}),
        "HBOX_AUTH_API_KEY_PEPPER": SecretKeyRef(name=SECRET, key="api-key-pepper"),
        # Behind the ingress: the scheme from X-Forwarded-Proto, and the public host for OIDC redirects and links.
        "HBOX_OPTIONS_TRUST_PROXY": "true",
        "HBOX_OPTIONS_HOSTNAME": hostname,
        "HBOX_OPTIONS_ALLOW_REGISTRATION": str(settings.allow_registration).lower(),
        "HBOX_OPTIONS_ALLOW_LOCAL_LOGIN": str(settings.password_login).lower(),
        # ink pins the version; the check would call api.github.com from every pod.
        "HBOX_OPTIONS_GITHUB_RELEASE_CHECK": "false",
        "HBOX_WEB_MAX_UPLOAD_SIZE": str(settings.max_upload_mb),
        "HBOX_LOG_FORMAT": "json",
        "TZ": ctx.config.timezone,
    }
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")
    if settings.sso and isinstance(oidc, AuthBinding):
        if oidc.client_secret is None:
            raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")
        env |= {
            "HBOX_OIDC_ENABLED": "true",
            # "this must match exactly" the discovery document's issuer: authentik's ends with '/'.
            "HBOX_OIDC_ISSUER_URL": oidc.issuer_url,
            "HBOX_OIDC_CLIENT_ID": oidc.client_id,
            "HBOX_OIDC_CLIENT_SECRET": oidc.client_secret,
            "HBOX_OIDC_SCOPE": "openid profile email",
            "HBOX_OIDC_VERIFY_EMAIL": "true",
            "HBOX_OIDC_BUTTON_TEXT": settings.sso_button,
            "HBOX_OIDC_AUTO_REDIRECT": str(settings.sso_auto_redirect).lower(),
        }
    env |= _mailer_env(ctx)
    env = ctx.with_user_env(env)
    app = kube.Container(
        name="homebox",
        image=f"{IMAGE}:{settings.image_tag or f'{ctx.service.version}-rootless'}",
        ports=[kube.Port(name="http", number=PORT, service_port=HTTP_PORT)],
        health=kube.HttpProbe(path="/api/v1/status", port=PORT),
        env=env,  # type: ignore[arg-type]
        resources=kube.Resources.of(settings.resources),
        mounts=[
            kube.Volume(name="data", mount_path="/data", size=settings.storage_size),
            # Exports, imports and printed labels are written to os.TempDir() (service_exports.go, labelmaker.go).
            kube.Scratch(name="tmp", mount_path="/tmp"),
            *database.ca_mounts(),
        ],
    )
    component = kube.Component(name=NAME, object_name=NAME, replicas=settings.replicas, user=USER, containers=[app])
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])


def _mailer_env(ctx: ServiceContext) -> dict[str, object]:
    """HBOX_MAILER_* from the smtp binding, when Homebox's mailer can use it.

    The mailer (backend/pkgs/mailer/mailer.go) is Go's ``smtp.SendMail`` with PLAIN auth: STARTTLS when the
    server offers it, no implicit TLS, and PLAIN refuses an unencrypted connection; ``Ready()`` also needs a
    user name and password. Other servers get a warning and no mailer.
    """
    mail = ctx.bindings.get(f"smtp/{ctx.name}")
    if mail is None:
        return {}
    if mail.tls != "starttls" or not mail.username:  # type: ignore[attr-defined]
        ctx.warn(
            "no password-reset mail: Homebox's mailer needs a STARTTLS server with a login "
            f"(the smtp provider gives tls = {mail.tls!r}{'' if mail.username else ' without a username'})"  # type: ignore[attr-defined]
        )
        return {}
    return {
        "HBOX_MAILER_HOST": mail.host,  # type: ignore[attr-defined]
        "HBOX_MAILER_PORT": str(mail.port),  # type: ignore[attr-defined]
        "HBOX_MAILER_USERNAME": mail.username,  # type: ignore[attr-defined]
        "HBOX_MAILER_PASSWORD": mail.password,  # type: ignore[attr-defined]
        "HBOX_MAILER_FROM": mail.from_address,  # type: ignore[attr-defined]
    }
