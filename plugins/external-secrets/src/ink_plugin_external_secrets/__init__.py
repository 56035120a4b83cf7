"""ink plugin: the External Secrets Operator (ESO) with Vault.

Provides ``secrets`` as an alternative to Sealed Secrets: no credential value reaches the output.
Each generated credential is made once, in the cluster, by an ESO ``Password`` generator and
written to Vault by a ``PushSecret`` that never overwrites it; each Secret a service claims is an
``ExternalSecret`` that reads the values from Vault. Also installs the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ink import hookimpl
from ink.models import (
    Capability,
    Inbound,
    KubeApi,
    Link,
    MetricsTarget,
    NetworkRule,
    ResolvedSecret,
    SecretBinding,
    ServiceInfo,
)
from ink.settings import ContainerResources, ImageTag, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=ghcr.io/external-secrets/external-secrets
VERSION = "v2.9.0"  # github.com/external-secrets/external-secrets release v2.9.0 (2026-08-07)
CHART_REPO = "https://charts.external-secrets.io"
# renovate: datasource=helm depName=external-secrets registryUrl=https://charts.external-secrets.io
CHART_VERSION = "2.9.0"  # tag helm-chart-2.9.0; appVersion v2.9.0
RELEASE = "external-secrets"
# Each component serves plain /metrics on container port `metrics` (--metrics-addr=:<metrics.listen.port>, 8080 for
# all three; metrics.listen.secure and .auth are off by default: chart values.yaml, templates/deployment.yaml,
# webhook-deployment.yaml, cert-controller-deployment.yaml). Pod labels: the chart's selectorLabels helpers
# (app.kubernetes.io/name external-secrets[-webhook|-cert-controller], instance = the release).
METRICS_PORT = 8080
COMPONENTS = {
    "controller": "external-secrets",
    "webhook": "external-secrets-webhook",
    "cert-controller": "external-secrets-cert-controller",
}


def _resources() -> ContainerResources:
    return ContainerResources(cpu_request="10m", memory_request="64Mi", memory_limit="256Mi")


class ExternalSecretsSettings(PluginSettings):
    enabled: bool = Field(
        default=False,
        description="Off by default: Sealed Secrets is the default secrets provider. To keep generated "
        "credentials in Vault instead, set true here and [plugins.sealed-secrets] enabled = false, and install "
        "Vault (ink-plugin-vault).",
    )
    chart_version: str = Field(default=CHART_VERSION, description="Version of the external-secrets Helm chart.")
    image_tag: ImageTag = Field(
        default=VERSION, description="Tag of ghcr.io/external-secrets/external-secrets (all three components)."
    )
    refresh_interval: str = Field(
        default="1h",
        pattern=r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
        description="How often ExternalSecrets re-read Vault and PushSecrets check their path (a Go duration, "
        "e.g. '15m', '1h').",
    )
    resources: ContainerResources = Field(default_factory=_resources, description="The controller's container.")
    webhook_resources: ContainerResources = Field(default_factory=_resources, description="The webhook's container.")
    cert_controller_resources: ContainerResources = Field(
        default_factory=_resources, description="The cert-controller's container (the webhook's certificate)."
    )


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="external-secrets",
        title="External Secrets Operator",
        version=VERSION.removeprefix("v"),
        homepage="https://external-secrets.io",
        description="Keeps generated credentials in Vault and gives each service its Secrets from there.",
        settings_model=ExternalSecretsSettings,
        provides=(Capability.SECRETS,),
    )


@hookimpl
def ink_links() -> list[Link]:
    # Optional: ESO synthesises without Vault; the store then has nothing to reach (construct.vault_warning).
    return [Link(name="vault", kind="vault", optional=True)]


@hookimpl
def ink_provide_secret(secret: ResolvedSecret, scope: Construct, ctx: ServiceContext) -> SecretBinding:
    from ink_plugin_external_secrets.construct import external_secret

    external_secret(scope, secret=secret, ctx=ctx)
    # from_sources: the values come from Vault (generated there, user secrets at ink/user/<name>), not from data.
    return SecretBinding(
        name=secret.name, namespace=secret.namespace, keys=tuple(sorted(secret.sources)), from_sources=True
    )


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Controller, webhook and cert controller run one image, with the tag ink passes (construct: "image").
    return [f"ghcr.io/external-secrets/external-secrets:{ctx.setting('image_tag')}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_external_secrets.construct import controller, generated_credentials, store

    controller(scope, ctx=ctx)
    store(scope, ctx=ctx)
    generated_credentials(scope, ctx=ctx)


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # ink's PodMonitors: the chart's serviceMonitor values would add a metrics Service per component.
    return [
        MetricsTarget(
            name=name, pods={"app.kubernetes.io/name": app, "app.kubernetes.io/instance": RELEASE}, port=METRICS_PORT
        )
        for name, app in COMPONENTS.items()
    ]


@hookimpl
def ink_network() -> list[NetworkRule]:
    return [
        KubeApi(reason="the controller writes Secrets; the webhook and cert-controller manage their certificate"),
        # The chart's ValidatingWebhookConfigurations call Service external-secrets-webhook:443 → container port
        # 10250 (values.yaml webhook.port).
        Inbound(
            ports=(10250,),
            source="api-server",
            pods={"app.kubernetes.io/name": "external-secrets-webhook"},
            reason="the validating webhook for SecretStores and ExternalSecrets",
        ),
    ]
