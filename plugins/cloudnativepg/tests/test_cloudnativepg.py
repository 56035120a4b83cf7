"""CloudNativePG: the shared cluster, and a role, database and secrets per claim."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError, UserError
from ink.models import DatabaseBinding, DatabaseClaim, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

# The basic tests need no S3 provider: the backup bucket claim is optional.
PLUGINS = ["cloudnativepg", "sealed-secrets"]
# With an S3 provider (minio, installed for these tests by [tool.ink] test-plugins) the backups are wired.
WITH_S3 = ["cloudnativepg", "minio", "sealed-secrets"]
# With a TLS provider (cert-manager, a test-plugin too) the server's certificate is from the in-cluster CA.
WITH_TLS = ["cloudnativepg", "cert-manager", "sealed-secrets"]


def warned_about_the_backup_bucket(result) -> bool:
    """Core's warning for the dropped optional claim (the rest of its wording is core's)."""
    prefix = "cloudnativepg: no enabled plugin provides s3, so s3/postgres-backups is left out"
    return any(warning.startswith(prefix) for warning in result.warnings)


class App:
    """A consumer with one database that needs the pgvector extension."""

    def __init__(self) -> None:
        self.binding: DatabaseBinding | None = None

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="notes", title="Notes", version="2.0.0", homepage="https://example.org")

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="notes", extensions=("vector",))]

    @hookimpl
    def ink_workloads(self, ctx) -> None:
        self.binding = ctx.database()


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    """No S3 provider: the cluster without backups."""
    directory = tmp_path_factory.mktemp("cnpg")
    app = App()
    return directory, testing.synth(directory, plugins=PLUGINS, extra={"notes": app}), app


@pytest.fixture(scope="module")
def with_s3(tmp_path_factory: pytest.TempPathFactory):
    """minio as the S3 provider: the cluster with backups."""
    directory = tmp_path_factory.mktemp("cnpg-s3")
    app = App()
    return directory, testing.synth(directory, plugins=WITH_S3, extra={"notes": app}), app


@pytest.fixture(scope="module")
def with_tls(tmp_path_factory: pytest.TempPathFactory):
    """cert-manager as the TLS provider: the server's certificate from the in-cluster CA, verified."""
    directory = tmp_path_factory.mktemp("cnpg-tls")
    app = App()
    return directory, testing.synth(directory, plugins=WITH_TLS, extra={"notes": app}), app


def opener(directory: Path, objects: dict):
    """Reads a field of a SealedSecret in dist/ with the development key."""
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)

    def opened(path: str, field: str) -> str:
        body = objects[path]
        meta = body["metadata"]
        value = body["spec"]["encryptedData"][field]
        return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()

    return opened


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["cloudnativepg"].distribution == "ink-plugin-cloudnativepg"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["cloudnativepg", "notes", "sealed-secrets"]) == snapshot


def test_output_with_s3_matches_reviewed_snapshot(with_s3, snapshot) -> None:
    # The S3 provider's own output has its own snapshot (plugins/minio).
    assert testing.snapshot_text(with_s3[1], ["cloudnativepg"]) == snapshot


def test_output_with_tls_matches_reviewed_snapshot(with_tls, snapshot) -> None:
    assert testing.snapshot_text(with_tls[1], ["cloudnativepg"]) == snapshot


@pytest.mark.parametrize("fixture", ["default", "with_s3", "with_tls"])
def test_output_validates(fixture: str, request: pytest.FixtureRequest, ink_validator: ManifestValidator) -> None:
    result = request.getfixturevalue(fixture)[1]
    report = ink_validator.validate_all(testing.objects(result).items())
    assert report.problems == []
    assert report.skipped == {}


def test_cluster_defaults(default) -> None:
    cluster = testing.objects(default[1])["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["metadata"]["name"] == "postgres-ha"
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["storage"] == {"size": "50Gi"}
    # The standard flavour: "system" images are deprecated and will be removed (postgres-containers README);
    # standard carries pgvector and pairs with the Barman Cloud plugin ink backs up with.
    assert cluster["spec"]["imageName"] == "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie"
    assert cluster["spec"]["managed"]["roles"] == [
        {"name": "notes", "ensure": "present", "login": True, "passwordSecret": {"name": "postgres-ha-role-notes"}}
    ]
    # Argo CD must never prune the cluster.
    assert cluster["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == (
        "Delete=false,Prune=false,SkipDryRunOnMissingResource=true"
    )


def test_database_with_extension_and_retained_on_removal(default) -> None:
    database = testing.objects(default[1])["cloudnativepg/database-postgres-ha-notes.yaml"]
    assert database["spec"] == {
        "name": "notes",
        "owner": "notes",
        "cluster": {"name": "postgres-ha"},
        "ensure": "present",
        "databaseReclaimPolicy": "retain",
        "extensions": [{"name": "vector", "ensure": "present"}],
    }


class Sync:
    """A consumer whose sync engine streams logical replication from its database (as SurfSense's Zero does)."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="sync", title="Sync", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="sync", logical_replication=True)]


def test_a_logical_replication_claim_sets_wal_level_and_the_roles_replication(tmp_path: Path, default) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"notes": App(), "sync": Sync()})
    cluster = testing.objects(result)["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["spec"]["postgresql"] == {"parameters": {"wal_level": "logical"}}
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    assert roles["sync"]["replication"] is True
    assert "replication" not in roles["notes"]  # only the claim that asks
    # Without such a claim the operator's default stands and nothing is written.
    assert "postgresql" not in testing.objects(default[1])["cloudnativepg/cluster-postgres-ha.yaml"]["spec"]


def test_both_secrets_hold_the_same_password(default) -> None:
    directory, result, _ = default
    objects = testing.objects(result)
    opened = opener(directory, objects)
    role_password = opened("cloudnativepg/sealedsecret-postgres-ha-role-notes.yaml", "password")
    assert opened("cloudnativepg/sealedsecret-postgres-ha-role-notes.yaml", "username") == "notes"
    assert opened("notes/sealedsecret-notes-db.yaml", "password") == role_password
    assert opened("notes/sealedsecret-notes-db.yaml", "uri") == (
        f"postgresql://notes:{role_password}@postgres-ha-rw.cloudnativepg.svc:5432/notes"
    )
    role = objects["cloudnativepg/sealedsecret-postgres-ha-role-notes.yaml"]
    assert role["spec"]["template"]["type"] == "kubernetes.io/basic-auth"


def test_settings_override(tmp_path: Path) -> None:
    config = """
storage_class = "longhorn"

[plugins.cloudnativepg]
instances = 2
storage_size = "100Gi"
"""
    result = testing.synth(tmp_path, config, plugins=PLUGINS, extra={"notes": App()})
    cluster = testing.objects(result)["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["spec"]["instances"] == 2
    assert cluster["spec"]["storage"] == {"size": "100Gi", "storageClass": "longhorn"}


def test_backups_verify_an_https_s3_endpoint_with_the_in_cluster_ca(tmp_path: Path, ink_validator) -> None:
    # minio serves TLS when every bucket's consumer verifies it: here the ObjectStore is the only one.
    result = testing.synth(tmp_path, plugins=[*WITH_S3, "cert-manager"], extra={"notes": App()})
    objects = testing.objects(result)
    configuration = objects["cloudnativepg/objectstore-postgres-ha-backups.yaml"]["spec"]["configuration"]
    assert configuration["endpointURL"] == "https://minio.minio.svc:9000"
    assert configuration["endpointCA"] == {"name": "postgres-backups-s3-ca", "key": "ca.crt"}
    # The CA Secret is a certificate from the same issuer, in this namespace, beside the ObjectStore.
    ca = objects["cloudnativepg/certificate-postgres-backups-s3-ca.yaml"]
    assert ca["metadata"]["namespace"] == "cloudnativepg"
    assert ca["spec"]["issuerRef"]["name"] == "ink-internal-ca"
    report = ink_validator.validate_all(objects.items())
    assert report.problems == []


def test_operator_installed_from_the_official_chart(default) -> None:
    app = testing.objects(default[1])["cloudnativepg/application-cloudnative-pg-operator.yaml"]
    assert app["spec"]["source"]["repoURL"] == "https://cloudnative-pg.github.io/charts"
    assert app["spec"]["source"]["chart"] == "cloudnative-pg"


def test_backups_go_to_the_claimed_bucket_through_the_barman_cloud_plugin(with_s3) -> None:
    objects = testing.objects(with_s3[1])
    store = objects["cloudnativepg/objectstore-postgres-ha-backups.yaml"]
    assert store["spec"] == {
        "configuration": {
            "destinationPath": "s3://postgres-backups/",
            "endpointURL": "http://minio.minio.svc:9000",
            "s3Credentials": {
                "accessKeyId": {"name": "postgres-backups-s3", "key": "AWS_ACCESS_KEY_ID"},
                "secretAccessKey": {"name": "postgres-backups-s3", "key": "AWS_SECRET_ACCESS_KEY"},
            },
            "wal": {"compression": "gzip"},
        },
        "retentionPolicy": "30d",
    }
    # The credentials Secret lands next to the ObjectStore, which reads it from its own namespace.
    assert "cloudnativepg/sealedsecret-postgres-backups-s3.yaml" in with_s3[1].files
    cluster = objects["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["spec"]["plugins"] == [
        {
            "name": "barman-cloud.cloudnative-pg.io",
            "isWALArchiver": True,
            "parameters": {"barmanObjectName": "postgres-ha-backups"},
        }
    ]
    assert "backup" not in cluster["spec"]  # the deprecated in-tree barmanObjectStore
    scheduled = objects["cloudnativepg/scheduledbackup-postgres-ha-daily.yaml"]
    assert scheduled["spec"] == {
        "schedule": "0 0 2 * * *",
        "cluster": {"name": "postgres-ha"},
        "method": "plugin",
        "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"},
        "backupOwnerReference": "self",
        "immediate": True,
    }


def test_barman_cloud_plugin_from_its_official_chart_in_the_operator_namespace(with_s3) -> None:
    app = testing.objects(with_s3[1])["cloudnativepg/application-plugin-barman-cloud.yaml"]
    source = app["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://cloudnative-pg.github.io/charts",
        "plugin-barman-cloud",
        "0.8.1",
    )
    operator = testing.objects(with_s3[1])["cloudnativepg/application-cloudnative-pg-operator.yaml"]
    assert app["spec"]["destination"]["namespace"] == operator["spec"]["destination"]["namespace"]
    assert int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) > int(
        operator["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
    )


def test_database_binding_carries_the_backup_schedule(with_s3) -> None:
    binding = with_s3[2].binding
    assert binding is not None
    assert binding.backup_schedule == "0 0 2 * * *"
    assert not warned_about_the_backup_bucket(with_s3[1])


def assert_no_backups(result, app: App) -> None:
    objects = testing.objects(result)
    assert not {body["kind"] for body in objects.values()} & {"ObjectStore", "ScheduledBackup"}
    assert "cloudnativepg/application-plugin-barman-cloud.yaml" not in result.files
    assert "cloudnativepg/sealedsecret-postgres-backups-s3.yaml" not in result.files
    assert "plugins" not in objects["cloudnativepg/cluster-postgres-ha.yaml"]["spec"]
    assert app.binding is not None and app.binding.backup_schedule == ""


def test_without_an_s3_provider_no_backups_and_a_warning(default) -> None:
    # backups is on (the default), but the bucket claim is optional: core drops it and warns.
    _, result, app = default
    assert_no_backups(result, app)
    assert warned_about_the_backup_bucket(result)


def test_backups_off_claims_no_bucket_and_warns_about_nothing(tmp_path: Path) -> None:
    app = App()
    config = "[plugins.cloudnativepg]\nbackups = false\n"
    result = testing.synth(tmp_path, config, plugins=PLUGINS, extra={"notes": app})
    assert_no_backups(result, app)
    assert not any("postgres-backups" in warning for warning in result.warnings)


def test_backup_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__CLOUDNATIVEPG__BACKUP_RETENTION", "8w")
    config = '[plugins.cloudnativepg]\nbackup_schedule = "0 30 1 * * 0"\n'
    result = testing.synth(tmp_path, config, plugins=WITH_S3, extra={"notes": App()})
    objects = testing.objects(result)
    assert objects["cloudnativepg/scheduledbackup-postgres-ha-daily.yaml"]["spec"]["schedule"] == "0 30 1 * * 0"
    assert objects["cloudnativepg/objectstore-postgres-ha-backups.yaml"]["spec"]["retentionPolicy"] == "8w"


def test_a_five_field_backup_schedule_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="6-field cron expression with seconds first"):
        testing.synth(tmp_path, '[plugins.cloudnativepg]\nbackup_schedule = "0 2 * * *"\n', plugins=PLUGINS)


class Second:
    """Another service that wants the same database name as App."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="notes2", title="Notes 2", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="notes")]


def test_two_services_cannot_share_a_database(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="notes2 and notes both claim the database 'notes'"):
        testing.synth(tmp_path, plugins=PLUGINS, extra={"notes": App(), "notes2": Second()})


def test_without_a_tls_provider_the_binding_is_plain(default) -> None:
    _, result, app = default
    assert app.binding.tls is False
    assert app.binding.ca is None
    assert app.binding.ca_file == ""
    assert app.binding.ca_mounts() == ()
    cluster = testing.objects(result)["cloudnativepg/cluster-postgres-ha.yaml"]
    assert "certificates" not in cluster["spec"]  # CloudNativePG's own self-signed CA
    assert not any("certificate" in path for path in result.files)


def test_with_tls_the_uri_verifies_the_server_against_the_ca_in_the_consumers_namespace(with_tls) -> None:
    directory, result, app = with_tls
    objects = testing.objects(result)
    opened = opener(directory, objects)
    password = opened("notes/sealedsecret-notes-db.yaml", "password")
    assert opened("notes/sealedsecret-notes-db.yaml", "uri") == (
        f"postgresql://notes:{password}@postgres-ha-rw.cloudnativepg.svc:5432/notes"
        "?sslmode=verify-full&sslrootcert=/etc/ink/database-ca/ca.crt"
    )
    binding = app.binding
    assert binding.tls is True
    assert binding.ca is not None
    assert (binding.ca.name, binding.ca.key) == ("notes-db-ca", "ca.crt")
    assert binding.ca_file == "/etc/ink/database-ca/ca.crt"
    (mount,) = binding.ca_mounts()
    assert (mount.name, mount.mount_path, tuple(mount.keys)) == ("notes-db-ca", "/etc/ink/database-ca", ("ca.crt",))
    # The CA's copy: a certificate from the in-cluster CA in the consumer's namespace, whose Secret has ca.crt.
    ca = objects["notes/certificate-notes-db-ca.yaml"]
    assert ca["metadata"]["namespace"] == "notes"
    assert ca["spec"]["secretName"] == "notes-db-ca"
    assert ca["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "ink-internal-ca"}


def test_with_tls_the_server_certificate_names_the_host_in_the_uri(with_tls) -> None:
    _, result, app = with_tls
    objects = testing.objects(result)
    server = objects["cloudnativepg/certificate-postgres-ha-server.yaml"]
    assert server["metadata"]["namespace"] == "cloudnativepg"
    assert server["spec"]["issuerRef"]["name"] == "ink-internal-ca"
    assert app.binding.host in server["spec"]["dnsNames"]  # verify-full matches the host against these
    for service in ("rw", "ro", "r"):
        assert f"postgres-ha-{service}.cloudnativepg.svc" in server["spec"]["dnsNames"]
    cluster = objects["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["spec"]["certificates"] == {
        "serverTLSSecret": "postgres-ha-server",
        "serverCASecret": "postgres-ha-server",
    }
    # The issuer both certificates name exists.
    issuer = objects["cert-manager/clusterissuer-ink-internal-ca.yaml"]
    assert issuer["spec"] == {"ca": {"secretName": "ink-internal-ca"}}


# --- the restore drill ----------------------------------------------------------------------

DRILL_FILES = {
    "cloudnativepg/serviceaccount-postgres-ha-drill.yaml",
    "cloudnativepg/role-postgres-ha-drill.yaml",
    "cloudnativepg/rolebinding-postgres-ha-drill.yaml",
    "cloudnativepg/configmap-postgres-ha-drill-cluster.yaml",
    "cloudnativepg/cronjob-postgres-ha-drill.yaml",
}


def drill_pod(result) -> dict:
    cronjob = testing.objects(result)["cloudnativepg/cronjob-postgres-ha-drill.yaml"]
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def drill_cluster(result) -> dict:
    configmap = testing.objects(result)["cloudnativepg/configmap-postgres-ha-drill-cluster.yaml"]
    return yaml.safe_load(configmap["data"]["cluster.yaml"])


def test_drill_recovers_the_backup_into_a_scratch_cluster_that_archives_nothing(with_s3) -> None:
    assert set(with_s3[1].files) >= DRILL_FILES
    cluster = drill_cluster(with_s3[1])
    assert cluster["metadata"] == {
        "name": "postgres-ha-drill",
        "namespace": "cloudnativepg",
        "labels": testing.objects(with_s3[1])["cloudnativepg/cronjob-postgres-ha-drill.yaml"]["metadata"]["labels"],
    }
    spec = cluster["spec"]
    assert spec["bootstrap"] == {"recovery": {"source": "origin"}}
    assert spec["externalClusters"] == [
        {
            "name": "origin",
            "plugin": {
                "name": "barman-cloud.cloudnative-pg.io",
                "parameters": {"barmanObjectName": "postgres-ha-backups", "serverName": "postgres-ha"},
            },
        }
    ]
    # No WAL archiver: the drill must never write into the backup bucket.
    assert "plugins" not in spec and "backup" not in spec
    assert spec["instances"] == 1
    assert spec["imageName"] == "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie"
    assert spec["enableSuperuserAccess"] is True


def test_the_drill_cluster_validates_against_the_crd(with_s3, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all([("drill/cluster.yaml", drill_cluster(with_s3[1]))])
    assert report.problems == []
    assert report.skipped == {}


def test_drill_steps_in_order_then_the_cluster_is_deleted(with_s3) -> None:
    pod = drill_pod(with_s3[1])
    assert pod["serviceAccountName"] == "postgres-ha-drill"
    assert pod["automountServiceAccountToken"] is True
    steps = [(c["name"], c["image"]) for c in pod["initContainers"]]
    kubectl = "registry.k8s.io/kubectl:v1.36.0"
    postgres = "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie"
    assert steps == [
        ("cleanup", kubectl),
        ("restore", kubectl),
        ("wait", kubectl),
        ("check", postgres),
        ("record", kubectl),
    ]
    commands = {c["name"]: c["command"] for c in (*pod["initContainers"], *pod["containers"])}
    target = "cluster.postgresql.cnpg.io/postgres-ha-drill"
    assert commands["restore"][2:] == ["create", "--filename=/drill/cluster.yaml"]
    assert commands["wait"][2:] == ["wait", target, "--for=condition=Ready", "--timeout=3h"]
    assert commands["record"][2:] == ["apply", "--filename=/result/result.yaml"]
    assert commands["delete"][2:] == ["delete", target, "--wait=false"]
    assert [c["name"] for c in pod["containers"]] == ["delete"]
    # The check queries every claimed database and writes the result the next step applies.
    script = commands["check"][2]
    assert "for db in notes; do" in script
    assert "name: postgres-ha-drill-result" in script
    assert "cat > /result/result.yaml" in script


def test_drill_may_touch_only_its_cluster_and_its_result(with_s3) -> None:
    role = testing.objects(with_s3[1])["cloudnativepg/role-postgres-ha-drill.yaml"]
    named = [rule for rule in role["rules"] if "resourceNames" in rule]
    unnamed = [rule for rule in role["rules"] if "resourceNames" not in rule]
    assert {rule["resourceNames"][0] for rule in named} == {"postgres-ha-drill", "postgres-ha-drill-result"}
    # Only create cannot name its object.
    assert all(rule["verbs"] == ["create"] for rule in unnamed)
    binding = testing.objects(with_s3[1])["cloudnativepg/rolebinding-postgres-ha-drill.yaml"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "postgres-ha-drill", "namespace": "cloudnativepg"}
    ]


def test_no_drill_without_backups_or_when_off(default, tmp_path: Path) -> None:
    assert not DRILL_FILES & set(default[1].files)
    result = testing.synth(
        tmp_path, "[plugins.cloudnativepg]\ndrill = false\n", plugins=WITH_S3, extra={"notes": App()}
    )
    assert not DRILL_FILES & set(result.files)
    assert "cloudnativepg/scheduledbackup-postgres-ha-daily.yaml" in result.files  # backups stay


def test_drill_schedule_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.cloudnativepg]\ndrill_schedule = "30 5 1 * *"\nstorage_size = "10Gi"\n'
    result = testing.synth(tmp_path / "toml", config, plugins=WITH_S3, extra={"notes": App()})
    cronjob = testing.objects(result)["cloudnativepg/cronjob-postgres-ha-drill.yaml"]
    assert cronjob["spec"]["schedule"] == "30 5 1 * *"
    assert drill_cluster(result)["spec"]["storage"] == {"size": "10Gi"}
    monkeypatch.setenv("INK_PLUGINS__CLOUDNATIVEPG__DRILL_SCHEDULE", "0 3 * * 6")
    result = testing.synth(tmp_path / "env", plugins=WITH_S3, extra={"notes": App()})
    assert testing.objects(result)["cloudnativepg/cronjob-postgres-ha-drill.yaml"]["spec"]["schedule"] == "0 3 * * 6"


def test_a_six_field_drill_schedule_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"drill_schedule.*must be a 5-field cron expression"):
        testing.synth(tmp_path, '[plugins.cloudnativepg]\ndrill_schedule = "0 0 4 * * 0"\n', plugins=PLUGINS)


def test_the_binding_says_when_the_drill_runs_and_where_its_result_is(with_s3, default, tmp_path: Path) -> None:
    binding = with_s3[2].binding
    assert (binding.drill_schedule, binding.drill_result) == (
        "0 4 * * 0",
        "ConfigMap cloudnativepg/postgres-ha-drill-result",
    )
    assert (default[2].binding.drill_schedule, default[2].binding.drill_result) == ("", "")  # no backups, no drill
    app = App()
    testing.synth(tmp_path, "[plugins.cloudnativepg]\ndrill = false\n", plugins=WITH_S3, extra={"notes": app})
    assert (app.binding.drill_schedule, app.binding.drill_result) == ("", "")


def _monitored(tmp_path: Path, plugins: list[str], config: str = ""):
    from ink.models import Capability

    extra = {"notes": App(), "monitoring": testing.StandIn("monitoring", Capability.METRICS)}
    return testing.synth(tmp_path, config, plugins=plugins, extra=extra)


def test_instances_and_operator_are_scraped_with_cluster_backup_and_drill_alerts(tmp_path: Path) -> None:
    targets = testing.metrics_targets(_monitored(tmp_path, WITH_S3), "cloudnativepg")
    # The instance pods are the operator's (not in the output); the operator's pods and port are checked against
    # the rendered chart in tests/test_metrics_targets.py.
    assert (dict(targets["cluster"].pods), targets["cluster"].port) == (
        {"cnpg.io/cluster": "postgres-ha", "cnpg.io/podRole": "instance"},
        9187,
    )
    assert (dict(targets["operator"].pods), targets["operator"].port) == (
        {"app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": "cloudnative-pg-operator"},
        8080,
    )
    alerts = {a.alert: a for a in targets["cluster"].alerts}
    assert sorted(alerts) == [
        "CloudNativePGBackupLate",
        "CloudNativePGClusterDegraded",
        "CloudNativePGReplicationBroken",
        "CloudNativePGRestoreDrillLate",
    ]
    assert alerts["CloudNativePGClusterDegraded"].expr.endswith("< 3")
    assert alerts["CloudNativePGReplicationBroken"].expr.endswith("< 2")
    assert alerts["CloudNativePGBackupLate"].expr.endswith("> 26 * 3600")  # daily base backups, 2 h of slack
    assert 'cronjob="postgres-ha-drill"} > 192 * 3600' in alerts["CloudNativePGRestoreDrillLate"].expr


def test_without_backups_or_replicas_there_are_only_the_alerts_that_apply(tmp_path: Path) -> None:
    result = _monitored(tmp_path, PLUGINS, "[plugins.cloudnativepg]\ninstances = 1\n")
    alerts = testing.metrics_targets(result, "cloudnativepg")["cluster"].alerts
    assert [(a.alert, a.severity) for a in alerts] == [("CloudNativePGClusterDegraded", "critical")]


def test_without_a_metrics_provider_nothing_is_scraped(default) -> None:
    assert testing.metrics_targets(default[1], "cloudnativepg") == {}


class FixedRole:
    """A consumer whose image fixes its role apart from its database (as Kasm's kasmapp on kasm)."""

    def __init__(self, role: str = "kasmapp") -> None:
        self.role = role
        self.binding: DatabaseBinding | None = None

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="desk", title="Desk", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="desk", role=self.role)]

    @hookimpl
    def ink_workloads(self, ctx) -> None:
        self.binding = ctx.database()


@pytest.fixture(scope="module")
def fixed_role(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("cnpg-role")
    app = FixedRole()
    return directory, testing.synth(directory, plugins=WITH_TLS, extra={"desk": app}), app


def test_a_claims_role_owns_its_database_everywhere(fixed_role) -> None:
    directory, result, app = fixed_role
    objects = testing.objects(result)
    cluster = objects["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["spec"]["managed"]["roles"] == [
        {"name": "kasmapp", "ensure": "present", "login": True, "passwordSecret": {"name": "postgres-ha-role-kasmapp"}}
    ]
    database = objects["cloudnativepg/database-postgres-ha-desk.yaml"]["spec"]
    assert (database["name"], database["owner"]) == ("desk", "kasmapp")
    assert (app.binding.database, app.binding.user) == ("desk", "kasmapp")
    opened = opener(directory, objects)
    assert opened("cloudnativepg/sealedsecret-postgres-ha-role-kasmapp.yaml", "username") == "kasmapp"
    assert opened("desk/sealedsecret-desk-db.yaml", "username") == "kasmapp"
    assert opened("desk/sealedsecret-desk-db.yaml", "dbname") == "desk"
    assert opened("desk/sealedsecret-desk-db.yaml", "uri").startswith(
        "postgresql://kasmapp:"
    ) and "@postgres-ha-rw.cloudnativepg.svc:5432/desk?" in opened("desk/sealedsecret-desk-db.yaml", "uri")
    # The client certificate's CN is the role CloudNativePG maps it to.
    certificates = [body for body in objects.values() if body.get("kind") == "Certificate"]
    assert "kasmapp" in {c["spec"].get("commonName") for c in certificates}


class Noter:
    """A second consumer whose role is another service's default role."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="noter", title="Noter", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="noter", role="notes")]


def test_two_services_cannot_share_a_role(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="both claim the role 'notes'"):
        testing.synth(tmp_path, plugins=PLUGINS, extra={"notes": App(), "noter": Noter()})


def test_a_reserved_role_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="claims the role 'postgres', which PostgreSQL or CloudNativePG reserves"):
        testing.synth(tmp_path, plugins=PLUGINS, extra={"desk": FixedRole(role="postgres")})
