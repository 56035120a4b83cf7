"""docling-serve's Deployment and Service.

Upstream facts, read at the release tag v1.31.0 of docling-project/docling-serve:
- ``.github/image-matrix.json``: images ``docling-serve``, ``docling-serve-cpu``, ``docling-serve-cu128``,
  ``docling-serve-cu130`` on ``quay.io/docling-project`` (and ghcr.io).
- ``Containerfile``: ``USER 1001`` (group 0, files ``g=u``), ``WORKDIR /opt/app-root/src``, the models
  downloaded at build time into ``DOCLING_SERVE_ARTIFACTS_PATH=/opt/app-root/src/.cache/docling/models``,
  ``OMP_NUM_THREADS=4``, ``EXPOSE 5001``, ``CMD ["docling-serve", "run"]``.
- ``docling_serve/app.py``: ``GET /health`` (the process is up), ``GET /ready`` (503 until the models are
  loaded), ``GET /livez`` (503 when the task loop died).
- ``docs/configuration.md``: ``DOCLING_SERVE_SCRATCH_PATH``, ``DOCLING_SERVE_ENABLE_UI`` (off),
  ``DOCLING_SERVE_MAX_SYNC_WAIT`` (120), ``DOCLING_SERVE_ENG_KIND`` (local), ``DOCLING_SERVE_ENG_LOC_NUM_WORKERS``
  (2), ``DOCLING_NUM_THREADS``, ``DOCLING_DEVICE``.
"""

from __future__ import annotations

from ink import kube
from ink.context import ServiceContext
from ink_plugin_docling import GPU_REASON, NAME, PORT

REGISTRY = "quay.io/docling-project"
USER = 1001
SCRATCH = "/scratch"


def docling(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    gpu = settings.gpu.exemption(GPU_REASON)  # type: ignore[attr-defined]
    image = "docling-serve-cu128" if gpu else "docling-serve-cpu"
    threads = str(settings.threads)  # type: ignore[attr-defined]
    env: dict[str, object] = {
        "DOCLING_SERVE_SCRATCH_PATH": SCRATCH,
        "DOCLING_SERVE_ENG_KIND": "local",
        "DOCLING_SERVE_ENG_LOC_NUM_WORKERS": str(settings.workers),  # type: ignore[attr-defined]
        "DOCLING_SERVE_MAX_SYNC_WAIT": str(settings.max_sync_wait),  # type: ignore[attr-defined]
        "DOCLING_SERVE_ENABLE_UI": "false",  # no route reaches it
        "DOCLING_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "DOCLING_DEVICE": "cuda" if gpu else "cpu",
        # Writable caches on an emptyDir (the root filesystem is read-only; the baked models stay where
        # DOCLING_SERVE_ARTIFACTS_PATH points): Hugging Face, torch, EasyOCR, matplotlib.
        "HF_HOME": "/tmp/huggingface",
        "XDG_CACHE_HOME": "/tmp/cache",
        "EASYOCR_MODULE_PATH": "/tmp/easyocr",
        "MPLCONFIGDIR": "/tmp/matplotlib",
    }
    container = kube.Container(
        name=NAME,
        image=f"{REGISTRY}/{image}:{settings.image_tag or ctx.service.version}",  # type: ignore[attr-defined]
        env=ctx.with_user_env(env),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        mounts=[
            kube.Scratch(name="scratch", mount_path=SCRATCH, size_limit=settings.scratch_size),  # type: ignore[attr-defined]
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="2Gi"),
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        liveness=kube.HttpProbe(path="/livez", port=PORT),
        readiness=kube.HttpProbe(path="/ready", port=PORT),
        # Up first, then the models load (DOCLING_SERVE_LOAD_MODELS_AT_BOOT): /ready gates the traffic.
        startup=kube.HttpProbe(path="/health", port=PORT),
        startup_seconds=300,
        exemptions=[gpu] if gpu else [],
    )
    kube.Workloads(
        scope,
        NAME,
        ctx=ctx,
        components=[
            kube.Component(name=NAME, containers=[container], replicas=settings.replicas, user=USER)  # type: ignore[attr-defined]
        ],
    )
