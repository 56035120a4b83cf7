"""prometheus: the metrics provider (PodMonitor + PrometheusRule per target), the chart's values, receivers."""

from __future__ import annotations

from pathlib import Path

import pytest

import ink
from ink import testing
from ink.errors import ConfigError
from ink.models import AlertRule, BasicAuth, MetricsBinding, MetricsTarget, SecretKeyRef, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_prometheus import PROMETHEUS_PODS

BASE = ["prometheus", "sealed-secrets"]
PODS = {"app.kubernetes.io/name": "exporter"}
ALERT = AlertRule(alert="ExporterDown", expr='up{job="exporter"} == 0', for_="5m", summary="exporter is down")


class Exporter:
    """A test-only consumer: one plain endpoint with an alert, one https endpoint with a token, one with basic auth."""

    def __init__(self, chart_monitor: bool = False) -> None:
        self.chart_monitor = chart_monitor
        self.bindings: dict[str, MetricsBinding] = {}

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="exporter", title="Exporter", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_metrics_targets(self) -> list[MetricsTarget]:
        return [
            MetricsTarget(pods=PODS, port=9100, alerts=(ALERT,), chart_monitor=self.chart_monitor),
            MetricsTarget(
                name="admin",
                pods=PODS,
                port=8443,
                path="/admin/metrics",
                params={"format": "prometheus"},
                scheme="https",
                interval="1m",
                ca=SecretKeyRef(name="exporter-tls", key="ca.crt"),
                server_name="exporter.exporter.svc",
                bearer_token=SecretKeyRef(name="exporter-token", key="token"),
            ),
            MetricsTarget(
                name="basic",
                pods=PODS,
                port=9200,
                basic_auth=BasicAuth(
                    username=SecretKeyRef(name="exporter-metrics", key="username"),
                    password=SecretKeyRef(name="exporter-metrics", key="password"),
                ),
            ),
        ]

    @ink.hookimpl
    def ink_workloads(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.bindings = {k: b for k, b in ctx.bindings.items() if isinstance(b, MetricsBinding)}


def synth(tmp_path: Path, config: str = "", *, plugins=BASE, exporter: Exporter | None = None):  # type: ignore[no-untyped-def]
    extra = {"exporter": exporter} if exporter is not None else {}
    return testing.synth(tmp_path, config, plugins=plugins, extra=extra)


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory):
    exporter = Exporter()
    return synth(tmp_path_factory.mktemp("prometheus-consumer"), exporter=exporter), exporter


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(
        tmp_path_factory.mktemp("prometheus-full"),
        plugins=[*BASE, "traefik", "cert-manager", "authentik", "cloudnativepg"],
    )


def objects(result) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return testing.objects(result)


def chart_values(result) -> dict:  # type: ignore[no-untyped-def]
    return objects(result)["prometheus/application-prometheus-chart.yaml"]["spec"]["source"]["helm"]["valuesObject"]


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "prometheus"})
    assert host.names == ["prometheus"]


def test_output_matches_the_reviewed_snapshot(full, snapshot) -> None:  # type: ignore[no-untyped-def]
    assert testing.snapshot_text(full, ["prometheus"]) == snapshot


def test_output_validates(full, consumer, ink_validator: ManifestValidator) -> None:  # type: ignore[no-untyped-def]
    for result in (full, consumer[0]):
        report = ink_validator.validate_all(testing.objects(result).items())
        assert report.problems == []
        for kind in ("PodMonitor", "PrometheusRule"):
            assert kind not in report.skipped


def test_a_target_gets_its_pod_monitor_and_rule(consumer) -> None:  # type: ignore[no-untyped-def]
    result, exporter = consumer
    found = objects(result)
    monitor = found["exporter/podmonitor-exporter.yaml"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "exporter"
    assert monitor["spec"]["selector"] == {"matchLabels": PODS}
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["portNumber"] == 9100 and endpoint["path"] == "/metrics" and endpoint["scheme"] == "http"
    assert endpoint["relabelings"] == [{"action": "replace", "targetLabel": "job", "replacement": "exporter"}]
    assert "tlsConfig" not in endpoint and "authorization" not in endpoint and "basicAuth" not in endpoint
    rule = found["exporter/prometheusrule-exporter.yaml"]
    [group] = rule["spec"]["groups"]
    assert group["rules"] == [
        {
            "alert": "ExporterDown",
            "expr": 'up{job="exporter"} == 0',
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "exporter is down"},
        }
    ]
    assert exporter.bindings["metrics/metrics"] == MetricsBinding(
        provider="prometheus",
        monitor="PodMonitor exporter/exporter",
        rules="PrometheusRule exporter/exporter",
        job="exporter",
    )


def test_an_https_target_carries_its_ca_server_name_and_token(consumer) -> None:  # type: ignore[no-untyped-def]
    result, exporter = consumer
    [endpoint] = objects(result)["exporter/podmonitor-exporter-admin.yaml"]["spec"]["podMetricsEndpoints"]
    assert endpoint["scheme"] == "https" and endpoint["interval"] == "1m" and endpoint["path"] == "/admin/metrics"
    assert endpoint["params"] == {"format": ["prometheus"]}  # a query, which Prometheus would escape in the path
    assert endpoint["tlsConfig"] == {
        "ca": {"secret": {"name": "exporter-tls", "key": "ca.crt"}},
        "serverName": "exporter.exporter.svc",
    }
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": "exporter-token", "key": "token"}}
    assert "exporter/prometheusrule-exporter-admin.yaml" not in objects(result)  # no alerts, no rule
    assert exporter.bindings["metrics/admin"].job == "exporter-admin"


def test_a_basic_auth_target_names_both_secret_keys(consumer) -> None:  # type: ignore[no-untyped-def]
    result, _ = consumer
    [endpoint] = objects(result)["exporter/podmonitor-exporter-basic.yaml"]["spec"]["podMetricsEndpoints"]
    assert endpoint["basicAuth"] == {
        "username": {"name": "exporter-metrics", "key": "username"},
        "password": {"name": "exporter-metrics", "key": "password"},
    }
    assert "authorization" not in endpoint and "tlsConfig" not in endpoint


def test_the_scraper_reaches_each_target(consumer) -> None:  # type: ignore[no-untyped-def]
    result, _ = consumer
    flows = [f for f in result.network.flows if f.edge.startswith("exporter→prometheus:metrics/")]
    pods = ",".join(f"{k}={v}" for k, v in sorted(PROMETHEUS_PODS.items()))
    assert sorted((f.source.text(), [p.text() for p in f.ports]) for f in flows) == [
        (f"prometheus[{pods}]", ["8443/TCP"]),
        (f"prometheus[{pods}]", ["9100/TCP"]),
        (f"prometheus[{pods}]", ["9200/TCP"]),
    ]
    ingress = objects(result)["exporter/networkpolicy-allow-ingress-exporter.yaml"]["spec"]["ingress"]
    assert {"port": 9100, "protocol": "TCP"} in ingress[0]["ports"]
    assert ingress[0]["from"][0]["podSelector"] == {"matchLabels": PROMETHEUS_PODS}
    assert not result.network.problems


def test_without_the_provider_the_target_has_no_monitor(tmp_path: Path) -> None:
    exporter = Exporter()
    result = synth(tmp_path, plugins=["sealed-secrets"], exporter=exporter)
    assert not [p for p in objects(result) if "podmonitor" in p or "prometheusrule" in p]
    assert exporter.bindings == {}


def test_a_chart_monitor_gets_only_its_rules(tmp_path: Path) -> None:
    exporter = Exporter(chart_monitor=True)
    found = objects(synth(tmp_path, exporter=exporter))
    assert "exporter/podmonitor-exporter.yaml" not in found
    assert "exporter/prometheusrule-exporter.yaml" in found
    assert exporter.bindings["metrics/metrics"].monitor == "" and exporter.bindings["metrics/metrics"].job == ""


def test_prometheus_selects_every_namespace_and_keeps_the_chart_dashboards(full) -> None:  # type: ignore[no-untyped-def]
    values = chart_values(full)
    spec = values["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
    assert values["grafana"] == {"enabled": False, "forceDeployDashboards": True}
    assert spec["retention"] == "15d" and spec["replicas"] == 1
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    assert spec["externalUrl"] == "https://prometheus.example.com"
    am = values["alertmanager"]["alertmanagerSpec"]
    assert am["externalUrl"] == "https://alertmanager.example.com"
    assert am["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_k3s_unreachable_control_plane_monitors_and_rules_are_off(full) -> None:  # type: ignore[no-untyped-def]
    values = chart_values(full)
    for component in ("kubeControllerManager", "kubeScheduler", "kubeProxy", "kubeEtcd"):
        assert values[component] == {"enabled": False}
    assert "coreDns" not in values  # on, as the chart has it: the KubeDns rule lets Prometheus reach 9153
    assert set(values["defaultRules"]["rules"]) == {
        "etcd",
        "kubeControllerManager",
        "kubeProxy",
        "kubeSchedulerAlerting",
        "kubeSchedulerRecording",
    }
    assert "nodeExporter" not in values and "kubeStateMetrics" not in values  # on, as the chart has them


def test_coredns_is_scraped_through_a_kube_dns_rule(full) -> None:  # type: ignore[no-untyped-def]
    project = objects(full)["prometheus/appproject-prometheus-chart.yaml"]["spec"]["destinations"]
    assert "kube-system" in {d["namespace"] for d in project}  # the chart's coredns Service lives there
    [flow] = [f for f in full.network.flows if f.why == "prometheus: Prometheus scrapes CoreDNS's metrics"]
    pods = ",".join(f"{k}={v}" for k, v in sorted(PROMETHEUS_PODS.items()))
    assert (flow.source.text(), flow.target.text()) == (f"prometheus[{pods}]", "kube-system[k8s-app=kube-dns]")
    assert [p.text() for p in flow.ports] == ["9153/TCP"]


def test_every_chart_container_has_requests_and_a_memory_limit(full) -> None:  # type: ignore[no-untyped-def]
    values = chart_values(full)
    parts = [
        values["prometheus"]["prometheusSpec"],
        values["alertmanager"]["alertmanagerSpec"],
        values["prometheusOperator"],
        values["prometheusOperator"]["prometheusConfigReloader"],
        values["prometheusOperator"]["admissionWebhooks"]["patch"],
        values["kube-state-metrics"],
        values["prometheus-node-exporter"],
    ]
    for part in parts:
        assert set(part["resources"]["requests"]) == {"cpu", "memory"} and "memory" in part["resources"]["limits"]


def test_contract_services_endpoints_and_routes(full) -> None:  # type: ignore[no-untyped-def]
    found = objects(full)
    for name, port, pods in (("prometheus", 9090, PROMETHEUS_PODS), ("alertmanager", 9093, None)):
        service = found[f"prometheus/service-{name}.yaml"]["spec"]
        assert service["ports"][0]["port"] == port and service["ports"][0]["targetPort"] == port
        if pods:
            assert service["selector"] == pods
        assert f"prometheus/middleware-{name}-forward-auth.yaml" in found
        assert f"prometheus/ingressroute-{name}.yaml" in found
    from ink_plugin_prometheus import ink_endpoints

    assert {(e.kind, e.service, e.port) for e in ink_endpoints()} == {
        ("prometheus", "prometheus", 9090),
        ("alertmanager", "alertmanager", 9093),
    }


def test_prometheus_reaches_the_nodes_and_the_api_server(full) -> None:  # type: ignore[no-untyped-def]
    found = objects(full)
    nodes = found["prometheus/networkpolicy-allow-nodes-prometheus-prometheus.yaml"]["spec"]
    assert nodes["podSelector"] == {"matchLabels": PROMETHEUS_PODS}
    ports = {(p["port"], p["protocol"]) for rule in nodes["egress"] for p in rule["ports"]}
    assert ports == {(9100, "TCP"), (10250, "TCP")}
    assert "prometheus/networkpolicy-allow-kube-api-prometheus-prometheus.yaml" in found


def test_the_generic_alerts_are_ink_s_own_rule(full) -> None:  # type: ignore[no-untyped-def]
    rule = objects(full)["prometheus/prometheusrule-ink-generic.yaml"]
    exprs = {r["alert"]: r["expr"] for r in rule["spec"]["groups"][0]["rules"]}
    assert set(exprs) == {"InkVolumeAlmostFull", "InkPodCrashLooping", "InkScrapeTargetDown"}
    assert (
        "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes > 0.85" in exprs["InkVolumeAlmostFull"]
    )
    assert 'reason="CrashLoopBackOff"' in exprs["InkPodCrashLooping"]
    assert exprs["InkScrapeTargetDown"] == "up == 0"


# --- receivers -------------------------------------------------------------------------


def am_config(result) -> dict:  # type: ignore[no-untyped-def]
    return chart_values(result)["alertmanager"]["config"]


def test_without_receivers_alerts_go_to_null_with_a_warning(full) -> None:  # type: ignore[no-untyped-def]
    config = am_config(full)
    assert config["route"]["receiver"] == "null"
    assert config["receivers"] == [{"name": "null"}]
    assert chart_values(full)["alertmanager"]["alertmanagerSpec"]["secrets"] == []
    assert any("no alert receiver is configured" in w for w in full.warnings)


RECEIVERS = """
[plugins.prometheus.alerting]
ntfy_url = "https://ntfy.example.org/home-alerts"
ntfy_token = true
webhook_urls = ["https://hooks.example.org/am/s3cr3t-path"]
"""


def test_ntfy_and_webhooks_read_their_urls_and_token_from_a_sealed_secret(tmp_path: Path) -> None:
    result = synth(tmp_path, RECEIVERS)
    config = am_config(result)
    assert config["route"]["receiver"] == "ink"
    [receiver] = [r for r in config["receivers"] if r["name"] == "ink"]
    base = "/etc/alertmanager/secrets/alertmanager-receivers"
    assert receiver["webhook_configs"] == [
        {
            "url_file": f"{base}/ntfy-url",
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials_file": f"{base}/ntfy-token"}},
        },
        {"url_file": f"{base}/webhook-0", "send_resolved": True},
    ]
    assert chart_values(result)["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    text = testing.snapshot_text(result, ["prometheus"])
    assert "s3cr3t-path" not in text and "home-alerts" not in text  # only sealed
    assert "prometheus/sealedsecret-alertmanager-receivers.yaml" in objects(result)
    assert not any("no alert receiver" in w for w in result.warnings)


def test_ntfy_url_gets_the_alertmanager_template() -> None:
    from ink_plugin_prometheus.alerting import ntfy_url

    assert ntfy_url("https://ntfy.sh/t") == "https://ntfy.sh/t?template=alertmanager"
    assert ntfy_url("https://ntfy.sh/t?priority=5") == "https://ntfy.sh/t?priority=5&template=alertmanager"
    assert ntfy_url("https://ntfy.sh/t?template=mine") == "https://ntfy.sh/t?template=mine"


SMTP = """
[plugins.smtp]
enabled = true
host = "smtp.example.org"
username = "homelab@example.org"
from_address = "homelab@example.org"

[plugins.prometheus.alerting]
email_to = ["ops@example.org"]
"""


def test_email_goes_through_the_smtp_binding_with_the_password_from_a_file(tmp_path: Path) -> None:
    result = synth(tmp_path, SMTP, plugins=[*BASE, "smtp"])
    [receiver] = [r for r in am_config(result)["receivers"] if r["name"] == "ink"]
    [email] = receiver["email_configs"]
    assert email["to"] == "ops@example.org" and email["from"] == "homelab@example.org"
    assert email["smarthost"].startswith("smtp.example.org:")
    assert email["auth_username"] == "homelab@example.org"
    assert "auth_password" not in email
    secret = email["auth_password_file"].split("/")[4]
    assert email["auth_password_file"].startswith(f"/etc/alertmanager/secrets/{secret}/")
    assert chart_values(result)["alertmanager"]["alertmanagerSpec"]["secrets"] == [secret]
    assert ("prometheus", "smtp", "smtp/prometheus") in [(e.source, e.target, e.name) for e in result.graph.edges]


def test_email_without_an_smtp_provider_is_warned_about(tmp_path: Path) -> None:
    result = synth(tmp_path, '[plugins.prometheus.alerting]\nemail_to = ["ops@example.org"]\n')
    assert am_config(result)["route"]["receiver"] == "null"
    assert any("email_to is set but no smtp provider" in w for w in result.warnings)


def test_settings_from_ink_toml_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__PROMETHEUS__RETENTION", "30d")
    result = synth(tmp_path, '[plugins.prometheus]\nstorage_size = "50Gi"\nhostname = "metrics"\n')
    spec = chart_values(result)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert spec["externalUrl"] == "https://metrics.example.com"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ('[plugins.prometheus]\nretention = "two weeks"\n', "retention"),
        ('[plugins.prometheus.alerting]\nemail_to = ["not-an-address"]\n', "email_to"),
        ('[plugins.prometheus.alerting]\nntfy_url = "ntfy.sh/topic"\n', "ntfy_url"),
        ('[plugins.prometheus.alerting]\nwebhook_urls = ["https://user:pw@hooks.example.org/x"]\n', "webhook_urls"),
        ('[plugins.prometheus]\nalertmanager_hostname = "prometheus"\n', "alertmanager_hostname"),
        ('[plugins.prometheus.alerting]\npager = "x"\n', "pager"),
    ],
)
def test_bad_settings_are_one_clear_line(tmp_path: Path, config: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as raised:
        synth(tmp_path, config)
    assert raised.value.exit_code == 2
    assert len(raised.value.problems) == 1 and "\n" not in raised.value.problems[0]
