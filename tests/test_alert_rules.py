"""Every alert ink writes is a valid Prometheus rule: its PromQL parses, names are unique, severity and summary set.

The rules are those of every MetricsTarget of the maximal config (tests/configs/maximal.toml, every plugin),
written as the metrics provider writes them (one group per target), and every PrometheusRule object in the
output (the provider's own, when a real one is installed). Each expression is parsed by promql-parser (PyPI; the
Rust PromQL parser of GreptimeDB, which follows Prometheus's grammar): a prebuilt wheel, where promtool would
be a build of the whole Prometheus module on every fresh CI machine. The PrometheusRule objects themselves are
checked against the CRD's schema by the output validation and the API server tier.
"""

from __future__ import annotations

import re
from typing import Any

import metricsconfig
import promql_parser

from ink import testing
from ink.models import DURATION_PATTERN, AlertRule


def rule(alert: AlertRule) -> dict[str, Any]:
    """One alerting rule as Prometheus reads it (what a PrometheusRule's spec.groups[].rules[] holds)."""
    annotations = {"summary": alert.summary, **({"description": alert.description} if alert.description else {})}
    return {
        "alert": alert.alert,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {**alert.labels, "severity": alert.severity},
        "annotations": annotations,
    }


def declared_groups() -> list[dict[str, Any]]:
    return [
        {"name": f"{t.owner}-{t.name}", "rules": [rule(a) for a in t.alerts]}
        for t in metricsconfig.targets()
        if t.alerts
    ]


def output_groups() -> list[dict[str, Any]]:
    objects = [obj for _, obj in sorted(testing.objects(metricsconfig.maximal()).items())]
    return [group for obj in objects if obj.get("kind") == "PrometheusRule" for group in obj["spec"]["groups"]]


def problems(groups: list[dict[str, Any]]) -> list[str]:
    """What Prometheus would refuse in these rule groups: an expression that does not parse, a bad duration."""
    found = []
    for group in groups:
        for entry in group["rules"]:
            name = entry.get("alert") or entry.get("record")
            try:
                promql_parser.parse(entry["expr"])
            except ValueError as err:
                found.append(f"{group['name']}/{name}: {err}")
            if not re.fullmatch(DURATION_PATTERN, str(entry.get("for", "0s"))):
                found.append(f"{group['name']}/{name}: for {entry['for']!r} is not a duration")
    return found


def test_the_maximal_config_declares_the_backup_certificate_and_seal_alerts() -> None:
    names = {a.alert for t in metricsconfig.targets() for a in t.alerts}
    expected = {
        "VeleroBackupLate",
        "VeleroRestoreDrillLate",
        "CloudNativePGBackupLate",
        "CloudNativePGRestoreDrillLate",
        "CloudNativePGClusterDegraded",
        "CertificateExpiresSoon",
        "VaultSealed",
    }
    assert expected <= names, f"missing: {sorted(expected - names)}"


def test_every_declared_alert_parses() -> None:
    groups = declared_groups()
    assert groups
    assert problems(groups) == []


def test_every_prometheus_rule_in_the_output_parses() -> None:
    groups = output_groups()
    if not groups:
        # Only the metrics provider writes PrometheusRules; without one installed, the stand-in writes none.
        assert metricsconfig.installed_metrics_provider() is None
        return
    assert problems(groups) == []


def test_a_broken_rule_is_reported() -> None:
    # The check itself can fail: PromQL syntax errors (an open parenthesis, a misspelt aggregation) are reported.
    broken = AlertRule(alert="Broken", expr="time() - (", summary="x")
    misspelt = AlertRule(alert="Misspelt", expr="sum(rate(x[5m])) byy (job)", summary="x")
    found = problems([{"name": "g", "rules": [rule(broken), rule(misspelt)]}])
    assert [line.split(":")[0] for line in found] == ["g/Broken", "g/Misspelt"]


def test_alert_names_are_unique_and_every_rule_has_severity_and_summary() -> None:
    # With a real provider the output holds the declared rules (and its own); without one, only the declared exist.
    rules = [r for g in (output_groups() or declared_groups()) for r in g["rules"] if "alert" in r]
    names = [r["alert"] for r in rules]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    for r in rules:
        assert r["labels"].get("severity") in ("critical", "warning", "info"), r["alert"]
        assert r["annotations"].get("summary"), r["alert"]
