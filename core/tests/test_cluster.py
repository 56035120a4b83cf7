"""What plugins need from the cluster outside Kubernetes, and the k3s configuration fragment ink writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import ink
from ink import cluster, testing
from ink.cli import main
from ink.errors import PluginError
from ink.models import ClusterRequirements, K3sDisable, NodePackage, ServiceInfo


class Ingress:
    """Replaces k3s's bundled Traefik and needs a node package."""

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="ingress", title="Ingress", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_cluster_requirements(self) -> ClusterRequirements:
        return ClusterRequirements(
            k3s_disable=(K3sDisable(component="traefik", reason="it installs its own"),),
            node_packages=(NodePackage(debian="open-iscsi", rhel="iscsi-initiator-utils", reason="volumes"),),
        )


class Balancer:
    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="balancer", title="Balancer", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_cluster_requirements(self) -> ClusterRequirements:
        return ClusterRequirements(k3s_disable=(K3sDisable(component="servicelb", reason="it assigns addresses"),))


class Wrong:
    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="wrong", title="Wrong", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_cluster_requirements(self) -> list[str]:
        return ["traefik"]


def test_the_fragment_disables_every_component_a_plugin_replaces(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[], extra={"ingress": Ingress(), "balancer": Balancer()})
    text = result.files[cluster.K3S_CONFIG]
    # "disable+" appends to the user's own disable list (k3s pkg/configfilearg) instead of replacing it.
    assert yaml.safe_load(text) == {"disable+": ["servicelb", "traefik"]}
    assert "#   traefik: ingress: it installs its own" in text
    assert "#   open-iscsi | iscsi-initiator-utils  (ingress: volumes)" in text
    assert (tmp_path / "dist" / cluster.K3S_CONFIG).read_text() == text
    assert set(result.cluster) == {"ingress", "balancer"}


def test_no_fragment_when_no_plugin_needs_a_k3s_change(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[], extra={"balancer": Balancer()})
    assert cluster.K3S_CONFIG in result.files
    result = testing.synth(tmp_path, plugins=[], extra={})
    assert cluster.K3S_CONFIG not in result.files
    assert cluster.k3s_config({"x": ClusterRequirements(node_packages=(cluster.nfs_client("mounts"),))}) is None


def test_the_fragment_is_not_a_manifest(tmp_path: Path, crd_dir: Path) -> None:
    """Argo CD syncs only service folders, and `ink validate` skips _cluster/: it holds no objects."""
    result = testing.synth(tmp_path, plugins=["argocd"], extra={"ingress": Ingress()})
    paths = {o["spec"]["source"].get("path") for o in testing.objects(result).values() if o["kind"] == "Application"}
    assert paths and not any(path and "_cluster" in path for path in paths)
    assert cluster.K3S_CONFIG not in testing.objects(result)
    done = CliRunner().invoke(
        main, ["validate", str(tmp_path / "dist"), "--config", str(tmp_path / "ink.toml"), "--crd-dir", str(crd_dir)]
    )
    assert done.exit_code == 0, done.output


def test_a_wrong_answer_names_the_plugin_and_hook(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="expected ClusterRequirements") as raised:
        testing.synth(tmp_path, plugins=[], extra={"wrong": Wrong()})
    assert (raised.value.plugin, raised.value.hook) == ("wrong", "ink_cluster_requirements")


def test_only_k3s_packaged_components_can_be_disabled() -> None:
    with pytest.raises(ValueError, match="component"):
        K3sDisable(component="kube-proxy", reason="no such packaged component")
