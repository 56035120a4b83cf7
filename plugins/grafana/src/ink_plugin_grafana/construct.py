"""The Grafana install (grafana-community chart through Argo CD): grafana.ini, data sources, dashboards.

Chart facts (grafana-community/helm-charts charts/grafana 12.11.1, values.yaml and templates/):
- ``grafana.ini`` is rendered to the ini file key by key; ``env`` / ``envValueFrom`` add container variables
  (Grafana reads ``GF_<SECTION>_<KEY>`` over the file); ``admin.existingSecret`` names the admin Secret
  (keys ``admin-user``, ``admin-password``);
- ``datasources`` and ``dashboardProviders`` are provisioning files; ``dashboards.<provider>.<key>`` with
  ``gnetId``/``revision`` makes the ``download-dashboards`` init container curl
  ``https://grafana.com/api/dashboards/<id>/revisions/<rev>/download`` into the provider's path, replacing each
  ``${<name>}`` of a ``datasource`` list entry by its value (templates/_config.tpl);
- with persistence off, ``/var/lib/grafana`` and ``/var/lib/grafana-search`` are emptyDirs (templates/_pod.tpl);
- ``sidecar.dashboards`` runs kiwigrid/k8s-sidecar, which writes the labelled ConfigMaps to /tmp/dashboards;
  the chart's ClusterRole then reads configmaps and secrets (templates/clusterrole.yaml), hence
  ``rbac.useExistingClusterRole`` and ink's own configmaps-only ClusterRole here.
"""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import AuthBinding, SecretKeyRef
from ink.podsecurity import restricted_container_context, restricted_pod_context
from ink_plugin_grafana import ADMIN_SECRET, GOSSIP_PORT, NAME, dashboards

CHART_REPO = "https://grafana-community.github.io/helm-charts"
USER = 472  # the image's grafana user (chart securityContext default)
DASHBOARD_READER = "grafana-dashboard-reader"
DASHBOARDS_ROOT = "/var/lib/grafana/dashboards"
SIDECAR_FOLDER_ANNOTATION = "grafana_folder"  # what kube-prometheus-stack's dashboard ConfigMaps carry
# Data source name and fixed uid per link (dashboards and alert rules refer to the uid).
DATASOURCES = {
    "prometheus": ("Prometheus", "prometheus"),
    "alertmanager": ("Alertmanager", "alertmanager"),
    "loki": ("Loki", "loki"),
}
POD_SECURITY = restricted_pod_context(USER)
CONTAINER_SECURITY = restricted_container_context()


def datasources(ctx: ServiceContext) -> list[dict[str, Any]]:
    """One provisioned data source per bound link, each with a fixed uid."""
    found = []
    for link, (name, uid) in DATASOURCES.items():
        bound = ctx.link(link)
        if bound is None:
            continue
        source: dict[str, Any] = {
            "name": name,
            "type": link,
            "uid": uid,
            "url": bound.url,
            "access": "proxy",
            "editable": False,
        }
        if link == "prometheus":
            source["isDefault"] = True
        if link == "alertmanager":
            # Prometheus' Alertmanager, not Grafana's own; Grafana keeps its alerts to itself.
            source["jsonData"] = {"implementation": "prometheus", "handleGrafanaManagedAlerts": False}
        found.append(source)
    return found


def role_path(admin_group: str, editor_group: str) -> str:
    """The JMESPath over the userinfo/ID token claims that picks the Grafana role from the groups claim."""
    path = f"contains(groups[*], '{admin_group}') && 'Admin'"
    if editor_group:
        path += f" || contains(groups[*], '{editor_group}') && 'Editor'"
    return path + " || 'Viewer'"


def oauth(ctx: ServiceContext) -> tuple[dict[str, Any], dict[str, SecretKeyRef]]:
    """grafana.ini ``auth.generic_oauth`` from the auth binding, and the client secret's variable."""
    settings = ctx.settings
    oidc = ctx.bindings.get(f"auth/{settings.hostname}")  # type: ignore[attr-defined]
    if not (settings.sso and isinstance(oidc, AuthBinding)):  # type: ignore[attr-defined]
        return {}, {}
    if oidc.client_secret is None:
        raise ValueError(f"the auth provider {oidc.provider!r} returned no client secret for {settings.hostname}")  # type: ignore[attr-defined]
    provider = ctx.services.get(oidc.provider)
    section = {
        "enabled": True,
        "name": provider.title if provider else oidc.provider,
        "client_id": oidc.client_id,
        "scopes": "openid email profile",
        "auth_url": oidc.authorization_url,
        "token_url": oidc.token_url,
        "api_url": oidc.userinfo_url,
        "use_pkce": True,
        "allow_sign_up": True,
        "login_attribute_path": "preferred_username",
        "email_attribute_path": "email",
        "name_attribute_path": "name",
        "groups_attribute_path": "groups",
        "role_attribute_path": role_path(settings.admin_group, settings.editor_group),  # type: ignore[attr-defined]
        # The role follows the provider's groups at every login (a role set by hand is overwritten).
        "skip_org_role_sync": False,
    }
    return section, {"GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET": oidc.client_secret}


def _value_from(refs: dict[str, SecretKeyRef]) -> dict[str, Any]:
    return {name: {"secretKeyRef": {"name": ref.name, "key": ref.key}} for name, ref in refs.items()}


def grafana(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    replicas: int = settings.replicas  # type: ignore[attr-defined]
    database = ctx.database()
    sources = datasources(ctx)
    boards = dashboards(ctx, {s["name"] for s in sources})
    generic_oauth, oauth_secrets = oauth(ctx)

    env: dict[str, str] = {
        # Its own PostgreSQL database: no local state, so no volume (chart persistence stays off).
        "GF_DATABASE_TYPE": "postgres",
        "GF_DATABASE_HOST": f"{database.host}:{database.port}",
        "GF_DATABASE_NAME": database.database,
        "GF_DATABASE_USER": database.user,
        # libpq's meanings; verify-full checks the server's name against the database's CA.
        "GF_DATABASE_SSL_MODE": "verify-full" if database.tls else "disable",
        **({"GF_DATABASE_CA_CERT_PATH": database.ca_file} if database.tls else {}),
    }
    value_from: dict[str, Any] = _value_from({"GF_DATABASE_PASSWORD": database.password, **oauth_secrets})
    ini: dict[str, Any] = {
        "server": {"domain": f"{settings.hostname}.{ctx.domain}", "root_url": ctx.public_url()},  # type: ignore[attr-defined]
        # No phoning home: the chart's default checks grafana.com for updates.
        "analytics": {"check_for_updates": False, "check_for_plugin_updates": False, "reporting_enabled": False},
        "security": {"disable_gravatar": True, "cookie_secure": True},
        "users": {"allow_sign_up": False},
        "log": {"mode": "console"},
    }
    if generic_oauth:
        ini["auth.generic_oauth"] = generic_oauth
    if replicas > 1:
        # Grafana's HA guide: the shared database plus alertmanager peering over the headless Service.
        env_pod_ip = "$__env{POD_IP}"
        ini["unified_alerting"] = {
            "enabled": True,
            "ha_peers": f"{NAME}-headless.{ctx.namespace}.svc:{GOSSIP_PORT}",
            "ha_listen_address": f"{env_pod_ip}:{GOSSIP_PORT}",
            "ha_advertise_address": f"{env_pod_ip}:{GOSSIP_PORT}",
        }
        # POD_IP itself the chart sets on every Grafana container (templates/_pod.tpl); a second one is refused.

    # The user's env setting beside ink's variables, never over them.
    extra = ctx.with_user_env({**env, **value_from})
    env = {name: value for name, value in extra.items() if name not in value_from}

    sidecar_resources = kube.Resources.of(settings.sidecar_resources).manifest()  # type: ignore[attr-defined]
    values: dict[str, Any] = {
        "replicas": replicas,
        "headlessService": replicas > 1,
        "podDisruptionBudget": {"maxUnavailable": 1} if replicas > 1 else {},
        "image": {
            "registry": "docker.io",
            "repository": "grafana/grafana",
            "tag": settings.image_tag or ctx.service.version,  # type: ignore[attr-defined]
            "pullPolicy": settings.pull_policy,  # type: ignore[attr-defined]
        },
        "resources": kube.Resources.of(settings.resources).manifest(),  # type: ignore[attr-defined]
        "securityContext": POD_SECURITY,
        "containerSecurityContext": CONTAINER_SECURITY,
        # Writable paths besides the chart's emptyDirs (/var/lib/grafana, /var/lib/grafana-search).
        "extraEmptyDirMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "logs", "mountPath": "/var/log/grafana"},
        ],
        "persistence": {"enabled": False},
        "initChownData": {"enabled": False},  # nothing to chown: no volume
        "testFramework": {"enabled": False},  # a helm test Pod, not part of the install
        "admin": {"existingSecret": ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "env": env,
        "envValueFrom": value_from,
        "grafana.ini": ini,
        # The chart Service only; ink writes the NetworkPolicies.
        "networkPolicy": {"enabled": False},
        "serviceMonitor": {"enabled": False},  # the metrics provider's PodMonitor scrapes it (MetricsTarget)
        "rbac": {"create": True, "namespaced": False, "useExistingClusterRole": DASHBOARD_READER},
        "sidecar": {
            "resources": sidecar_resources,
            "securityContext": CONTAINER_SECURITY,
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard",
                "searchNamespace": "ALL",
                "resource": "configmap",  # never Secrets: ink's ClusterRole reads ConfigMaps only
                "folderAnnotation": SIDECAR_FOLDER_ANNOTATION,
                "provider": {"foldersFromFilesStructure": True, "allowUiUpdates": False},
            },
        },
    }
    if database.tls:
        mount = database.ca_mounts()[0]
        values["extraSecretMounts"] = [
            {
                "name": mount.volume_name,
                "mountPath": mount.mount_path,
                "secretName": mount.name,
                "readOnly": True,
                "defaultMode": 0o444,
            }
        ]
    if sources:
        values["datasources"] = {"datasources.yaml": {"apiVersion": 1, "datasources": sources}}
    if boards:
        values["dashboardProviders"] = {
            "dashboardproviders.yaml": {
                "apiVersion": 1,
                "providers": [
                    {
                        "name": folder,
                        "orgId": 1,
                        "folder": folder.capitalize(),
                        "type": "file",
                        "disableDeletion": True,
                        "editable": False,
                        "options": {"path": f"{DASHBOARDS_ROOT}/{folder}"},
                    }
                    for folder in boards
                ],
            }
        }
        values["dashboards"] = {
            folder: {
                key: {
                    "gnetId": board.gnet_id,
                    "revision": board.revision,
                    "title": board.title,
                    # grafana.com exports name their data source input DS_<NAME>.
                    "datasource": [{"name": f"DS_{board.datasource.upper()}", "value": board.datasource}],
                }
                for key, board in sorted(found.items())
            }
            for folder, found in boards.items()
        }
        # -s silent, -f fail on HTTP errors, -L follow redirects; never -k (the chart's default): verify TLS.
        values["defaultCurlOptions"] = "-sfL"
        values["downloadDashboards"] = {"resources": sidecar_resources, "securityContext": CONTAINER_SECURITY}

    kube.helm_application(
        scope,
        ctx=ctx,
        release=NAME,
        repo_url=CHART_REPO,
        chart="grafana",
        cluster_kinds=("ClusterRoleBinding",),  # checked against the rendered chart (tests/test_charts.py)
        version=settings.chart_version,  # type: ignore[attr-defined]
        values=values,
    )
    # What the dashboard sidecar needs, and no more: the chart's own ClusterRole also reads every Secret.
    kube.api_object(
        scope,
        "dashboard-reader",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": DASHBOARD_READER, "labels": ctx.labels("dashboards")},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
        },
    )
