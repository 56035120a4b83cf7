"""ink plugin: Prometheus and Alertmanager (https://prometheus.io), from the kube-prometheus-stack chart.

Provides ``metrics``: every :class:`~ink.models.MetricsTarget` a service declares becomes a PodMonitor
(unless its chart writes its own ServiceMonitor) and its alerts a PrometheusRule, both in the service's
namespace. The chart adds the Prometheus Operator, node-exporter, kube-state-metrics, the cluster's
ServiceMonitors and its default rules; ink adds generic alerts and Alertmanager's receivers from ink.toml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ink import hookimpl
from ink.models import (
    AuthClient,
    Capability,
    ChartService,
    Connects,
    DnsLabel,
    Endpoint,
    Inbound,
    KubeApi,
    KubeDns,
    MetricsBinding,
    MetricsTarget,
    NamedNeed,
    NetworkRule,
    Nodes,
    Quantity,
    Route,
    Scraper,
    SecretClaim,
    ServiceInfo,
    UserSecret,
)
from ink.models import Duration as PromDuration
from ink.podsecurity import HostNetwork, HostPath
from ink.settings import PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

NAME = "prometheus"
VERSION = "v3.14.0"  # the chart's prometheus.prometheusSpec.image.tag (chart 88.5.3)
# renovate: datasource=helm depName=kube-prometheus-stack registryUrl=https://prometheus-community.github.io/helm-charts
CHART_VERSION = "88.5.3"
# The chart's objects are named after fullnameOverride: Prometheus `prometheus-prometheus`, Alertmanager
# `prometheus-alertmanager`, the operator `prometheus-operator` (templates/_helpers.tpl).
FULLNAME = "prometheus"
PROMETHEUS_CR = f"{FULLNAME}-prometheus"
ALERTMANAGER_CR = f"{FULLNAME}-alertmanager"
# Labels the operator puts on the pods it makes; the chart's own Services select them
# (templates/prometheus/service.yaml, templates/alertmanager/service.yaml).
PROMETHEUS_PODS = {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": PROMETHEUS_CR}
ALERTMANAGER_PODS = {"app.kubernetes.io/name": "alertmanager", "alertmanager": ALERTMANAGER_CR}
OPERATOR_PODS = {"app": "kube-prometheus-stack-operator", "release": NAME}
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
OPERATOR_PORT = 10250  # prometheusOperator.tls.internalPort: the admission webhook and its metrics (https)
NODE_EXPORTER_PORT = 9100
KUBELET_PORT = 10250
COREDNS_METRICS_PORT = 9153  # CoreDNS prometheus plugin (kube-system, k8s-app=kube-dns)
RECEIVERS_SECRET = "alertmanager-receivers"
NTFY_TOKEN = UserSecret(name="ntfy-token", description="Access token of the ntfy topic Alertmanager publishes to")

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$")]


class AlertingSettings(BaseModel):
    """Where Alertmanager sends alerts. None set: nowhere (a null receiver, with a warning)."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    email_to: list[Email] = Field(
        default_factory=list, description="E-mail addresses, sent through the smtp provider (needs one)."
    )
    ntfy_url: HttpUrl | None = Field(
        default=None,
        description="An ntfy topic URL, e.g. 'https://ntfy.sh/my-homelab-alerts' (sealed: a topic name is its "
        "password on a public server). Alertmanager posts its webhook JSON, rendered by ntfy's built-in "
        "alertmanager template.",
    )
    ntfy_token: bool = Field(
        default=False,
        description="The topic needs an access token: give it as the user secret ntfy-token "
        "(INK_SECRET_NTFY_TOKEN or .ink/secrets.toml).",
    )
    webhook_urls: list[HttpUrl] = Field(
        default_factory=list, description="Alertmanager webhook receivers (sealed: such URLs often hold a token)."
    )
    send_resolved: bool = Field(default=True, description="Also notify when an alert stops firing.")

    @field_validator("email_to", "webhook_urls")
    @classmethod
    def _no_repeats(cls, value: list) -> list:
        if len({str(v) for v in value}) != len(value):
            raise ValueError("lists an entry more than once")
        return value


class PrometheusSettings(PluginSettings):
    chart_version: str = Field(default=CHART_VERSION, description="Version of the kube-prometheus-stack Helm chart.")
    retention: PromDuration = Field(default="15d", description="How long Prometheus keeps samples.")
    storage_size: Quantity = Field(default="20Gi", description="Prometheus's TSDB volume.")
    alertmanager_storage_size: Quantity = Field(default="1Gi", description="Alertmanager's silences and log.")
    hostname: DnsLabel = Field(default="prometheus", description="Prometheus's UI: https://<hostname>.<domain>.")
    alertmanager_hostname: DnsLabel = Field(
        default="alertmanager", description="Alertmanager's UI: https://<alertmanager_hostname>.<domain>."
    )
    sso: bool = Field(
        default=True,
        description="Forward-auth in front of both UIs, when an auth provider is installed (neither has a login).",
    )
    alerting: AlertingSettings = Field(default_factory=AlertingSettings, description="Alertmanager's receivers.")

    @field_validator("alertmanager_hostname")
    @classmethod
    def _apart(cls, value: str, info) -> str:  # type: ignore[no-untyped-def]
        if value == info.data.get("hostname"):
            raise ValueError("must differ from hostname (each UI has its own host)")
        return value


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Prometheus",
        version=VERSION,
        homepage="https://prometheus.io",
        description="Scrapes every declared metrics endpoint, the nodes and the cluster; alerts through Alertmanager.",
        settings_model=PrometheusSettings,
        provides=(Capability.METRICS,),
        # Only node-exporter (the chart's prometheus-node-exporter DaemonSet) needs more than restricted.
        exemptions=(
            HostNetwork(
                reason="node-exporter reports the node's own network devices and listens on the node's address "
                "(chart hostNetwork: true); it also shares the host PID namespace (hostPID: true) to see the "
                "node's processes"
            ),
            HostPath(
                paths=("/", "/proc", "/sys"),
                reason="node-exporter reads the node's filesystems, /proc and /sys for its disk, memory and CPU "
                "metrics (chart hostRootFsMount, read-only mounts)",
            ),
        ),
    )


@hookimpl
def ink_needs(ctx: ServiceContext) -> list[NamedNeed]:
    if not ctx.settings.alerting.email_to:  # type: ignore[attr-defined]
        return []
    # By name: Prometheus runs without mail, so it does not depend on the package that defines smtp.
    return [NamedNeed(capability="smtp", id=NAME, optional=True)]


@hookimpl
def ink_secrets(ctx: ServiceContext) -> list[SecretClaim]:
    from ink_plugin_prometheus.alerting import receiver_secret

    data = receiver_secret(ctx.settings.alerting)  # type: ignore[attr-defined]
    return [SecretClaim(name=RECEIVERS_SECRET, data=data)] if data else []


@hookimpl
def ink_endpoints() -> list[Endpoint]:
    return [
        Endpoint(name="prometheus", port=PROMETHEUS_PORT, kind="prometheus", service="prometheus"),
        Endpoint(name="alertmanager", port=ALERTMANAGER_PORT, kind="alertmanager", service="alertmanager"),
    ]


@hookimpl
def ink_ingress_routes(ctx: ServiceContext) -> list[Route]:
    settings = ctx.settings
    return [
        Route(host=settings.hostname, service="prometheus", port=PROMETHEUS_PORT, optional=True),  # type: ignore[attr-defined]
        Route(host=settings.alertmanager_hostname, service="alertmanager", port=ALERTMANAGER_PORT, optional=True),  # type: ignore[attr-defined]
    ]


@hookimpl
def ink_auth_clients(ctx: ServiceContext) -> list[AuthClient]:
    settings = ctx.settings
    if not settings.sso:  # type: ignore[attr-defined]
        return []
    # Neither UI has a login of its own: the ingress asks the auth provider first.
    return [
        AuthClient(kind="forward-auth", host=host, optional=True, enabled_by="sso")
        for host in (settings.hostname, settings.alertmanager_hostname)  # type: ignore[attr-defined]
    ]


def monitor_name(target: MetricsTarget) -> str:
    """The PodMonitor's and PrometheusRule's name, and the scraped series' ``job``: the owner for its default
    endpoint ``metrics``, else ``<owner>-<name>``."""
    name = target.owner if target.name == "metrics" else f"{target.owner}-{target.name}"
    if len(name) > 63:  # a DNS label: keep it unique with a short hash of the whole
        import hashlib

        name = f"{name[:54]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return name


@hookimpl
def ink_provide_metrics(
    target: MetricsTarget, scope: Construct, ctx: ServiceContext, consumer: ServiceContext
) -> MetricsBinding:
    from ink_plugin_prometheus.construct import pod_monitor, prometheus_rule

    name = monitor_name(target)
    monitor = ""
    if not target.chart_monitor:
        pod_monitor(scope, target=target, name=name, consumer=consumer)
        monitor = f"PodMonitor {target.namespace}/{name}"
    rules = ""
    if target.alerts:
        prometheus_rule(
            scope, name=name, namespace=target.namespace, alerts=target.alerts, labels=consumer.labels("alerts")
        )
        rules = f"PrometheusRule {target.namespace}/{name}"
    # With chart_monitor the chart's ServiceMonitor sets the job (its Service's name, Prometheus's default).
    return MetricsBinding(monitor=monitor, rules=rules, job="" if target.chart_monitor else name)


# What chart 88.5.3 runs with ink's values (values.yaml and its kube-state-metrics 8.4.0 and node-exporter 4.56.1
# sub-charts): the operator and its admission webhook's certificate Job, Prometheus and Alertmanager (custom
# resources the operator turns into pods, each with the config reloader it adds), the two exporters.
CHART_IMAGES = (
    "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
    "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1",
    "ghcr.io/jkroepke/kube-webhook-certgen:1.8.7",
    "quay.io/prometheus/prometheus:v3.14.0-distroless",
    "quay.io/prometheus/alertmanager:v0.34.0",
    "quay.io/prometheus/node-exporter:v1.12.1-distroless",
    "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0",
)


@hookimpl
def ink_images() -> list[str]:
    return list(CHART_IMAGES)


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_prometheus.construct import prometheus

    prometheus(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    source = "kube-prometheus-stack 88.5.3 templates/prometheus/service.yaml (the operator's pod labels)"
    rules: list[NetworkRule] = [
        Scraper(pods=PROMETHEUS_PODS, source=source),
        # Service discovery (pods, endpoints) for every monitor, and the API server's own metrics.
        KubeApi(reason="Prometheus discovers its targets and scrapes the API server", pods=PROMETHEUS_PODS),
        KubeApi(reason="the operator, kube-state-metrics and the config reloaders watch the cluster"),
        Nodes(
            ports=(NODE_EXPORTER_PORT, KUBELET_PORT),
            reason="Prometheus scrapes node-exporter (host network) and the kubelet's metrics and cAdvisor",
            pods=PROMETHEUS_PODS,
        ),
        # The chart's coreDns ServiceMonitor: CoreDNS's prometheus plugin on 9153 (k3s manifests/coredns.yaml
        # container port 'metrics'; chart templates/exporters/core-dns/service.yaml selects k8s-app=kube-dns).
        KubeDns(ports=(COREDNS_METRICS_PORT,), reason="Prometheus scrapes CoreDNS's metrics", pods=PROMETHEUS_PODS),
        Inbound(
            ports=(OPERATOR_PORT,),
            source="api-server",
            pods=OPERATOR_PODS,
            reason="the operator's admission webhook (validates and converts PrometheusRules)",
        ),
        ChartService(name=f"{FULLNAME}-prometheus", pods=PROMETHEUS_PODS, ports={9090: 9090}, source=source),
        ChartService(
            name=f"{FULLNAME}-alertmanager",
            pods=ALERTMANAGER_PODS,
            ports={9093: 9093},
            source="kube-prometheus-stack 88.5.3 templates/alertmanager/service.yaml",
        ),
        ChartService(
            name=f"{FULLNAME}-operator",
            pods=OPERATOR_PODS,
            ports={443: OPERATOR_PORT},
            source="kube-prometheus-stack 88.5.3 templates/prometheus-operator/service.yaml",
        ),
    ]
    alerting = ctx.settings.alerting  # type: ignore[attr-defined]
    urls = [*alerting.webhook_urls, *([alerting.ntfy_url] if alerting.ntfy_url else [])]
    # Only scheme, host and port: the path and query may hold a token (they stay in the sealed Secret).
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls}
    rules += [
        Connects(url=origin, reason="Alertmanager's webhook and ntfy receivers", pods=ALERTMANAGER_PODS)
        for origin in sorted(origins)
    ]
    return rules
