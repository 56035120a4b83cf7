"""Kokoro-FastAPI's Deployment and Service.

Upstream facts, read at the release tag v0.8.0 of remsky/Kokoro-FastAPI:
- ``docker-bake.hcl`` and ``.github/workflows/release.yml``: images ``ghcr.io/remsky/kokoro-fastapi-cpu``,
  ``-gpu`` (CUDA 12.6 amd64 / 12.9 arm64) and ``-rocm`` (amd64), tagged ``v<VERSION>``.
- ``docker/cpu/Dockerfile.optimized``: user ``appuser`` UID 1000, working directory ``/app``, the model
  baked into ``/app/api/src/models/v1_0`` at build time; ``docker/gpu/Dockerfile.optimized`` and
  ``docker/rocm/Dockerfile``: UID 1001.
- ``docker/scripts/entrypoint.sh``: downloads the model only when ``DOWNLOAD_MODEL=true`` (unset at run
  time), then ``uvicorn api.src.main:app --host 0.0.0.0 --port 8880``.
- ``api/src/main.py``: ``GET /health`` answers ``{"status": "healthy"}``.
- ``api/src/core/config.py``: ``TEMP_FILE_DIR`` (``api/temp_files``, relative to ``/app``), ``DEFAULT_VOICE``,
  ``ENABLE_WEB_PLAYER``; the model and voices load from local paths (``api/src/inference/kokoro_v1.py``).
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink_plugin_kokoro import GPU_REASON, NAME, PORT

IMAGE = "ghcr.io/remsky/kokoro-fastapi"
CPU_USER = 1000
GPU_USER = 1001
TEMP = "/app/api/temp_files"


def flavour(ctx: ServiceContext) -> str:
    gpu = ctx.settings.gpu  # type: ignore[attr-defined]
    if not gpu.enabled:
        return "cpu"
    return "rocm" if gpu.resource.startswith("amd.com/") else "gpu"


def kokoro(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    kind = flavour(ctx)
    env: dict[str, object] = {
        "DOWNLOAD_MODEL": "false",  # the model is in the image; nothing to fetch
        "HF_HUB_OFFLINE": "1",  # so a missing file fails loudly instead of trying the internet (no egress)
        "HF_HOME": "/tmp/huggingface",
        "XDG_CACHE_HOME": "/tmp/cache",  # torch, numba and spaCy caches: the root filesystem is read-only
        "TEMP_FILE_DIR": TEMP,
        "DEFAULT_VOICE": settings.default_voice,  # type: ignore[attr-defined]
        "ENABLE_WEB_PLAYER": "true" if settings.web_player else "false",  # type: ignore[attr-defined]
    }
    gpu = settings.gpu.exemption(GPU_REASON)  # type: ignore[attr-defined]
    container = kube.Container(
        name=NAME,
        image=f"{IMAGE}-{kind}:{settings.image_tag or ctx.service.version}",  # type: ignore[attr-defined]
        env=ctx.with_user_env(env),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        mounts=[
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="1Gi"),
            # Files of `return_download_link` requests; pruned past 2 GB (MAX_TEMP_DIR_SIZE_MB).
            kube.Scratch(name="temp-files", mount_path=TEMP, size_limit="2Gi"),
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/health", port=PORT),
        # Loading the model and warming up takes a while on a small CPU.
        startup_seconds=300,
        exemptions=[gpu] if gpu else [],
    )
    replicas: int = settings.replicas  # type: ignore[attr-defined]
    kube.Workloads(
        scope,
        NAME,
        ctx=ctx,
        components=[
            kube.Component(
                name=NAME,
                containers=[container],
                replicas=replicas,
                user=CPU_USER if kind == "cpu" else GPU_USER,
                spread=replicas > 1,
            )
        ],
    )
