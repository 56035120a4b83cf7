"""ink plugin: Grafana Alloy (https://grafana.com/oss/alloy/), the log agent.

A DaemonSet from the official chart: on every node it reads the log files of the node's pods (/var/log/pods)
and the node's systemd journal, labels them (namespace, pod, container, node, app; unit for the journal) and
pushes them to the service linked as kind ``loki``. Promtail, its predecessor, reached end of life on 2026-03-02.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import KubeApi, Link, MetricsTarget, NetworkRule, ServiceInfo
from ink.podsecurity import HostPath, RunAsRoot
from ink.settings import ContainerResources, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/grafana/alloy
VERSION = "v1.18.1"
# renovate: datasource=helm depName=alloy registryUrl=https://grafana.github.io/helm-charts
CHART_VERSION = "1.11.1"
PORT = 12345
# Selector labels of the DaemonSet's pods (chart templates/_helpers.tpl "alloy.selectorLabels", release alloy).
PODS = {"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": "alloy"}
POD_LOGS = "/var/log/pods"
JOURNAL_PATHS = ("/var/log/journal", "/run/log/journal", "/etc/machine-id")


class AlloySettings(PluginSettings):
    journal: bool = Field(
        default=True,
        description="Also collect each node's systemd journal (/var/log/journal, /run/log/journal); false: pod "
        "logs only, for nodes without systemd.",
    )
    journal_max_age: str = Field(
        default="12h",
        pattern=r"^([0-9]+(h|m|s))+$",
        description="How far back a starting agent reads the journal (loki.source.journal max_age).",
    )
    chart_version: str = Field(
        default=CHART_VERSION,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="Version of the alloy chart (https://grafana.github.io/helm-charts).",
    )
    image_tag: str = Field(
        default=VERSION, pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$", description="Tag of docker.io/grafana/alloy."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="50m", memory_request="128Mi", memory_limit="512Mi"),
        description="Requests and limits of the agent on each node.",
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="alloy",
        title="Alloy",
        version=VERSION,
        homepage="https://grafana.com/oss/alloy/",
        description="Collects the logs of every pod and the journal of every node and sends them to Loki.",
        settings_model=AlloySettings,
        exemptions=(
            HostPath(
                paths=(POD_LOGS, *JOURNAL_PATHS),
                reason="the agent on each node reads the node's pod log files and systemd journal (read-only mounts)",
            ),
            RunAsRoot(
                reason="the pod log files and the journal are readable by root (and the systemd-journal group, whose "
                "id differs per distribution) only; no capability is added, the root filesystem stays read-only"
            ),
        ),
    )


@hookimpl
def ink_links() -> list[Link]:
    # Required: without a log store the agent has nowhere to send.
    return [Link(name="loki", kind="loki")]


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    return [MetricsTarget(name="alloy", pods=PODS, port=PORT)]


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Alloy alone: ink turns the chart's config reloader off (construct: "configReloader").
    return [f"docker.io/grafana/alloy:{ctx.settings.image_tag}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_alloy.construct import alloy

    alloy(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [KubeApi(reason="discovery.kubernetes lists the pods of the agent's node (names, labels, uids)")]
