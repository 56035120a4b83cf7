"""ink plugin: Argo CD, the GitOps root.

Installs Argo CD from its official Helm chart as an Application (so Argo CD upgrades itself
after the one-time bootstrap), and emits the AppProject, one Application per enabled service
folder of ``dist/`` (ordered by core's dependency waves) and the root "app of apps".
"""

from __future__ import annotations

import difflib
import posixpath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ink import hookimpl
from ink.errors import UserError, clip
from ink.models import AlertRule, Connects, DnsLabel, Internet, KubeApi, MetricsTarget, NetworkRule, ServiceInfo
from ink.settings import PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

APP_VERSION = "3.5.4"  # what chart 10.10.2 installs (appVersion v3.5.4)
# renovate: datasource=helm depName=argo-cd registryUrl=https://argoproj.github.io/argo-helm
CHART_VERSION = "10.10.2"
CHART_REPO = "https://argoproj.github.io/argo-helm"
DEFAULT_REPO_URL = "https://github.com/example/homelab.git"
# Each component serves /metrics on a container port the chart always declares (<component>.containerPorts.metrics
# in values.yaml; the chart's <component>.metrics.enabled adds only a Service and a ServiceMonitor). Ports: Argo CD
# docs operator-manual/metrics.md (controller 8082, server 8083, repo server 8084), notifications/monitoring.md
# (9001), and the chart's applicationSet.containerPorts.metrics (8080, the controller's --metrics-addr). Pod labels:
# the chart's argo-cd.selectorLabels, app.kubernetes.io/name = "argocd-<component name>" (nameOverride argocd).
METRICS_PORTS = {
    "application-controller": 8082,
    "server": 8083,
    "repo-server": 8084,
    "applicationset-controller": 8080,
    "notifications-controller": 9001,
}


class ArgoCDSettings(PluginSettings):
    repo_url: str = Field(
        default=DEFAULT_REPO_URL,
        min_length=1,
        pattern=r"^\S+$",
        description="Git repository Argo CD syncs from: the repository that holds the synthesised dist/ folder "
        "(https://... or git@host:owner/repo.git). Set it; the default is a placeholder and prints a warning.",
    )
    path: str = Field(
        default="dist",
        description="Folder of the synthesised output inside that repository ('.' for the repository root).",
    )
    target_revision: str = Field(
        default="main", min_length=1, pattern=r"^\S+$", description="Branch, tag or commit Argo CD follows."
    )
    project: DnsLabel = Field(
        default="homelab",
        description="Name of the AppProject every service Application belongs to; also the name of the root "
        "Application (dist/argocd/application-<project>.yaml).",
    )
    chart_version: str = Field(
        default=CHART_VERSION,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description=f"Version of the argo-cd Helm chart ({CHART_VERSION} installs Argo CD v{APP_VERSION}).",
    )
    clusters: dict[DnsLabel, str] = Field(
        default_factory=dict,
        description="Environments this (the base's) Argo CD delivers: [environments.<name>] name → the API server "
        "URL of that environment's cluster as registered here with `argocd cluster add` (https://..., as "
        "`argocd cluster list` shows it). The base's dist/argocd then holds an ApplicationSet that syncs each "
        "environment's <path>-<name>/argocd to its cluster, and that environment's output has no root Application.",
    )

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        cleaned = posixpath.normpath(value.strip() or ".")
        if cleaned.startswith("/") or cleaned == ".." or cleaned.startswith("../"):
            raise ValueError("must be a folder inside the repository, such as 'dist' or 'clusters/home/dist'")
        return cleaned

    @field_validator("clusters")
    @classmethod
    def _api_server_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
            except ValueError:
                parts = urlsplit("")
            if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
                raise ValueError(
                    f"{name} = {clip(url)!r}: give the https:// URL of that cluster's API server as "
                    "`argocd cluster list` shows it, e.g. 'https://192.168.2.10:6443'"
                )
        return value


def output_path(path: str, environment: str | None) -> str:
    """The folder of the output in the repository: ``path``, or ``<path>-<environment>`` for an environment
    (``ink synth`` writes environment X beside the output, to ``<out>-X``)."""
    if environment is None:
        return path
    if path == ".":
        raise UserError(
            f"[plugins.argocd] path = '.': environment {environment!r} is written beside the output "
            f"(<out>-{environment}), outside a repository whose root is the output; keep the output in a folder "
            "of the repository, e.g. path = 'dist'"
        )
    return f"{path}-{environment}"


def environments_name(project: str) -> str:
    """The ApplicationSet that delivers the environments, and the AppProject of its Applications."""
    return f"{project}-environments"


def check_clusters(ctx: ServiceContext) -> None:
    """Every ``clusters`` key is a declared environment; no name the environments use is a service's."""
    settings = ctx.settings
    for name in settings.clusters:  # type: ignore[attr-defined]
        if name not in ctx.environments:
            close = difflib.get_close_matches(name, ctx.environments, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            declared = ", ".join(ctx.environments) or "none"
            raise UserError(
                f"[plugins.argocd] clusters: {name!r} is not an environment of ink.toml{hint} (declared: "
                f"{declared}); fix the key or add an [environments.{name}] table"
            )
    # An environment's own entries would drop its root, yet the base (the hub) would not deliver it.
    for environment, overlay in sorted(ctx.config.environments.items()):
        table = (overlay.get("plugins") or {}).get("argocd")
        if isinstance(table, dict) and "clusters" in table:
            raise UserError(
                f"[environments.{environment}.plugins.argocd] clusters: only the base's Argo CD delivers "
                "environments; move the entries to the base's [plugins.argocd] clusters"
            )
    project = settings.project  # type: ignore[attr-defined]
    names = [environments_name(project), *(f"{project}-{name}" for name in settings.clusters)]  # type: ignore[attr-defined]
    taken = [name for name in names if name in ctx.services]
    if settings.clusters and taken:  # type: ignore[attr-defined]
        raise UserError(
            f"[plugins.argocd] clusters: the environments' Argo CD objects would be named {taken[0]!r}, the name "
            f"of a service's Application; choose another project name or leave clusters empty"
        )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="argocd",
        title="Argo CD",
        version=APP_VERSION,
        homepage="https://argo-cd.readthedocs.io",
        description="GitOps controller: syncs every service folder of dist/ into the cluster, in dependency order.",
        settings_model=ArgoCDSettings,
    )


# What chart 10.10.2 runs: Argo CD (appVersion v3.5.4), Dex and Redis. Dex's and Redis's tags are those of the
# 10.1.1 snapshot's values.yaml (../shared/charts/argo-cd): the pinned chart's are not in the snapshot (README).
CHART_IMAGES = (
    f"quay.io/argoproj/argocd:v{APP_VERSION}",
    "ghcr.io/dexidp/dex:v2.45.1",
    "ecr-public.aws.com/docker/library/redis:8.2.3-alpine",
)


@hookimpl
def ink_images() -> list[str]:
    return list(CHART_IMAGES)


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_argocd.construct import RELEASE, gitops

    project = ctx.settings.project  # type: ignore[attr-defined]
    # The root Application takes the project's name; every service's Application takes the service's.
    if project in ctx.services or project == f"{RELEASE}-chart":
        raise UserError(
            f"[plugins.argocd] project = {project!r} is also the name of a service's Application; "
            "choose another project name, e.g. 'homelab'"
        )
    check_clusters(ctx)
    output_path(ctx.settings.path, ctx.environment)  # type: ignore[attr-defined]
    if ctx.environment is None:
        for name in ctx.settings.clusters:  # type: ignore[attr-defined]
            output_path(ctx.settings.path, name)  # type: ignore[attr-defined]

    gitops(scope, ctx=ctx)


def _alerts() -> tuple[AlertRule, ...]:
    # The chart's example rules for the application controller (values.yaml, controller.metrics.rules.spec).
    return (
        AlertRule(
            alert="ArgoAppMissing",
            expr="absent(argocd_app_info) == 1",
            for_="15m",
            severity="critical",
            summary="Argo CD reports no applications",
            description="The application controller has reported no application for 15 minutes: it is down or "
            "not working. Check the argocd-application-controller pod.",
        ),
        AlertRule(
            alert="ArgoAppNotSynced",
            expr='argocd_app_info{sync_status!="Synced"} == 1',
            for_="12h",
            severity="warning",
            summary="Argo CD application {{ $labels.name }} has not been synchronised for 12 hours",
            description="The cluster has drifted from Git: see the application's sync status and errors in Argo CD.",
        ),
    )


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # ink's PodMonitors rather than the chart's ServiceMonitors: no extra Services, and the same values (and so the
    # same bootstrap `helm install`) with or without a metrics provider. Dex is not scraped: its telemetry port
    # serves only when Dex is configured (util/dex/config.go), and ink configures no Dex connector. Redis has no
    # metrics without the chart's redis-exporter sidecar (redis.exporter.enabled, off).
    return [
        MetricsTarget(
            name=component,
            pods={"app.kubernetes.io/name": f"argocd-{component}", "app.kubernetes.io/instance": "argocd"},
            port=port,
            alerts=_alerts() if component == "application-controller" else (),
        )
        for component, port in METRICS_PORTS.items()
    ]


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    rules: list[NetworkRule] = [
        # The repo server clones the homelab's Git repository (HTTPS or SSH) and pulls Helm charts.
        Internet(ports=(443, 22), reason="Git repositories and Helm chart repositories"),
        KubeApi(reason="the application controller, server and ApplicationSet controller manage the cluster"),
    ]
    if ctx.environment is None:  # only the base is the hub
        rules += [
            Connects(
                url=url, reason=f"the application controller and server manage the cluster of environment {name!r}"
            )
            for name, url in sorted(ctx.settings.clusters.items())  # type: ignore[attr-defined]
        ]
    return rules
