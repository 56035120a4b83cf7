"""Coder's Deployment, Services, and the ServiceAccount and Role of its workspace provisioner.

Upstream facts (coder/coder: helm/coder/values.yaml and templates/_coder.tpl, the libcoder RBAC template,
cli/testdata/coder_server_--help.golden, docs admin/external-auth and admin/users/oidc-auth): the image runs
as uid/gid 1000 (user coder, HOME /home/coder), the chart binds CODER_HTTP_ADDRESS to 0.0.0.0:8080 and probes
``GET /healthz`` there; Prometheus metrics are on CODER_PROMETHEUS_ADDRESS (port 2112) when
CODER_PROMETHEUS_ENABLE is true. Coder keeps its config and the Terraform cache under HOME, both scratch here:
with an external database nothing there needs to persist.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding
from ink_plugin_coder import HTTP_PORT, IMAGE, METRICS_PORT, NAME, SERVICE_PORT, CoderSettings

ACCOUNT = NAME
ROLE = f"{NAME}-workspace-perms"  # the upstream chart's Role name
# The upstream chart's workspace permissions (libcoder namespace RBAC, workspacePerms + enableDeployments).
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": VERBS},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": VERBS},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": VERBS},
]
EXTERNAL_AUTH_ID = "primary"  # CODER_EXTERNAL_AUTH_0_ID; the callback is /external-auth/<id>/callback


def environment(ctx: ServiceContext) -> dict[str, object]:
    settings: CoderSettings = ctx.settings  # type: ignore[assignment]
    database = ctx.database()
    env: dict[str, object] = {
        "CODER_HTTP_ADDRESS": f"0.0.0.0:{HTTP_PORT}",
        "CODER_ACCESS_URL": ctx.public_url(),
        # postgresql://...; with TLS it carries sslmode=verify-full and sslrootcert (the mounted CA).
        "CODER_PG_CONNECTION_URL": database.uri,
        "CODER_SECURE_AUTH_COOKIE": "true",
        "CODER_CACHE_DIRECTORY": "/home/coder/.cache/coder",
        "CODER_DISABLE_PASSWORD_AUTH": str(settings.disable_password_auth).lower(),
    }
    if settings.metrics:
        env |= {"CODER_PROMETHEUS_ENABLE": "true", "CODER_PROMETHEUS_ADDRESS": f"0.0.0.0:{METRICS_PORT}"}
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")
    if settings.sso and isinstance(oidc, AuthBinding):
        if oidc.client_secret is None:
            raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")
        env |= {
            "CODER_OIDC_ISSUER_URL": oidc.issuer_url,
            "CODER_OIDC_CLIENT_ID": oidc.client_id,
            "CODER_OIDC_CLIENT_SECRET": oidc.client_secret,
            "CODER_OIDC_ALLOW_SIGNUPS": str(settings.oidc_allow_signups).lower(),
            "CODER_OIDC_SIGN_IN_TEXT": f"Sign in with {oidc.provider}",
        }
        if settings.oidc_email_domains:
            env["CODER_OIDC_EMAIL_DOMAIN"] = ",".join(settings.oidc_email_domains)
    env |= _external_auth(ctx)
    return env


def _external_auth(ctx: ServiceContext) -> dict[str, object]:
    """Gitea as external Git auth, with the OAuth2 application Gitea's setup Job registers for Coder."""
    gitea = ctx.link("gitea")
    if not ctx.settings.gitea or gitea is None or not gitea.public_url:  # type: ignore[attr-defined]
        return {}
    host = urlsplit(gitea.public_url).netloc
    return {
        "CODER_EXTERNAL_AUTH_0_ID": EXTERNAL_AUTH_ID,
        "CODER_EXTERNAL_AUTH_0_TYPE": "gitea",
        "CODER_EXTERNAL_AUTH_0_CLIENT_ID": gitea.credentials["coder-client-id"],
        "CODER_EXTERNAL_AUTH_0_CLIENT_SECRET": gitea.credentials["coder-client-secret"],
        # The browser goes to Gitea's public URL; Coder's server exchanges the code and checks the token
        # against Gitea's Service (the paths of coderd/externalauth giteaDefaults).
        "CODER_EXTERNAL_AUTH_0_AUTH_URL": f"{gitea.public_url}/login/oauth/authorize",
        "CODER_EXTERNAL_AUTH_0_TOKEN_URL": f"{gitea.url}/login/oauth/access_token",
        "CODER_EXTERNAL_AUTH_0_VALIDATE_URL": f"{gitea.url}/login/oauth/userinfo",
        # Which repository URLs the token is for: Gitea's public host (HTTPS clone URLs).
        "CODER_EXTERNAL_AUTH_0_REGEX": f"^(https?://)?{re.escape(host)}(/.*)?$",
        "CODER_EXTERNAL_AUTH_0_DISPLAY_NAME": "Gitea",
    }


def coder(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: CoderSettings = ctx.settings  # type: ignore[assignment]
    database = ctx.database()
    ports = [kube.Port(name="http", number=HTTP_PORT, service_port=SERVICE_PORT)]
    services = [kube.Service(ports=["http"])]
    if settings.metrics:
        ports.append(kube.Port(name="metrics", number=METRICS_PORT))  # scraped from the pods (PodMonitor)
    server = kube.Container(
        name="coder",
        image=f"{IMAGE}:{settings.image_tag or ctx.service.version}",
        # As the upstream chart: command /opt/coder (coder.command), args [server].
        command=["/opt/coder"],
        args=["server"],
        ports=ports,
        env=ctx.with_user_env(environment(ctx)),  # type: ignore[arg-type]
        mounts=[
            kube.Scratch(name="home", mount_path="/home/coder", size_limit="2Gi"),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="1Gi"),
            *database.ca_mounts(),
        ],
        resources=kube.Resources.of(settings.resources),
        health=kube.HttpProbe(path="/healthz", port=HTTP_PORT),
        startup_seconds=180,  # database migrations at the first start of a version
    )
    if settings.workspace_rbac:
        _rbac(scope, ctx)
    component = kube.Component(
        name="server",
        object_name=NAME,
        replicas=settings.replicas,
        containers=[server],
        services=services,
        service_account=ACCOUNT if settings.workspace_rbac else None,
    )
    kube.Workloads(scope, NAME, ctx=ctx, components=[component])


def _rbac(scope: kube.Construct, ctx: ServiceContext) -> None:
    """Coder's ServiceAccount may manage workspaces in its own namespace only (a Role, no ClusterRole)."""
    rbac = "rbac.authorization.k8s.io"
    labels = ctx.labels("server")
    account = {"name": ACCOUNT, "namespace": ctx.namespace, "labels": labels}
    kube.api_object(scope, "serviceaccount", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account})
    role = {"name": ROLE, "namespace": ctx.namespace, "labels": labels}
    kube.api_object(scope, "role", {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": role, "rules": RULES})
    kube.api_object(
        scope,
        "rolebinding",
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": role,
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ctx.namespace}],
        },
    )
