"""Exemptions from ink's hardened pod defaults, and the Pod Security level they need.

Every container ink builds runs non-root, with a read-only root filesystem, no privilege
escalation, all capabilities dropped and seccomp ``RuntimeDefault``: the Pod Security
Standard ``restricted``. A service that cannot run that way (upstream needs root, the host's
network, a GPU) says so with an exemption object carrying the reason. A plugin lists its
exemptions in ``ServiceInfo.exemptions``: ``ink docs`` shows them with their reasons, and the
namespace's ``pod-security.kubernetes.io/enforce`` level is the strictest one that admits all of
them. Levels follow the Pod Security Standards
(kubernetes.io/docs/concepts/security/pod-security-standards).

No cdk8s here: plugins build exemptions in ``ink_service_info``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["restricted", "baseline", "privileged"]


def restricted_pod_context(user: int, *, group: int | None = None, fs_group: int | None = None) -> dict[str, Any]:
    """A pod ``securityContext`` of the restricted Pod Security Standard, for charts' values and hand-built pods.

    The user is numeric: the kubelet cannot check a named image user against ``runAsNonRoot``. ``group`` and
    ``fs_group`` default to the user. A fresh dict each call, so a plugin may extend it.
    """
    group = user if group is None else group
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": group,
        "fsGroup": group if fs_group is None else fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_context(user: int | None = None, *, group: int | None = None) -> dict[str, Any]:
    """A container ``securityContext`` of the restricted Pod Security Standard, for charts' values and hand-built
    containers: no privilege escalation, read-only root filesystem, all capabilities dropped, RuntimeDefault seccomp.

    With ``user``, the container also runs as that numeric non-root user (``group`` defaults to it); without, it
    inherits the pod's user. A fresh dict each call, so a plugin may extend it.
    """
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if user is not None:
        context.update(runAsNonRoot=True, runAsUser=user, runAsGroup=user if group is None else group)
    return context


LEVELS: tuple[Level, ...] = ("restricted", "baseline", "privileged")

# Capabilities each level allows in `capabilities.add` (Pod Security Standards, "Capabilities").
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


@dataclass(frozen=True, kw_only=True)
class Exemption:
    """One departure from the hardened defaults; ``reason`` says why upstream needs it."""

    reason: str
    when_used: bool = False
    """Raise the namespace's level only when a component rendered this run uses it (an exemption a setting
    switches on, e.g. Home Assistant's host network); otherwise declaring it is enough."""

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError(f"{type(self).__name__} needs a reason: say why the service cannot run without it")

    @property
    def level(self) -> Level:
        """The least privileged Pod Security level that admits this exemption."""
        return "restricted"

    @property
    def summary(self) -> str:
        """What the exemption allows, for docs."""
        return type(self).__name__

    def admits(self, used: Exemption) -> bool:
        """Whether declaring this exemption in ``ServiceInfo.exemptions`` allows a container to use ``used``."""
        return self == used


@dataclass(frozen=True, kw_only=True)
class RunAsRoot(Exemption):
    """The container runs as user 0 (``runAsNonRoot`` is a restricted-level control)."""

    @property
    def level(self) -> Level:
        return "baseline"

    @property
    def summary(self) -> str:
        return "runs as root"


@dataclass(frozen=True, kw_only=True)
class WritableRootFilesystem(Exemption):
    """The image writes where no volume can be mounted. Not a Pod Security control: restricted still holds."""

    @property
    def summary(self) -> str:
        return "writable root filesystem"


@dataclass(frozen=True, kw_only=True)
class AddCapabilities(Exemption):
    """Linux capabilities added back after dropping ALL (e.g. ``NET_BIND_SERVICE`` for a port below 1024)."""

    capabilities: tuple[str, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.capabilities or any(not c.isupper() or c.startswith("CAP_") for c in self.capabilities):
            raise ValueError(f"capabilities must be names like 'NET_BIND_SERVICE', got {self.capabilities!r}")

    @property
    def level(self) -> Level:
        wanted = set(self.capabilities)
        if wanted <= RESTRICTED_CAPABILITIES:
            return "restricted"
        return "baseline" if wanted <= BASELINE_CAPABILITIES else "privileged"

    @property
    def summary(self) -> str:
        return "adds capabilities " + ", ".join(self.capabilities)


@dataclass(frozen=True, kw_only=True)
class Privileged(Exemption):
    """A privileged container (device access, kernel settings): only the privileged level admits it."""

    @property
    def level(self) -> Level:
        return "privileged"

    @property
    def summary(self) -> str:
        return "privileged container"


@dataclass(frozen=True, kw_only=True)
class HostNetwork(Exemption):
    """The pod shares the node's network namespace (baseline forbids host namespaces)."""

    @property
    def level(self) -> Level:
        return "privileged"

    @property
    def summary(self) -> str:
        return "host network"


@dataclass(frozen=True, kw_only=True)
class HostPath(Exemption):
    """A directory of the node mounted as a ``hostPath`` volume: baseline forbids it, only privileged admits it.

    Storage and backup agents need it (the kubelet's pod and plugin directories); ``paths`` says which.
    """

    paths: tuple[str, ...] = ()

    @property
    def level(self) -> Level:
        return "privileged"

    @property
    def summary(self) -> str:
        return "host paths " + ", ".join(self.paths) if self.paths else "host paths"


@dataclass(frozen=True, kw_only=True)
class Gpu(Exemption):
    """A GPU: the device plugin's resource, its RuntimeClass and the nodes that have one.

    Defaults are NVIDIA's (device plugin resource ``nvidia.com/gpu``; the GPU Operator's
    RuntimeClass ``nvidia``; GPU feature discovery's ``nvidia.com/gpu.present`` node label).
    Neither field is a Pod Security control, so restricted still holds; it is an exemption
    because the pod can only run on nodes set up for it.
    """

    resource: str = "nvidia.com/gpu"
    count: int = 1
    runtime_class: str | None = "nvidia"
    node_selector: Mapping[str, str] = field(default_factory=lambda: {"nvidia.com/gpu.present": "true"})

    @property
    def summary(self) -> str:
        return f"GPU ({self.count} x {self.resource})"

    def admits(self, used: Exemption) -> bool:
        # The device details come from the user's settings (ink.settings.GpuSettings) at synth time,
        # while ServiceInfo is static: a declared GPU admits any GPU used with the same reason.
        return isinstance(used, Gpu) and used.reason == self.reason


def required_level(exemptions: Iterable[Exemption], floor: Level = "restricted") -> Level:
    """The strictest Pod Security level that admits every exemption (and is at least ``floor``)."""
    return max((floor, *(e.level for e in exemptions)), key=LEVELS.index)
