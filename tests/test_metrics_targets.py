"""Every metrics endpoint a plugin declares is served by the pods it names, and declaring one takes no other code.

For each MetricsTarget of the maximal config (tests/configs/maximal.toml), its ``pods`` labels select pods in
its namespace, each with ``port`` as a container port: pods ink renders itself are read from the output, pods a
chart renders from ``helm template`` of the owner's chart Applications (tests/chartrender.py, as Argo CD does).
Only pods an operator creates at run time are in neither; those targets are listed with the upstream source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chartrender
import metricsconfig
import pytest

import ink
from ink import testing
from ink.capabilities import SECRETS
from ink.models import Capability, MetricsBinding, MetricsTarget, ServiceInfo

KUBERNETES_VERSION = "1.33"
# Targets whose pods an operator creates (not in the output, not in a chart): (owner, target) → source.
OPERATOR_PODS = {
    ("cloudnativepg", "cluster"): "CloudNativePG docs, 'Monitoring': every instance pod serves port 9187 'metrics'",
    ("mongodb", "members"): "mongodb-kubernetes controllers/construct/mongodbstatefulset.go: the operator's "
    "StatefulSet (pods app=mongodb-svc), with the agent's port 9216 from ink's statefulSet.spec override",
}


def rendered(owner: str, alternative: str = "") -> list[dict[str, Any]]:
    """What the owner's chart Applications render, each object in the Application's namespace unless it names one."""
    objects = testing.objects(metricsconfig.maximal(alternative)).values()
    result = []
    for app in chartrender.chart_applications(objects):
        if app.service != owner:
            continue
        for obj in chartrender.render(app, kube_version=KUBERNETES_VERSION):
            obj.setdefault("metadata", {}).setdefault("namespace", app.namespace)
            result.append(obj)
    return result


@pytest.mark.parametrize(
    "target",
    [pytest.param((t.owner, t.name), id=f"{t.owner}-{t.name}") for t in metricsconfig.targets()],
)
def test_the_pods_a_target_names_serve_its_port(target: tuple[str, str]) -> None:
    owner, name = target
    if target in OPERATOR_PODS:
        assert testing.metrics_targets(metricsconfig.maximal(), owner)[name]
        return
    testing.assert_metrics_target_serves(metricsconfig.maximal(), owner, name, rendered=rendered(owner))


@pytest.mark.parametrize("owner", sorted(metricsconfig.ALTERNATIVES))
def test_the_targets_of_plugins_the_maximal_config_swaps_out_are_served_too(owner: str) -> None:
    result = metricsconfig.maximal(owner)
    names = sorted(testing.metrics_targets(result, owner))
    assert names, f"{owner} declares no metrics target with its swap applied"
    for name in names:
        testing.assert_metrics_target_serves(result, owner, name, rendered=rendered(owner, owner))


def test_operator_made_targets_are_still_declared() -> None:
    declared = {(t.owner, t.name) for t in metricsconfig.targets()}
    assert set(OPERATOR_PODS) <= declared, "an entry of OPERATOR_PODS names no target: remove it"


class Exporter:
    """A test-only plugin that declares a metrics endpoint and does nothing else for it."""

    binding: object = None

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="exporter", title="Exporter", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(pods={"app.kubernetes.io/name": "exporter"}, port=9100)]

    @ink.hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        self.binding = ctx.bindings.get("metrics/metrics")  # only read, to show it is there
        port = kube.Port(name="metrics", number=9100)
        container = kube.Container(name="exporter", image="quay.io/prometheus/node-exporter:v1.9.1", ports=[port])
        kube.Workloads(scope, "exporter", ctx=ctx, components=[kube.Component(name="exporter", containers=[container])])


def test_a_plugin_declaring_a_metrics_target_gets_binding_edge_and_policy_with_no_other_code(tmp_path: Path) -> None:
    extra = {
        "secrets": testing.StandIn("secrets", SECRETS),
        "monitoring": testing.StandIn("monitoring", Capability.METRICS),
        "exporter": (exporter := Exporter()),
    }
    result = testing.synth(tmp_path, plugins=[], extra=extra, validate=False)
    assert result.graph is not None
    testing.assert_metrics_target_serves(result, "exporter")
    assert isinstance(exporter.binding, MetricsBinding) and exporter.binding.monitor == "PodMonitor exporter/exporter"
    assert [(e.source, e.target, e.name) for e in result.graph.edges if e.name.startswith("metrics/")] == [
        ("exporter", "monitoring", "metrics/metrics")
    ]
    ingress = testing.objects(result)["exporter/networkpolicy-allow-ingress-exporter.yaml"]["spec"]["ingress"]
    assert {"port": 9100, "protocol": "TCP"} in [p for rule in ingress for p in rule.get("ports", [])]
