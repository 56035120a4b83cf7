"""Loki: the chart in monolithic mode, its store on the claimed bucket (credentials by env, never in values),
retention as a setting, the loki endpoint, its metrics target, and the S3 provider being required."""

from __future__ import annotations

from pathlib import Path

import pytest

from ink import testing
from ink.errors import ConfigError, UserError
from ink.models import Capability
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["loki", "minio", "sealed-secrets"]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("loki"), plugins=PLUGINS)


def values(result) -> dict:
    app = testing.objects(result)["loki/application-loki-chart.yaml"]
    return app["spec"]["source"]["helm"]["valuesObject"]


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["loki"].distribution == "ink-plugin-loki"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["loki"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []


def test_installed_from_the_community_chart_in_monolithic_mode(default) -> None:
    source = testing.objects(default)["loki/application-loki-chart.yaml"]["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://grafana-community.github.io/helm-charts",
        "loki",
        "18.11.0",
    )
    found = values(default)
    assert found["deploymentMode"] == "Monolithic"
    assert found["singleBinary"]["replicas"] == 1
    assert found["loki"]["image"] == {"registry": "docker.io", "repository": "grafana/loki", "tag": "3.7.6"}
    assert found["loki"]["auth_enabled"] is False
    assert found["loki"]["schemaConfig"]["configs"][0] | {"from": None} == {
        "from": None,
        "store": "tsdb",
        "object_store": "s3",
        "schema": "v13",
        "index": {"prefix": "index_", "period": "24h"},
    }
    for off in ("chunksCache", "resultsCache", "lokiCanary", "test", "gateway", "ruler"):
        assert found[off] == {"enabled": False}, off
    assert found["singleBinary"]["persistence"]["enabled"] is True


def test_store_is_the_claimed_bucket_with_credentials_from_the_bindings_secret(default) -> None:
    found = values(default)
    storage = found["loki"]["storage"]
    assert storage["bucketNames"] == {"chunks": "loki", "ruler": "loki"}
    assert storage["s3"] == {
        "endpoint": "minio.minio.svc:9000",
        "region": "us-east-1",
        "accessKeyId": "${LOKI_S3_ACCESS_KEY_ID}",
        "secretAccessKey": "${LOKI_S3_SECRET_ACCESS_KEY}",
        "s3ForcePathStyle": True,
        "insecure": True,
    }
    binary = found["singleBinary"]
    assert "-config.expand-env=true" in binary["extraArgs"]
    refs = {env["name"]: env["valueFrom"]["secretKeyRef"] for env in binary["extraEnv"]}
    assert refs == {
        "LOKI_S3_ACCESS_KEY_ID": {"name": "loki-s3", "key": "AWS_ACCESS_KEY_ID"},
        "LOKI_S3_SECRET_ACCESS_KEY": {"name": "loki-s3", "key": "AWS_SECRET_ACCESS_KEY"},
    }
    # The Secret the refs name is in Loki's namespace, sealed.
    assert "loki/sealedsecret-loki-s3.yaml" in testing.objects(default)


def test_no_plaintext_secret_in_the_output(default) -> None:
    text = "".join(default.files.values())
    assert "kind: Secret\n" not in text
    assert "secretAccessKey: ${LOKI_S3_SECRET_ACCESS_KEY}" in text


def test_s3_over_tls_mounts_the_ca(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[*PLUGINS, "cert-manager"])  # MinIO serves TLS when cert-manager is on
    found = values(result)
    s3 = found["loki"]["storage"]["s3"]
    assert s3["insecure"] is False
    ca_file = s3["http_config"]["ca_file"]
    mount = found["singleBinary"]["extraVolumeMounts"][0]
    assert ca_file.startswith(mount["mountPath"] + "/")
    volume = found["singleBinary"]["extraVolumes"][0]
    assert volume["name"] == mount["name"]
    assert volume["secret"]["items"][0]["path"] == ca_file.rsplit("/", 1)[1]


def test_retention_defaults_to_30_days_applied_by_the_compactor(default) -> None:
    loki = values(default)["loki"]
    assert loki["limits_config"] == {"retention_period": "30d"}
    assert loki["compactor"] == {"retention_enabled": True, "delete_request_store": "s3"}


def test_retention_from_ink_toml(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, '[plugins.loki]\nretention = "2w"\n', plugins=PLUGINS)
    assert values(result)["loki"]["limits_config"]["retention_period"] == "2w"


def test_retention_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__LOKI__RETENTION", "90d")
    result = testing.synth(tmp_path, plugins=PLUGINS)
    assert values(result)["loki"]["limits_config"]["retention_period"] == "90d"


@pytest.mark.parametrize("bad", ["30", "12h", "36h", "1y", "30 days"])
def test_bad_retention_is_a_config_error_naming_the_key(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match=r"retention"):
        testing.synth(tmp_path, f'[plugins.loki]\nretention = "{bad}"\n', plugins=PLUGINS)


def test_the_loki_endpoint_is_the_charts_service(default) -> None:
    assert default.graph is not None
    endpoints = {(e.name, e.kind, e.port, e.service) for e in default.graph.endpoints["loki"]}
    assert endpoints == {("api", "loki", 3100, "loki")}


def test_metrics_target_with_a_metrics_provider(tmp_path: Path) -> None:
    metrics = testing.StandIn("metrics", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"metrics": metrics})
    target = testing.metrics_targets(result, "loki")["loki"]
    assert (target.port, target.path, target.pods["app.kubernetes.io/component"]) == (3100, "/metrics", "single-binary")


def test_no_metrics_target_without_a_metrics_provider(default) -> None:
    assert testing.metrics_targets(default, "loki") == {}


def test_without_an_s3_provider_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"s3") as err:
        testing.synth(tmp_path, plugins=["loki", "sealed-secrets"])
    assert "loki" in str(err.value)
