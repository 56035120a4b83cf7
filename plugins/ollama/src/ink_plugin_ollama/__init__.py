"""ink plugin: Ollama (https://github.com/ollama/ollama), the local model server.

Internal only (no route: its API has no authentication). Serves two endpoints on port 11434 for
links: kind ``ollama`` (its own API, ``/api/...``) and kind ``openai`` (the OpenAI-compatible API at
``/v1``). The models in ``models`` are pulled by a Job after each sync; the server downloads them, so
the server's pods get internet egress on 443.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from ink import hookimpl
from ink.models import Endpoint, Internet, NetworkRule, Quantity, ServiceInfo
from ink.podsecurity import Gpu
from ink.settings import ContainerResources, GpuSettings, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# Docker Hub tag = the release tag without its "v" (.github/workflows/release.yaml: docker/metadata-action
# type=semver,pattern={{version}}; the ROCm image adds the suffix "-rocm"). Release v0.32.15.
# renovate: datasource=docker depName=docker.io/ollama/ollama
VERSION = "0.32.15"
NAME = "ollama"
PORT = 11434  # EXPOSE 11434 and OLLAMA_HOST=0.0.0.0:11434 in the Dockerfile
GPU_REASON = "model inference on the node's GPU (only when [plugins.ollama.gpu] enabled = true)"
PULL_COMPONENT = "pull"

# A model reference as `ollama pull` takes it: "llama3.2:3b", "nomic-embed-text",
# "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M". Also keeps the pull script free of shell syntax.
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}(:[A-Za-z0-9._-]{1,128})?$")]
# OLLAMA_KEEP_ALIVE: a Go duration ("5m", "24h", "1h30m") or a number of seconds; negative keeps models loaded.
_KEEP_ALIVE = re.compile(r"^-?([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$|^-?[0-9]+$")


class OllamaSettings(ServiceSettings):
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="0 or 1: the model store is one ReadWriteOnce volume and each server keeps its own "
        "loaded models, so there is a single instance.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="500m", memory_request="2Gi", memory_limit="8Gi"),
        description="The server's CPU and memory: the limit must hold the loaded model and its context "
        "(a 3B model in 4 bits takes about 3Gi on the CPU).",
    )
    storage_size: Quantity = Field(default="50Gi", description="Size of the model store (models are 1-40+ GB each).")
    models: list[ModelName] = Field(
        default_factory=lambda: ["llama3.2:3b", "nomic-embed-text"],
        description="Models pulled after each sync by a Job (ollama pull: a present model only has its manifest "
        "checked). Removing one here does not delete it; `ollama rm` does.",
    )
    internet: bool = Field(
        default=True,
        description="Let the server reach the model registry (registry.ollama.ai and its download host) on 443: "
        "pulls, by the models Job or by a client such as Open WebUI, are downloads the server makes.",
    )
    keep_alive: str | None = Field(
        default=None,
        description="OLLAMA_KEEP_ALIVE: how long a model stays loaded after a request ('5m' upstream; '24h'; "
        "'-1' forever).",
    )
    context_length: int | None = Field(
        default=None, ge=256, le=1048576, description="OLLAMA_CONTEXT_LENGTH: default context window in tokens."
    )
    num_parallel: int | None = Field(
        default=None, ge=1, le=64, description="OLLAMA_NUM_PARALLEL: requests each loaded model serves at once."
    )
    gpu: GpuSettings = Field(
        default_factory=GpuSettings,
        description="A GPU for the server (off by default). resource 'amd.com/gpu' selects the ROCm image.",
    )

    @field_validator("keep_alive")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _KEEP_ALIVE.match(value):
            raise ValueError(f"{value!r} is not a duration; use e.g. '5m', '24h' or '-1' (keep loaded)")
        return value

    @model_validator(mode="after")
    def _internal_and_pullable(self) -> OllamaSettings:
        if self.hostname is not None:
            raise ValueError("hostname: Ollama is internal only (its API has no authentication); remove hostname")
        if self.models and not self.internet:
            raise ValueError("models: pulling needs internet = true (the server downloads them); or set models = []")
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Ollama",
        version=VERSION,
        homepage="https://github.com/ollama/ollama",
        description="Local model server: the Ollama API and an OpenAI-compatible API for the AI services.",
        settings_model=OllamaSettings,
        exemptions=(Gpu(reason=GPU_REASON),),
    )


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    # One port, two APIs: Ollama's own (/api/chat, /api/generate, /api/embed, /api/tags...) and the
    # OpenAI-compatible one under /v1 (docs/api/openai-compatibility.mdx).
    return [
        Endpoint(name="api", port=PORT, kind="ollama"),
        Endpoint(name="openai", port=PORT, path="/v1", kind="openai"),
    ]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_ollama.construct import ollama

    ollama(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    if not ctx.settings.internet:  # type: ignore[attr-defined]
        return []
    # The server, not the Job: `ollama pull` asks the server (POST /api/pull), which downloads the
    # manifest and layers from registry.ollama.ai over HTTPS. The Job only talks to the server.
    server = {"app.kubernetes.io/component": NAME}
    return [Internet(ports=(443,), pods=server, reason="model downloads from the Ollama registry (ollama pull)")]
