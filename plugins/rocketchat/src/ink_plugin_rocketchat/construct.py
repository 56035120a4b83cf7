"""Rocket.Chat's Deployment, Service and uploads volume, and the Job that points the Jitsi app at Jitsi.

Upstream facts (RocketChat/Rocket.Chat; RocketChat/helm-charts rocketchat/values.yaml):
- The image runs ``node main.js`` as ``rocketchat`` (uid/gid 65533), ``HOME=/tmp``, listens on
  ``PORT`` (3000), answers ``GET /health``; ``ROOT_URL`` is the public URL, ``MONGO_URL`` and
  ``MONGO_OPLOG_URL`` the database and the oplog's (``local``) connection strings.
- ``OVERWRITE_SETTING_<setting id>`` sets a setting on every start (server/settings/functions/
  overwriteSetting.ts); ``Accounts_OAuth_Custom_<Name>=true`` creates the Custom OAuth service
  ``<Name>`` (server/lib/oauth/initCustomOAuthServices.ts, addOAuthService.ts), whose settings are
  ``Accounts_OAuth_Custom-<Name>-<field>``.
- ``ADMIN_USERNAME`` / ``ADMIN_PASS`` / ``ADMIN_EMAIL`` create the first administrator when there is
  none (server/startup/initialData.ts).
- Uploads: ``FileUpload_Storage_Type`` ``FileSystem`` with ``FileUpload_FileSystemPath``
  (server/settings/file-upload.ts); SMTP: ``SMTP_Protocol`` (smtp, smtps), ``SMTP_Host``,
  ``SMTP_Port``, ``SMTP_IgnoreTLS``, ``SMTP_Username``, ``SMTP_Password``, ``From_Email``
  (server/settings/email.ts).
- Jitsi is a Marketplace app since Rocket.Chat 6 (RocketChat/Apps.Jitsi, app id
  3b387ba9-f57c-44c6-9810-8c0256abd64c; settings ``jitsi_domain``, ``jitsi_ssl``); an app's
  settings are read and written at ``/api/apps/<id>/settings/<setting>`` with the ``manage-apps``
  permission (ee/server/apps/communication/rest.ts).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink_plugin_rocketchat import (
    ADMIN_SECRET,
    HTTP_PORT,
    JITSI_SECRET,
    LICENSE_SECRET,
    METRICS_PORT,
    NAME,
    OAUTH_NAME,
    scraped,
)

IMAGE = "registry.rocket.chat/rocketchat/rocket.chat"
PORT = 3000
USER = 65533  # rocketchat:rocketchat in the image (chart values: podSecurityContext.runAsUser)
UPLOADS = "/app/uploads"
JITSI_APP = "3b387ba9-f57c-44c6-9810-8c0256abd64c"


def oauth_env(ctx: ServiceContext) -> dict[str, str | SecretKeyRef]:
    """Rocket.Chat's Custom OAuth 'Authentik', from the auth binding; {} without one."""
    oidc = ctx.bindings.get(f"auth/{ctx.settings.hostname}")  # type: ignore[attr-defined]
    if not ctx.settings.sso or not isinstance(oidc, AuthBinding):  # type: ignore[attr-defined]
        return {}
    if oidc.client_secret is None:
        raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {NAME}")
    # No OIDC discovery in Rocket.Chat: its Custom OAuth takes a server URL and the endpoints' paths one by one.
    issuer = urlsplit(oidc.issuer_url)
    if not (oidc.authorization_url and oidc.token_url and oidc.userinfo_url):
        raise ValueError(f"the auth provider {oidc.provider!r} returned no OAuth 2.0 endpoint URLs for {NAME}")
    paths = {url: urlsplit(url).path for url in (oidc.authorization_url, oidc.token_url, oidc.userinfo_url)}
    prefix = f"OVERWRITE_SETTING_Accounts_OAuth_Custom-{OAUTH_NAME}"
    settings: dict[str, str | SecretKeyRef] = {
        "": "true",
        "-url": f"{issuer.scheme}://{issuer.netloc}",
        "-authorize_path": paths[oidc.authorization_url],
        "-token_path": paths[oidc.token_url],
        "-identity_path": paths[oidc.userinfo_url],
        "-scope": "openid email profile",
        "-id": oidc.client_id,
        "-secret": oidc.client_secret,
        # The client secret in the token request's body; the access token as a Bearer header at userinfo.
        "-token_sent_via": "payload",
        "-identity_token_sent_via": "header",
        "-login_style": "redirect",
        "-button_label_text": "Log in with authentik",
        "-key_field": "username",
        "-username_field": "preferred_username",
        "-email_field": "email",
        "-name_field": "name",
        # An existing Rocket.Chat account with the same username is the same person.
        "-merge_users": "true",
        "-show_button": "true",
    }
    # The plain variable makes Rocket.Chat create the service; the OVERWRITE_SETTING_ ones keep it configured.
    return {f"Accounts_OAuth_Custom_{OAUTH_NAME}": "true"} | {prefix + key: value for key, value in settings.items()}


# The smtp binding's TLS modes in Rocket.Chat's terms: protocol, and whether to skip STARTTLS.
SMTP_MODES = {"starttls": ("smtp", "false"), "tls": ("smtps", "false"), "none": ("smtp", "true")}


def smtp_env(ctx: ServiceContext) -> dict[str, str | SecretKeyRef]:
    mail = ctx.bindings.get(f"smtp/{NAME}")
    if mail is None:
        return {}
    protocol, ignore_tls = SMTP_MODES[mail.tls]  # type: ignore[attr-defined]
    env: dict[str, str | SecretKeyRef] = {
        "OVERWRITE_SETTING_SMTP_Protocol": protocol,
        "OVERWRITE_SETTING_SMTP_Host": mail.host,  # type: ignore[attr-defined]
        "OVERWRITE_SETTING_SMTP_Port": str(mail.port),  # type: ignore[attr-defined]
        "OVERWRITE_SETTING_SMTP_IgnoreTLS": ignore_tls,
        "OVERWRITE_SETTING_From_Email": mail.from_address,  # type: ignore[attr-defined]
    }
    if mail.username:  # type: ignore[attr-defined]
        env["OVERWRITE_SETTING_SMTP_Username"] = mail.username  # type: ignore[attr-defined]
        env["OVERWRITE_SETTING_SMTP_Password"] = mail.password  # type: ignore[attr-defined]
    return env


def rocketchat(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    db = ctx.bindings[f"mongodb/{NAME}"]
    admin: dict[str, str | SecretKeyRef] = {
        "ADMIN_USERNAME": settings.admin_username,  # type: ignore[attr-defined]
        "ADMIN_PASS": SecretKeyRef(name=ADMIN_SECRET, key="password"),
    }
    env: dict[str, str | SecretKeyRef] = {
        "ROOT_URL": ctx.public_url(),
        "PORT": str(PORT),
        "MONGO_URL": db.uri,  # type: ignore[attr-defined]
        "MONGO_OPLOG_URL": db.oplog_uri,  # type: ignore[attr-defined]
        "HOME": "/tmp",
        "TZ": ctx.config.timezone,
        **admin,
        # The administrator above exists: no setup wizard to walk through.
        "OVERWRITE_SETTING_Show_Setup_Wizard": "completed",
        "OVERWRITE_SETTING_FileUpload_Storage_Type": "FileSystem",
        "OVERWRITE_SETTING_FileUpload_FileSystemPath": UPLOADS,
    }
    if settings.admin_email:  # type: ignore[attr-defined]
        env["ADMIN_EMAIL"] = settings.admin_email  # type: ignore[attr-defined]
    if settings.enterprise_license:  # type: ignore[attr-defined]
        env["OVERWRITE_SETTING_Enterprise_License"] = SecretKeyRef(name=LICENSE_SECRET, key="license")
    env |= oauth_env(ctx)
    env |= smtp_env(ctx)
    ports = [kube.Port(name="http", number=PORT, service_port=HTTP_PORT)]
    if scraped(ctx):
        env |= {"OVERWRITE_SETTING_Prometheus_Enabled": "true", "OVERWRITE_SETTING_Prometheus_Port": str(METRICS_PORT)}
        ports.append(kube.Port(name="metrics", number=METRICS_PORT))
    env = ctx.with_user_env(env)  # type: ignore[assignment]
    image = f"{IMAGE}:{settings.image_tag or ctx.service.version}"  # type: ignore[attr-defined]
    server = kube.Container(
        name="server",
        image=image,
        ports=ports,
        health=kube.HttpProbe(path="/health", port=PORT),
        # The first start creates the database and runs every migration.
        startup_seconds=600,
        env=env,
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        mounts=[
            kube.Volume(
                name="uploads",
                mount_path=UPLOADS,
                size=settings.storage_size,  # type: ignore[attr-defined]
                access_mode=settings.storage_access_mode,  # type: ignore[attr-defined]
            ),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="2Gi"),
            # With TLS the URIs end in tls=true&tlsCAFile=<this file>: the Node.js driver verifies the members.
            *db.ca_mounts(),  # type: ignore[attr-defined]
        ],
    )
    components = [
        kube.Component(
            name="server",
            object_name=NAME,
            replicas=settings.replicas,
            user=USER,
            containers=[server],  # type: ignore[attr-defined]
            # Only the web port: the metrics provider scrapes the metrics port on the pods themselves.
            services=[kube.Service(ports=["http"])],
        )
    ]
    jitsi = ctx.link("jitsi")
    if settings.jitsi and jitsi is not None and jitsi.public_url:  # type: ignore[attr-defined]
        components.append(jitsi_setup(ctx, image=image, admin=admin))
    kube.Workloads(scope, NAME, ctx=ctx, components=components)


JITSI_SCRIPT = """\
// Written by ink: point Rocket.Chat's Jitsi app at the jitsi plugin. Idempotent; changes only what differs.
import { readFileSync } from "node:fs";

const base = process.env.RC_URL;
const wanted = JSON.parse(readFileSync("/config/jitsi.json", "utf8"));
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function main() {
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + "/api/info")).ok) break; } catch {}
    if (i >= 120) throw new Error("Rocket.Chat did not answer " + base + "/api/info in 20 minutes");
    await sleep(10000);
  }
  const login = await fetch(base + "/api/v1/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: process.env.ADMIN_USERNAME, password: process.env.ADMIN_PASS }),
  });
  if (!login.ok) throw new Error("cannot log in as " + process.env.ADMIN_USERNAME + ": HTTP " + login.status +
    " (was the administrator's password changed? see the plugin's README)");
  const { data } = await login.json();
  const auth = { "X-Auth-Token": data.authToken, "X-User-Id": data.userId, "Content-Type": "application/json" };
  for (const [id, value] of Object.entries(wanted)) {
    const url = base + "/api/apps/$app/settings/" + id;
    const got = await fetch(url, { headers: auth });
    if (got.status === 404) {
      console.log("The Jitsi app is not installed: install it from Administration > Marketplace, then sync " +
        "rocketchat again (or delete this Job) so that it is configured.");
      return;
    }
    if (!got.ok) throw new Error("GET " + url + ": HTTP " + got.status);
    const { setting } = await got.json();
    if (setting.value === value) { console.log(id + " is already " + value); continue; }
    const body = JSON.stringify({ setting: { ...setting, value } });
    const put = await fetch(url, { method: "POST", headers: auth, body });
    if (!put.ok) throw new Error("POST " + url + ": HTTP " + put.status);
    console.log(id + " set to " + value);
  }
}

main().catch((error) => { console.error(error.message); process.exit(1); });
"""


def jitsi_setup(ctx: ServiceContext, *, image: str, admin: dict[str, str | SecretKeyRef]) -> kube.Component:
    """An Argo CD PostSync Job: the Jitsi app's domain and TLS (the Secret rocketchat-jitsi), through the Apps API."""
    script = kube.ConfigFiles(
        name=f"{NAME}-jitsi-setup",
        volume="setup",
        mount_path="/setup",
        files={"jitsi.mjs": JITSI_SCRIPT},
        values={"app": JITSI_APP},
    )
    # Claimed in ink_binding_secrets; mounted without templates, so the pod does not change with the domain.
    wanted = kube.SecretFiles(name=JITSI_SECRET, volume="wanted", mount_path="/config")
    setup = kube.Container(
        name="jitsi",
        image=image,
        command=["node", "/setup/jitsi.mjs"],
        env={"RC_URL": f"http://{NAME}.{ctx.namespace}.svc:{HTTP_PORT}", **admin},
        mounts=[script, wanted, kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi")],
        resources=kube.Resources(cpu_request="10m", memory_request="64Mi", memory_limit="256Mi"),
    )
    return kube.Component(
        name="jitsi-setup",
        kind="Job",
        user=USER,
        job=kube.SetupJob(argocd_hook="PostSync", backoff_limit=2),
        containers=[setup],
    )
