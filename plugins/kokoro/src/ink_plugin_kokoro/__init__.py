"""ink plugin: Kokoro-FastAPI (https://github.com/remsky/Kokoro-FastAPI), text to speech with the Kokoro-82M model.

Internal only (no route, no authentication). Serves an OpenAI-compatible speech API
(``POST /v1/audio/speech``, ``GET /v1/audio/voices``) on port 8880: endpoint ``speech``, kind ``openai-tts``.
The CPU image by default; the GPU (CUDA) image, or the ROCm one, with ``[plugins.kokoro.gpu]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from ink import hookimpl
from ink.models import Endpoint, ServiceInfo
from ink.podsecurity import Gpu
from ink.settings import ContainerResources, GpuSettings, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# GHCR tag = "v" + the VERSION file (.github/workflows/release.yml); release v0.8.0.
# renovate: datasource=docker depName=ghcr.io/remsky/kokoro-fastapi-cpu
VERSION = "v0.8.0"
NAME = "kokoro"
PORT = 8880  # entrypoint.sh: uvicorn --port 8880
ENDPOINT_KIND = "openai-tts"
GPU_REASON = "speech synthesis on the node's GPU (only when [plugins.kokoro.gpu] enabled = true)"


class KokoroSettings(ServiceSettings):
    replicas: int = Field(
        default=1,
        ge=0,
        le=10,
        description="Pods. Stateless (the model is in the image), but each loads the model and uses a few "
        "CPUs per request: one is enough for a homelab; more are spread over nodes.",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="500m", memory_request="1Gi", memory_limit="4Gi"),
        description="CPU and memory of the server (PyTorch with the 82M-parameter model).",
    )
    default_voice: str = Field(
        default="af_heart",
        pattern=r"^[a-z]{2}_[a-z0-9_]+$",
        description="DEFAULT_VOICE: the voice when a request names none (see GET /v1/audio/voices).",
    )
    web_player: bool = Field(
        default=False,
        description="ENABLE_WEB_PLAYER: the /web test page. Off: the service has no route, so nobody opens it.",
    )
    gpu: GpuSettings = Field(
        default_factory=GpuSettings,
        description="A GPU: the kokoro-fastapi-gpu image (NVIDIA), or kokoro-fastapi-rocm for 'amd.com/gpu'.",
    )

    @model_validator(mode="after")
    def _internal(self) -> KokoroSettings:
        if self.hostname is not None:
            raise ValueError("hostname: Kokoro is internal only (its API has no authentication); remove hostname")
        if self.storage_size is not None:
            raise ValueError("storage_size: Kokoro keeps no data (the model is in the image); remove storage_size")
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Kokoro TTS",
        version=VERSION,
        homepage="https://github.com/remsky/Kokoro-FastAPI",
        description="Text to speech: an OpenAI-compatible speech API for the AI services.",
        settings_model=KokoroSettings,
        exemptions=(Gpu(reason=GPU_REASON),),
    )


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    # api/src/main.py: the OpenAI router under /v1 (audio/speech, audio/voices, models).
    return [Endpoint(name="speech", port=PORT, path="/v1", kind=ENDPOINT_KIND)]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_kokoro.construct import kokoro

    kokoro(scope, ctx=ctx)
