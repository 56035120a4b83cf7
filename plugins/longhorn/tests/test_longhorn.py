"""Longhorn: chart values, recurring jobs, the S3 backup target and its credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError, PluginError
from ink.models import BucketClaim, Capability, GeneratedSecret, S3Binding, SecretKeyRef, ServiceInfo
from ink.plugins import make_plugin_host
from ink.secrets import MasterKey
from ink.validate import ManifestValidator
from ink_plugin_minio import access_key_id

PLUGINS = ["longhorn", "minio", "sealed-secrets"]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("longhorn")
    return directory, testing.synth(directory, plugins=PLUGINS)


def objects(default) -> dict:
    return testing.objects(default[1])


def values(result) -> dict:
    return testing.objects(result)["longhorn/application-longhorn-chart.yaml"]["spec"]["source"]["helm"]["valuesObject"]


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["longhorn"].distribution == "ink-plugin-longhorn"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["longhorn"]) == snapshot


def test_output_validates(default, crd_dir: Path) -> None:
    # Strict: every kind has a schema (shared/crds has BackupTarget v1beta2 since the 2026-08 catalog snapshot).
    strict = ManifestValidator("1.33", [crd_dir]).validate_all(objects(default).items())
    assert [str(p) for p in strict.problems] == []
    assert strict.checked == len(objects(default))


def test_installed_from_the_official_chart_in_longhorn_system(default) -> None:
    app = objects(default)["longhorn/application-longhorn-chart.yaml"]
    source = app["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://charts.longhorn.io",
        "longhorn",
        "1.11.3",
    )
    assert app["spec"]["destination"]["namespace"] == "longhorn-system"
    assert source["helm"]["valuesObject"]["preUpgradeChecker"] == {"jobEnabled": False}


def test_namespace_is_privileged(default) -> None:
    namespace = objects(default)["longhorn/namespace-longhorn-system.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_storage_class_longhorn_comes_from_the_chart(default) -> None:
    persistence = values(default[1])["persistence"]
    assert persistence == {
        "defaultClass": True,
        "defaultClassReplicaCount": 3,
        "reclaimPolicy": "Retain",
        "defaultFsType": "ext4",
    }
    # No second StorageClass object: longhorn-manager owns the one named "longhorn".
    assert not any(body["kind"] == "StorageClass" for body in objects(default).values())


def test_recurring_snapshot_and_backup_for_the_default_group(default) -> None:
    found = objects(default)
    snapshot = found["longhorn/recurringjob-daily-snapshot.yaml"]["spec"]
    backup = found["longhorn/recurringjob-daily-backup.yaml"]["spec"]
    assert (snapshot["task"], snapshot["retain"], snapshot["groups"]) == ("snapshot", 7, ["default"])
    assert (backup["task"], backup["retain"], backup["groups"]) == ("backup", 14, ["default"])
    assert snapshot["name"] == "daily-snapshot" and backup["name"] == "daily-backup"
    assert snapshot["cron"] == "0 1 * * *" and backup["cron"] == "0 2 * * *"


def test_backup_target_on_the_claimed_bucket(default) -> None:
    target = objects(default)["longhorn/backuptarget-default.yaml"]
    assert target["apiVersion"] == "longhorn.io/v1beta2"
    assert target["metadata"]["namespace"] == "longhorn-system"
    assert target["spec"] == {
        "backupTargetURL": "s3://longhorn@us-east-1/",
        "credentialSecret": "longhorn-backup-target",
        "pollInterval": "300s",
    }


def test_credentials_secret_matches_the_buckets_user(default) -> None:
    directory, result = default
    found = testing.objects(result)
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)

    def opened(path: str, field: str) -> str:
        body = found[path]
        meta = body["metadata"]
        return sealing.unseal_value(
            key, namespace=meta["namespace"], name=meta["name"], ciphertext=body["spec"]["encryptedData"][field]
        ).decode()

    path = "longhorn/sealedsecret-longhorn-backup-target.yaml"
    assert set(found[path]["spec"]["encryptedData"]) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINTS",
        "VIRTUAL_HOSTED_STYLE",
    }
    # The binding's key pair: the ids minio generates, and the very values in minio's own Secret.
    master = MasterKey(testing.TEST_MASTER_KEY.encode(), "test")
    assert opened(path, "AWS_ACCESS_KEY_ID") == master.derive(access_key_id("longhorn"))
    assert opened(path, "AWS_SECRET_ACCESS_KEY") == opened(
        "minio/sealedsecret-longhorn-s3.yaml", "AWS_SECRET_ACCESS_KEY"
    )
    assert opened(path, "AWS_ENDPOINTS") == "http://minio.minio.svc:9000"
    assert opened(path, "VIRTUAL_HOSTED_STYLE") == "false"


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
[plugins.longhorn]
replicas = 2
default_class = false
reclaim_policy = "Delete"
backup_retain = 30
backup_schedule = "30 3 * * 0"
"""
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    persistence = values(result)["persistence"]
    assert (persistence["defaultClassReplicaCount"], persistence["defaultClass"]) == (2, False)
    assert persistence["reclaimPolicy"] == "Delete"
    assert values(result)["defaultSettings"] == {"defaultReplicaCount": 2}
    backup = testing.objects(result)["longhorn/recurringjob-daily-backup.yaml"]["spec"]
    assert (backup["retain"], backup["cron"]) == (30, "30 3 * * 0")


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__LONGHORN__CHART_VERSION", "1.10.2")
    result = testing.synth(tmp_path, plugins=PLUGINS)
    app = testing.objects(result)["longhorn/application-longhorn-chart.yaml"]
    assert app["spec"]["source"]["targetRevision"] == "1.10.2"


class OtherS3:
    """An S3 provider elsewhere, virtual-hosted style, that may or may not expose its key pair."""

    def __init__(self, *, key_pair: bool = True) -> None:
        self.key_pair = key_pair

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="other-s3",
            title="Other S3",
            version="1.0.0",
            homepage="https://example.org",
            provides=(Capability.S3,),
        )

    @hookimpl
    def ink_provide_bucket(self, claim: BucketClaim) -> S3Binding:
        name = f"{claim.bucket}-keys"
        return S3Binding(
            endpoint="https://s3.example.org",
            bucket=claim.bucket,
            region="eu-west-1",
            access_key_id=SecretKeyRef(name=name, key="id"),
            secret_access_key=SecretKeyRef(name=name, key="secret"),
            path_style=False,
            access_key_id_value=GeneratedSecret(id="other/longhorn/id", length=16) if self.key_pair else None,
            secret_access_key_value=GeneratedSecret(id="other/longhorn/secret", length=48) if self.key_pair else None,
        )


def test_endpoint_style_and_keys_come_from_the_binding(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["longhorn", "sealed-secrets"], extra={"other-s3": OtherS3()})
    found = testing.objects(result)
    key = serialization.load_pem_private_key((tmp_path / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    body = found["longhorn/sealedsecret-longhorn-backup-target.yaml"]

    def opened(field: str) -> str:
        ciphertext = body["spec"]["encryptedData"][field]
        return sealing.unseal_value(
            key, namespace="longhorn-system", name="longhorn-backup-target", ciphertext=ciphertext
        ).decode()

    master = MasterKey(testing.TEST_MASTER_KEY.encode(), "test")
    assert opened("AWS_ACCESS_KEY_ID") == master.derive(GeneratedSecret(id="other/longhorn/id", length=16))
    assert opened("AWS_SECRET_ACCESS_KEY") == master.derive(GeneratedSecret(id="other/longhorn/secret", length=48))
    assert opened("AWS_ENDPOINTS") == "https://s3.example.org"
    assert opened("VIRTUAL_HOSTED_STYLE") == "true"
    target = found["longhorn/backuptarget-default.yaml"]["spec"]
    assert target["backupTargetURL"] == "s3://longhorn@eu-west-1/"


def test_an_s3_provider_without_the_key_pair_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"'other-s3' does not expose how the key pair of bucket 'longhorn'"):
        testing.synth(tmp_path, plugins=["longhorn", "sealed-secrets"], extra={"other-s3": OtherS3(key_pair=False)})


def test_a_bad_cron_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="5-field cron"):
        testing.synth(tmp_path, '[plugins.longhorn]\nsnapshot_schedule = "0 0 1 * * *"\n', plugins=PLUGINS)


def test_cluster_requirements(default, tmp_path: Path) -> None:
    needs = default[1].cluster["longhorn"]
    assert [(p.debian, p.rhel) for p in needs.node_packages] == [
        ("open-iscsi", "iscsi-initiator-utils"),
        ("nfs-common", "nfs-utils"),
    ]
    # The default class: k3s's local-path would be a second default StorageClass.
    assert [d.component for d in needs.k3s_disable] == ["local-storage"]
    result = testing.synth(tmp_path, "[plugins.longhorn]\ndefault_class = false\n", plugins=PLUGINS)
    assert result.cluster["longhorn"].k3s_disable == ()


def test_the_manager_is_scraped_with_a_metrics_provider(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"monitoring": monitoring})
    target = testing.metrics_targets(result, "longhorn")["manager"]
    # Pods and port against the rendered chart: tests/test_metrics_targets.py.
    assert (dict(target.pods), target.port, target.path) == ({"app": "longhorn-manager"}, 9500, "/metrics")
