"""What a plugin's hooks receive: its settings, the global settings, and its bindings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ink.config import resolve_path
from ink.errors import ConfigError
from ink.models import (
    AuthBinding,
    BackupBinding,
    Binding,
    CertificateBinding,
    DatabaseBinding,
    Link,
    LinkBinding,
    Need,
    RouteBinding,
    S3Binding,
    SecretBinding,
    ServiceInfo,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ink.podsecurity import Exemption
    from ink.secrets import MasterKey
    from ink.settings import InkSettings

B = TypeVar("B", bound=Binding)

MANAGED_BY = "ink"
PART_OF = "homelab"


@dataclass
class ServiceContext:
    """One plugin's view of the run. Core creates one per enabled plugin."""

    service: ServiceInfo
    settings: BaseModel
    config: InkSettings
    bindings: dict[str, Binding] = field(default_factory=dict)
    """This service's needs, answered: ``need.key`` → binding (filled before ``ink_workloads``)."""
    served: list[tuple[Need, Binding]] = field(default_factory=list)
    """For a provider: every need it answered, with its binding."""
    linked_by: list[tuple[Link, LinkBinding]] = field(default_factory=list)
    """Every link to this service from another, with what the consumer was given (e.g. to accept its key)."""
    base_dir: Path = field(default_factory=Path.cwd)
    """The folder of ink.toml: relative paths in settings are relative to it."""
    environment: str | None = None
    """The ``[environments.<name>]`` this run synthesises (its output is ``<out>-<name>``); None for the base."""
    environments: tuple[str, ...] = ()
    """Every environment ink.toml declares, sorted, whichever one this run synthesises."""
    master_key: MasterKey | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)
    patches: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    """Deferred operations on rendered objects by node path (:func:`ink.kube.from_output`); shared by the run."""
    services: dict[str, ServiceInfo] = field(default_factory=dict, repr=False)
    """Every enabled service of the run (filled before the provide phase)."""
    needs: list[Need] = field(default_factory=list, repr=False)
    """Every need declared in the run, e.g. for a tunnel that exposes all public routes.

    In the declare phase, the needs of the capabilities declared before the hook's own (they are declared one
    capability at a time, in the order :data:`ink.capabilities.BUILTIN` lists them: ``ink_metrics_targets`` sees
    every database, bucket, certificate, auth, backup and ingress claim); complete from the provide phase on."""
    waves: dict[str, int] = field(default_factory=dict, repr=False)
    """Deploy order of every enabled service: providers before the services that need them."""
    exemptions_used: list[Exemption] = field(default_factory=list, repr=False)
    """The exemptions the components rendered this run use (:func:`ink.workload.render` fills it)."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Per-run scratch space for the plugin (e.g. a loaded certificate); never global state."""
    kept_files: dict[Path, tuple[bytes, int]] = field(default_factory=dict, repr=False)
    """Files to write once the run's output is written (see :meth:`keep_file`); shared by the run."""

    def resolve_path(self, value: str) -> Path:
        return resolve_path(self.base_dir, value)

    def keep_file(self, path: Path, data: bytes, mode: int = 0o600) -> None:
        """Write ``path`` (e.g. a new development key) only if this run writes its output.

        A refused run, ``ink diff`` or ``ink secrets list`` must leave no key material behind.
        """
        self.kept_files[path] = (data, mode)

    def with_user_env(self, own: Mapping[str, object]) -> dict[str, object]:
        """``own`` (what the plugin sets from typed settings and the wiring) plus the user's ``env`` setting.

        A user variable that ``own`` sets too is refused: it would silently override a typed setting
        (``SIGNUPS_ALLOWED`` over ``signups_allowed``) or the wiring (``DATABASE_URL``).
        """
        extra: Mapping[str, str] = self.setting("env") or {}
        for name in sorted(extra.keys() & own.keys()):
            raise ConfigError(
                f"plugins.{self.name}.env.{name}: ink sets {name} itself, from a typed setting or the wiring; remove "
                f"it from env and use the setting instead (see `ink schema` or docs/plugins/{self.name}.md)"
            )
        return {**own, **extra}

    def entropy(self, purpose: str) -> bytes:
        """Secret bytes for ``purpose``, derived from the master key (e.g. to make sealing deterministic)."""
        if self.master_key is None:
            raise RuntimeError("the master key is only available while synthesising")
        return self.master_key.purpose_key(purpose)

    def provider_of(self, capability: str) -> str | None:
        """The enabled plugin that provides ``capability``, if any (known from the declare phase on)."""
        return next((name for name, info in self.services.items() if capability in info.provides), None)

    def warn(self, message: str) -> None:
        """Report something the user should know; shown after synthesis."""
        self.warnings.append(f"{self.name}: {message}")

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def namespace(self) -> str:
        return self.service.namespace or self.service.name

    @property
    def domain(self) -> str:
        return self.config.domain

    def url(self, host: str, path: str = "") -> str:
        """The public URL of a subdomain: ``https://<host>.<domain><path>``."""
        return f"https://{host}.{self.config.domain}{path}"

    def public_url(self, host: str | None = None) -> str:
        """Where users open the service: the ingress binding's URL of its route on ``host`` (default: the
        ``hostname`` setting), else ``https://<host>.<domain>`` (no ingress provider: the route is optional)."""
        host = host if host is not None else self.settings.hostname  # type: ignore[attr-defined]
        route = self.bindings.get(f"ingress/{host}")
        return route.url if route is not None else self.url(host)  # type: ignore[attr-defined]

    def labels(self, component: str | None = None) -> dict[str, str]:
        """The standard ``app.kubernetes.io/*`` labels for an object of this service."""
        labels = {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/version": _label_value(self.service.version),
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
        if component:
            labels["app.kubernetes.io/component"] = component
        return labels

    def selector_labels(self, component: str | None = None) -> dict[str, str]:
        """Labels that select this service's pods. No version: selectors are immutable."""
        labels = {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.name}
        if component:
            labels["app.kubernetes.io/component"] = component
        return labels

    # -- bindings -------------------------------------------------------------------------

    def binding(self, key: str, kind: type[B]) -> B:
        try:
            found = self.bindings[key]
        except KeyError:
            known = ", ".join(sorted(self.bindings)) or "none"
            raise LookupError(f"{self.name} has no binding {key!r} (bindings: {known})") from None
        if not isinstance(found, kind):
            raise TypeError(f"binding {key!r} is a {type(found).__name__}, not a {kind.__name__}")
        return found

    def database(self, name: str | None = None) -> DatabaseBinding:
        return self.binding(f"database/{name or self.name}", DatabaseBinding)

    def secret(self, name: str) -> SecretBinding:
        return self.binding(f"secrets/{name}", SecretBinding)

    def route(self, host: str) -> RouteBinding:
        return self.binding(f"ingress/{host}", RouteBinding)

    def auth(self, host: str) -> AuthBinding:
        return self.binding(f"auth/{host}", AuthBinding)

    def backup(self, volume: str) -> BackupBinding:
        return self.binding(f"backup/{volume}", BackupBinding)

    def bucket(self, bucket: str) -> S3Binding:
        return self.binding(f"s3/{bucket}", S3Binding)

    def certificate(self, name: str) -> CertificateBinding:
        return self.binding(f"tls/{name}", CertificateBinding)

    def link(self, name: str) -> LinkBinding | None:
        """The binding of the link ``name``, or None when an optional link found no target."""
        found = self.bindings.get(f"link/{name}")
        return found if isinstance(found, LinkBinding) else None

    def setting(self, name: str, default: Any = None) -> Any:
        return getattr(self.settings, name, default)


def _label_value(value: str) -> str:
    """Kubernetes label values: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in value)[:63]
    return cleaned.strip("-_.")
