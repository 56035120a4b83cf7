"""grafana: the chart Application, SSO on both sides, its database, data sources from links, dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ink
from ink import testing
from ink.cli import main
from ink.errors import ConfigError
from ink.models import Capability, ChartService, Endpoint, GrafanaDashboard, MetricsTarget, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_grafana import CHART_VERSION, VERSION

BASE = ["grafana", "cloudnativepg", "sealed-secrets"]
PLATFORM = [*BASE, "traefik", "cert-manager", "authentik"]
LOKI_BOARD = GrafanaDashboard(gnet_id=13639, revision=2, title="Logs / App", datasource="Loki")
APP_BOARD = GrafanaDashboard(gnet_id=4701, revision=10, title="JVM (Micrometer)")


def _info(name: str, *provides: str) -> ServiceInfo:
    return ServiceInfo(name=name, title=name, version="1.0.0", homepage="https://example.org", provides=provides)


class Prometheus(testing.StandIn):
    """The metrics provider, serving the endpoint kinds the prometheus plugin serves."""

    def __init__(self) -> None:
        super().__init__("prometheus", Capability.METRICS)

    @ink.hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(name="prometheus", port=9090, kind="prometheus", service="prometheus"),
            Endpoint(name="alertmanager", port=9093, kind="alertmanager", service="alertmanager"),
        ]

    @ink.hookimpl
    def ink_network(self) -> list:
        return [
            *super().ink_network(),
            ChartService(name="prometheus", pods={"app": "prometheus"}, ports={9090: 9090}, source="stand-in"),
            ChartService(name="alertmanager", pods={"app": "alertmanager"}, ports={9093: 9093}, source="stand-in"),
        ]


class Loki:
    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("loki")

    @ink.hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [Endpoint(name="http", port=3100, kind="loki", service="loki")]

    @ink.hookimpl
    def ink_network(self) -> list[ChartService]:
        return [ChartService(name="loki", pods={"app": "loki"}, ports={3100: 3100}, source="stand-in")]


class App:
    """A service whose metrics endpoint names upstream dashboards (one over Loki)."""

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return _info("app")

    @ink.hookimpl
    def ink_metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(pods={"app": "app"}, port=8080, dashboards=(APP_BOARD, LOKI_BOARD))]


PARTNERS = {"prometheus": Prometheus(), "loki": Loki(), "app": App()}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("grafana-full"), plugins=PLATFORM, extra=PARTNERS)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("grafana-alone"), plugins=BASE)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def values(result) -> dict[str, Any]:
    app = objects(result)["grafana/application-grafana-chart.yaml"]
    return app["spec"]["source"]["helm"]["valuesObject"]


def datasources(result) -> dict[str, dict[str, Any]]:
    found = values(result).get("datasources", {}).get("datasources.yaml", {}).get("datasources", [])
    return {d["uid"]: d for d in found}


def boards(result) -> dict[str, dict[str, Any]]:
    return {key: board for folder in values(result).get("dashboards", {}).values() for key, board in folder.items()}


def egress(result) -> list[tuple[str, int]]:
    policy = objects(result)["grafana/networkpolicy-allow-egress.yaml"]
    found = []
    for rule in policy["spec"].get("egress", []):
        for peer in rule.get("to", []):
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            found += [(namespace, port["port"]) for port in rule["ports"]]
    return found


def edges(result) -> set[str]:
    return {f"{e.name}→{e.target}" for e in result.graph.edges if e.source == "grafana"}


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "grafana"})
    assert host.names == ["grafana"]


def test_output_matches_the_reviewed_snapshot(full, snapshot) -> None:
    assert testing.snapshot_text(full, ["grafana"]) == snapshot


def test_output_validates(full, alone, ink_validator: ManifestValidator) -> None:
    for result in (full, alone):
        report = ink_validator.validate_all(testing.objects(result).items())
        assert report.problems == []
        assert report.skipped == {}


def test_the_pinned_chart_and_image_hardened_without_a_volume(full) -> None:
    app = objects(full)["grafana/application-grafana-chart.yaml"]["spec"]["source"]
    assert (app["repoURL"], app["chart"], app["targetRevision"]) == (
        "https://grafana-community.github.io/helm-charts",
        "grafana",
        CHART_VERSION,
    )
    v = values(full)
    assert v["image"] == {
        "registry": "docker.io",
        "repository": "grafana/grafana",
        "tag": VERSION,
        "pullPolicy": "IfNotPresent",
    }
    assert v["persistence"] == {"enabled": False}
    assert v["securityContext"]["runAsNonRoot"] is True
    for context in (v["containerSecurityContext"], v["sidecar"]["securityContext"]):
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
    assert v["resources"]["limits"]["memory"] == "1Gi"
    assert v["sidecar"]["resources"]["limits"]["memory"] == "256Mi"
    assert v["downloadDashboards"]["resources"] == v["sidecar"]["resources"]
    assert v["admin"]["existingSecret"] == "grafana-admin"


def test_route_and_root_url(full) -> None:
    route = objects(full)["grafana/ingressroute-grafana.yaml"]
    assert "Host(`grafana.example.com`)" in route["spec"]["routes"][0]["match"]
    assert values(full)["grafana.ini"]["server"]["root_url"] == "https://grafana.example.com"


def test_sso_on_both_sides(full) -> None:
    oauth = values(full)["grafana.ini"]["auth.generic_oauth"]
    assert oauth["enabled"] is True
    assert oauth["client_id"] == "grafana"
    assert oauth["auth_url"] == "https://auth.example.com/application/o/authorize/"
    assert oauth["token_url"] == "https://auth.example.com/application/o/token/"
    assert oauth["api_url"] == "https://auth.example.com/application/o/userinfo/"
    assert oauth["role_attribute_path"] == "contains(groups[*], 'authentik Admins') && 'Admin' || 'Viewer'"
    assert "client_secret" not in oauth  # never in values: from the Secret, by variable
    secret = values(full)["envValueFrom"]["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]
    assert secret == {"secretKeyRef": {"name": "grafana-oidc", "key": "client-secret"}}
    blueprint = "\n".join(text for path, text in full.files.items() if path.startswith("authentik/"))
    assert "https://grafana.example.com/login/generic_oauth" in blueprint
    # The back-channel (token, userinfo) goes through the ingress to authentik.
    assert ("traefik", 8443) in egress(full)


def test_editor_group_maps_to_editor(tmp_path: Path) -> None:
    config = '[plugins.grafana]\nadmin_group = "ops"\neditor_group = "family"\n'
    result = testing.synth(tmp_path, config, plugins=PLATFORM)
    path = values(result)["grafana.ini"]["auth.generic_oauth"]["role_attribute_path"]
    assert path == "contains(groups[*], 'ops') && 'Admin' || contains(groups[*], 'family') && 'Editor' || 'Viewer'"


def test_without_an_auth_provider_grafanas_own_login_with_a_generated_admin(alone) -> None:
    assert "auth.generic_oauth" not in values(alone)["grafana.ini"]
    assert "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET" not in values(alone)["envValueFrom"]
    sealed = objects(alone)["grafana/sealedsecret-grafana-admin.yaml"]
    assert set(sealed["spec"]["encryptedData"]) == {"admin-user", "admin-password"}


def test_sso_off_leaves_no_client(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.grafana]\nsso = false\n", plugins=PLATFORM)
    assert "auth.generic_oauth" not in values(result)["grafana.ini"]
    blueprint = "\n".join(text for path, text in result.files.items() if path.startswith("authentik/"))
    assert "grafana.example.com/login/generic_oauth" not in blueprint


def test_its_own_postgres_database_over_tls(full) -> None:
    v = values(full)
    assert v["env"]["GF_DATABASE_TYPE"] == "postgres"
    assert v["env"]["GF_DATABASE_HOST"] == "postgres-ha-rw.cloudnativepg.svc:5432"
    assert (v["env"]["GF_DATABASE_NAME"], v["env"]["GF_DATABASE_USER"]) == ("grafana", "grafana")
    assert v["env"]["GF_DATABASE_SSL_MODE"] == "verify-full"
    assert v["env"]["GF_DATABASE_CA_CERT_PATH"] == "/etc/ink/database-ca/ca.crt"
    assert v["envValueFrom"]["GF_DATABASE_PASSWORD"] == {"secretKeyRef": {"name": "grafana-db", "key": "password"}}
    assert [m["mountPath"] for m in v["extraSecretMounts"]] == ["/etc/ink/database-ca"]
    assert "cloudnativepg/database-postgres-ha-grafana.yaml" in full.files
    assert ("cloudnativepg", 5432) in egress(full)


def test_a_plain_database_gets_no_ca(tmp_path: Path) -> None:
    stand_in = testing.StandIn("db", Capability.DATABASE, Capability.SECRETS)
    result = testing.synth(tmp_path, plugins=["grafana"], extra={"db": stand_in})
    v = values(result)
    assert v["env"]["GF_DATABASE_SSL_MODE"] == "disable"
    assert "GF_DATABASE_CA_CERT_PATH" not in v["env"]
    assert "extraSecretMounts" not in v


def test_data_sources_from_links_with_fixed_uids(full) -> None:
    found = datasources(full)
    assert found["prometheus"]["url"] == "http://prometheus.prometheus.svc:9090"
    assert found["prometheus"]["isDefault"] is True
    assert found["alertmanager"]["url"] == "http://alertmanager.prometheus.svc:9093"
    assert found["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert found["loki"]["url"] == "http://loki.loki.svc:3100"
    assert {d["name"] for d in found.values()} == {"Prometheus", "Alertmanager", "Loki"}
    assert {"link/prometheus→prometheus", "link/alertmanager→prometheus", "link/loki→loki"} <= edges(full)
    assert {("prometheus", 9090), ("prometheus", 9093), ("loki", 3100)} <= set(egress(full))


@pytest.mark.parametrize("partner", ["prometheus", "loki"])
def test_each_data_source_comes_and_goes_with_its_partner(tmp_path: Path, partner: str) -> None:
    result = testing.synth(tmp_path, plugins=BASE, extra={partner: PARTNERS[partner]})
    expected = {"prometheus": {"prometheus", "alertmanager"}, "loki": {"loki"}}[partner]
    assert set(datasources(result)) == expected
    linked = {name for name in ("prometheus", "alertmanager", "loki") if f"link/{name}→{partner}" in edges(result)}
    assert linked == expected


def test_alone_no_data_source_and_no_link(alone) -> None:
    assert "datasources" not in values(alone)
    assert not any(e.startswith("link/") for e in edges(alone))
    assert {ns for ns, _ in egress(alone)} == {"cloudnativepg"}


def test_dashboards_of_the_platform_and_of_metrics_targets(full) -> None:
    found = boards(full)
    # The platform's, for the services installed (no Velero here); the node exporter's with the metrics provider.
    assert {k: (b["gnetId"], b["revision"]) for k, b in values(full)["dashboards"]["platform"].items()} == {
        "gnet-1860": (1860, 37),
        "gnet-20417": (20417, 1),
        "gnet-17347": (17347, 9),
        "gnet-20842": (20842, 3),
    }
    assert found["app-4701"]["datasource"] == [{"name": "DS_PROMETHEUS", "value": "Prometheus"}]
    assert found["app-13639"]["datasource"] == [{"name": "DS_LOKI", "value": "Loki"}]
    providers = values(full)["dashboardProviders"]["dashboardproviders.yaml"]["providers"]
    assert {p["name"]: p["options"]["path"] for p in providers} == {
        "platform": "/var/lib/grafana/dashboards/platform",
        "services": "/var/lib/grafana/dashboards/services",
    }
    assert values(full)["defaultCurlOptions"] == "-sfL"  # TLS verified, unlike the chart's -k
    internet = objects(full)["grafana/networkpolicy-allow-internet-grafana.yaml"]
    assert [p["port"] for r in internet["spec"]["egress"] for p in r["ports"]] == [443]


def test_a_dashboard_needs_its_data_source(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=BASE, extra={"prometheus": PARTNERS["prometheus"], "app": App()})
    assert set(boards(result)) == {"gnet-1860", "gnet-20417", "app-4701"}  # no Loki: no Loki dashboard


def test_alone_no_downloaded_dashboards_but_the_sidecar(alone) -> None:
    v = values(alone)
    assert "dashboards" not in v and "dashboardProviders" not in v
    sidecar = v["sidecar"]["dashboards"]
    assert (sidecar["enabled"], sidecar["label"], sidecar["searchNamespace"]) == (True, "grafana_dashboard", "ALL")
    assert sidecar["resource"] == "configmap"
    role = objects(alone)["grafana/clusterrole-grafana-dashboard-reader.yaml"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    assert v["rbac"]["useExistingClusterRole"] == "grafana-dashboard-reader"
    assert "grafana/networkpolicy-allow-kube-api-grafana.yaml" in alone.files


def test_dashboards_off_downloads_nothing_and_opens_no_internet(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.grafana]\ndashboards = false\n", plugins=BASE, extra=PARTNERS)
    assert "dashboards" not in values(result)
    assert "grafana/networkpolicy-allow-internet-grafana.yaml" not in result.files


def test_grafanas_own_metrics(full) -> None:
    target = testing.metrics_targets(full, "grafana")["metrics"]
    assert (target.port, target.path) == (3000, "/metrics")
    assert target.pods == {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana"}


def test_replicas_peer_unified_alerting(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.grafana]\nreplicas = 2\n", plugins=BASE)
    v = values(result)
    assert (v["replicas"], v["headlessService"], v["podDisruptionBudget"]) == (2, True, {"maxUnavailable": 1})
    alerting = v["grafana.ini"]["unified_alerting"]
    assert alerting["ha_peers"] == "grafana-headless.grafana.svc:9094"
    assert alerting["ha_listen_address"] == "$__env{POD_IP}:9094"
    assert "POD_IP" not in v["envValueFrom"]  # the chart sets POD_IP on the container itself (_pod.tpl)
    # The pods gossip inside the namespace, which core's allow-same-namespace policy opens (TCP and UDP).
    same = objects(result)["grafana/networkpolicy-allow-same-namespace.yaml"]["spec"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}] and same["egress"] == [{"to": [{"podSelector": {}}]}]


def test_one_replica_no_peering(alone) -> None:
    v = values(alone)
    assert "unified_alerting" not in v["grafana.ini"]
    assert v["headlessService"] is False


def test_env_may_not_override_the_wiring(tmp_path: Path) -> None:
    config = '[plugins.grafana.env]\nGF_DATABASE_TYPE = "sqlite3"\n'
    with pytest.raises(ConfigError, match=r"plugins\.grafana\.env\.GF_DATABASE_TYPE"):
        testing.synth(tmp_path, config, plugins=BASE)


def test_a_quote_in_a_group_name_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "ink.toml"
    config.write_text('[plugins.grafana]\nadmin_group = "o\'brien"\n')
    result = CliRunner().invoke(main, ["plugins", "--config", str(config)], env={"INK_LOAD_PLUGINS": "grafana"})
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "plugins.grafana.admin_group" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_enabled_false_leaves_no_trace(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.grafana]\nenabled = false\n", plugins=BASE)
    assert not any(path.startswith("grafana/") for path in result.files)
    assert "cloudnativepg/database-postgres-ha-grafana.yaml" not in result.files
