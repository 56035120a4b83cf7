"""ink plugin: Valkey (https://valkey.io), the provider of the ``redis`` capability.

Each consumer gets a Valkey of its own, in its own namespace (the Cloudron redis addon's model):
no shared keyspace, no noisy neighbour, and removing the consumer removes its data. The plugin
itself runs nothing; its namespace stays empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ink import hookimpl
from ink.models import Quantity, ServiceInfo
from ink.settings import ImageTag, PluginSettings
from ink_plugin_valkey.capability import NAME, RedisBinding, RedisNeed

if TYPE_CHECKING:
    from constructs import Construct

    from ink.context import ServiceContext

# renovate: datasource=docker depName=docker.io/valkey/valkey
VERSION = "9.1.4"


class ValkeySettings(PluginSettings):
    image_tag: ImageTag | None = Field(
        default=None, description=f"Tag of docker.io/valkey/valkey for every instance (default {VERSION})."
    )
    cpu_request: Quantity = Field(default="25m", description="CPU request of each instance.")
    pull_policy: Literal["Always", "IfNotPresent"] = Field(default="IfNotPresent", description="imagePullPolicy.")


@hookimpl
def ink_service_info() -> ServiceInfo:
    return ServiceInfo(
        name="valkey",
        title="Valkey",
        version=VERSION,
        homepage="https://valkey.io",
        description="A Redis-compatible store of its own for each service that needs one.",
        settings_model=ValkeySettings,
        provides=(NAME,),
    )


@hookimpl
def ink_provide_redis(need: RedisNeed, scope: Construct, ctx: ServiceContext, consumer: ServiceContext) -> RedisBinding:
    from ink_plugin_valkey.construct import instance

    return instance(scope, need=need, ctx=ctx, consumer=consumer)
