"""Gitea's Deployment, its Services (HTTP inside, SSH on a LoadBalancer) and the setup Job.

Upstream facts (go-gitea/gitea: Dockerfile.rootless, docker/rootless/usr/local/bin/docker-entrypoint.sh and
docker-setup.sh, docs "Installation with Docker (rootless)", "Config Cheat Sheet"): the rootless image runs as
uid/gid 1000, keeps its data in /var/lib/gitea and app.ini in /etc/gitea, serves HTTP on 3000 and its built-in
SSH server on 2222. At every start the entrypoint writes app.ini from the template when there is none and then
applies every ``GITEA__<section>__<KEY>`` variable (environment-to-ini), so /etc/gitea is scratch space here and
the whole configuration is the environment. ``GET /api/healthz`` is the health check.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink.workload import Mount
from ink_plugin_gitea import (
    AUTH_SOURCE,
    HTTP_PORT,
    IMAGE,
    NAME,
    SECRETS,
    SSH_LISTEN_PORT,
    GiteaSettings,
)

# The CloudNativePG operand image (the database provider's default): psql for the Coder application step.
# renovate: datasource=docker depName=ghcr.io/cloudnative-pg/postgresql
PSQL_IMAGE = "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie"
# Coder's external-auth id; its callback is /external-auth/<id>/callback (coder docs, admin/external-auth).
CODER_EXTERNAL_AUTH_ID = "primary"

# Idempotent: add the auth source when there is none of that name, else update it to the wanted values.
# `gitea admin auth list --vertical-bars` prints "ID|Name|Type|Enabled" rows (cmd/admin_auth.go).
AUTH_SCRIPT = """\
set -eu
id=$(gitea admin auth list --vertical-bars | awk -F'|' -v name="$SOURCE" \\
  'NR > 1 { gsub(/ /, "", $1); gsub(/ /, "", $2); if ($2 == name) print $1 }')
set -- --name "$SOURCE" --provider openidConnect --key "$OIDC_CLIENT_ID" --secret "$OIDC_CLIENT_SECRET" \\
  --auto-discover-url "$OIDC_DISCOVERY_URL" --scopes openid --scopes email --scopes profile
if [ -z "$id" ]; then
  gitea admin auth add-oauth "$@"
  echo "auth source $SOURCE added"
else
  gitea admin auth update-oauth --id "$id" "$@"
  echo "auth source $SOURCE (id $id) updated"
fi
"""

# Coder's OAuth2 application, instance-wide (uid 0), with the client id and secret ink generated. Neither
# Gitea's CLI nor its API accepts a chosen id or secret (models/auth/oauth2.go generates both), so this writes
# the row itself: client_secret is a bcrypt hash, as GenerateClientSecret stores it (pgcrypto's 'bf' is
# bcrypt). The hash is kept while it still matches the secret, so a re-run changes nothing.
CODER_APP_SQL = """\
\\set ON_ERROR_STOP on
INSERT INTO oauth2_application (uid, name, client_id, client_secret, redirect_uris, created_unix, updated_unix)
VALUES (0, 'Coder', :'client_id', crypt(:'client_secret', gen_salt('bf', 10)), :'redirect_uris',
        extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint)
ON CONFLICT (client_id) DO UPDATE SET
  name = EXCLUDED.name,
  redirect_uris = EXCLUDED.redirect_uris,
  client_secret = CASE
    WHEN oauth2_application.client_secret = crypt(:'client_secret', oauth2_application.client_secret)
    THEN oauth2_application.client_secret ELSE EXCLUDED.client_secret END,
  updated_unix = EXCLUDED.updated_unix;
"""
CODER_APP_SCRIPT = """\
set -eu
psql "$DATABASE_URL" -v client_id="$CLIENT_ID" -v client_secret="$CLIENT_SECRET" \\
  -v redirect_uris="$REDIRECT_URIS" -f /setup/coder-app.sql
echo "OAuth2 application for Coder registered"
"""

SMTP_PROTOCOL = {"starttls": "smtp+starttls", "tls": "smtps", "none": "smtp"}  # [mailer] PROTOCOL


def image(ctx: ServiceContext) -> str:
    return f"{IMAGE}:{ctx.settings.image_tag or ctx.service.version}-rootless"


def secret(key: str) -> SecretKeyRef:
    return SecretKeyRef(name=SECRETS, key=key)


def environment(ctx: ServiceContext) -> dict[str, object]:
    """app.ini, as GITEA__<section>__<KEY> variables (the same for the server and the setup Job)."""
    settings: GiteaSettings = ctx.settings  # type: ignore[assignment]
    database = ctx.database()
    url = ctx.public_url()
    host = url.split("://", 1)[1].split("/", 1)[0]
    sso = settings.sso and isinstance(ctx.bindings.get(f"auth/{settings.hostname}"), AuthBinding)
    env: dict[str, object] = {
        "GITEA__database__DB_TYPE": "postgres",
        "GITEA__database__HOST": f"{database.host}:{database.port}",
        "GITEA__database__NAME": database.database,
        "GITEA__database__USER": database.user,
        "GITEA__database__PASSWD": database.password,
        "GITEA__database__SSL_MODE": "verify-full" if database.tls else "disable",
        "GITEA__server__DOMAIN": host,
        "GITEA__server__ROOT_URL": url + "/",
        "GITEA__server__HTTP_PORT": str(HTTP_PORT),
        "GITEA__server__SSH_DOMAIN": host,
        "GITEA__server__SSH_PORT": str(settings.ssh_port),
        "GITEA__server__SSH_LISTEN_PORT": str(SSH_LISTEN_PORT),
        "GITEA__server__START_SSH_SERVER": "true",
        "GITEA__server__LFS_START_SERVER": "true",
        "GITEA__server__LFS_JWT_SECRET": secret("lfs-jwt-secret"),
        "GITEA__security__INSTALL_LOCK": "true",
        "GITEA__security__SECRET_KEY": secret("secret-key"),
        "GITEA__security__INTERNAL_TOKEN": secret("internal-token"),
        "GITEA__oauth2__JWT_SECRET": secret("jwt-secret"),
        "GITEA__service__DISABLE_REGISTRATION": str(not (settings.signups_allowed or sso)).lower(),
        "GITEA__service__ALLOW_ONLY_EXTERNAL_REGISTRATION": str(sso and not settings.signups_allowed).lower(),
        "GITEA__service__REQUIRE_SIGNIN_VIEW": str(settings.require_signin_view).lower(),
        "GITEA__metrics__ENABLED": str(settings.metrics).lower(),
        "GITEA__time__DEFAULT_UI_LOCATION": ctx.config.timezone,
    }
    if database.tls:
        # Gitea's PostgreSQL driver (lib/pq) reads the CA for verify-full from PGSSLROOTCERT.
        env["PGSSLROOTCERT"] = database.ca_file
    if sso:
        # SSO users get a Gitea account at their first login ([oauth2_client], Config Cheat Sheet).
        env["GITEA__oauth2_client__ENABLE_AUTO_REGISTRATION"] = "true"
    if settings.metrics:
        env["GITEA__metrics__TOKEN"] = secret("metrics-token")
    mail = ctx.bindings.get(f"smtp/{NAME}")
    if mail is not None:
        env |= {
            "GITEA__mailer__ENABLED": "true",
            "GITEA__mailer__PROTOCOL": SMTP_PROTOCOL[mail.tls],  # type: ignore[attr-defined]
            "GITEA__mailer__SMTP_ADDR": mail.host,  # type: ignore[attr-defined]
            "GITEA__mailer__SMTP_PORT": str(mail.port),  # type: ignore[attr-defined]
            "GITEA__mailer__FROM": mail.from_address,  # type: ignore[attr-defined]
        }
        if mail.username:  # type: ignore[attr-defined]
            env |= {"GITEA__mailer__USER": mail.username, "GITEA__mailer__PASSWD": mail.password}  # type: ignore[attr-defined]
    return env


def gitea(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: GiteaSettings = ctx.settings  # type: ignore[assignment]
    database = ctx.database()
    env = ctx.with_user_env(environment(ctx))
    mounts: list[Mount] = [
        kube.Volume(name="data", mount_path="/var/lib/gitea", size=settings.storage_size),
        kube.Scratch(name="config", mount_path="/etc/gitea", size_limit="16Mi"),
        kube.Scratch(name="tmp", mount_path="/tmp"),
        *database.ca_mounts(),
    ]
    server = kube.Container(
        name="gitea",
        image=image(ctx),
        ports=[
            kube.Port(name="http", number=HTTP_PORT),
            kube.Port(name="ssh", number=SSH_LISTEN_PORT, service_port=settings.ssh_port),
        ],
        env=env,  # type: ignore[arg-type]
        mounts=mounts,
        resources=kube.Resources.of(settings.resources),
        health=kube.HttpProbe(path="/api/healthz", port=HTTP_PORT),
        startup_seconds=300,  # the first start runs every database migration
    )
    services = [
        kube.Service(ports=["http"]),
        kube.Service(
            name=f"{NAME}-ssh",
            ports=["ssh"],
            load_balancer=kube.LoadBalancer(address=settings.ssh_load_balancer_ip),
        ),
    ]
    components = [
        # One pod: the repository volume is ReadWriteOnce (see the README's HA section).
        kube.Component(
            name="server", object_name=NAME, replicas=settings.replicas, containers=[server], services=services
        )
    ]
    setup = _setup(ctx)
    if setup is not None:
        components.append(setup)
    kube.Workloads(scope, NAME, ctx=ctx, components=components)


def _setup(ctx: ServiceContext) -> kube.Component | None:
    """A PostSync Job: the SSO auth source, and Coder's OAuth2 application when Coder links to Gitea."""
    settings: GiteaSettings = ctx.settings  # type: ignore[assignment]
    database = ctx.database()
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")
    # Coder's public URL (Gitea's link to it) when Coder uses Gitea as external auth (its link to Gitea).
    coder = ctx.link("coder") if any(link.owner == "coder" for link, _ in ctx.linked_by) else None
    containers: list[kube.Container] = []
    scripts = kube.ConfigFiles(
        name=f"{NAME}-setup",
        volume="setup",
        mount_path="/setup",
        files={"auth.sh": AUTH_SCRIPT, "coder-app.sh": CODER_APP_SCRIPT, "coder-app.sql": CODER_APP_SQL},
    )
    resources = kube.Resources(cpu_request="10m", memory_request="64Mi", memory_limit="256Mi")
    if settings.sso and isinstance(oidc, AuthBinding):
        if oidc.client_secret is None:
            raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")
        containers.append(
            kube.Container(
                name="auth-source",
                image=image(ctx),
                # The image's entrypoint writes app.ini from the environment, then runs this.
                args=["bash", "/setup/auth.sh"],
                env={
                    **environment(ctx),  # type: ignore[dict-item]
                    "SOURCE": AUTH_SOURCE,
                    "OIDC_CLIENT_ID": oidc.client_id,
                    "OIDC_CLIENT_SECRET": oidc.client_secret,
                    "OIDC_DISCOVERY_URL": oidc.issuer_url.rstrip("/") + "/.well-known/openid-configuration",
                },
                mounts=[
                    scripts,
                    kube.Scratch(name="config", mount_path="/etc/gitea", size_limit="16Mi"),
                    kube.Scratch(name="home", mount_path="/var/lib/gitea", size_limit="64Mi"),
                    kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi"),
                    *database.ca_mounts(),
                ],
                resources=resources,
            )
        )
    if coder is not None and coder.public_url:
        containers.append(
            kube.Container(
                name="coder-app",
                image=PSQL_IMAGE,
                command=["bash", "/setup/coder-app.sh"],
                env={
                    "DATABASE_URL": database.uri,
                    "CLIENT_ID": secret("coder-client-id"),
                    "CLIENT_SECRET": secret("coder-client-secret"),
                    "REDIRECT_URIS": f'["{coder.public_url}/external-auth/{CODER_EXTERNAL_AUTH_ID}/callback"]',
                },
                mounts=[scripts, kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi"), *database.ca_mounts()],
                resources=resources,
            )
        )
    if not containers:
        return None
    return kube.Component(name="setup", kind="Job", containers=containers)
