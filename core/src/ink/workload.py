"""The workload vocabulary: a service's components, rendered to plain Kubernetes objects.

A service is one or more :class:`Component` s (a Deployment, StatefulSet, Job or CronJob),
each with containers, init containers and sidecars, the volumes they mount and the Services
that publish their ports. :func:`render` turns them into plain dicts; ``ink.kube.Workloads``
emits those as cdk8s objects, one jsii call each. Everything is hardened (see
:mod:`ink.podsecurity`) unless a container lists an :class:`~ink.podsecurity.Exemption`.

No cdk8s here, so plugins can build :class:`SecretFiles` claims in their declare hooks.
"""

from __future__ import annotations

import abc
import hashlib
import json
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ink.models import GeneratedSecret, SecretClaim, SecretKeyRef, SecretTemplate
from ink.podsecurity import (
    AddCapabilities,
    Exemption,
    Gpu,
    HostNetwork,
    Privileged,
    RunAsRoot,
    WritableRootFilesystem,
    restricted_pod_context,
)

if TYPE_CHECKING:
    from ink.context import ServiceContext

Protocol = Literal["TCP", "UDP", "SCTP"]
KEEP_ANNOTATIONS = {
    "argocd.argoproj.io/sync-options": "Delete=false,Prune=false",
    "helm.sh/resource-policy": "keep",
}
BACKUP_EXEMPT = "ink.homelab/backup-exempt"
# MetalLB's Service annotations (metallb.io/usage: "Requesting specific IPs", "IP address sharing";
# the metallb.universe.tf/ prefix is the deprecated spelling).
METALLB_ADDRESSES = "metallb.io/loadBalancerIPs"
METALLB_POOL = "metallb.io/address-pool"
METALLB_SHARED = "metallb.io/allow-shared-ip"


# --- ports, probes, volumes --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Port:
    """A container port, published on the Service as ``service_port`` (default: same number)."""

    name: str
    number: int
    protocol: Protocol = "TCP"
    service_port: int | None = None


MAX_RANGE_PORTS = 200  # every port is a Service port and an iptables rule; keep relay ranges bounded


def port_range(prefix: str, first: int, last: int, *, protocol: Protocol = "UDP") -> list[Port]:
    """One Port per number from ``first`` to ``last`` (a TURN relay range): Services have no port ranges.

    Names are ``<prefix><number>`` and must fit Kubernetes' 15 characters.
    """
    if not 0 < first <= last < 65536 or last - first + 1 > MAX_RANGE_PORTS:
        raise ValueError(
            f"port range {first}-{last}: need 1 <= first <= last <= 65535, at most {MAX_RANGE_PORTS} ports"
        )
    if len(f"{prefix}{last}") > 15:
        raise ValueError(f"port names {prefix}{first}..{prefix}{last} exceed 15 characters; use a shorter prefix")
    return [Port(name=f"{prefix}{n}", number=n, protocol=protocol) for n in range(first, last + 1)]


@dataclass(frozen=True, kw_only=True)
class Probe(abc.ABC):
    """What a probe checks; timings default per role (see :class:`Container`). Subclasses say how."""

    period_seconds: int | None = None
    timeout_seconds: int = 3
    failure_threshold: int | None = None

    @abc.abstractmethod
    def action(self) -> dict[str, Any]:
        """The probe's handler (``httpGet``, ``tcpSocket``, ``exec`` or ``grpc``)."""


@dataclass(frozen=True, kw_only=True)
class HttpProbe(Probe):
    path: str
    port: int | str
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"

    def action(self) -> dict[str, Any]:
        return {"httpGet": {"path": self.path, "port": self.port, "scheme": self.scheme}}


@dataclass(frozen=True, kw_only=True)
class TcpProbe(Probe):
    port: int | str

    def action(self) -> dict[str, Any]:
        return {"tcpSocket": {"port": self.port}}


@dataclass(frozen=True, kw_only=True)
class ExecProbe(Probe):
    command: Sequence[str]

    def action(self) -> dict[str, Any]:
        return {"exec": {"command": list(self.command)}}


@dataclass(frozen=True, kw_only=True)
class GrpcProbe(Probe):
    port: int
    service: str | None = None

    def action(self) -> dict[str, Any]:
        return {"grpc": {"port": self.port, **({"service": self.service} if self.service is not None else {})}}


@dataclass(frozen=True, kw_only=True)
class Volume:
    """A persistent volume: the PVC ``<object name>-<name>`` (a volumeClaimTemplate in a StatefulSet).

    Declare it as a BackupTarget (volume ``<object name>-<name>``, pod_volume ``<name>``) to back it up.
    """

    name: str
    mount_path: str
    size: str
    access_mode: str = "ReadWriteOnce"
    backup_exempt: str = ""
    """Why this volume is deliberately not backed up (e.g. it holds the backups); shown by ``ink backups``."""


@dataclass(frozen=True, kw_only=True)
class Scratch:
    """An emptyDir for a path the image writes to although the root filesystem is read-only."""

    name: str
    mount_path: str
    size_limit: str | None = None
    memory: bool = False  # tmpfs


def render_template(text: str, values: Mapping[str, object]) -> str:
    """``string.Template`` substitution: ``$name`` / ``${name}``, ``$$`` for a literal ``$``.

    Braces are plain text, so YAML, JSON and TOML need no escaping. A missing value is an error.
    """
    try:
        return string.Template(text).substitute({k: str(v) for k, v in values.items()})
    except KeyError as err:
        raise ValueError(f"template placeholder ${err.args[0]} has no value") from None
    except ValueError as err:
        raise ValueError(f"template: {err}") from None


@dataclass(frozen=True, kw_only=True)
class ConfigFiles:
    """Files in a ConfigMap ``name``, mounted read-only as a folder; a change rolls the pods.

    With ``values``, each file is a template (:func:`render_template`) filled from them; without,
    files are used as written.
    """

    name: str
    mount_path: str
    files: Mapping[str, str]
    values: Mapping[str, object] = field(default_factory=dict)
    volume: str | None = None  # the pod volume's name; default: ``name``

    @property
    def volume_name(self) -> str:
        return self.volume or self.name

    def rendered(self) -> dict[str, str]:
        if not self.values:
            return dict(self.files)
        return {path: render_template(text, self.values) for path, text in self.files.items()}

    def digest(self) -> str:
        return _digest(self.rendered())

    def pod_volume(self) -> dict[str, Any]:
        return {"name": self.volume_name, "configMap": {"name": self.name}}


@dataclass(frozen=True, kw_only=True)
class SecretFiles:
    """Files holding credentials: a Secret ``name`` made by the secrets provider, mounted read-only.

    Templates are filled from ``values`` (settings) and ``secrets`` (generated credentials, never in
    plain text in dist/). Return :meth:`claim` from ``ink_secrets`` and mount the same object.
    """

    name: str
    mount_path: str
    files: Mapping[str, str] = field(default_factory=dict)
    """Templates to render; empty mounts a Secret claimed elsewhere (e.g. a user's credentials file)."""
    values: Mapping[str, object] = field(default_factory=dict)
    secrets: Mapping[str, GeneratedSecret] = field(default_factory=dict)
    mode: int = 0o440  # readable by the pod's group (fsGroup), nobody else
    keys: Sequence[str] | None = None  # mount only these keys (default: every key)
    volume: str | None = None  # the pod volume's name; default: ``name``
    paths: Mapping[str, str] | None = None
    """Mount only these keys, each at its own path under ``mount_path`` (``{"tls.crt": "public.crt"}``)."""

    @property
    def volume_name(self) -> str:
        return self.volume or self.name

    def pod_volume(self) -> dict[str, Any]:
        # The secrets provider makes a Secret of exactly the claimed name in this namespace.
        secret: dict[str, Any] = {"secretName": self.name}
        if self.keys is not None and self.paths is not None:
            raise ValueError(f"SecretFiles {self.name}: keys or paths, not both")
        if self.keys is not None:
            secret["items"] = [{"key": key, "path": key} for key in self.keys]
        if self.paths is not None:
            secret["items"] = [{"key": key, "path": path} for key, path in self.paths.items()]
        secret["defaultMode"] = self.mode
        return {"name": self.volume_name, "secret": secret}

    def claim(self) -> SecretClaim:
        if not self.files:
            raise ValueError(f"SecretFiles {self.name}: no files to claim; the Secret is claimed elsewhere")
        clash = sorted(self.values.keys() & self.secrets.keys())
        if clash:
            raise ValueError(f"SecretFiles {self.name}: {', '.join(clash)} is both a value and a secret")
        data = {
            path: SecretTemplate(template=_format_template(text, self.values, self.secrets), values=dict(self.secrets))
            for path, text in sorted(self.files.items())
        }
        return SecretClaim(name=self.name, data=data)  # type: ignore[arg-type]

    def digest(self) -> str:
        """Changes with the templates, values and secret ids (the secret values are not known here)."""
        return _digest(
            {
                "files": dict(self.files),
                "values": {k: str(v) for k, v in self.values.items()},
                "ids": sorted(s.id for s in self.secrets.values()),
            }
        )


def _format_template(text: str, values: Mapping[str, object], secrets: Mapping[str, object]) -> str:
    """A ``$``-template turned into the ``{name}`` form SecretTemplate fills: braces doubled for the author."""
    out: list[str] = []
    last = 0
    for match in string.Template.pattern.finditer(text):
        out.append(text[last : match.start()].replace("{", "{{").replace("}", "}}"))
        last = match.end()
        name = match.group("named") or match.group("braced")
        if match.group("escaped") is not None:
            out.append("$")
        elif name in secrets:
            out.append("{" + name + "}")
        elif name in values:
            out.append(str(values[name]).replace("{", "{{").replace("}", "}}"))
        elif name is not None:
            raise ValueError(f"template placeholder ${name} has no value")
        else:
            raise ValueError(f"template: invalid placeholder at {match.start()}")
    out.append(text[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(out)


Mount = Volume | Scratch | ConfigFiles | SecretFiles


# --- containers, services, components ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Resources:
    cpu_request: str = "50m"
    memory_request: str = "128Mi"
    memory_limit: str = "512Mi"
    cpu_limit: str | None = None

    @classmethod
    def of(cls, settings: Any) -> Resources:
        """From a plugin's ``ContainerResources`` setting."""
        return cls(
            cpu_request=settings.cpu_request,
            memory_request=settings.memory_request,
            memory_limit=settings.memory_limit,
            cpu_limit=settings.cpu_limit,
        )

    def manifest(self) -> dict[str, Any]:
        """The Kubernetes ``resources`` field (also for a chart's values): a CPU limit only when set."""
        limits = {"memory": self.memory_limit}
        if self.cpu_limit:
            limits["cpu"] = self.cpu_limit
        return {"requests": {"cpu": self.cpu_request, "memory": self.memory_request}, "limits": limits}


@dataclass(frozen=True, kw_only=True)
class Container:
    """One container. ``health`` sets liveness, readiness and startup probes from one check;
    ``liveness`` / ``readiness`` / ``startup`` override one role each.
    """

    name: str
    image: str
    command: Sequence[str] | None = None
    args: Sequence[str] | None = None
    env: Mapping[str, str | SecretKeyRef] = field(default_factory=dict)
    ports: Sequence[Port] = ()
    mounts: Sequence[Mount] = ()
    resources: Resources = field(default_factory=Resources)
    health: Probe | None = None
    liveness: Probe | None = None
    readiness: Probe | None = None
    startup: Probe | None = None
    startup_seconds: int = 60
    user: int | None = None  # default: the component's
    pull_policy: Literal["Always", "IfNotPresent"] | None = None  # default: the plugin's pull_policy setting
    working_dir: str | None = None
    exemptions: Sequence[Exemption] = ()


@dataclass(frozen=True, kw_only=True)
class LoadBalancer:
    """A LoadBalancer Service's address, requested from MetalLB (``address``: one IP, or none for any).

    Services asking for one address share it (MetalLB's allow-shared-ip, keyed by the address);
    ink refuses two that ask for the same address, port and protocol.
    """

    address: str | None = None
    pool: str | None = None
    external_traffic_policy: Literal["Cluster", "Local"] = "Cluster"


@dataclass(frozen=True, kw_only=True)
class Service:
    """A Service for a component: ``ports`` names container ports (default: all of them)."""

    name: str | None = None  # default: the component's object name
    ports: Sequence[str] | None = None
    load_balancer: LoadBalancer | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SetupJob:
    """How a ``kind="Job"`` runs: idempotent, named ``<name>-<hash of its pod>`` so a change makes a new Job."""

    argocd_hook: Literal["PreSync", "Sync", "PostSync"] | None = "PostSync"
    backoff_limit: int = 6
    ttl_seconds: int = 86400


@dataclass(frozen=True, kw_only=True)
class Component:
    """A controller and its pods: Deployment (default), StatefulSet, Job or CronJob.

    ``name`` is the component label; the objects are named ``object_name`` (default
    ``<service>-<name>``, or the service's name for the component called like the service).
    """

    name: str
    containers: Sequence[Container]
    kind: Literal["Deployment", "StatefulSet", "Job", "CronJob"] = "Deployment"
    object_name: str | None = None
    init_containers: Sequence[Container] = ()
    sidecars: Sequence[Container] = ()
    """Native sidecars: init containers with ``restartPolicy: Always``, started before and stopped after the app."""
    services: Sequence[Service] | None = None  # default: one ClusterIP Service when a container has ports
    replicas: int = 1
    user: int = 1000
    schedule: str | None = None  # CronJob
    job: SetupJob = field(default_factory=SetupJob)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    spread: bool = False  # prefer one replica per node
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    service_account: str | None = None
    """A ServiceAccount the plugin creates (with its Role): its token is mounted. Default: no token."""


# --- rendering -----------------------------------------------------------------------------


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def object_name(ctx: ServiceContext, component: Component) -> str:
    if component.object_name:
        return component.object_name
    return ctx.name if component.name == ctx.name else f"{ctx.name}-{component.name}"


def exemptions_of(components: Iterable[Component]) -> list[Exemption]:
    return [
        e
        for c in components
        for container in (*c.init_containers, *c.sidecars, *c.containers)
        for e in container.exemptions
    ]


def render(ctx: ServiceContext, components: Sequence[Component]) -> list[dict[str, Any]]:
    """Every object of ``components`` as a plain dict, in a stable order."""
    declared = list(ctx.service.exemptions)
    for exemption in exemptions_of(components):
        if not any(d.admits(exemption) for d in declared):
            raise ValueError(
                f"{exemption!r} is used but not listed in ServiceInfo.exemptions; list it there so `ink docs` shows "
                "its reason and the namespace gets the Pod Security level it needs"
            )
        if exemption not in ctx.exemptions_used:
            ctx.exemptions_used.append(exemption)
    names = [object_name(ctx, c) for c in components]
    if len(set(names)) != len(names):
        raise ValueError(f"components share an object name: {names}")
    objects: list[dict[str, Any]] = []
    for component in components:
        objects.extend(_render_component(ctx, component))
    return objects


def _render_component(ctx: ServiceContext, component: Component) -> list[dict[str, Any]]:
    name = object_name(ctx, component)
    labels = ctx.labels(component.name)
    selector = ctx.selector_labels(component.name)
    meta = {"name": name, "namespace": ctx.namespace, "labels": labels}
    objects: list[dict[str, Any]] = []
    every = (*component.init_containers, *component.sidecars, *component.containers)
    if not component.containers:
        raise ValueError(f"component {component.name!r} has no containers")

    mounts: dict[str, Mount] = {}
    for container in every:
        for mount in container.mounts:
            if mounts.setdefault(_volume_name(mount), mount) != mount:
                raise ValueError(
                    f"component {component.name!r}: two different volumes are named {_volume_name(mount)!r}"
                )
    stateful = component.kind == "StatefulSet"
    claims: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    checksums: dict[str, str] = {}
    for mount in mounts.values():
        if isinstance(mount, Volume):
            claim = _claim(ctx, f"{name}-{mount.name}" if not stateful else mount.name, labels, mount)
            if stateful:
                claims.append(
                    {
                        "metadata": {"name": mount.name, **_only(claim["metadata"], "labels", "annotations")},
                        "spec": claim["spec"],
                    }
                )
            else:
                objects.append(claim)
                volumes.append({"name": mount.name, "persistentVolumeClaim": {"claimName": f"{name}-{mount.name}"}})
        elif isinstance(mount, Scratch):
            empty: dict[str, Any] = {}
            if mount.memory:
                empty["medium"] = "Memory"
            if mount.size_limit:
                empty["sizeLimit"] = mount.size_limit
            volumes.append({"name": mount.name, "emptyDir": empty})
        elif isinstance(mount, ConfigFiles):
            data = mount.rendered()
            objects.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "name": mount.name}, "data": data}
            )
            volumes.append(mount.pod_volume())
            checksums[f"checksum/{mount.volume_name}"] = _digest(data)
        else:
            volumes.append(mount.pod_volume())
            if mount.files:
                checksums[f"checksum/{mount.volume_name}"] = mount.digest()

    pod_spec: dict[str, Any] = {
        **({"serviceAccountName": component.service_account} if component.service_account else {}),
        "automountServiceAccountToken": component.service_account is not None,
        "securityContext": restricted_pod_context(component.user),
    }
    if any(isinstance(e, RunAsRoot) for c in every for e in c.exemptions):
        pod_spec["securityContext"].update(runAsNonRoot=False)
    initial = [_container(ctx, c, component, sidecar=False) for c in component.init_containers]
    initial += [_container(ctx, c, component, sidecar=True) for c in component.sidecars]
    if initial:
        pod_spec["initContainers"] = initial
    pod_spec["containers"] = [_container(ctx, c, component, sidecar=False) for c in component.containers]
    node_selector = dict(component.node_selector)
    for exemption in exemptions_of([component]):
        if isinstance(exemption, HostNetwork):
            pod_spec["hostNetwork"] = True
            # Cluster DNS still resolves Service names from the host's network namespace.
            pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        elif isinstance(exemption, Gpu):
            if exemption.runtime_class:
                pod_spec["runtimeClassName"] = exemption.runtime_class
            node_selector.update(exemption.node_selector)
    if node_selector:
        pod_spec["nodeSelector"] = dict(sorted(node_selector.items()))
    if component.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in component.tolerations]
    if component.spread:
        pod_spec["affinity"] = spread_affinity(selector)
    if volumes:
        pod_spec["volumes"] = volumes
    annotations = {**checksums, **component.pod_annotations, **(_backup_annotations(ctx, name, mounts.values()) or {})}
    template: dict[str, Any] = {"metadata": {"labels": labels}, "spec": pod_spec}
    if annotations:
        template["metadata"]["annotations"] = dict(sorted(annotations.items()))

    ports = [p for c in (*component.containers, *component.sidecars) for p in c.ports]
    services = component.services
    if services is None:
        services = [Service()] if ports else []
    if component.kind in ("Job", "CronJob"):
        objects.append(_job(ctx, component, name, meta, template))
        if services:
            raise ValueError(f"component {component.name!r} is a {component.kind}: it cannot have Services")
        return objects

    spec: dict[str, Any] = {"replicas": component.replicas, "selector": {"matchLabels": selector}, "template": template}
    if component.kind == "StatefulSet":
        headless = f"{name}-headless"
        spec["serviceName"] = headless
        if claims:
            spec["volumeClaimTemplates"] = claims
        objects.append(_service(ctx, Service(name=headless), meta, selector, ports, headless=True))
    elif any(isinstance(m, Volume) and m.access_mode == "ReadWriteOnce" for m in mounts.values()):
        # A ReadWriteOnce volume cannot attach to a second node during a rolling update.
        spec["strategy"] = {"type": "Recreate"}
    objects.append({"apiVersion": "apps/v1", "kind": component.kind, "metadata": meta, "spec": spec})
    for service in services:
        objects.append(_service(ctx, service, meta, selector, ports, headless=False))
    if component.replicas > 1:
        objects.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": meta,
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            }
        )
    return objects


def _volume_name(mount: Mount) -> str:
    return mount.volume_name if isinstance(mount, (ConfigFiles, SecretFiles)) else mount.name


def mount_of(mount: Mount) -> dict[str, Any]:
    """The container's volumeMount for ``mount``; files are read-only."""
    if isinstance(mount, (ConfigFiles, SecretFiles)):
        return {"name": mount.volume_name, "mountPath": mount.mount_path, "readOnly": True}
    return {"name": mount.name, "mountPath": mount.mount_path}


def spread_affinity(selector: Mapping[str, str]) -> dict[str, Any]:
    """Prefer one pod per node, so one node going down keeps the others up."""
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": dict(selector)},
                    },
                }
            ]
        }
    }


def _only(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: mapping[k] for k in keys if k in mapping}


def _claim(ctx: ServiceContext, name: str, labels: dict[str, str], volume: Volume) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [volume.access_mode], "resources": {"requests": {"storage": volume.size}}}
    if ctx.config.storage_class:
        spec["storageClassName"] = ctx.config.storage_class
    annotations = {**KEEP_ANNOTATIONS, **({BACKUP_EXEMPT: volume.backup_exempt} if volume.backup_exempt else {})}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ctx.namespace, "labels": labels, "annotations": annotations},
        "spec": spec,
    }


def _backup_annotations(ctx: ServiceContext, name: str, mounts: Iterable[Mount]) -> dict[str, str] | None:
    """Pod annotations the backup provider asked for, for the volumes it covers (values joined by ',')."""
    merged: dict[str, list[str]] = {}
    for volume in mounts:
        if not isinstance(volume, Volume):
            continue
        binding = ctx.bindings.get(f"backup/{name}-{volume.name}")
        for key, value in getattr(binding, "pod_annotations", {}).items():
            merged.setdefault(key, []).extend(v for v in value.split(",") if v not in merged.get(key, []))
    return {key: ",".join(values) for key, values in sorted(merged.items())} or None


def _probes(container: Container) -> dict[str, Any]:
    # Defaults of the single `health` check: liveness every 10 s, readiness every 5 s, startup allowed
    # `startup_seconds`; each gets up to 3 s to answer and restarts or unreadiness need 3 failures.
    roles = {
        "livenessProbe": (container.liveness or container.health, 10, 3),
        "readinessProbe": (container.readiness or container.health, 5, 3),
        "startupProbe": (container.startup or container.health, 5, max(1, container.startup_seconds // 5)),
    }
    probes: dict[str, Any] = {}
    for key, (probe, period, failures) in roles.items():
        if probe is not None:
            probes[key] = {
                **probe.action(),
                "periodSeconds": probe.period_seconds or period,
                "timeoutSeconds": probe.timeout_seconds,
                "failureThreshold": probe.failure_threshold or failures,
            }
    return probes


def env_vars(env: Mapping[str, str | SecretKeyRef]) -> list[dict[str, Any]]:
    """A container's ``env`` list (also for a chart's values): plain values, or ``secretKeyRef`` s."""
    out: list[dict[str, Any]] = []
    for key, value in env.items():
        if isinstance(value, SecretKeyRef):
            out.append({"name": key, "valueFrom": {"secretKeyRef": {"name": value.name, "key": value.key}}})
        else:
            out.append({"name": key, "value": str(value)})
    return out


def _container(ctx: ServiceContext, container: Container, component: Component, *, sidecar: bool) -> dict[str, Any]:
    exemptions = container.exemptions
    root = any(isinstance(e, RunAsRoot) for e in exemptions)
    privileged = any(isinstance(e, Privileged) for e in exemptions)
    user = 0 if root else (container.user if container.user is not None else component.user)
    security: dict[str, Any] = {
        "allowPrivilegeEscalation": privileged,
        "readOnlyRootFilesystem": not any(isinstance(e, WritableRootFilesystem) for e in exemptions),
        "runAsNonRoot": not root,
        "runAsUser": user,
        "runAsGroup": user,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if privileged:
        security["privileged"] = True
    added = sorted({c for e in exemptions if isinstance(e, AddCapabilities) for c in e.capabilities})
    if added:
        security["capabilities"]["add"] = added
    resources = container.resources.manifest()
    for gpu in (e for e in exemptions if isinstance(e, Gpu)):
        resources["limits"][gpu.resource] = str(gpu.count)
    body: dict[str, Any] = {
        "name": container.name,
        "image": container.image,
        "imagePullPolicy": container.pull_policy or ctx.setting("pull_policy", "IfNotPresent"),
    }
    if container.command:
        body["command"] = list(container.command)
    if container.args:
        body["args"] = list(container.args)
    if container.working_dir:
        body["workingDir"] = container.working_dir
    if container.env:
        body["env"] = env_vars(container.env)
    if container.ports:
        body["ports"] = [{"name": p.name, "containerPort": p.number, "protocol": p.protocol} for p in container.ports]
    if sidecar:
        body["restartPolicy"] = "Always"
    body.update(_probes(container))
    body["resources"] = resources
    body["securityContext"] = security
    if container.mounts:
        body["volumeMounts"] = [mount_of(m) for m in container.mounts]
    return body


def _service(
    ctx: ServiceContext,
    service: Service,
    meta: dict[str, Any],
    selector: dict[str, str],
    ports: Sequence[Port],
    *,
    headless: bool,
) -> dict[str, Any]:
    chosen = list(ports)
    if service.ports is not None:
        by_name = {p.name: p for p in ports}
        unknown = [n for n in service.ports if n not in by_name]
        if unknown:
            raise ValueError(f"Service {service.name or meta['name']!r} names unknown ports {unknown}")
        chosen = [by_name[n] for n in service.ports]
    spec: dict[str, Any] = {
        "selector": selector,
        "ports": [
            {"name": p.name, "port": p.service_port or p.number, "targetPort": p.number, "protocol": p.protocol}
            for p in chosen
        ],
    }
    annotations = dict(service.annotations)
    if headless:
        spec["clusterIP"] = "None"
        # Peers find each other before they are ready (cluster bootstrap).
        spec["publishNotReadyAddresses"] = True
    elif service.load_balancer is not None:
        lb = service.load_balancer
        spec["type"] = "LoadBalancer"
        spec["externalTrafficPolicy"] = lb.external_traffic_policy
        if lb.address:
            annotations[METALLB_ADDRESSES] = lb.address
            annotations[METALLB_SHARED] = f"ink-{lb.address}"
        if lb.pool:
            annotations[METALLB_POOL] = lb.pool
    metadata = {**meta, "name": service.name or meta["name"]}
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def _job(
    ctx: ServiceContext, component: Component, name: str, meta: dict[str, Any], template: dict[str, Any]
) -> dict[str, Any]:
    template["spec"]["restartPolicy"] = "Never" if component.kind == "Job" else "OnFailure"
    job_spec: dict[str, Any] = {"backoffLimit": component.job.backoff_limit, "template": template}
    if component.kind == "CronJob":
        if not component.schedule:
            raise ValueError(f"CronJob component {component.name!r} needs a schedule")
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": meta,
            "spec": {
                "schedule": component.schedule,
                "timeZone": ctx.config.timezone,
                # A slow run must not overlap the next one.
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": job_spec},
            },
        }
    job_spec["ttlSecondsAfterFinished"] = component.job.ttl_seconds
    annotations: dict[str, str] = {}
    if component.job.argocd_hook:
        # Replaced (not duplicated) on the next sync; a hook is not part of the app's diff, so the
        # TTL clean-up does not make the app OutOfSync.
        annotations = {
            "argocd.argoproj.io/hook": component.job.argocd_hook,
            "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
        }
    # Named by content: a changed pod (script, image, config) is a new Job, an unchanged one is left alone.
    named = f"{name}-{_digest(template)[:8]}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {**meta, "name": named, **({"annotations": annotations} if annotations else {})},
        "spec": job_spec,
    }


# --- checks across services ----------------------------------------------------------------


def load_balancer_clashes(services: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Problems with requested LoadBalancer addresses: ``(folder, Service body)`` pairs in, one line per clash."""
    taken: dict[tuple[str, int, str], str] = {}
    sharing: dict[str, tuple[str, str, object]] = {}
    problems: list[str] = []
    for folder, body in services:
        spec = body.get("spec", {})
        meta = body.get("metadata", {})
        addresses = meta.get("annotations", {}).get(METALLB_ADDRESSES, "")
        if spec.get("type") != "LoadBalancer" or not addresses:
            continue
        who = f"{folder}: Service {meta.get('namespace', '-')}/{meta.get('name')}"
        policy = spec.get("externalTrafficPolicy", "Cluster")
        pods = (meta.get("namespace"), sorted(spec.get("selector", {}).items()))
        for address in (a.strip() for a in addresses.split(",") if a.strip()):
            # MetalLB shares an address only between Services with the Cluster policy, or with the
            # Local policy and the very same pods (metallb.io/usage, "IP address sharing").
            first, first_policy, first_pods = sharing.setdefault(address, (who, policy, pods))
            if first != who and (policy != first_policy or (policy == "Local" and pods != first_pods)):
                problems.append(
                    f"{first} and {who} both ask MetalLB for {address}, which shares an address only between "
                    "Services with externalTrafficPolicy Cluster (or Local and the same pods); give one of them "
                    "another address in its [plugins.<name>] settings"
                )
            for port in spec.get("ports", []):
                key = (address, int(port["port"]), port.get("protocol", "TCP"))
                other = taken.setdefault(key, who)
                if other != who:
                    problems.append(
                        f"{other} and {who} both ask MetalLB for {address} port {key[1]}/{key[2]}; "
                        "give one of them another address or port in its [plugins.<name>] settings"
                    )
    return problems
