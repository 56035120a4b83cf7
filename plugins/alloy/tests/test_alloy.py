"""Alloy: the chart as a DaemonSet, the configuration it gets (pod log files, the journal, the labels, the push
URL from the loki link), the host access it declares, its metrics target, and the loki link being required."""

from __future__ import annotations

from pathlib import Path

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError, InkError
from ink.models import Capability, Endpoint, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["alloy", "loki", "minio", "sealed-secrets"]


class OtherLogs:
    """Another service serving the loki kind, at another address: the URL must come from the link."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="logstore", title="Log store", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_endpoints(self) -> list[Endpoint]:
        return [Endpoint(name="push", port=8080, kind="loki")]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("alloy"), plugins=PLUGINS)


def values(result) -> dict:
    app = testing.objects(result)["alloy/application-alloy-chart.yaml"]
    return app["spec"]["source"]["helm"]["valuesObject"]


def config(result) -> str:
    return values(result)["alloy"]["configMap"]["content"]


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["alloy"].distribution == "ink-plugin-alloy"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["alloy"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []


def test_installed_from_the_official_chart_as_a_daemonset(default) -> None:
    source = testing.objects(default)["alloy/application-alloy-chart.yaml"]["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://grafana.github.io/helm-charts",
        "alloy",
        "1.11.1",
    )
    found = values(default)
    assert found["controller"]["type"] == "daemonset"
    assert found["image"] == {"registry": "docker.io", "repository": "grafana/alloy", "tag": "v1.18.1"}
    assert found["alloy"]["resources"] == {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
    assert found["alloy"]["enableReporting"] is False


def test_pushes_to_the_linked_loki(default) -> None:
    assert 'url = "http://loki.loki.svc:3100/loki/api/v1/push"' in config(default)


def test_push_url_comes_from_the_link(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["alloy"], extra={"logstore": OtherLogs()})
    assert 'url = "http://logstore.logstore.svc:8080/loki/api/v1/push"' in config(result)
    assert "loki.loki.svc" not in config(result)


def test_without_loki_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InkError, match=r"alloy.*loki") as err:
        testing.synth(tmp_path, plugins=["alloy"])
    assert "\n" not in str(err.value).strip()


def test_collects_the_pod_log_files_of_its_node_with_their_labels(default) -> None:
    text = config(default)
    assert 'field = "spec.nodeName=" + sys.env("HOSTNAME")' in text
    assert 'replacement   = "/var/log/pods/*$1/*.log"' in text
    for source, label in [
        ("__meta_kubernetes_namespace", "namespace"),
        ("__meta_kubernetes_pod_name", "pod"),
        ("__meta_kubernetes_pod_container_name", "container"),
        ("__meta_kubernetes_pod_node_name", "node"),
        ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "app"),
    ]:
        assert f'source_labels = ["{source}"]' in text and f'target_label  = "{label}"' in text
    assert "loki.source.file" in text and "stage.cri {}" in text


def test_collects_the_journal_read_only(default) -> None:
    text = config(default)
    assert 'loki.source.journal "node"' in text
    assert 'max_age       = "12h"' in text
    mounts = {m["mountPath"]: m for m in values(default)["alloy"]["mounts"]["extra"]}
    for path in ("/var/log/pods", "/var/log/journal", "/run/log/journal", "/etc/machine-id"):
        assert mounts[path]["readOnly"] is True, path
    volumes = {v["name"]: v for v in values(default)["controller"]["volumes"]["extra"]}
    assert volumes["etc-machine-id"]["hostPath"] == {"path": "/etc/machine-id", "type": "File"}


def test_journal_off(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.alloy]\njournal = false\n", plugins=PLUGINS)
    assert "loki.source.journal" not in config(result)
    paths = {m["mountPath"] for m in values(result)["alloy"]["mounts"]["extra"]}
    assert paths == {"/var/log/pods", "/tmp/alloy"}


def test_journal_max_age_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__ALLOY__JOURNAL_MAX_AGE", "2h")
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert 'max_age       = "2h"' in config(result)


def test_bad_journal_max_age_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"journal_max_age"):
        testing.synth(tmp_path, '[plugins.alloy]\njournal_max_age = "1 day"\n', plugins=PLUGINS)


def test_root_without_capabilities_and_a_privileged_namespace(default) -> None:
    context = values(default)["alloy"]["securityContext"]
    assert context["runAsUser"] == 0
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    labels = testing.objects(default)["alloy/namespace-alloy.yaml"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_reads_only_pods_and_nodes_from_the_api(default) -> None:
    rbac = values(default)["rbac"]
    assert [r["resources"] for r in rbac["rules"] + rbac["clusterRules"]] == [["pods"], ["nodes"]]
    assert all(r["verbs"] == ["get", "list", "watch"] for r in rbac["rules"] + rbac["clusterRules"])


def test_metrics_target_with_a_metrics_provider(tmp_path: Path) -> None:
    metrics = testing.StandIn("metrics", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"metrics": metrics})
    target = testing.metrics_targets(result, "alloy")["alloy"]
    assert (target.port, target.path) == (12345, "/metrics")


def test_no_metrics_target_without_a_metrics_provider(default) -> None:
    assert testing.metrics_targets(default, "alloy") == {}
