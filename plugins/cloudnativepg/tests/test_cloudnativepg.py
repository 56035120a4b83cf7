"""CloudNativePG: the shared cluster, and a role, database and secrets per claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.models import DatabaseClaim, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["cloudnativepg", "sealed-secrets"]


class App:
    """A consumer with one database that needs the pgvector extension."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="notes", title="Notes", version="2.0.0", homepage="https://example.org")

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="notes", extensions=("vector",))]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("cnpg")
    return directory, testing.synth(directory, plugins=PLUGINS, extra={"notes": App()})


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["cloudnativepg"].distribution == "ink-plugin-cloudnativepg"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1]) == snapshot


def test_output_validates(default, crd_dir: Path) -> None:
    report = ManifestValidator("1.33", [crd_dir]).validate_all(testing.objects(default[1]).items())
    assert report.problems == []
    assert report.skipped == {}


def test_cluster_defaults(default) -> None:
    cluster = testing.objects(default[1])["cloudnativepg/cluster-postgres-ha.yaml"]
    assert cluster["metadata"]["name"] == "postgres-ha"
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["storage"] == {"size": "50Gi"}
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


def test_both_secrets_hold_the_same_password(default) -> None:
    directory, result = default
    objects = testing.objects(result)
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)

    def opened(path: str, field: str) -> str:
        body = objects[path]
        meta = body["metadata"]
        value = body["spec"]["encryptedData"][field]
        return sealing.unseal_value(key, namespace=meta["namespace"], name=meta["name"], ciphertext=value).decode()

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


def test_operator_installed_from_the_official_chart(default) -> None:
    app = testing.objects(default[1])["cloudnativepg/application-cloudnative-pg-operator.yaml"]
    assert app["spec"]["source"]["repoURL"] == "https://cloudnative-pg.github.io/charts"
    assert app["spec"]["source"]["chart"] == "cloudnative-pg"
