"""Velero: the chart, the storage location on the claimed bucket, one Schedule, and backup bindings."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError, PluginError
from ink.models import (
    BackupBinding,
    BackupTarget,
    BucketClaim,
    Capability,
    S3Binding,
    SecretKeyRef,
    ServiceInfo,
)
from ink.plugins import make_plugin_host
from ink.secrets import MasterKey
from ink.settings import check_cron
from ink.validate import ManifestValidator
from ink_plugin_minio import access_key_id, secret_access_key

PLUGINS = ["velero", "minio", "sealed-secrets"]


class App:
    """A consumer with a data volume it declares as a backup target."""

    def __init__(self, name: str = "notes", pod_volume: str = "data") -> None:
        self.name = name
        self.pod_volume = pod_volume
        self.binding: BackupBinding | None = None

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title=self.name.title(), version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_backup_targets(self) -> list[BackupTarget]:
        return [BackupTarget(volume=f"{self.name}-data", pod_volume=self.pod_volume)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        self.binding = ctx.backup(f"{self.name}-data")
        kube.Workloads(
            scope,
            self.name,
            ctx=ctx,
            components=[
                kube.Component(
                    name="server",
                    object_name=self.name,
                    containers=[
                        kube.Container(
                            name="server",
                            image="docker.io/library/nginx:1.29.0",
                            ports=[kube.Port(name="http", number=8080)],
                            health=kube.HttpProbe(path="/", port=8080),
                            mounts=[kube.Volume(name="data", mount_path="/data", size="1Gi")],
                        )
                    ],
                )
            ],
        )


def synth(directory: Path, config: str = "", **apps: App):
    return testing.synth(directory, config, plugins=PLUGINS, extra=apps)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("velero")
    notes, wiki = App("notes"), App("wiki")
    return directory, synth(directory, notes=notes, wiki=wiki), notes


def objects(default) -> dict:
    return testing.objects(default[1])


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["velero"].distribution == "ink-plugin-velero"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["velero"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_installed_from_the_official_chart_with_aws_plugin_and_node_agent(default) -> None:
    app = objects(default)["velero/application-velero-chart.yaml"]
    source = app["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://vmware-tanzu.github.io/helm-charts",
        "velero",
        "12.2.0",
    )
    values = source["helm"]["valuesObject"]
    assert values["image"]["tag"] == "v1.18.4"
    assert values["initContainers"][0]["image"] == "docker.io/velero/velero-plugin-for-aws:v1.14.4"
    assert values["initContainers"][0]["volumeMounts"] == [{"mountPath": "/target", "name": "plugins"}]
    assert values["deployNodeAgent"] is True
    assert values["configuration"]["uploaderType"] == "kopia"
    assert app["spec"]["destination"]["namespace"] == "velero"


def test_namespace_is_privileged_for_the_node_agent(default) -> None:
    labels = objects(default)["velero/namespace-velero.yaml"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_storage_location_on_the_claimed_bucket(default) -> None:
    location = objects(default)["velero/backupstoragelocation-default.yaml"]
    assert location["spec"]["provider"] == "aws"
    assert location["spec"]["objectStorage"] == {"bucket": "velero"}
    assert location["spec"]["config"] == {
        "region": "us-east-1",
        "s3ForcePathStyle": "true",
        "s3Url": "http://minio.minio.svc:9000",
    }
    assert location["spec"]["credential"] == {"name": "velero-s3-credentials", "key": "cloud"}
    assert location["spec"]["default"] is True


def test_credentials_file_holds_the_buckets_key_pair(default) -> None:
    directory, result, _ = default
    body = testing.objects(result)["velero/sealedsecret-velero-s3-credentials.yaml"]
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    cloud = sealing.unseal_value(
        key, namespace="velero", name="velero-s3-credentials", ciphertext=body["spec"]["encryptedData"]["cloud"]
    ).decode()
    # Built from the binding's key pair specs: the same ids the S3 provider (minio) generates.
    master = MasterKey(testing.TEST_MASTER_KEY.encode(), "test")
    key_id, secret = master.derive(access_key_id("velero")), master.derive(secret_access_key("velero"))
    assert cloud == f"[default]\naws_access_key_id={key_id}\naws_secret_access_key={secret}\n"
    # The same pair the S3 provider gave the bucket's user.
    minio = testing.objects(result)["minio/sealedsecret-velero-s3.yaml"]
    opened = sealing.unseal_value(
        key, namespace="minio", name="velero-s3", ciphertext=minio["spec"]["encryptedData"]["AWS_ACCESS_KEY_ID"]
    ).decode()
    assert opened == key_id


class BareS3:
    """An S3 provider whose binding carries Secret refs only, not the key pair's specs."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="bare-s3", title="Bare S3", version="1.0.0", homepage="https://example.org", provides=(Capability.S3,)
        )

    @hookimpl
    def ink_provide_bucket(self, claim: BucketClaim) -> S3Binding:
        name = f"{claim.bucket}-keys"
        return S3Binding(
            endpoint="http://s3.example:9000",
            bucket=claim.bucket,
            access_key_id=SecretKeyRef(name=name, key="id"),
            secret_access_key=SecretKeyRef(name=name, key="secret"),
        )


def test_an_s3_provider_without_the_key_pair_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"'bare-s3' does not expose how the key pair of bucket 'velero'"):
        testing.synth(tmp_path, plugins=["velero", "sealed-secrets"], extra={"bare-s3": BareS3(), "notes": App()})


def test_one_schedule_for_every_namespace_with_targets(default) -> None:
    found = objects(default)
    schedules = [body for path, body in found.items() if body["kind"] == "Schedule"]
    assert len(schedules) == 1
    spec = schedules[0]["spec"]
    assert spec["schedule"] == "0 3 * * *"
    assert spec["template"]["ttl"] == "720h"
    assert spec["template"]["includedNamespaces"] == ["notes", "wiki"]
    assert spec["template"]["defaultVolumesToFsBackup"] is False
    assert spec["template"]["storageLocation"] == "default"
    assert not any(body["kind"] == "Backup" for body in found.values())


def test_binding_and_the_pod_annotation_it_asks_for(default) -> None:
    binding = default[2].binding
    assert binding is not None
    assert (binding.schedule, binding.ttl, binding.method) == ("0 3 * * *", "720h", "velero file-system backup")
    assert binding.pod_annotations == {"backup.velero.io/backup-volumes": "data"}
    deployment = objects(default)["notes/deployment-notes.yaml"]
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {"backup.velero.io/backup-volumes": "data"}


def test_a_target_without_pod_volume_is_warned_about(tmp_path: Path) -> None:
    result = synth(tmp_path, notes=App(pod_volume=""))
    assert any("names no pod volume" in warning for warning in result.warnings)
    deployment = testing.objects(result)["notes/deployment-notes.yaml"]
    assert "annotations" not in deployment["spec"]["template"]["metadata"]


def test_no_targets_no_schedule(tmp_path: Path) -> None:
    # Velero reads an empty includedNamespaces as "all namespaces".
    result = synth(tmp_path)
    assert not any(body["kind"] == "Schedule" for body in testing.objects(result).values())
    assert "velero/backupstoragelocation-default.yaml" in result.files


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
[plugins.velero]
schedule = "30 1 * * MON-FRI"
ttl = "168h"
chart_version = "12.1.0"
"""
    app = App()
    result = synth(tmp_path, config, notes=app)
    found = testing.objects(result)
    assert found["velero/schedule-declared-volumes.yaml"]["spec"]["schedule"] == "30 1 * * MON-FRI"
    assert found["velero/schedule-declared-volumes.yaml"]["spec"]["template"]["ttl"] == "168h"
    assert found["velero/application-velero-chart.yaml"]["spec"]["source"]["targetRevision"] == "12.1.0"
    assert app.binding is not None and app.binding.schedule == "30 1 * * MON-FRI"


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__VELERO__SCHEDULE", "0 4 * * *")
    result = synth(tmp_path, notes=App())
    assert testing.objects(result)["velero/schedule-declared-volumes.yaml"]["spec"]["schedule"] == "0 4 * * *"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 0 3 * * *", "has 6 fields"),
        ("@daily", "has 1 field"),
        ("61 3 * * *", "minute field '61'"),
        ("0 24 * * *", "outside 0-23"),
        ("0 3 * * funday", "day of week"),
    ],
)
def test_a_bad_schedule_is_a_clear_error(tmp_path: Path, schedule: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"5-field cron|outside|not valid") as raised:
        synth(tmp_path, f'[plugins.velero]\nschedule = "{schedule}"\n', notes=App())
    assert message in str(raised.value)


@pytest.mark.parametrize("schedule", ["0 3 * * *", "*/15 * * * *", "0 2,14 1-7 JAN-JUN 1", "0 0 * * 6", "0 0 * * SUN"])
def test_valid_schedules(schedule: str) -> None:
    assert check_cron(schedule) == schedule
