"""What restore drills share: kubectl steps in a Job, and the result ConfigMap a passing run records.

A drill (CloudNativePG's, Velero's) is a CronJob whose init containers run one kubectl command each
(the kubectl image is distroless: no shell), a shell step that writes the result manifest once every
step before it passed, and a kubectl step that applies it. The result ConfigMap always carries
``lastSuccess`` (UTC, RFC 3339); its other keys are the drill's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from ink import workload as kube
from ink.models import AlertRule

# The official kubectl image (kubernetes/kubernetes CHANGELOG-1.36.md, "Container Images"); distroless
# (build/common.sh: KUBECTL_BASE_IMAGE is go-runner), so each step runs kubectl itself, without a shell.
# renovate: datasource=docker depName=registry.k8s.io/kubectl
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.36.0"
RESULT_DIR = "/result"
RESULT_FILE = f"{RESULT_DIR}/result.yaml"
KUBECTL_HOME = "/home/kubectl"


def result_script(name: str, namespace: str, data: Mapping[str, str]) -> str:
    """Shell that writes the result ConfigMap ``name`` to :data:`RESULT_FILE`, with ``lastSuccess`` set to now.

    The values stand in an unquoted here-document: ``$var`` and ``$(...)`` expand, so pass literal text
    without ``$``, backquotes or double quotes.
    """
    lines = [
        f"cat > {RESULT_FILE} <<EOF",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {namespace}",
        "data:",
        '  lastSuccess: "$(date -u +%Y-%m-%dT%H:%M:%SZ)"',
        *(f'  {key}: "{value}"' for key, value in data.items()),
        "EOF",
    ]
    return "\n".join(lines) + "\n"


# The drill Job's shared parts: the result scratch volume, kubectl's home (its discovery cache), small resources.
RESULT_VOLUME = kube.Scratch(name="result", mount_path=RESULT_DIR, size_limit="1Mi")
KUBECTL_HOME_VOLUME = kube.Scratch(name="home", mount_path=KUBECTL_HOME, size_limit="64Mi")
STEP_RESOURCES = kube.Resources(cpu_request="10m", memory_request="64Mi", memory_limit="128Mi")


def kubectl(name: str, namespace: str, *args: str, mounts: tuple[kube.Mount, ...] = ()) -> kube.Container:
    """A step running ``kubectl --namespace=<namespace> <args>``."""
    return kube.Container(
        name=name,
        image=KUBECTL_IMAGE,
        command=["kubectl", f"--namespace={namespace}", *args],
        env={"HOME": KUBECTL_HOME},
        mounts=(KUBECTL_HOME_VOLUME, *mounts),
        resources=STEP_RESOURCES,
    )


def record(namespace: str) -> kube.Container:
    """The step applying the result manifest that a step before wrote (:func:`result_script`)."""
    return kubectl("record", namespace, "apply", f"--filename={RESULT_FILE}", mounts=(RESULT_VOLUME,))


def cron_period_hours(cron: str) -> int:
    """An upper bound of the time between two runs of a cron schedule (5 fields, or 6 with seconds), in hours,
    from its day fields: daily 24, weekly 168, monthly 744, yearly 8784."""
    day, month, weekday = cron.split()[-3:]
    if month != "*":
        return 366 * 24
    if day != "*":
        return 31 * 24
    return 7 * 24 if weekday != "*" else 24


def late_alert(alert: str, *, namespace: str, cronjob: str, schedule: str, what: str, description: str) -> AlertRule:
    """An alert for drills that have not passed within their schedule's longest gap plus a day.

    ``cronjob`` is the PromQL matcher of the drill CronJobs' names, operator included: ``'="postgres-ha-drill"'``
    or ``'=~"drill-.+"'``. kube-state-metrics series:
    ``kube_cronjob_status_last_successful_time`` and ``kube_cronjob_created`` {namespace, cronjob}
    (kube-state-metrics docs/metrics/workload/cronjob-metrics.md); a drill that never passed has no
    last-successful series, so its age counts from the CronJob's creation.
    """
    limit = cron_period_hours(schedule) + 24
    selector = f'namespace="{namespace}", cronjob{cronjob}'
    return AlertRule(
        alert=alert,
        expr=f"(time() - kube_cronjob_status_last_successful_time{{{selector}}} > {limit} * 3600) or "
        f"((time() - kube_cronjob_created{{{selector}}} > {limit} * 3600) unless on (namespace, cronjob) "
        f"kube_cronjob_status_last_successful_time{{{selector}}})",
        for_="15m",
        summary=f"{what} has not passed for over {limit} hours",
        description=description,
    )
