"""ink plugin: docling-serve (https://github.com/docling-project/docling-serve), document conversion.

Internal only (no route). Converts PDF, DOCX, PPTX, HTML, images... to Markdown, JSON or text through
its API (``POST /v1/convert/file``, ``/v1/convert/source``, async variants) on port 5001: endpoint
``convert``, kind ``docling``. The CPU image by default, the CUDA image with ``[plugins.docling.gpu]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from ink import hookimpl
from ink.models import Endpoint, Internet, MetricsTarget, NetworkRule, Quantity, ServiceInfo
from ink.podsecurity import Gpu
from ink.settings import ContainerResources, GpuSettings, ServiceSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# Image tag = the release tag (.github/workflows/job-image.yml: docker/metadata-action's default
# type=ref,event=tag on a published release); release v1.31.0.
# renovate: datasource=docker depName=quay.io/docling-project/docling-serve-cpu
VERSION = "v1.31.0"
NAME = "docling"
PORT = 5001  # EXPOSE 5001; docling-serve run listens on UVICORN_PORT 5001
ENDPOINT_KIND = "docling"
GPU_REASON = "layout, table and OCR models on the node's GPU (only when [plugins.docling.gpu] enabled = true)"


class DoclingSettings(ServiceSettings):
    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="0 or 1: the local task engine keeps tasks and results in the pod's memory, so an async "
        "task polled on another replica is not found (upstream needs sticky sessions or the RQ engine).",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="500m", memory_request="2Gi", memory_limit="8Gi"),
        description="CPU and memory: the layout, table and OCR models plus the pages in work; upstream's "
        "examples give the API 1Gi requested and 4-8Gi as limit.",
    )
    scratch_size: Quantity = Field(
        default="10Gi", description="Size of the scratch space (uploads and results until they are fetched)."
    )
    workers: int = Field(
        default=2, ge=1, le=16, description="DOCLING_SERVE_ENG_LOC_NUM_WORKERS: documents converted at once."
    )
    threads: int = Field(default=4, ge=1, le=64, description="DOCLING_NUM_THREADS and OMP_NUM_THREADS per worker.")
    max_sync_wait: int = Field(
        default=600,
        ge=10,
        le=7200,
        description="DOCLING_SERVE_MAX_SYNC_WAIT in seconds: how long a synchronous convert waits (upstream 120, "
        "too short for a long PDF on a CPU).",
    )
    fetch_urls: bool = Field(
        default=False,
        description="Let the server reach the internet on 80 and 443, for /v1/convert/source requests that name "
        "a document by URL. Uploads (/v1/convert/file, what Open WebUI uses) need nothing.",
    )
    gpu: GpuSettings = Field(
        default_factory=GpuSettings, description="An NVIDIA GPU: the docling-serve-cu128 image (CUDA 12.8)."
    )

    @model_validator(mode="after")
    def _check(self) -> DoclingSettings:
        if self.hostname is not None:
            raise ValueError("hostname: docling is internal only (no authentication in front of it); remove hostname")
        if self.storage_size is not None:
            raise ValueError("storage_size: docling keeps no data (models are in the image); use scratch_size")
        if self.gpu.enabled and not self.gpu.resource.startswith("nvidia.com/"):
            raise ValueError(
                f"gpu.resource {self.gpu.resource!r}: docling-serve publishes released images for NVIDIA CUDA only "
                "(docling-serve-cu128); use an 'nvidia.com/...' resource or leave the GPU off"
            )
        return self


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name=NAME,
        title="Docling",
        version=VERSION,
        homepage="https://github.com/docling-project/docling-serve",
        description="Document conversion (PDF, Office, HTML, images to Markdown and JSON) for the AI services.",
        settings_model=DoclingSettings,
        exemptions=(Gpu(reason=GPU_REASON),),
    )


@hookimpl
def ink_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    # The base URL: clients add /v1/convert/file, /v1/convert/source, /v1/status/poll/{task_id}.
    return [Endpoint(name="convert", port=PORT, kind=ENDPOINT_KIND)]


@hookimpl
def ink_metrics_targets(ctx: ServiceContext) -> list[MetricsTarget]:
    # /metrics on the API port, on by default (DOCLING_SERVE_OTEL_ENABLE_PROMETHEUS=true): docling-serve docs,
    # 'Leveraging Application Metrics with Prometheus' (its ServiceMonitor scrapes /metrics on the API port).
    return [MetricsTarget(pods=ctx.selector_labels(), port=PORT)]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_docling.construct import docling

    docling(scope, ctx=ctx)


@hookimpl
def ink_network(ctx: ServiceContext) -> list[NetworkRule]:
    if not ctx.settings.fetch_urls:  # type: ignore[attr-defined]
        return []
    return [Internet(ports=(443, 80), reason="documents named by URL in /v1/convert/source requests")]
