"""The SealedSecret objects and the controller install."""

from __future__ import annotations

from ink import kube, sealing
from ink.context import ServiceContext
from ink.models import ResolvedSecret
from ink.podsecurity import restricted_container_context

# kubeseal looks for this name; the chart's default ("sealed-secrets") would need a flag on every call.
CONTROLLER_NAME = "sealed-secrets-controller"
DEV_KEY_DIR = ".ink"


def certificate(ctx: ServiceContext) -> sealing.SealingCertificate:
    """The configured certificate, or the local development one (created once, with a warning)."""
    cached = ctx.cache.get("certificate")
    if cached is None:
        configured = ctx.setting("certificate")
        if configured:
            cached = sealing.load_certificate(ctx.resolve_path(configured))
        else:
            cached = sealing.dev_certificate(ctx.resolve_path(DEV_KEY_DIR), ctx.keep_file, ctx.kept_files)
            cert_path = cached.path
            ctx.warn(
                f"no sealing certificate configured: secrets are sealed with the development key in {cert_path}, "
                "which no cluster can open. Fetch the controller's certificate with `kubeseal --controller-namespace "
                f"{ctx.namespace} --controller-name {CONTROLLER_NAME} --fetch-cert > sealed-secrets.pem` and set "
                '[plugins.sealed-secrets] certificate = "sealed-secrets.pem"'
            )
        ctx.cache["certificate"] = cached
    return cached


def sealed_secret(scope: kube.Construct, *, secret: ResolvedSecret, ctx: ServiceContext) -> None:
    cert = certificate(ctx)
    entropy = ctx.entropy("sealed-secrets")
    encrypted = {
        key: sealing.seal_value(
            cert, namespace=secret.namespace, name=secret.name, key=key, plaintext=value.encode(), entropy=entropy
        )
        for key, value in sorted(secret.data.items())
    }
    kube.api_object(
        scope,
        "sealed-secret",
        {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": secret.name, "namespace": secret.namespace, "labels": dict(secret.labels)},
            "spec": {
                "encryptedData": encrypted,
                # The Secret the controller creates: same name and namespace (strict scope), these labels.
                "template": {
                    "metadata": {"name": secret.name, "namespace": secret.namespace, "labels": dict(secret.labels)},
                    "type": secret.type,
                },
            },
        },
    )


def controller(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    kube.helm_application(
        scope,
        ctx=ctx,
        name=CONTROLLER_NAME,
        repo_url="https://bitnami.github.io/sealed-secrets",
        chart="sealed-secrets",
        cluster_kinds=(
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ),  # checked against the rendered chart (tests/test_charts.py)
        version=ctx.setting("chart_version"),
        values={
            "fullnameOverride": CONTROLLER_NAME,
            # The namespace enforces Pod Security "restricted"; the chart's defaults lack these two.
            "podSecurityContext": {"fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": restricted_container_context(1001),
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "image": {
                "registry": "docker.io",
                "repository": "bitnami/sealed-secrets-controller",
                "tag": ctx.setting("controller_tag"),
            },
        },
        sync_wave=-20,
    )
