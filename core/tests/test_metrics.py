"""The built-in metrics capability: a declared endpoint becomes a graph edge, a binding and a NetworkPolicy flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import ink
from ink import testing
from ink.capabilities import SECRETS
from ink.models import AlertRule, BasicAuth, Capability, MetricsBinding, MetricsTarget, SecretKeyRef, ServiceInfo

PODS = {"app.kubernetes.io/name": "exporter"}
BASIC = BasicAuth(username=SecretKeyRef(name="s", key="username"), password=SecretKeyRef(name="s", key="password"))


class Exporter:
    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="exporter", title="Exporter", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_metrics_targets(self) -> list[MetricsTarget]:
        alert = AlertRule(alert="ExporterDown", expr='up{job="exporter"} == 0', for_="5m", summary="exporter is down")
        return [MetricsTarget(pods=PODS, port=9100, alerts=(alert,))]

    @ink.hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        binding = ctx.bindings.get("metrics/metrics")
        data = {"monitor": binding.monitor if isinstance(binding, MetricsBinding) else "none"}
        kube.api_object(
            scope, "seen", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seen"}, "data": data}
        )


def _synth(tmp_path: Path, *providers: testing.StandIn):  # type: ignore[no-untyped-def]
    extra: dict[str, object] = {"secrets": testing.StandIn("secrets", SECRETS), "exporter": Exporter()}
    extra.update({p.name: p for p in providers})
    return testing.synth(tmp_path, plugins=[], extra=extra, validate=False)


def test_a_metrics_target_is_answered_by_the_provider_and_opened_for_its_scraper(tmp_path: Path) -> None:
    result = _synth(tmp_path, testing.StandIn("monitoring", Capability.METRICS))
    seen = testing.objects(result)["exporter/configmap-seen.yaml"]
    assert seen["data"]["monitor"] == "PodMonitor exporter/exporter"
    assert [(e.source, e.target, e.name) for e in result.graph.edges if e.name.startswith("metrics/")] == [
        ("exporter", "monitoring", "metrics/metrics")
    ]
    flows = [f for f in result.network.flows if f.edge == "exporter→monitoring:metrics/metrics"]
    assert [(f.source.text(), f.target.text(), [p.text() for p in f.ports]) for f in flows] == [
        ("monitoring[app=scraper]", "exporter[app.kubernetes.io/name=exporter]", ["9100/TCP"])
    ]
    ingress = testing.objects(result)["exporter/networkpolicy-allow-ingress-exporter.yaml"]
    assert ingress["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                    "podSelector": {"matchLabels": {"app": "scraper"}},
                }
            ],
            "ports": [{"port": 9100, "protocol": "TCP"}],
        }
    ]
    assert not result.network.problems


def test_metrics_edges_do_not_order_the_deploy(tmp_path: Path) -> None:
    # The exporter needs nothing else, so it deploys first although the monitoring provider answers it.
    result = _synth(tmp_path, testing.StandIn("monitoring", Capability.METRICS))
    assert ("exporter", "monitoring", "metrics/metrics") in [(e.source, e.target, e.name) for e in result.graph.edges]
    assert result.graph.depends_on["exporter"] == set()


def test_without_a_metrics_provider_the_target_is_dropped_silently(tmp_path: Path) -> None:
    result = _synth(tmp_path)
    assert testing.objects(result)["exporter/configmap-seen.yaml"]["data"]["monitor"] == "none"
    assert not [w for w in result.warnings if "metrics" in w]
    assert not [e for e in result.graph.edges if e.name.startswith("metrics/")]


def test_a_metrics_provider_without_a_scraper_is_a_network_problem(tmp_path: Path) -> None:
    class Silent(testing.StandIn):
        def ink_network(self) -> list:  # type: ignore[override]  # not a hookimpl: declares nothing
            return []

    silent = Silent("monitoring", Capability.METRICS)
    result = _synth(tmp_path, silent)
    assert any("declares no Scraper" in p for p in result.network.problems)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"scheme": "http", "server_name": "x"}, "ca and server_name are for scheme 'https'"),
        ({"interval": "30 seconds"}, "interval"),
        (
            {"bearer_token": SecretKeyRef(name="t", key="token"), "basic_auth": BASIC},
            "bearer_token and basic_auth exclude each other",
        ),
        ({"basic_auth": {"username": "metrics", "password": {"name": "s", "key": "password"}}}, "username"),
        ({"pods": {}}, "pods"),
        ({"path": "metrics"}, "path"),
        ({"path": "/v1/sys/metrics?format=prometheus"}, "path"),  # a query goes into params
    ],
)
def test_bad_metrics_targets_are_refused(fields: dict, words: str) -> None:
    base = {"pods": PODS, "port": 9100}
    with pytest.raises(ValidationError, match=words):
        MetricsTarget(**{**base, **fields})


def test_basic_auth_takes_both_halves_from_secrets() -> None:
    target = MetricsTarget(pods=PODS, port=9100, basic_auth=BASIC)
    assert target.basic_auth is not None and target.basic_auth.password == SecretKeyRef(name="s", key="password")
    assert target.bearer_token is None
    with pytest.raises(ValidationError, match="password"):
        BasicAuth(username=SecretKeyRef(name="s", key="username"))  # type: ignore[call-arg]


def test_https_targets_carry_their_ca_and_alert_names_are_checked() -> None:
    ca = SecretKeyRef(name="exporter-tls", key="ca.crt")
    target = MetricsTarget(pods=PODS, port=8443, scheme="https", ca=ca, server_name="exporter.exporter.svc")
    assert target.key == "metrics/metrics" and target.optional
    with pytest.raises(ValidationError, match="alert"):
        AlertRule(alert="not camel", expr="up == 0", summary="x")


def test_a_nodes_rule_opens_egress_to_the_nodes_on_its_ports(tmp_path: Path) -> None:
    # The metrics provider scrapes node-exporter (host network) and the kubelet on the nodes themselves.
    from ink.models import Nodes

    class Monitoring(testing.StandIn):
        @ink.hookimpl
        def ink_network(self) -> list:  # type: ignore[override]
            return [
                *super().ink_network(),
                Nodes(ports=(9100, 10250), reason="node-exporter and the kubelet", pods={"app": "scraper"}),
            ]

    result = _synth(tmp_path, Monitoring("monitoring", Capability.METRICS))
    flows = [f for f in result.network.flows if f.why == "monitoring: node-exporter and the kubelet"]
    assert flows and {f.source.text() for f in flows} == {"monitoring[app=scraper]"}
    assert {p.text() for f in flows for p in f.ports} == {"9100/TCP", "10250/TCP"}
    to_nodes = testing.objects(result)["monitoring/networkpolicy-allow-nodes-scraper.yaml"]["spec"]["egress"]
    assert to_nodes and all(
        all("ipBlock" in peer for peer in rule["to"])
        and {"port": 9100, "protocol": "TCP"} in rule["ports"]
        and {"port": 10250, "protocol": "TCP"} in rule["ports"]
        for rule in to_nodes
    )


def test_a_nodes_rule_names_its_ports() -> None:
    from ink.models import Nodes

    with pytest.raises(ValidationError, match="name the ports"):
        Nodes(reason="kubelet")


def test_a_kube_dns_rule_opens_egress_to_coredns_on_its_ports_only(tmp_path: Path) -> None:
    # The metrics provider scrapes CoreDNS (kube-system, k8s-app=kube-dns) on 9153; every pod has only DNS there.
    from ink.models import KubeDns

    class Monitoring(testing.StandIn):
        @ink.hookimpl
        def ink_network(self) -> list:  # type: ignore[override]
            return [*super().ink_network(), KubeDns(ports=(9153,), reason="CoreDNS metrics", pods={"app": "scraper"})]

    result = _synth(tmp_path, Monitoring("monitoring", Capability.METRICS))
    [flow] = [f for f in result.network.flows if f.why == "monitoring: CoreDNS metrics"]
    assert (flow.source.text(), flow.target.text()) == ("monitoring[app=scraper]", "kube-system[k8s-app=kube-dns]")
    assert [p.text() for p in flow.ports] == ["9153/TCP"]
    egress = [
        rule
        for path, obj in testing.objects(result).items()
        if path.startswith("monitoring/networkpolicy-")
        for rule in obj["spec"].get("egress", [])
        if {"port": 9153, "protocol": "TCP"} in rule.get("ports", [])
    ]
    assert egress and all(
        peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
        and peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        for rule in egress
        for peer in rule["to"]
    )
    # Without the rule nobody reaches CoreDNS on 9153: the exporter has DNS only.
    plain = _synth(tmp_path / "plain", testing.StandIn("monitoring", Capability.METRICS))
    assert not [f for f in plain.network.flows if any(p.port == 9153 for p in f.ports)]
    with pytest.raises(ValidationError, match="name the ports"):
        KubeDns(reason="CoreDNS")


class Store:
    """A server whose metrics scheme follows every bucket claim of the run (as an S3 server's TLS does)."""

    seen_in_workloads: list[str] | None = None

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="store", title="Store", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_metrics_targets(self, ctx) -> list[MetricsTarget]:  # type: ignore[no-untyped-def]
        from ink.models import BucketClaim

        claims = [n for n in ctx.needs if isinstance(n, BucketClaim)]
        verify = bool(claims) and all(c.tls for c in claims)
        return [MetricsTarget(pods=PODS, port=9000, scheme="https" if verify else "http")]

    @ink.hookimpl
    def ink_workloads(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.seen_in_workloads = sorted(n.key for n in ctx.needs)


class Claimer:
    def __init__(self, name: str, tls: bool) -> None:
        self.name, self.tls = name, tls

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title=self.name, version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_bucket_claims(self) -> list:  # type: ignore[type-arg]
        from ink.models import BucketClaim

        return [BucketClaim(bucket=f"{self.name}-data", tls=self.tls)]


@pytest.mark.parametrize(("tls", "scheme"), [((True, True), "https"), ((True, False), "http")])
def test_metrics_targets_see_every_claim_of_the_run(tmp_path: Path, tls: tuple[bool, bool], scheme: str) -> None:
    # Declared one capability at a time in BUILTIN's order: buckets before metrics targets, whichever plugin is first.
    store = Store()
    extra: dict[str, object] = {
        "secrets": testing.StandIn("secrets", SECRETS),
        "monitoring": testing.StandIn("monitoring", Capability.METRICS),
        "s3": testing.StandIn("s3", Capability.S3),
        "aaa": Claimer("aaa", tls[0]),
        "store": store,
        "zzz": Claimer("zzz", tls[1]),
    }
    result = testing.synth(tmp_path, plugins=[], extra=extra, validate=False)
    assert testing.metrics_targets(result, "store")["metrics"].scheme == scheme
    # From the provide phase on: every need of the run, answered.
    assert store.seen_in_workloads == ["metrics/metrics", "s3/aaa-data", "s3/zzz-data"]


class HostExporter(Exporter):
    """An exporter on the host network (a node agent): its target says so."""

    @ink.hookimpl
    def ink_metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(pods=PODS, port=9120, host_network=True)]


def test_a_host_network_target_opens_egress_to_the_nodes_instead_of_a_pod_flow(tmp_path: Path) -> None:
    extra: dict[str, object] = {
        "secrets": testing.StandIn("secrets", SECRETS),
        "exporter": HostExporter(),
        "monitoring": testing.StandIn("monitoring", Capability.METRICS),
    }
    result = testing.synth(tmp_path, plugins=[], extra=extra, validate=False)
    flows = [f for f in result.network.flows if f.edge == "exporter→monitoring:metrics/metrics"]
    assert flows and {f.source.text() for f in flows} == {"monitoring[app=scraper]"}
    assert all(f.target.cidr and [p.text() for p in f.ports] == ["9120/TCP"] for f in flows)
    # No ingress rule on the exporter's side: the host network is outside the pods' policies.
    objects = testing.objects(result)
    assert "exporter/networkpolicy-allow-ingress-exporter.yaml" not in objects
    egress = [
        rule
        for path, body in objects.items()
        if path.startswith("monitoring/networkpolicy-")
        for rule in body["spec"].get("egress", [])
        if {"port": 9120, "protocol": "TCP"} in rule.get("ports", [])
    ]
    assert egress and all(all("ipBlock" in peer for peer in rule["to"]) for rule in egress)
    assert not result.network.problems
