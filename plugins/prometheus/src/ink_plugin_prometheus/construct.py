"""The kube-prometheus-stack install, the contract Services, ink's generic alerts, and each target's monitor."""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.models import AlertRule, MetricsTarget
from ink.podsecurity import restricted_container_context, restricted_pod_context
from ink_plugin_prometheus import (
    ALERTMANAGER_PODS,
    ALERTMANAGER_PORT,
    FULLNAME,
    NAME,
    PROMETHEUS_PODS,
    PROMETHEUS_PORT,
)
from ink_plugin_prometheus.alerting import config as alertmanager_config

CHART_REPO = "https://prometheus-community.github.io/helm-charts"
RESTRICTED_CONTAINER = restricted_container_context()


def _resources(cpu: str, memory: str, limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": limit}}


def _claim(ctx: ServiceContext, size: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if ctx.config.storage_class:
        spec["storageClassName"] = ctx.config.storage_class
    return {"volumeClaimTemplate": {"spec": spec}}


# The k3s components run inside the k3s server process, not as pods: kube-controller-manager, kube-scheduler
# and kube-proxy bind their metrics to 127.0.0.1 and the embedded etcd has no metrics listener unless
# k3s's --etcd-expose-metrics; the chart's monitors for them would only report targets down (k3s docs,
# "Server configuration": --kube-*-arg bind-address, --etcd-expose-metrics). Their default rules go too.
K3S_UNREACHABLE = ("kubeControllerManager", "kubeScheduler", "kubeProxy", "kubeEtcd")
# CoreDNS (kube-system, k8s-app=kube-dns) serves metrics on 9153 (k3s manifests/coredns.yaml): the chart's coreDns
# monitor stays on (a Service in kube-system selecting those pods, its ServiceMonitor here), reached through the
# KubeDns rule this plugin declares (ink_network).
UNREACHABLE = K3S_UNREACHABLE
K3S_UNREACHABLE_RULES = (
    "etcd",
    "kubeControllerManager",
    "kubeProxy",
    "kubeSchedulerAlerting",
    "kubeSchedulerRecording",
)


def values(ctx: ServiceContext) -> dict[str, Any]:
    settings = ctx.settings
    secret_names: list[str] = []
    am_config = alertmanager_config(ctx, secret_names)
    # Prometheus selects monitors, rules, probes and scrape configs in every namespace, not only those labelled
    # release=<this release> (the chart's default when these are true): ink writes its PodMonitors and
    # PrometheusRules into each service's namespace, and other charts write their own ServiceMonitors.
    selectors = {
        f"{kind}SelectorNilUsesHelmValues": False
        for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")
    }
    return {
        "fullnameOverride": FULLNAME,
        # Grafana is its own ink plugin; the chart's dashboards still ship as ConfigMaps labelled
        # grafana_dashboard=1 (templates/grafana/dashboards-1.14), which the grafana plugin's sidecar loads.
        "grafana": {"enabled": False, "forceDeployDashboards": True},
        "defaultRules": {"rules": {group: False for group in K3S_UNREACHABLE_RULES}},
        **{component: {"enabled": False} for component in UNREACHABLE},
        "windowsMonitoring": {"enabled": False},
        "prometheusOperator": {
            "resources": _resources("50m", "64Mi", "256Mi"),
            "containerSecurityContext": RESTRICTED_CONTAINER,
            "prometheusConfigReloader": {"resources": _resources("10m", "32Mi", "64Mi")},
            "admissionWebhooks": {
                "deployment": {"resources": _resources("10m", "32Mi", "64Mi")},
                "patch": {
                    "resources": _resources("10m", "32Mi", "64Mi"),
                    "securityContext": restricted_pod_context(2000),
                },
            },
        },
        "prometheus": {
            "prometheusSpec": {
                **selectors,
                # A homelab: one replica. Two would scrape everything twice and need Thanos or dedup in Grafana.
                "replicas": 1,
                "retention": settings.retention,  # type: ignore[attr-defined]
                "storageSpec": _claim(ctx, settings.storage_size),  # type: ignore[attr-defined]
                "externalUrl": ctx.public_url(settings.hostname),  # type: ignore[attr-defined]
                "resources": _resources("200m", "1Gi", "3Gi"),
            }
        },
        "alertmanager": {
            "config": am_config,
            "alertmanagerSpec": {
                "replicas": 1,  # one Alertmanager is enough for one Prometheus; a cluster would gossip
                "storage": _claim(ctx, settings.alertmanager_storage_size),  # type: ignore[attr-defined]
                "externalUrl": ctx.public_url(settings.alertmanager_hostname),  # type: ignore[attr-defined]
                "resources": _resources("20m", "64Mi", "256Mi"),
                "secrets": sorted(set(secret_names)),
            },
        },
        "kube-state-metrics": {"resources": _resources("20m", "64Mi", "256Mi")},
        "prometheus-node-exporter": {
            "resources": _resources("20m", "32Mi", "128Mi"),
            "containerSecurityContext": RESTRICTED_CONTAINER,
        },
    }


def prometheus(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    kube.helm_application(
        scope,
        ctx=ctx,
        release=NAME,
        repo_url=CHART_REPO,
        chart="kube-prometheus-stack",
        version=ctx.setting("chart_version"),
        values=values(ctx),
        # Checked against the rendered chart (tests/test_charts.py). The kubelet's Service in kube-system is made
        # by the operator at run time, not by the chart.
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ),
        # The coreDns exporter's Service (templates/exporters/core-dns/service.yaml) lives beside CoreDNS.
        other_namespaces=("kube-system",),
        sync_wave=-15,
    )
    for name, pods, port in (
        ("prometheus", PROMETHEUS_PODS, PROMETHEUS_PORT),
        ("alertmanager", ALERTMANAGER_PODS, ALERTMANAGER_PORT),
    ):
        # The contract addresses other services link to (prometheus.prometheus.svc:9090), whatever the chart
        # names its own Services; they select the operator's pods.
        kube.api_object(
            scope,
            f"service-{name}",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ctx.namespace, "labels": ctx.labels(name)},
                "spec": {
                    "selector": dict(pods),
                    "ports": [{"name": "http-web", "port": port, "targetPort": port, "protocol": "TCP"}],
                },
            },
        )
    prometheus_rule(
        scope, name="ink-generic", namespace=ctx.namespace, alerts=GENERIC_ALERTS, labels=ctx.labels("alerts")
    )


# ink's own alerts for every service (the chart's defaultRules have more specific ones).
GENERIC_ALERTS = (
    AlertRule(
        alert="InkVolumeAlmostFull",
        expr="kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes > 0.85",
        for_="15m",
        severity="warning",
        summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is "
        "{{ $value | humanizePercentage }} full",
        description="Grow the volume (the service's storage_size setting) or free space before it fills up.",
    ),
    AlertRule(
        alert="InkPodCrashLooping",
        expr="max by (namespace, pod, container) "
        '(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}) == 1',
        for_="10m",
        severity="warning",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
        description="kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c {{ $labels.container }} --previous",
    ),
    AlertRule(
        alert="InkScrapeTargetDown",
        expr="up == 0",
        for_="5m",
        severity="warning",
        summary="Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}",
        description="The endpoint is down or a NetworkPolicy blocks Prometheus (ink graph --policies).",
    ),
)


def _rule(alert: AlertRule) -> dict[str, Any]:
    annotations = {"summary": alert.summary}
    if alert.description:
        annotations["description"] = alert.description
    return {
        "alert": alert.alert,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {**alert.labels, "severity": alert.severity},
        "annotations": annotations,
    }


def prometheus_rule(
    scope: kube.Construct, *, name: str, namespace: str, alerts: tuple[AlertRule, ...], labels: dict[str, str]
) -> None:
    kube.api_object(
        scope,
        f"prometheusrule-{name}",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"groups": [{"name": name, "rules": [_rule(a) for a in alerts]}]},
        },
    )


def pod_monitor(scope: kube.Construct, *, target: MetricsTarget, name: str, consumer: ServiceContext) -> None:
    endpoint: dict[str, Any] = {
        "portNumber": target.port,
        "path": target.path,
        "scheme": target.scheme,
        "interval": target.interval,
        # A readable, stable job label (the operator's default is '<namespace>/<PodMonitor name>').
        "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": name}],
    }
    if target.params:
        endpoint["params"] = {key: [value] for key, value in sorted(target.params.items())}
    if target.scheme == "https":
        tls: dict[str, Any] = {}
        if target.ca is not None:
            tls["ca"] = {"secret": {"name": target.ca.name, "key": target.ca.key}}
        if target.server_name:
            tls["serverName"] = target.server_name
        if tls:
            endpoint["tlsConfig"] = tls
    if target.bearer_token is not None:
        token = target.bearer_token
        endpoint["authorization"] = {"type": "Bearer", "credentials": {"name": token.name, "key": token.key}}
    if target.basic_auth is not None:
        user, password = target.basic_auth.username, target.basic_auth.password
        endpoint["basicAuth"] = {
            "username": {"name": user.name, "key": user.key},
            "password": {"name": password.name, "key": password.key},
        }
    kube.api_object(
        scope,
        f"podmonitor-{name}",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": {"name": name, "namespace": target.namespace, "labels": consumer.labels("metrics")},
            "spec": {
                "selector": {"matchLabels": dict(target.pods)},
                "podMetricsEndpoints": [endpoint],
            },
        },
    )
