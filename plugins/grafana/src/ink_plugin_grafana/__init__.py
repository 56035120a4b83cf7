"""ink plugin: Grafana (https://grafana.com/oss/grafana/), dashboards over the homelab's metrics and logs.

Installed from the grafana chart (grafana-community/helm-charts) through Argo CD, served at
``https://grafana.<domain>``, on its own PostgreSQL database, logged in through the auth provider (generic
OAuth, roles from the provider's groups). Data sources follow links: any service serving ``prometheus``,
``alertmanager`` or ``loki``. Dashboards: the ConfigMaps labelled ``grafana_dashboard`` in every namespace
(the sidecar), and grafana.com dashboards by id and revision (the platform's, and every MetricsTarget's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints

from ink import hookimpl
from ink.models import (
    AuthClient,
    ChartService,
    DatabaseClaim,
    DnsLabel,
    GeneratedSecret,
    GrafanaDashboard,
    Internet,
    KubeApi,
    Link,
    MetricsTarget,
    NetworkRule,
    Route,
    SecretClaim,
    ServiceInfo,
)
from ink.settings import ContainerResources, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/grafana/grafana
VERSION = "13.2.0"  # docker.io/grafana/grafana; the appVersion of chart 12.11.1
# renovate: datasource=helm depName=grafana registryUrl=https://grafana-community.github.io/helm-charts
CHART_VERSION = "12.11.1"
NAME = "grafana"
PORT = 3000  # the container port (chart service.targetPort); the Service answers on 80
SERVICE_PORT = 80
GOSSIP_PORT = 9094  # unified alerting's peer port (chart: containerPort 9094, headless Service)
PODS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}  # chart selector labels
ADMIN_SECRET = "grafana-admin"
# Where Grafana receives the OAuth answer of the generic_oauth provider (Grafana docs, "Configure generic
# OAuth authentication": the redirect URI is <root_url>/login/generic_oauth).
OIDC_REDIRECT = "/login/generic_oauth"
# The link names (ctx.link(name)) → the endpoint kinds they follow.
LINKS = {"prometheus": "prometheus", "alertmanager": "alertmanager", "loki": "loki"}

# A group name as it goes into a JMESPath string literal: no quote or backslash to escape.
GroupName = Annotated[str, StringConstraints(pattern=r"^[^'\\]*$", max_length=128)]

# Platform dashboards on grafana.com, by the service they are about (None: the metrics provider's node
# exporter). Each id and revision is cited in the README; revisions never change once published.
PLATFORM_DASHBOARDS: tuple[tuple[str | None, GrafanaDashboard], ...] = (
    (None, GrafanaDashboard(gnet_id=1860, revision=37, title="Node Exporter Full")),
    ("cloudnativepg", GrafanaDashboard(gnet_id=20417, revision=1, title="CloudNativePG")),
    ("traefik", GrafanaDashboard(gnet_id=17347, revision=9, title="Traefik Official Kubernetes Dashboard")),
    ("velero", GrafanaDashboard(gnet_id=11055, revision=2, title="Kubernetes addons: Velero stats")),
    ("cert-manager", GrafanaDashboard(gnet_id=20842, revision=3, title="cert-manager (Kubernetes)")),
)


class GrafanaSettings(ServiceSettings):
    hostname: DnsLabel = Field(default="grafana", description="Subdomain: https://<hostname>.<domain>.")
    chart_version: str = Field(default=CHART_VERSION, description="Version of the grafana Helm chart.")
    replicas: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Grafana pods. All state is in PostgreSQL, so more than 1 works; unified alerting then "
        "peers the pods over a headless Service (port 9094) so each alert notifies once.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi")
    )
    sidecar_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="20m", memory_request="64Mi", memory_limit="256Mi"),
        description="Requests and limits of the dashboard sidecar and the dashboard download init container.",
    )
    sso: bool = Field(
        default=True, description="Log in through the auth provider (generic OAuth), when one is installed."
    )
    admin_group: GroupName = Field(
        default="authentik Admins",
        description="Members of this group of the auth provider (the 'groups' claim) get Grafana's Admin role; "
        "'authentik Admins' is the group authentik creates for its administrators.",
    )
    editor_group: GroupName = Field(
        default="", description="Members of this group get the Editor role; '' for none. Everyone else: Viewer."
    )
    dashboards: bool = Field(
        default=True,
        description="Provision the platform's and the services' dashboards from grafana.com (downloaded at each "
        "start, so Grafana then reaches grafana.com on 443).",
    )
    public: bool = Field(default=False, description="Also expose through the external tunnel (cloudflared).")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Grafana",
        version=VERSION,
        homepage="https://grafana.com/oss/grafana/",
        description="Dashboards and alert views over Prometheus, Alertmanager and Loki.",
        settings_model=GrafanaSettings,
    )


@hookimpl
def ink_database_claims() -> list[DatabaseClaim]:
    return [DatabaseClaim(name=NAME)]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    # The chart's Service "grafana", port 80 → 3000. Optional: without an ingress provider Grafana still runs.
    return [Route(host=settings.hostname, service=NAME, port=SERVICE_PORT, public=settings.public, optional=True)]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    if not ctx.settings.sso:
        return []
    # profile carries authentik's 'groups' claim, which the role mapping reads.
    return [
        AuthClient(
            kind="oidc", host=ctx.settings.hostname, redirect_paths=(OIDC_REDIRECT,), optional=True, enabled_by="sso"
        )
    ]


@hookimpl
def ink_links() -> list[Link]:
    # Each optional: a data source exists only when its partner does.
    return [Link(name=name, kind=kind, optional=True) for name, kind in LINKS.items()]


@hookimpl
def ink_secrets() -> list[SecretClaim]:
    # The local admin: the only login without an auth provider, the break-glass one with it.
    return [
        SecretClaim(
            name=ADMIN_SECRET,
            data={"admin-user": "admin", "admin-password": GeneratedSecret(id=f"{NAME}/admin-password", length=32)},
        )
    ]


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # Grafana serves its own metrics on the HTTP port, unauthenticated by default ([metrics] enabled).
    return [MetricsTarget(pods=PODS, port=PORT, path="/metrics")]


def dashboards(ctx: ServiceContext, datasources: set[str]) -> dict[str, dict[str, GrafanaDashboard]]:
    """grafana.com dashboards by provider folder → key: the platform's, then each MetricsTarget's.

    Only those whose data source exists; one copy of each id (the first declared wins).
    """
    if not ctx.settings.dashboards:
        return {}
    seen: set[int] = set()
    found: dict[str, dict[str, GrafanaDashboard]] = {"platform": {}, "services": {}}
    for about, board in PLATFORM_DASHBOARDS:
        present = ctx.provider_of("metrics") is not None if about is None else about in ctx.services
        if present and board.datasource in datasources and board.gnet_id not in seen:
            seen.add(board.gnet_id)
            found["platform"][f"gnet-{board.gnet_id}"] = board
    targets = sorted(
        (n for n in ctx.needs if isinstance(n, MetricsTarget) and n.dashboards), key=lambda n: (n.owner, n.name)
    )
    for target in targets:
        for board in target.dashboards:
            if board.datasource in datasources and board.gnet_id not in seen:
                seen.add(board.gnet_id)
                found["services"][f"{target.owner}-{board.gnet_id}"] = board
    return {folder: boards for folder, boards in found.items() if boards}


# The chart's dashboard sidecar and the init container that downloads dashboards (values.yaml sidecar.image,
# downloadDashboardsImage, chart 12.11.1).
CHART_IMAGES = ("quay.io/kiwigrid/k8s-sidecar:2.10.1", "docker.io/curlimages/curl:8.21.0")


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Grafana itself with the tag ink passes (construct: image).
    return [f"docker.io/grafana/grafana:{ctx.settings.image_tag or VERSION}", *CHART_IMAGES]  # type: ignore[attr-defined]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_grafana.construct import grafana

    grafana(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    rules: list[NetworkRule] = [
        ChartService(
            name=NAME,
            pods=PODS,
            ports={SERVICE_PORT: PORT},
            source="grafana chart 12.11.1: templates/service.yaml (port 80 → targetPort 3000), selectorLabels",
        ),
        KubeApi(pods=PODS, reason="the dashboard sidecar watches ConfigMaps labelled grafana_dashboard everywhere"),
    ]
    if ctx.settings.dashboards:
        rules.append(
            Internet(
                ports=(443,),
                pods=PODS,
                reason="the init container downloads the provisioned dashboards from grafana.com at each start; "
                "Grafana installs its preinstalled plugins from there",
            )
        )
    # replicas > 1 gossip on 9094 (TCP and UDP) between pods of this namespace, which core's policies allow.
    return rules
