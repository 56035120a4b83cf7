"""Ollama's Deployment, Service, model store and the Job that pulls the configured models.

Upstream facts, read at the release tag v0.32.15 of ollama/ollama:
- ``Dockerfile``: ``ENTRYPOINT ["/bin/ollama"]``, ``CMD ["serve"]``, ``OLLAMA_HOST=0.0.0.0:11434``; the
  image runs as root with its store in ``/root/.ollama`` (``docs/docker.mdx``).
- ``envconfig/config.go``: ``OLLAMA_MODELS`` defaults to ``$HOME/.ollama/models``; ``OLLAMA_KEEP_ALIVE``,
  ``OLLAMA_CONTEXT_LENGTH``, ``OLLAMA_NUM_PARALLEL``. ``cmd/cmd.go`` (initializeKeypair) writes the
  server's key to ``$HOME/.ollama/id_ed25519``. So HOME on the volume lets it run as any user with a
  read-only root filesystem.
- ``server/routes.go``: ``GET /`` answers "Ollama is running"; ``GET /api/version``.
- ``.github/workflows/release.yaml``: the ROCm image is the same tag with "-rocm" (amd64); the default
  image covers the CPU and NVIDIA CUDA.
"""

from __future__ import annotations

import shlex

from ink import kube
from ink.context import ServiceContext
from ink_plugin_ollama import GPU_REASON, NAME, PORT, PULL_COMPONENT

IMAGE = "docker.io/ollama/ollama"
USER = 1000  # the image has no user of its own; HOME is the volume, owned through fsGroup
HOME = "/var/lib/ollama"

# Waits for the server (a fresh volume or a GPU node can take minutes), then pulls each model.
# `ollama pull` of a present model only compares its manifest: the Job is safe to re-run.
PULL = """\
set -eu
until ollama list >/dev/null 2>&1; do echo "waiting for $OLLAMA_HOST"; sleep 5; done
for model in {models}; do
  echo "pulling $model"
  ollama pull "$model"
done
"""


def image(ctx: ServiceContext) -> str:
    settings = ctx.settings
    tag = settings.image_tag or ctx.service.version  # type: ignore[attr-defined]
    gpu = settings.gpu  # type: ignore[attr-defined]
    if gpu.enabled and gpu.resource.startswith("amd.com/") and not tag.endswith("-rocm"):
        tag += "-rocm"
    return f"{IMAGE}:{tag}"


def ollama(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    env: dict[str, object] = {
        "HOME": HOME,
        "OLLAMA_MODELS": f"{HOME}/models",
        "OLLAMA_HOST": f"0.0.0.0:{PORT}",
    }
    for key, value in (
        ("OLLAMA_KEEP_ALIVE", settings.keep_alive),  # type: ignore[attr-defined]
        ("OLLAMA_CONTEXT_LENGTH", settings.context_length),  # type: ignore[attr-defined]
        ("OLLAMA_NUM_PARALLEL", settings.num_parallel),  # type: ignore[attr-defined]
    ):
        if value is not None:
            env[key] = str(value)
    gpu = settings.gpu.exemption(GPU_REASON)  # type: ignore[attr-defined]
    server = kube.Container(
        name=NAME,
        image=image(ctx),
        env=ctx.with_user_env(env),  # type: ignore[arg-type]
        ports=[kube.Port(name="http", number=PORT)],
        mounts=[
            kube.Volume(
                name="models",
                mount_path=HOME,
                size=settings.storage_size,  # type: ignore[attr-defined]
                backup_exempt="downloaded models: the pull Job fetches them again from the registry",
            ),
            kube.Scratch(name="tmp", mount_path="/tmp", size_limit="1Gi"),
        ],
        resources=kube.Resources.of(settings.resources),  # type: ignore[attr-defined]
        health=kube.HttpProbe(path="/", port=PORT),
        # The first start on a GPU node loads its libraries and discovers devices.
        startup_seconds=300,
        exemptions=[gpu] if gpu else [],
    )
    components = [
        kube.Component(name=NAME, containers=[server], replicas=settings.replicas, user=USER)  # type: ignore[attr-defined]
    ]
    models: list[str] = settings.models  # type: ignore[attr-defined]
    if models:
        pull = kube.Container(
            name=PULL_COMPONENT,
            image=image(ctx),
            command=["/bin/sh", "-c", PULL.format(models=" ".join(shlex.quote(m) for m in models))],
            env={"OLLAMA_HOST": f"http://{NAME}.{ctx.namespace}.svc:{PORT}", "HOME": "/tmp"},
            mounts=[kube.Scratch(name="tmp", mount_path="/tmp", size_limit="64Mi")],
            resources=kube.Resources(cpu_request="10m", memory_request="32Mi", memory_limit="128Mi"),
        )
        # A big model takes a while: the server downloads, the Job waits on the stream. Retried on failure.
        components.append(
            kube.Component(
                name=PULL_COMPONENT,
                kind="Job",
                containers=[pull],
                user=USER,
                job=kube.SetupJob(argocd_hook="PostSync", backoff_limit=6, ttl_seconds=86400),
            )
        )
    kube.Workloads(scope, NAME, ctx=ctx, components=components)
