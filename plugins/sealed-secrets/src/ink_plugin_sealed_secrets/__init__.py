"""ink plugin: Sealed Secrets.

Provides ``secrets``: every generated credential reaches the output only as a SealedSecret,
sealed offline with the controller's public certificate. Also installs the controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    Capability,
    Inbound,
    KubeApi,
    MetricsTarget,
    NetworkRule,
    ResolvedSecret,
    SecretBinding,
    ServiceInfo,
)
from ink.settings import PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/bitnami/sealed-secrets-controller
CONTROLLER_VERSION = "0.40.0"
# https://github.com/bitnami/sealed-secrets: the chart moved to the bitnami org in 2026-06.
CHART_REPO = "https://bitnami.github.io/sealed-secrets"
# renovate: datasource=helm depName=sealed-secrets registryUrl=https://bitnami.github.io/sealed-secrets
CHART_VERSION = "2.20.0"  # ships controller 0.40.0


class SealedSecretsSettings(PluginSettings):
    certificate: str | None = Field(
        default=None,
        description="The controller's public certificate, relative to ink.toml. Get it once with `kubeseal "
        "--controller-namespace sealed-secrets --controller-name sealed-secrets-controller --fetch-cert`. "
        "Unset: a local development key pair in .ink/ is used and a warning is printed.",
    )
    controller_tag: str = Field(
        default=CONTROLLER_VERSION,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Tag of docker.io/bitnami/sealed-secrets-controller.",
    )
    chart_version: str = Field(default=CHART_VERSION, description="Version of the sealed-secrets Helm chart.")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="sealed-secrets",
        title="Sealed Secrets",
        version=CONTROLLER_VERSION,
        homepage="https://github.com/bitnami/sealed-secrets",
        description="Encrypts generated credentials so they can live in Git; the controller decrypts them.",
        settings_model=SealedSecretsSettings,
        provides=(Capability.SECRETS,),
    )


@hookimpl
def ink_provide_secret(secret: ResolvedSecret, scope: Construct, ctx: ServiceContext) -> SecretBinding:
    from ink_plugin_sealed_secrets.construct import sealed_secret

    sealed_secret(scope, secret=secret, ctx=ctx)
    return SecretBinding(name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.data)))


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # The chart's one pod is the controller, with the tag ink passes (construct: "image").
    return [f"docker.io/bitnami/sealed-secrets-controller:{ctx.setting('controller_tag')}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_sealed_secrets.construct import controller

    controller(scope, ctx=ctx)


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # The controller serves /metrics on container port `metrics` 8081 by default (chart values containerPorts.metrics
    # → --listen-metrics-addr; templates/deployment.yaml), pods labelled sealed-secrets.matchLabels.
    return [MetricsTarget(name="controller", pods={"app.kubernetes.io/name": "sealed-secrets"}, port=8081)]


@hookimpl
def ink_network() -> list[NetworkRule]:
    pods = {"app.kubernetes.io/name": "sealed-secrets"}
    return [
        KubeApi(reason="the controller unseals SealedSecrets into Secrets"),
        # `kubeseal --fetch-cert` reaches the controller's http port (8080) through the API server's proxy.
        Inbound(ports=(8080,), source="api-server", pods=pods, reason="kubeseal fetching the public key"),
    ]
