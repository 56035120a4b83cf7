"""The Pod Security Standards, evaluated offline on pod templates.

A compact evaluator of the *baseline* and *restricted* policies as the Kubernetes documentation
defines them (https://kubernetes.io/docs/concepts/security/pod-security-standards/, the "latest"
version of each control), so a test can tell which level a chart's pods need and whether they meet
the ``pod-security.kubernetes.io/enforce`` label ink puts on their namespace. No maintained Python
implementation exists on PyPI; the API server's own admission (k8s.io/pod-security-admission) checks
the same rules in the API server dry-run tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

LEVELS = ("restricted", "baseline", "privileged")  # strictest first

# Baseline "Capabilities": the only ones that may be added.
_BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE"}
    | {"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)
# Baseline "Sysctls": the safe set.
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Restricted "Volume Types": the only ones allowed.
_RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_POD_TEMPLATE_PATHS = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod (metadata and spec) an object creates, or None for objects that create no pods."""
    path = _POD_TEMPLATE_PATHS.get(str(obj.get("kind")))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(spec.get(field) or []):
            yield f"spec.{field}[{index}]({container.get('name', '?')})", container


def _baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> Iterator[str]:
    pod_ctx = spec.get("securityContext") or {}
    if (pod_ctx.get("windowsOptions") or {}).get("hostProcess"):
        yield "spec.securityContext.windowsOptions.hostProcess: true (HostProcess)"
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield f"spec.{field}: true (Host Namespaces)"
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            yield f"spec.volumes[{volume.get('name')}].hostPath (HostPath Volumes)"
    for sysctl in pod_ctx.get("sysctls") or []:
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            yield f"spec.securityContext.sysctls {sysctl.get('name')} (Sysctls)"
    if (pod_ctx.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield "spec.securityContext.seccompProfile.type: Unconfined (Seccomp)"
    if (pod_ctx.get("appArmorProfile") or {}).get("type") == "Unconfined":
        yield "spec.securityContext.appArmorProfile.type: Unconfined (AppArmor)"
    yield from _selinux(pod_ctx.get("seLinuxOptions"), "spec.securityContext")
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(_APPARMOR_ANNOTATION) and not (value == "runtime/default" or value.startswith("localhost/")):
            yield f"metadata.annotations[{key}]: {value} (AppArmor)"
    for where, container in _containers(spec):
        ctx = container.get("securityContext") or {}
        if (ctx.get("windowsOptions") or {}).get("hostProcess"):
            yield f"{where}.securityContext.windowsOptions.hostProcess: true (HostProcess)"
        if ctx.get("privileged"):
            yield f"{where}.securityContext.privileged: true (Privileged Containers)"
        added = set((ctx.get("capabilities") or {}).get("add") or []) - _BASELINE_CAPABILITIES
        if added:
            yield f"{where}.securityContext.capabilities.add: {sorted(added)} (Capabilities)"
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                yield f"{where}.ports hostPort {port['hostPort']} (Host Ports)"
        if ctx.get("procMount", "Default") != "Default":
            yield f"{where}.securityContext.procMount: {ctx['procMount']} (/proc Mount Type)"
        if (ctx.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"{where}.securityContext.seccompProfile.type: Unconfined (Seccomp)"
        if (ctx.get("appArmorProfile") or {}).get("type") == "Unconfined":
            yield f"{where}.securityContext.appArmorProfile.type: Unconfined (AppArmor)"
        yield from _selinux(ctx.get("seLinuxOptions"), f"{where}.securityContext")


def _selinux(options: Any, where: str) -> Iterator[str]:
    if not isinstance(options, Mapping):
        return
    if options.get("type", "") not in _SELINUX_TYPES:
        yield f"{where}.seLinuxOptions.type: {options['type']} (SELinux)"
    for field in ("user", "role"):
        if options.get(field):
            yield f"{where}.seLinuxOptions.{field} set (SELinux)"


def _restricted(spec: Mapping[str, Any]) -> Iterator[str]:
    pod_ctx = spec.get("securityContext") or {}
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if kinds - _RESTRICTED_VOLUMES:
            yield f"spec.volumes[{volume.get('name')}]: {sorted(kinds)} (Volume Types)"
    if pod_ctx.get("runAsUser") == 0:
        yield "spec.securityContext.runAsUser: 0 (Running as Non-root user)"
    pod_seccomp = (pod_ctx.get("seccompProfile") or {}).get("type")
    for where, container in _containers(spec):
        ctx = container.get("securityContext") or {}
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{where}.securityContext.allowPrivilegeEscalation must be false (Privilege Escalation)"
        non_root = ctx.get("runAsNonRoot")
        if (pod_ctx.get("runAsNonRoot") if non_root is None else non_root) is not True:
            yield f"{where}: runAsNonRoot must be true, on the container or the pod (Running as Non-root)"
        if ctx.get("runAsUser") == 0:
            yield f"{where}.securityContext.runAsUser: 0 (Running as Non-root user)"
        if (ctx.get("seccompProfile") or {}).get("type", pod_seccomp) not in ("RuntimeDefault", "Localhost"):
            yield f"{where}: seccompProfile.type must be RuntimeDefault or Localhost (Seccomp)"
        capabilities = ctx.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"{where}.securityContext.capabilities.drop must include ALL (Capabilities)"
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            yield f"{where}.securityContext.capabilities.add: only NET_BIND_SERVICE (Capabilities)"


def violations(pod: Mapping[str, Any], level: str) -> list[str]:
    """What in ``pod`` (a pod or pod template: metadata and spec) the policy ``level`` forbids."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}; one of {', '.join(LEVELS)}")
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if level == "privileged":
        return []
    found = list(_baseline(meta, spec))
    if level == "restricted":
        found += _restricted(spec)
    return found


def required_level(pod: Mapping[str, Any]) -> str:
    """The strictest level ``pod`` meets: restricted, baseline or privileged."""
    return next(level for level in LEVELS if not violations(pod, level))
