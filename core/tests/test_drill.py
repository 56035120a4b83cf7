"""The restore drills' shared steps (ink.drill): the result manifest the shell step writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from ink import drill


def test_the_result_script_writes_a_configmap_with_last_success_and_the_fields(tmp_path: Path) -> None:
    script = drill.result_script("db-drill-result", "cloudnativepg", {"databases": "$count", "verified": "a b"})
    target = tmp_path / "result.yaml"
    assert drill.RESULT_FILE in script
    subprocess.run(["sh", "-c", "set -eu\ncount=3\n" + script.replace(drill.RESULT_FILE, str(target))], check=True)
    manifest = yaml.safe_load(target.read_text())
    assert manifest["kind"] == "ConfigMap"
    assert manifest["metadata"] == {"name": "db-drill-result", "namespace": "cloudnativepg"}
    assert manifest["data"]["databases"] == "3"  # the shell expanded it
    assert manifest["data"]["verified"] == "a b"
    assert manifest["data"]["lastSuccess"].endswith("Z") and len(manifest["data"]["lastSuccess"]) == 20


def test_a_kubectl_step_has_its_namespace_home_and_limits() -> None:
    step = drill.kubectl("wait", "velero", "wait", "restore.velero.io/x", mounts=(drill.RESULT_VOLUME,))
    assert step.image == drill.KUBECTL_IMAGE
    assert step.command == ["kubectl", "--namespace=velero", "wait", "restore.velero.io/x"]
    assert step.env == {"HOME": drill.KUBECTL_HOME}
    assert step.mounts == (drill.KUBECTL_HOME_VOLUME, drill.RESULT_VOLUME)
    assert step.resources.memory_limit == "128Mi"
    assert drill.record("velero").command[-2:] == ["apply", f"--filename={drill.RESULT_FILE}"]


@pytest.mark.parametrize(
    ("cron", "hours"),
    [("0 3 * * *", 24), ("0 5 * * 0", 168), ("0 5 1 * *", 744), ("0 5 1 1 *", 8784), ("0 0 3 * * *", 24)],
)
def test_cron_period_hours_bounds_the_gap_between_runs(cron: str, hours: int) -> None:
    assert drill.cron_period_hours(cron) == hours


def test_a_late_drill_alert_covers_a_drill_that_never_passed() -> None:
    alert = drill.late_alert(
        "DrillLate", namespace="db", cronjob='="db-drill"', schedule="0 5 * * 0", what="the drill", description="d"
    )
    assert alert.summary == "the drill has not passed for over 192 hours"
    assert 'kube_cronjob_created{namespace="db", cronjob="db-drill"} > 192 * 3600' in alert.expr
    assert "unless on (namespace, cronjob)" in alert.expr
