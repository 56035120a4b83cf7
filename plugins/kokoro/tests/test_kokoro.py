"""kokoro: the CPU image by default, GPU and ROCm images, internal only, the openai-tts speech endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError
from ink.models import Link, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_kokoro import VERSION

PLUGINS = ["kokoro", "sealed-secrets"]


class Chat:
    """A consumer linking to any 'openai-tts' endpoint, as Open WebUI does for its TTS."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="chat", title="Chat", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_links(self) -> list[Link]:
        return [Link(name="tts", kind="openai-tts", optional=True)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        env = {"AUDIO_TTS_OPENAI_API_BASE_URL": ctx.link("tts").url} if ctx.link("tts") else {}
        app = kube.Container(name="chat", image="docker.io/library/busybox:1.37.0", env=env)
        kube.Workloads(scope, "chat", ctx=ctx, components=[kube.Component(name="chat", containers=[app])])


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("kokoro"), plugins=PLUGINS)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def pod(result) -> dict[str, Any]:
    return objects(result)["kokoro/deployment-kokoro.yaml"]["spec"]["template"]["spec"]


def container(result) -> dict[str, Any]:
    return pod(result)["containers"][0]


def env_of(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c.get("env", [])}


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "kokoro"})
    assert host.names == ["kokoro"]


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["kokoro"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_the_cpu_image_runs_hardened_as_its_user(default) -> None:
    c = container(default)
    assert c["image"] == f"ghcr.io/remsky/kokoro-fastapi-cpu:{VERSION}"
    assert pod(default)["securityContext"]["runAsUser"] == 1000
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8880, "scheme": "HTTP"}
    assert c["startupProbe"]["failureThreshold"] == 60
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/tmp", "/app/api/temp_files"}
    env = env_of(c)
    assert env["DOWNLOAD_MODEL"] == "false" and env["HF_HUB_OFFLINE"] == "1"
    assert env["TEMP_FILE_DIR"] == "/app/api/temp_files"
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "4Gi"}}
    assert "runtimeClassName" not in pod(default)


def test_internal_only_and_no_egress(default) -> None:
    assert not any("ingress" in p for p in default.files if p.startswith("kokoro/"))
    assert sorted(p for p in default.files if p.startswith("kokoro/networkpolicy-")) == [
        "kokoro/networkpolicy-allow-dns.yaml",
        "kokoro/networkpolicy-allow-same-namespace.yaml",
        "kokoro/networkpolicy-default-deny.yaml",
    ]
    service = objects(default)["kokoro/service-kokoro.yaml"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8880, "targetPort": 8880, "protocol": "TCP"}]


def test_the_gpu_image_with_a_gpu(tmp_path: Path, ink_validator: ManifestValidator) -> None:
    result = testing.synth(tmp_path, "[plugins.kokoro.gpu]\nenabled = true\n", plugins=PLUGINS)
    assert ink_validator.validate_all(objects(result).items()).problems == []
    assert container(result)["image"] == f"ghcr.io/remsky/kokoro-fastapi-gpu:{VERSION}"
    assert pod(result)["securityContext"]["runAsUser"] == 1001  # the GPU image's appuser
    assert pod(result)["runtimeClassName"] == "nvidia"
    assert pod(result)["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert container(result)["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_the_rocm_image_for_an_amd_gpu(tmp_path: Path) -> None:
    config = '[plugins.kokoro.gpu]\nenabled = true\nresource = "amd.com/gpu"\nruntime_class = ""\nnode_selector = {}\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    assert container(result)["image"] == f"ghcr.io/remsky/kokoro-fastapi-rocm:{VERSION}"
    assert container(result)["resources"]["limits"]["amd.com/gpu"] == "1"
    assert "runtimeClassName" not in pod(result) and "nodeSelector" not in pod(result)


def test_the_speech_endpoint_for_links(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert env_of(chat) == {"AUDIO_TTS_OPENAI_API_BASE_URL": "http://kokoro.kokoro.svc:8880/v1"}
    ingress = objects(result)["kokoro/networkpolicy-allow-ingress-kokoro.yaml"]["spec"]
    assert ingress["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "chat"}}, "podSelector": {}}
            ],
            "ports": [{"port": 8880, "protocol": "TCP"}],
        }
    ]


def test_the_link_is_dropped_without_kokoro(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in chat


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.kokoro]\nreplicas = 2\ndefault_voice = "bf_emma"\nweb_player = true\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    env = env_of(container(result))
    assert env["DEFAULT_VOICE"] == "bf_emma" and env["ENABLE_WEB_PLAYER"] == "true"
    assert objects(result)["kokoro/deployment-kokoro.yaml"]["spec"]["replicas"] == 2
    assert "podAntiAffinity" in pod(result)["affinity"]
    assert "kokoro/poddisruptionbudget-kokoro.yaml" in result.files
    monkeypatch.setenv("INK_PLUGINS__KOKORO__IMAGE_TAG", "v0.7.2")
    result = testing.synth(tmp_path / "env", plugins=PLUGINS)
    assert container(result)["image"] == "ghcr.io/remsky/kokoro-fastapi-cpu:v0.7.2"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('hostname = "tts"', r"plugins\.kokoro.*internal only"),
        ('storage_size = "1Gi"', r"plugins\.kokoro.*keeps no data"),
        ('default_voice = "Heart"', r"plugins\.kokoro\.default_voice"),
    ],
)
def test_bad_settings_are_one_clear_line(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        testing.synth(tmp_path, f"[plugins.kokoro]\n{config}\n", plugins=PLUGINS)
