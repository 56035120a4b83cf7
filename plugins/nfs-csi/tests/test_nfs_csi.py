"""NFS CSI: the driver chart and the StorageClass on the NAS share."""

from __future__ import annotations

from pathlib import Path

import pytest

from ink import testing
from ink.errors import ConfigError
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator

PLUGINS = ["nfs-csi"]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("nfs"), plugins=PLUGINS)


def storage_class(result) -> dict:
    return testing.objects(result)["nfs-csi/storageclass-nfs-synology.yaml"]


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["nfs-csi"].distribution == "ink-plugin-nfs-csi"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_driver_from_the_official_chart(default) -> None:
    app = testing.objects(default)["nfs-csi/application-csi-driver-nfs.yaml"]
    source = app["spec"]["source"]
    assert source["repoURL"] == "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts"
    assert (source["chart"], source["targetRevision"]) == ("csi-driver-nfs", "4.13.4")
    assert source["helm"]["valuesObject"]["storageClass"] == {"create": False}
    assert app["spec"]["destination"]["namespace"] == "nfs-csi"


def test_namespace_is_privileged(default) -> None:
    labels = testing.objects(default)["nfs-csi/namespace-nfs-csi.yaml"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_storage_class(default) -> None:
    body = storage_class(default)
    assert body["provisioner"] == "nfs.csi.k8s.io"
    assert body["parameters"] == {"server": "192.168.1.10", "share": "/volume1/kubernetes"}
    assert body["mountOptions"] == ["nfsvers=4.1"]
    assert body["reclaimPolicy"] == "Retain"
    assert body["allowVolumeExpansion"] is True
    assert "namespace" not in body["metadata"]  # cluster-scoped
    assert body["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "false"


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
[plugins.nfs-csi]
server = "nas.home.arpa"
share = "/volume2/k8s"
mount_options = ["nfsvers=4.1", "hard"]
reclaim_policy = "Delete"
"""
    body = storage_class(testing.synth(tmp_path, config, plugins=PLUGINS))
    assert body["parameters"] == {"server": "nas.home.arpa", "share": "/volume2/k8s"}
    assert body["mountOptions"] == ["nfsvers=4.1", "hard"]
    assert body["reclaimPolicy"] == "Delete"


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__NFS_CSI__SERVER", "10.0.0.5")
    monkeypatch.setenv("INK_PLUGINS__NFS_CSI__STORAGE_CLASS", "nas")
    result = testing.synth(tmp_path, plugins=PLUGINS)
    body = testing.objects(result)["nfs-csi/storageclass-nas.yaml"]
    assert body["parameters"]["server"] == "10.0.0.5"


def test_a_relative_share_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="share"):
        testing.synth(tmp_path, '[plugins.nfs-csi]\nshare = "volume1"\n', plugins=PLUGINS)


def test_cluster_requirements(default, tmp_path: Path) -> None:
    needs = default.cluster["nfs-csi"]
    assert [(p.debian, p.rhel) for p in needs.node_packages] == [("nfs-common", "nfs-utils")]
    assert needs.k3s_disable == ()  # not the default class unless asked
    config = '[plugins.nfs-csi]\nserver = "nas.home.arpa"\ndefault_class = true\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    assert [d.component for d in result.cluster["nfs-csi"].k3s_disable] == ["local-storage"]
