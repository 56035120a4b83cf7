"""ollama: internal model server, model store, optional GPU, the models Job and its egress, two endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, testing
from ink.errors import ConfigError
from ink.models import Link, ServiceInfo
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_ollama import VERSION

PLUGINS = ["ollama", "sealed-secrets"]


class Chat:
    """A consumer linking to any 'ollama' and any 'openai' endpoint, as Open WebUI does."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="chat", title="Chat", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_links(self) -> list[Link]:
        return [Link(name="llm", kind="ollama", optional=True), Link(name="openai", kind="openai", optional=True)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        env = {}
        if ctx.link("llm"):
            env["OLLAMA_BASE_URL"] = ctx.link("llm").url
        if ctx.link("openai"):
            env["OPENAI_API_BASE_URL"] = ctx.link("openai").url
        app = kube.Container(name="chat", image="docker.io/library/busybox:1.37.0", env=env)
        kube.Workloads(scope, "chat", ctx=ctx, components=[kube.Component(name="chat", containers=[app])])


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("ollama"), plugins=PLUGINS)


def objects(result) -> dict[str, dict]:
    return testing.objects(result)


def pod(result) -> dict[str, Any]:
    return objects(result)["ollama/deployment-ollama.yaml"]["spec"]["template"]["spec"]


def server(result) -> dict[str, Any]:
    return pod(result)["containers"][0]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def pull_job(result) -> dict[str, Any]:
    jobs = [body for path, body in objects(result).items() if path.startswith("ollama/job-ollama-pull-")]
    assert len(jobs) == 1
    return jobs[0]


def test_discovered_through_the_entry_point() -> None:
    host = make_plugin_host(environ={"INK_LOAD_PLUGINS": "ollama"})
    assert host.names == ["ollama"]


def test_output_matches_the_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, ["ollama"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_one_hardened_non_root_server_with_its_store_on_the_volume(default) -> None:
    body = objects(default)["ollama/deployment-ollama.yaml"]
    assert body["spec"]["replicas"] == 1
    assert body["spec"]["strategy"] == {"type": "Recreate"}  # the ReadWriteOnce store cannot attach twice
    c = server(default)
    assert c["image"] == f"docker.io/ollama/ollama:{VERSION}"
    assert c["securityContext"]["runAsUser"] == 1000 and c["securityContext"]["readOnlyRootFilesystem"] is True
    env = env_of(c)
    assert env["HOME"] == "/var/lib/ollama" and env["OLLAMA_MODELS"] == "/var/lib/ollama/models"
    assert env["OLLAMA_HOST"] == "0.0.0.0:11434"
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/var/lib/ollama", "/tmp"}
    claim = objects(default)["ollama/persistentvolumeclaim-ollama-models.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert c["readinessProbe"]["httpGet"] == {"path": "/", "port": 11434, "scheme": "HTTP"}
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "8Gi"}}
    assert "runtimeClassName" not in pod(default) and "nodeSelector" not in pod(default)


def test_internal_only(default) -> None:
    assert not any("ingress" in p or "route" in p for p in default.files if p.startswith("ollama/"))
    service = objects(default)["ollama/service-ollama.yaml"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 11434, "targetPort": 11434, "protocol": "TCP"}]
    assert "type" not in service["spec"]


def test_the_models_job_pulls_each_model_through_the_server(default) -> None:
    job = pull_job(default)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"docker.io/ollama/ollama:{VERSION}"
    assert env_of(container)["OLLAMA_HOST"] == "http://ollama.ollama.svc:11434"
    script = container["command"][2]
    assert "until ollama list" in script
    assert "for model in llama3.2:3b nomic-embed-text; do" in script
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_network_policies_are_exactly_these(default) -> None:
    policies = sorted(p for p in default.files if p.startswith("ollama/networkpolicy-"))
    assert policies == [
        "ollama/networkpolicy-allow-dns.yaml",
        "ollama/networkpolicy-allow-internet-ollama.yaml",
        "ollama/networkpolicy-allow-same-namespace.yaml",
        "ollama/networkpolicy-default-deny.yaml",
    ]
    internet = objects(default)["ollama/networkpolicy-allow-internet-ollama.yaml"]["spec"]
    # The server downloads (POST /api/pull); the Job only talks to it inside the namespace.
    assert internet["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "ollama"}}
    assert internet["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}]
    assert internet["egress"][0]["to"][0]["ipBlock"]["cidr"] == "0.0.0.0/0"


def test_no_models_no_job_and_no_internet(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, "[plugins.ollama]\nmodels = []\ninternet = false\n", plugins=PLUGINS)
    assert not any(p.startswith("ollama/job-") for p in result.files)
    assert "ollama/networkpolicy-allow-internet-ollama.yaml" not in result.files


def test_a_changed_model_list_is_a_new_job(default, tmp_path: Path) -> None:
    result = testing.synth(tmp_path, '[plugins.ollama]\nmodels = ["qwen3:8b"]\n', plugins=PLUGINS)
    assert pull_job(result)["metadata"]["name"] != pull_job(default)["metadata"]["name"]
    assert "for model in qwen3:8b; do" in pull_job(result)["spec"]["template"]["spec"]["containers"][0]["command"][2]


def test_nvidia_gpu(tmp_path: Path, ink_validator: ManifestValidator) -> None:
    result = testing.synth(tmp_path, "[plugins.ollama.gpu]\nenabled = true\n", plugins=PLUGINS)
    assert ink_validator.validate_all(objects(result).items()).problems == []
    spec = pod(result)
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert server(result)["resources"]["limits"] == {"memory": "8Gi", "nvidia.com/gpu": "1"}
    assert server(result)["image"] == f"docker.io/ollama/ollama:{VERSION}"  # one image for CPU and CUDA
    ns = objects(result)["ollama/namespace-ollama.yaml"]["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    # The Job needs no GPU.
    assert "runtimeClassName" not in pull_job(result)["spec"]["template"]["spec"]


def test_amd_gpu_uses_the_rocm_image(tmp_path: Path) -> None:
    config = '[plugins.ollama.gpu]\nenabled = true\nresource = "amd.com/gpu"\nruntime_class = ""\n'
    config += 'node_selector = { "amd.com/gpu" = "true" }\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    assert server(result)["image"] == f"docker.io/ollama/ollama:{VERSION}-rocm"
    assert server(result)["resources"]["limits"]["amd.com/gpu"] == "1"
    assert "runtimeClassName" not in pod(result)
    assert pod(result)["nodeSelector"] == {"amd.com/gpu": "true"}


def test_endpoints_for_links(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert env_of(chat) == {
        "OLLAMA_BASE_URL": "http://ollama.ollama.svc:11434",
        "OPENAI_API_BASE_URL": "http://ollama.ollama.svc:11434/v1",
    }
    # The link opens exactly chat -> the server's pods on 11434 (not the Job's).
    ingress = objects(result)["ollama/networkpolicy-allow-ingress-ollama.yaml"]["spec"]
    assert ingress["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "ollama"
    assert ingress["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "chat"}}, "podSelector": {}}
            ],
            "ports": [{"port": 11434, "protocol": "TCP"}],
        }
    ]
    egress = objects(result)["chat/networkpolicy-allow-egress.yaml"]["spec"]["egress"]
    assert [rule["ports"] for rule in egress] == [[{"port": 11434, "protocol": "TCP"}]]


def test_the_links_are_dropped_without_ollama(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["sealed-secrets"], extra={"chat": Chat()})
    chat = objects(result)["chat/deployment-chat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in chat


def test_settings_from_ink_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = '[plugins.ollama]\nkeep_alive = "24h"\ncontext_length = 8192\nnum_parallel = 2\nstorage_size = "200Gi"\n'
    result = testing.synth(tmp_path, config, plugins=PLUGINS)
    env = env_of(server(result))
    assert env["OLLAMA_KEEP_ALIVE"] == "24h"
    assert env["OLLAMA_CONTEXT_LENGTH"] == "8192"
    assert env["OLLAMA_NUM_PARALLEL"] == "2"
    claim = objects(result)["ollama/persistentvolumeclaim-ollama-models.yaml"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    monkeypatch.setenv("INK_PLUGINS__OLLAMA__IMAGE_TAG", "0.32.14")
    monkeypatch.setenv("INK_PLUGINS__OLLAMA__GPU__ENABLED", "true")
    result = testing.synth(tmp_path / "env", plugins=PLUGINS)
    assert server(result)["image"] == "docker.io/ollama/ollama:0.32.14"
    assert pod(result)["runtimeClassName"] == "nvidia"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('hostname = "llm"', r"plugins\.ollama.*internal only"),
        ("replicas = 2", r"plugins\.ollama\.replicas"),
        ('models = ["llama3; rm -rf /"]', r"plugins\.ollama\.models\.0"),
        ('keep_alive = "forever"', r"plugins\.ollama\.keep_alive.*'forever' is not a duration"),
        ("internet = false", r"plugins\.ollama.*pulling needs internet = true"),
    ],
)
def test_bad_settings_are_one_clear_line(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        testing.synth(tmp_path, f"[plugins.ollama]\n{config}\n", plugins=PLUGINS)
