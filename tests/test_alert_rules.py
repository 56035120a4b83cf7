"""Every alert ink writes is a valid Prometheus rule: checked by promtool, with unique names, severity and summary.

The rules are those of every MetricsTarget of the maximal config (tests/configs/maximal.toml, every plugin),
written as the metrics provider writes them (one group per target), and every PrometheusRule object in the
output (the provider's own, when a real one is installed). ``promtool check rules`` is the pinned promtool that
tests/tools/gobuild.py builds from the Go module proxy (or the one ``PROMTOOL_BINARY`` names; the ``tests`` nox
session sets it), the Prometheus release kube-prometheus-stack deploys.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import chartrender
import metricsconfig
import yaml

from ink import testing
from ink.models import AlertRule


@functools.cache
def promtool() -> Path:
    if named := os.environ.get("PROMTOOL_BINARY"):
        path = Path(named)
        assert path.is_file() and os.access(path, os.X_OK), f"PROMTOOL_BINARY={named} is not an executable file"
        return path
    gobuild = chartrender._gobuild()
    return gobuild.build(gobuild.TOOLS["promtool"])


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


def check_rules(tmp_path: Path, groups: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return subprocess.run(
        [str(promtool()), "check", "rules", str(rules)], capture_output=True, text=True, check=False, timeout=120
    )


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


def test_every_declared_alert_passes_promtool(tmp_path: Path) -> None:
    groups = declared_groups()
    assert groups
    done = check_rules(tmp_path, groups)
    assert done.returncode == 0, done.stdout + done.stderr
    count = sum(len(g["rules"]) for g in groups)
    assert f"SUCCESS: {count} rules found" in done.stdout


def test_every_prometheus_rule_in_the_output_passes_promtool(tmp_path: Path) -> None:
    groups = output_groups()
    if not groups:
        # Only the metrics provider writes PrometheusRules; without one installed, the stand-in writes none.
        assert metricsconfig.installed_metrics_provider() is None
        return
    done = check_rules(tmp_path, groups)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    # The check itself can fail: a PromQL syntax error is reported.
    broken = AlertRule(alert="Broken", expr="time() - (", summary="x")
    done = check_rules(tmp_path, [{"name": "broken", "rules": [rule(broken)]}])
    assert done.returncode != 0
    assert "Broken" in done.stdout + done.stderr or "parse error" in done.stdout + done.stderr


def test_alert_names_are_unique_and_every_rule_has_severity_and_summary() -> None:
    rules = [r for g in [*declared_groups(), *output_groups()] for r in g["rules"] if "alert" in r]
    names = [r["alert"] for r in rules]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    for r in rules:
        assert r["labels"].get("severity") in ("critical", "warning", "info"), r["alert"]
        assert r["annotations"].get("summary"), r["alert"]
