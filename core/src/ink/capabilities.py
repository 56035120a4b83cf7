"""Capabilities: kinds of need that exactly one enabled provider plugin answers.

A capability is defined by a package, not by core: a :class:`CapabilitySpec` names the
capability, its need model, its binding model and its provide hook, and points at the module
of ``@hookspec`` functions that declares that hook. Packages publish their specs through the
``ink.capabilities`` entry-point group; core adds every spec's hook specifications to the
plugin manager *before* any plugin registers (as ``pytest_addhooks`` does for pytest), so a
plugin that implements a third-party capability's hook is checked like any other and a
misspelt hook name still fails at load.

The eight built-in capabilities are defined the same way, in :data:`BUILTIN`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from ink import hookspecs
from ink.errors import PluginError
from ink.models import (
    AuthBinding,
    AuthClient,
    BackupBinding,
    BackupTarget,
    Binding,
    BucketClaim,
    CertificateBinding,
    CertificateClaim,
    DatabaseBinding,
    DatabaseClaim,
    MetricsBinding,
    MetricsTarget,
    Need,
    Route,
    RouteBinding,
    S3Binding,
    SecretBinding,
    SecretClaim,
    is_dns_label,
)

ENTRY_POINT_GROUP = "ink.capabilities"
SECRETS = "secrets"
"""The capability core's secret pipeline answers last: values are derived from the master key first."""

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "SECRETS", "CapabilitySpec", "load", "provide_order"]


@dataclass(frozen=True)
class CapabilitySpec:
    """What a package defines to add a capability.

    The provide hook is called as ``hook(<need_argument>=need, scope=..., ctx=provider, consumer=...)``
    on the one enabled plugin whose ``ServiceInfo.provides`` names the capability, and returns an
    instance of ``binding``. Consumers declare needs through ``ink_needs`` (or ``declare_hook``),
    typed (an instance of ``need``) or by name (:class:`ink.models.NamedNeed`), so a consumer never
    has to import the package that defines the capability.
    """

    name: str
    need: type[Need]
    binding: type[Binding]
    provide_hook: str
    hookspecs: ModuleType | type | None = None
    """The module (or class) holding the provide hook's ``@hookspec``; added to every plugin manager."""
    need_argument: str = "need"
    declare_hook: str | None = None
    """A hook of its own for declaring these needs (the built-ins have one); ``ink_needs`` always works."""
    after: tuple[str, ...] = ()
    """Capabilities answered before this one: their bindings are on the consumer when this provider is called."""
    description: str = ""
    deferred: bool = False
    """Answered by core after every other need, not by the generic provide step (only ``secrets``)."""
    orders_deploy: bool = True
    """A consumer deploys after its provider (Argo CD waves). False where the consumer works without the provider
    and the provider's objects for it wait for nothing (metrics: a PodMonitor is read whenever Prometheus comes up;
    ordering by it would put every service after Prometheus, and Prometheus after its own ingress and TLS)."""
    defined_by: str = "ink-core"


BUILTIN: tuple[CapabilitySpec, ...] = (
    CapabilitySpec(
        "database", DatabaseClaim, DatabaseBinding, "ink_provide_database", hookspecs, "claim", "ink_database_claims",
        description="PostgreSQL databases with their own role",
    ),
    CapabilitySpec(
        "s3", BucketClaim, S3Binding, "ink_provide_bucket", hookspecs, "claim", "ink_bucket_claims",
        description="S3 buckets with credentials of their own",
    ),
    CapabilitySpec(
        "tls", CertificateClaim, CertificateBinding, "ink_provide_certificate", hookspecs, "claim",
        "ink_certificate_claims", description="TLS certificates",
    ),
    CapabilitySpec(
        "auth", AuthClient, AuthBinding, "ink_provide_auth", hookspecs, "client", "ink_auth_clients",
        description="single sign-on: OIDC clients and forward-auth",
    ),
    CapabilitySpec(
        "backup", BackupTarget, BackupBinding, "ink_provide_backup", hookspecs, "target", "ink_backup_targets",
        after=("s3",), description="scheduled backups of volumes",
    ),
    # An ingress provider reads the consumer's auth binding for the same host (forward-auth).
    CapabilitySpec(
        "ingress", Route, RouteBinding, "ink_provide_ingress", hookspecs, "route", "ink_ingress_routes",
        after=("auth", "tls"), description="HTTPS routes under the domain",
    ),
    # A metrics provider may link the monitor to the consumer's certificate or Secrets; nothing depends on it.
    CapabilitySpec(
        "metrics", MetricsTarget, MetricsBinding, "ink_provide_metrics", hookspecs, "target", "ink_metrics_targets",
        description="Prometheus scraping of metrics endpoints, with their alerts", orders_deploy=False,
    ),
    CapabilitySpec(
        SECRETS, SecretClaim, SecretBinding, "ink_provide_secret", hookspecs, "secret", "ink_secrets",
        deferred=True, description="Secrets written without exposing their values (e.g. sealed)",
    ),
)  # fmt: skip


def load(
    extra: Iterable[CapabilitySpec] = (), broken: dict[str, PluginError] | None = None
) -> dict[str, CapabilitySpec]:
    """The built-in capabilities, those installed packages publish, then ``extra`` (e.g. in tests).

    :param broken: Record a published definition that cannot load here and leave it out, instead of
        failing (for the commands that only describe what is installed).
    """
    specs: dict[str, CapabilitySpec] = {}
    found: list[CapabilitySpec] = list(BUILTIN)
    published = [e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if e.group == ENTRY_POINT_GROUP]
    for entry_point in sorted(published, key=lambda e: e.name):
        try:
            try:
                spec = entry_point.load()
            except Exception as err:
                problem = f"cannot import {entry_point.value}: {type(err).__name__}: {err}"
                raise PluginError(entry_point.name, ENTRY_POINT_GROUP, problem) from err
            dist = entry_point.dist
            if isinstance(spec, CapabilitySpec) and dist is not None and spec.defined_by == "ink-core":
                spec = dataclasses.replace(spec, defined_by=dist.name)
            found.append(_checked(spec, entry_point.name))
        except PluginError as err:
            if broken is None:
                raise
            broken[entry_point.name] = err
    found.extend(_checked(spec, getattr(spec, "name", "?")) for spec in extra)
    for spec in found:
        if spec.name in specs:
            raise PluginError(
                spec.name,
                ENTRY_POINT_GROUP,
                f"capability {spec.name!r} is defined twice ({specs[spec.name].defined_by} and {spec.defined_by}); "
                "uninstall one of the packages",
            )
        specs[spec.name] = spec
    for spec in specs.values():
        for other in spec.after:
            if other not in specs:
                raise PluginError(
                    spec.name,
                    ENTRY_POINT_GROUP,
                    f"capability {spec.name!r} is answered after {other!r}, which nothing defines",
                )
    return specs


def _checked(spec: object, name: str) -> CapabilitySpec:
    if not isinstance(spec, CapabilitySpec):
        raise PluginError(
            name, ENTRY_POINT_GROUP, f"entry point gives a {type(spec).__name__}, expected CapabilitySpec"
        )
    problem = ""
    if not is_dns_label(spec.name):
        problem = "its name must be a DNS label (lowercase letters, digits, '-')"
    elif not (isinstance(spec.need, type) and issubclass(spec.need, Need)):
        problem = "its need model must subclass ink.models.Need"
    elif not (isinstance(spec.binding, type) and issubclass(spec.binding, Binding)):
        problem = "its binding model must subclass ink.models.Binding"
    elif getattr(spec.need, "capability", None) != spec.name:
        problem = f"its need model {spec.need.__name__} says capability = {getattr(spec.need, 'capability', None)!r}"
    if problem:
        raise PluginError(spec.name, ENTRY_POINT_GROUP, f"capability {spec.name!r}: {problem}")
    return spec


def provide_order(specs: dict[str, CapabilitySpec]) -> dict[str, int]:
    """Capability → its place in the provide step: after the capabilities it names, else in definition order.

    Deferred capabilities come last: core answers them after everything else.
    """
    pending = sorted(specs, key=lambda name: specs[name].deferred)  # stable: definition order otherwise
    order: list[str] = []
    while pending:
        ready = next((name for name in pending if set(specs[name].after) <= set(order)), None)
        if ready is None:
            raise PluginError(
                pending[0], ENTRY_POINT_GROUP, f"capabilities answered after each other: {', '.join(pending)}"
            )
        order.append(ready)
        pending.remove(ready)
    return {name: index for index, name in enumerate(order)}
