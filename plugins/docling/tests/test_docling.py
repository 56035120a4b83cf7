"""docling: CPU image, single replica (local engine), probes, scratch, GPU image, the docling convert endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError
from ink.models import Link, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_docling import VERSION

PLUGINS = ["docling", "sealed-secrets"]


class Chat:
    """A consumer linking to any 'docling' endpoint, as Open WebUI does for document extraction."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="chat", title="Chat", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_links(self) -> list[Link]:
        return [Link(name="docling", kind="docling", optional=True)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        env = {"DOCLING_SERVER_URL": ctx.link("docling").url} if ctx.link("docling") else {}
        app = kube.Container(name="chat", image="docker.io/library/busybox:1.37.0", env=env)
        kube.Workloads(scope, "chat", ctx=ctx, components=[kube.Component(name="chat", containers=[app])])


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("docling"), plugins=PLUGINS)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def pod(result) -> dict[str, Any]:
    return objects(result)["docling/deployment-docling.yaml"]["spec"]["template"]["spec"]


def container(result) -> dict[str, Any]:
    return pod(result)["containers"][0]


def env_of(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c.get("env", [])}


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "docling"})
    assert host.names == ["docling"]


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["docling"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_one_hardened_cpu_server_with_scratch_and_memory_for_real_documents(default) -> None:
    body = objects(default)["docling/deployment-docling.yaml"]
    assert body["spec"]["replicas"] == 1
    assert "docling/poddisruptionbudget-docling.yaml" not in default.files
    c = container(default)
    assert c["image"] == f"quay.io/docling-project/docling-serve-cpu:{VERSION}"
    assert pod(default)["securityContext"]["runAsUser"] == 1001
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "8Gi"}}
    assert c["startupProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
    volumes = {v["name"]: v for v in pod(default)["volumes"]}
    assert volumes["scratch"]["emptyDir"] == {"sizeLimit": "10Gi"}
    env = env_of(c)
    assert env["DOCLING_SERVE_SCRATCH_PATH"] == "/scratch"
    assert env["DOCLING_SERVE_ENG_KIND"] == "local"
    assert env["HF_HOME"].startswith("/tmp/") and env["EASYOCR_MODULE_PATH"].startswith("/tmp/")
    assert env["DOCLING_SERVE_ENABLE_UI"] == "false"
    assert env["DOCLING_DEVICE"] == "cpu"


def test_internal_only_and_no_egress(default) -> None:
    assert not any("ingress" in p for p in default.files if p.startswith("docling/"))
    assert sorted(p for p in default.files if p.startswith("docling/networkpolicy-")) == [
        "docling/networkpolicy-allow-dns.yaml",
        "docling/networkpolicy-allow-same-namespace.yaml",
        "docling/networkpolicy-default-deny.yaml",
    ]


def test_fetching_urls_opens_the_internet(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.docling]\nfetch_urls = true\n", plugins=PLUGINS)
    spec = objects(result)["docling/networkpolicy-allow-internet.yaml"]["spec"]
    assert spec["podSelector"] == {}
    assert spec["egress"][0]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]


def test_the_cuda_image_with_a_gpu(tmp_path: Path, ink_validator: ManifestValidator) -> None:
    result = testing.synth(tmp_path, "[plugins.docling.gpu]\nenabled = true\n", plugins=PLUGINS)
    assert ink_validator.validate_all(objects(result).items()).problems == []
    assert container(result)["image"] == f"quay.io/docling-project/docling-serve-cu128:{VERSION}"
    assert env_of(container(result))["DOCLING_DEVICE"] == "cuda"
    assert pod(result)["runtimeClassName"] == "nvidia"
    assert container(result)["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_the_convert_endpoint_for_links(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert env_of(chat) == {"DOCLING_SERVER_URL": "http://docling.docling.svc:5001"}
    ingress = objects(result)["docling/networkpolicy-allow-ingress-docling.yaml"]["spec"]
    assert ingress["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "chat"}}, "podSelector": {}}
            ],
            "ports": [{"port": 5001, "protocol": "TCP"}],
        }
    ]


def test_the_link_is_dropped_without_docling(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in chat


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.docling]\nworkers = 4\nthreads = 8\nmax_sync_wait = 1800\nscratch_size = "20Gi"\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    env = env_of(container(result))
    assert env["DOCLING_SERVE_ENG_LOC_NUM_WORKERS"] == "4"
    assert env["DOCLING_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "8"
    assert env["DOCLING_SERVE_MAX_SYNC_WAIT"] == "1800"
    assert {v["name"]: v for v in pod(result)["volumes"]}["scratch"]["emptyDir"] == {"sizeLimit": "20Gi"}
    monkeypatch.setenv("INK_PLUGINS__DOCLING__IMAGE_TAG", "v1.30.0")
    result = testing.synth(tmp_path / "env", plugins=PLUGINS)
    assert container(result)["image"] == "quay.io/docling-project/docling-serve-cpu:v1.30.0"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('hostname = "docs"', r"plugins\.docling.*internal only"),
        ("replicas = 2", r"plugins\.docling\.replicas"),
        ('storage_size = "1Gi"', r"plugins\.docling.*use scratch_size"),
        ('gpu = { enabled = true, resource = "amd.com/gpu" }', r"plugins\.docling.*NVIDIA CUDA only"),
    ],
)
def test_bad_settings_are_one_clear_line(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        testing.synth(tmp_path, f"[plugins.docling]\n{config}\n", plugins=PLUGINS)


def test_its_metrics_are_scraped_with_a_metrics_provider(tmp_path: Path) -> None:
    from ink.models import Capability

    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=["docling", "sealed-secrets"], extra={"monitoring": monitoring})
    target = testing.assert_metrics_target_serves(result, "docling")
    assert (target.port, target.path) == (5001, "/metrics")
