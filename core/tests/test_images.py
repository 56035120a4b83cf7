"""`ink images`: references normalised, the images of objects and of declarations, the three output formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import ink
from ink import images, run, testing
from ink.cli import main
from ink.errors import PluginError
from ink.models import ServiceInfo

# cloudnativepg writes a CloudNativePG Cluster (a custom resource with `imageName`), vaultwarden a Deployment.
PLUGINS = ["cloudnativepg", "sealed-secrets", "vaultwarden"]


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(
    ("reference", "repository", "tag", "digest"),
    [
        ("busybox:1.37.0", "docker.io/library/busybox", "1.37.0", ""),
        ("traefik", "docker.io/library/traefik", "", ""),
        ("grafana/loki:3.7.6", "docker.io/grafana/loki", "3.7.6", ""),
        ("docker.io/vaultwarden/server:1.37.4", "docker.io/vaultwarden/server", "1.37.4", ""),
        ("index.docker.io/library/redis:8", "docker.io/library/redis", "8", ""),
        ("ghcr.io/cloudnative-pg/postgresql:18.6-trixie", "ghcr.io/cloudnative-pg/postgresql", "18.6-trixie", ""),
        ("localhost:5000/app:v1", "localhost:5000/app", "v1", ""),
        ("registry.lan:5000/team/app", "registry.lan:5000/team/app", "", ""),
        (f"quay.io/a/b:v1@sha256:{'a' * 64}", "quay.io/a/b", "v1", f"sha256:{'a' * 64}"),
        (f"quay.io/a/b@sha256:{'b' * 64}", "quay.io/a/b", "", f"sha256:{'b' * 64}"),
    ],
)
def test_references_are_normalised_like_the_container_runtimes_do(
    reference: str, repository: str, tag: str, digest: str
) -> None:
    assert images.parse(reference) == images.Image(repository, tag, digest)


@pytest.mark.parametrize("reference", ["", "UPPER/case:1", "a:b:c", "quay.io/a/b:", "quay.io/a/b@sha256:short"])
def test_what_is_not_a_reference_is_refused(reference: str) -> None:
    with pytest.raises(ValueError, match="is not an image reference"):
        images.parse(reference)


@pytest.mark.parametrize(
    ("reference", "pinned"),
    [("a/b:1.0", True), ("a/b:latest", False), ("a/b", False), (f"a/b@sha256:{'c' * 64}", True)],
)
def test_pinned_means_a_tag_that_is_not_latest_or_a_digest(reference: str, pinned: bool) -> None:
    assert images.parse(reference).pinned is pinned


def _pod(*containers: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "containers": [{"name": f"c{i}", "image": ref} for i, ref in enumerate(containers)],
        "initContainers": [{"name": f"i{i}", "image": ref} for i, ref in enumerate(init)],
    }


def test_object_images_reads_pod_specs_templates_and_custom_resources() -> None:
    deployment = {"kind": "Deployment", "spec": {"template": {"spec": _pod("app:1", init=("init:2",))}}}
    cronjob = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": _pod("job:3")}}}}}
    cluster = {"kind": "Cluster", "apiVersion": "postgresql.cnpg.io/v1", "spec": {"imageName": "pg:18"}}
    assert list(images.object_images(deployment)) == ["app:1", "init:2"]
    assert list(images.object_images(cronjob)) == ["job:3"]
    assert list(images.object_images(cluster)) == ["pg:18"]


def test_object_images_leaves_out_data_and_chart_values() -> None:
    config_map = {"kind": "ConfigMap", "data": {"image": "not-an-image"}}
    application = {
        "kind": "Application",
        "spec": {"source": {"chart": "x", "helm": {"valuesObject": {"image": "chart/decides:1"}}}},
    }
    assert list(images.object_images(config_map)) == []
    assert list(images.object_images(application)) == []


def test_report_merges_objects_and_declarations_by_image() -> None:
    objects = [(service, {"kind": "Pod", "spec": _pod("busybox:1.37.0")}) for service in ("a", "b")]
    found = images.report(objects, {"c": [images.parse("quay.io/x/y:v2")], "a": [images.parse("ghcr.io/z:1")]})
    assert found.plain() == "docker.io/library/busybox:1.37.0\nghcr.io/z:1\nquay.io/x/y:v2\n"
    assert found.as_json()[0] == {
        "image": "docker.io/library/busybox",
        "tag": "1.37.0",
        "digest": None,
        "ref": "docker.io/library/busybox:1.37.0",
        "pinned": True,
        "services": ["a", "b"],
    }


def test_an_object_with_a_bad_image_names_its_service() -> None:
    with pytest.raises(PluginError, match=r"plugin 'a'.*Pod p: 'Bad:Ref' is not an image reference"):
        images.report([("a", {"kind": "Pod", "metadata": {"name": "p"}, "spec": _pod("Bad:Ref")})], {})


def test_mirror_lines_keep_the_source_registry_under_the_prefix() -> None:
    found = images.report([("a", {"kind": "Pod", "spec": _pod("busybox:1.37.0", "ghcr.io/x/y:2")})], {})
    assert found.mirror("registry.lan:5000/mirror/") == (
        "docker.io/library/busybox:1.37.0=registry.lan:5000/mirror/docker.io/library/busybox:1.37.0\n"
        "ghcr.io/x/y:2=registry.lan:5000/mirror/ghcr.io/x/y:2\n"
    )


class _Charted:
    """A service whose (imaginary) chart deploys two images, one of them twice."""

    def __init__(self, declared: object) -> None:
        self.declared = declared

    @ink.hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="charted", title="Charted", version="1.0.0", homepage="https://example.org")

    @ink.hookimpl
    def ink_images(self) -> object:
        return self.declared


def test_synth_reports_the_declared_images(tmp_path: Path) -> None:
    declared = ["quay.io/charted/operator:v1.0.0", "busybox:1.37.0", "busybox:1.37.0"]
    result = testing.synth(tmp_path, plugins=[], extra={"charted": _Charted(declared)})
    assert result.images is not None
    assert [(image.ref, services) for image, services in result.images.sorted()] == [
        ("docker.io/library/busybox:1.37.0", ["charted"]),
        ("quay.io/charted/operator:v1.0.0", ["charted"]),
    ]


@pytest.mark.parametrize("declared", ["quay.io/a/b:1", ["not an image"], [3]])
def test_a_bad_declaration_fails_synth_naming_the_plugin(tmp_path: Path, declared: object) -> None:
    with pytest.raises(PluginError) as raised:
        testing.synth(tmp_path, plugins=[], extra={"charted": _Charted(declared)})
    assert (raised.value.plugin, raised.value.hook) == ("charted", "ink_images")


@pytest.fixture
def homelab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with ink.toml for vaultwarden and its providers, as the current directory."""
    testing.prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    return tmp_path


def test_plain_lists_every_image_once_sorted(homelab: Path) -> None:
    result = cli("images")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == sorted(set(lines))
    # The Cluster's imageName (a custom resource) and the Deployment's container.
    assert any(line.startswith("ghcr.io/cloudnative-pg/postgresql:") for line in lines)
    assert any(line.startswith("docker.io/vaultwarden/server:") for line in lines)
    assert not (homelab / "dist").exists()  # a read command: nothing written


def test_json_names_the_services(homelab: Path) -> None:
    result = cli("images", "--json")
    assert result.exit_code == 0, result.output
    found = {entry["image"]: entry for entry in json.loads(result.stdout)}
    assert found["docker.io/vaultwarden/server"]["services"] == ["vaultwarden"]
    assert "cloudnativepg" in found["ghcr.io/cloudnative-pg/postgresql"]["services"]
    assert all(entry["pinned"] for entry in found.values())


def test_mirror_format(homelab: Path) -> None:
    plain = cli("images").stdout.splitlines()
    result = cli("images", "--format", "mirror", "--registry", "registry.lan:5000")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{ref}=registry.lan:5000/{ref}" for ref in plain]


def test_an_image_less_homelab_lists_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    testing.prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "make_plugin_host", lambda **_: testing.host([], {"charted": _Charted(None)}))
    result = cli("images")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert cli("images", "--json").stdout == "[]\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "mirror"], "--format mirror needs --registry"),
        (["--registry", "registry.lan"], "--format mirror needs --registry"),
        (["--format", "mirror", "--registry", "https://registry.lan"], "--registry 'https://registry.lan': give"),
        (["--format", "mirror", "--registry", "mirror"], "--registry 'mirror': give a registry host"),
        (["--json", "--format", "mirror", "--registry", "registry.lan"], "--json and --format mirror: choose one"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(homelab: Path, args: list[str], message: str) -> None:
    result = cli("images", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_config_is_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "ink.toml"
    config.write_text("[plugins.vaultwarden]\nreplica = 2\n")
    result = cli("images", "--config", config)
    assert result.exit_code == 2
