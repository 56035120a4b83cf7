"""ink plugin: Grafana Loki (https://grafana.com/oss/loki/).

The cluster's log store: one Loki in monolithic mode from the grafana-community chart, chunks and index in a
bucket claimed from the S3 provider, retention applied by the compactor. It serves the push and query API on
``http://loki.loki.svc:3100`` as the endpoint kind ``loki`` (log agents push to it, Grafana queries it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from ink import hookimpl
from ink.models import (
    BucketClaim,
    ChartService,
    Endpoint,
    MetricsTarget,
    NetworkRule,
    Quantity,
    ServiceInfo,
)
from ink.settings import ContainerResources, PluginSettings

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/grafana/loki
VERSION = "3.7.6"
# renovate: datasource=helm depName=loki registryUrl=https://grafana-community.github.io/helm-charts
CHART_VERSION = "18.11.0"
BUCKET = "loki"
PORT = 3100
# The chart's Service of the single binary is the release's full name: `loki` for release `loki`
# (templates/monolithic/service.yaml, include "loki.fullname").
SERVICE = "loki"
# Selector labels of the single-binary pods (templates/_helpers.tpl "loki.selectorLabels" plus the component).
PODS = {
    "app.kubernetes.io/name": "loki",
    "app.kubernetes.io/instance": "loki",
    "app.kubernetes.io/component": "single-binary",
}
_DURATION = re.compile(r"^([0-9]+)(h|d|w)$")
_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


class LokiSettings(PluginSettings):
    retention: str = Field(
        default="30d",
        description="How long logs are kept (limits_config.retention_period, applied by the compactor): a whole "
        "number of hours, days or weeks that is a multiple of 24h, e.g. '30d', '2w', '720h'.",
    )
    chart_version: str = Field(
        default=CHART_VERSION,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="Version of the loki chart (https://grafana-community.github.io/helm-charts).",
    )
    image_tag: str = Field(
        default=VERSION, pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="Tag of docker.io/grafana/loki."
    )
    storage_size: Quantity = Field(
        default="10Gi", description="The PVC of the write-ahead log and the index/chunk caches (/var/loki)."
    )
    storage_class: str | None = Field(default=None, description="StorageClass; unset uses the global storage_class.")
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(cpu_request="100m", memory_request="256Mi", memory_limit="1Gi"),
        description="Requests and limits of the Loki container.",
    )

    @field_validator("retention")
    @classmethod
    def _whole_days(cls, value: str) -> str:
        found = _DURATION.match(value)
        if found is None:
            raise ValueError(f"{value!r} is not a duration like '30d', '2w' or '720h'")
        hours = int(found[1]) * _HOURS[found[2]]
        # The compactor deletes whole index periods (24h, schema_config) and refuses shorter periods.
        if hours < 24 or hours % 24:
            raise ValueError(f"{value!r} must be a whole number of days (the index period is 24h), e.g. '30d'")
        return value


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="loki",
        title="Loki",
        version=VERSION,
        homepage="https://grafana.com/oss/loki/",
        description="Stores the logs of every pod and node; Grafana queries them.",
        settings_model=LokiSettings,
    )


@hookimpl
def ink_bucket_claims() -> list[BucketClaim]:
    # tls: Loki verifies an https store with the binding's CA (s3.http_config.ca_file).
    return [BucketClaim(bucket=BUCKET, tls=True)]


@hookimpl
def ink_endpoints() -> list[Endpoint]:
    # The contract: push (POST /loki/api/v1/push) and query (/loki/api/v1/query_range...) on one port.
    return [Endpoint(name="api", port=PORT, kind="loki", service=SERVICE)]


@hookimpl
def ink_metrics_targets() -> list[MetricsTarget]:
    # Loki serves its own metrics on the HTTP port (port name http-metrics in the chart).
    return [MetricsTarget(name="loki", pods=PODS, port=PORT)]


@hookimpl
def ink_images(ctx: ServiceContext) -> list[str]:
    # Loki alone (single binary): ink turns the gateway, caches, canary and tests off (construct).
    return [f"docker.io/grafana/loki:{ctx.settings.image_tag}"]


@hookimpl
def ink_workloads(scope: Construct, ctx: ServiceContext) -> None:
    from ink_plugin_loki.construct import loki

    loki(scope, ctx=ctx)


@hookimpl
def ink_network() -> list[NetworkRule]:
    # The bucket is reached through the s3 need's binding; clients through the endpoint; nothing else leaves.
    source = "loki chart 18.11: templates/monolithic/service.yaml, _helpers.tpl loki.selectorLabels"
    return [ChartService(name=SERVICE, pods=PODS, ports={PORT: PORT}, source=source)]
