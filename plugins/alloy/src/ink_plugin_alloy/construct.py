"""Alloy from the official chart as a DaemonSet, its configuration (Alloy syntax) rendered here.

Upstream facts (chart 1.11.1 values.yaml and templates; Alloy docs "Collect Kubernetes logs and forward them to
Loki", components loki.source.file, loki.source.journal, discovery.kubernetes): the chart sets HOSTNAME to the
node's name; a DaemonSet limits discovery to its own node with a ``spec.nodeName`` field selector; a container's
log files are ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/*.log`` in the CRI format (``stage.cri``);
``loki.source.journal`` without ``path`` reads /var/log/journal and /run/log/journal and needs /etc/machine-id.
"""

from __future__ import annotations

from typing import Any

from ink import kube
from ink.context import ServiceContext
from ink.podsecurity import restricted_container_context
from ink_plugin_alloy import JOURNAL_PATHS, POD_LOGS, AlloySettings

CHART_REPO = "https://grafana.github.io/helm-charts"
STORAGE = "/tmp/alloy"  # the chart's storagePath: read positions of the files and the journal
PUSH_PATH = "/loki/api/v1/push"

PODS_CONFIG = """\
// The pods of this node, from the API server (names, labels, uids); their logs are read from the node's files.
discovery.kubernetes "pods" {
  role = "pod"
  selectors {
    role  = "pod"
    field = "spec.nodeName=" + sys.env("HOSTNAME")
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets

  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_node_name"]
    target_label  = "node"
  }
  // app: the pod's app label, else app.kubernetes.io/name (the one ink and most charts set).
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app"]
    regex         = "(.+)"
    target_label  = "app"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    regex         = "(.+)"
    target_label  = "app"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "%(pod_logs)s/*$1/*.log"
  }
}

local.file_match "pods" {
  path_targets = discovery.relabel.pods.output
}

loki.source.file "pods" {
  targets    = local.file_match.pods.targets
  forward_to = [loki.process.pods.receiver]
}

// Container runtimes write CRI lines: time, stream, flags, message.
loki.process "pods" {
  stage.cri {}
  forward_to = [loki.write.loki.receiver]
}
"""

JOURNAL_CONFIG = """\

// The node's systemd journal (kubelet, container runtime, kernel).
loki.relabel "journal" {
  forward_to = []

  rule {
    source_labels = ["__journal__systemd_unit"]
    target_label  = "unit"
  }
  rule {
    source_labels = ["__journal_priority_keyword"]
    target_label  = "level"
  }
}

loki.source.journal "node" {
  max_age       = "%(max_age)s"
  relabel_rules = loki.relabel.journal.rules
  labels        = {job = "node/journal", node = sys.env("HOSTNAME")}
  forward_to    = [loki.write.loki.receiver]
}
"""

WRITE_CONFIG = """\

loki.write "loki" {
  endpoint {
    url = "%(url)s"
  }
}
"""


def config(*, push_url: str, journal: bool, max_age: str) -> str:
    """The agent's configuration, in Alloy syntax."""
    text = PODS_CONFIG % {"pod_logs": POD_LOGS}
    if journal:
        text += JOURNAL_CONFIG % {"max_age": max_age}
    return text + WRITE_CONFIG % {"url": push_url}


def _host_mounts(journal: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Read-only hostPath volumes of the node's logs: (volumes, mounts)."""
    paths = (POD_LOGS, *JOURNAL_PATHS) if journal else (POD_LOGS,)
    volumes, mounts = [], []
    for path in paths:
        name = path.strip("/").replace("/", "-").replace("_", "-")
        # A node keeps its journal in /var/log/journal (persistent) or /run/log/journal (volatile), not always
        # both: the missing one is created empty rather than failing the pod.
        kind = {"/etc/machine-id": "File", POD_LOGS: "Directory"}.get(path, "DirectoryOrCreate")
        volumes.append({"name": name, "hostPath": {"path": path, "type": kind}})
        mounts.append({"name": name, "mountPath": path, "readOnly": True})
    volumes.append({"name": "storage", "emptyDir": {}})
    mounts.append({"name": "storage", "mountPath": STORAGE})
    return volumes, mounts


def alloy(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings: AlloySettings = ctx.settings  # type: ignore[assignment]
    loki = ctx.link("loki")
    assert loki is not None  # a required link: core stops before workloads without a target
    volumes, mounts = _host_mounts(settings.journal)
    resources = settings.resources
    container_resources = resources.kubernetes()
    kube.helm_application(
        scope,
        ctx=ctx,
        release="alloy",
        repo_url=CHART_REPO,
        chart="alloy",
        version=settings.chart_version,
        # checked against the rendered chart (tests/test_charts.py)
        cluster_kinds=("ClusterRole", "ClusterRoleBinding"),
        values={
            "image": {"registry": "docker.io", "repository": "grafana/alloy", "tag": settings.image_tag},
            # The PodLogs CRD is for loki.source.podlogs, which this configuration does not use.
            "crds": {"create": False},
            "controller": {
                "type": "daemonset",
                "volumes": {"extra": volumes},
                # Every node's logs, control-plane and otherwise tainted nodes included.
                "tolerations": [{"operator": "Exists"}],
            },
            "global": {"podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
            "alloy": {
                "configMap": {
                    "create": True,
                    "content": config(
                        push_url=loki.url + PUSH_PATH, journal=settings.journal, max_age=settings.journal_max_age
                    ),
                },
                "storagePath": STORAGE,
                # No usage reports to stats.grafana.org: the agent has no internet egress.
                "enableReporting": False,
                "mounts": {"varlog": False, "dockercontainers": False, "extra": mounts},
                # Root to read the root-owned log files and journal (see the exemptions); nothing else.
                "securityContext": {
                    **restricted_container_context(),
                    "runAsUser": 0,
                    "runAsGroup": 0,
                    "runAsNonRoot": False,
                },
                "resources": container_resources,
            },
            # The chart's checksum/config annotation rolls the pods when the configuration changes: no reloader
            # sidecar needed.
            "configReloader": {"enabled": False},
            # Only the pods of its node, for discovery.kubernetes (the chart's default also reads Secrets,
            # ConfigMaps and monitoring resources cluster-wide, for components this configuration does not use).
            "rbac": {
                "create": True,
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
                # templates/rbac.yaml joins both lists with toYaml, so neither may be empty (an empty one renders
                # as `[]` inside the list); read-only node objects are the least the chart's defaults list.
                "clusterRules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
            },
            # Nothing connects to the agent but the metrics scraper, which selects the pods.
            "service": {"enabled": False},
        },
        sync_wave=0,
    )
