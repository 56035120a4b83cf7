"""Constructs plugins share, built on cdk8s and cdk8s-plus-27.

Importing this module starts the jsii Node runtime, so plugins import it inside
``ink_workloads`` (or from a module imported there), never at the top of the plugin
module: ``ink plugins`` and config errors then stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# jsii prints an 11-line end-of-life banner under Node 20; users must not see it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import cdk8s
import cdk8s_plus_27 as kplus
from constructs import Construct

from ink.context import ServiceContext
from ink.models import SecretKeyRef
from ink.podsecurity import (
    AddCapabilities,
    Exemption,
    Gpu,
    HostNetwork,
    HostPath,
    Privileged,
    RunAsRoot,
    WritableRootFilesystem,
)
from ink.synth import CLUSTER_KINDS, FromOutput, Manifest

# The workload vocabulary (no cdk8s in it), re-exported so plugins need only ``ink.kube``.
# KEEP_ANNOTATIONS: Argo CD must never prune or delete an object holding data, even when it leaves dist/.
from ink.workload import (
    BACKUP_EXEMPT,
    KEEP_ANNOTATIONS,
    Component,
    ConfigFiles,
    Container,
    ExecProbe,
    GrpcProbe,
    HttpCheck,
    HttpProbe,
    LoadBalancer,
    Port,
    Probe,
    Resources,
    Scratch,
    SecretFiles,
    Service,
    SetupJob,
    TcpProbe,
    Volume,
    mount_of,
    port_range,
    render,
    render_template,
    spread_affinity,
)

__all__ = [
    "BACKUP_EXEMPT",
    "KEEP_ANNOTATIONS",
    "AddCapabilities",
    "Component",
    "ConfigFiles",
    "Container",
    "ExecProbe",
    "Exemption",
    "Gpu",
    "GrpcProbe",
    "HostNetwork",
    "HostPath",
    "HttpCheck",
    "HttpProbe",
    "LoadBalancer",
    "Port",
    "Privileged",
    "Probe",
    "Resources",
    "RunAsRoot",
    "Scratch",
    "SecretFiles",
    "Service",
    "SetupJob",
    "TcpProbe",
    "Volume",
    "WebService",
    "WebServiceProps",
    "Workloads",
    "WritableRootFilesystem",
    "api_object",
    "from_output",
    "helm_application",
    "patch",
    "port_range",
    "render_template",
]

ARGOCD_NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"  # Argo CD's name for the cluster it runs in


def patch(ctx: ServiceContext, construct: Construct, *ops: dict[str, Any]) -> None:
    """Change an object's rendered JSON with RFC 6902 operations, applied by core after cdk8s.

    For fields cdk8s-plus does not expose (seccomp, capabilities ``ALL``, exact quantity strings).
    cdk8s' own ``add_json_patch`` cannot do this on cdk8s-plus objects: their typed converters
    drop values they do not recognise, such as a plain ``"500m"`` where a Quantity is expected.
    """
    target = construct if isinstance(construct, cdk8s.ApiObject) else cdk8s.ApiObject.of(construct)
    ctx.patches.setdefault(target.node.path, []).extend(ops)


def from_output(ctx: ServiceContext, construct: Construct, path: str, produce: Callable[[list[Manifest]], Any]) -> None:
    """Set ``path`` (a JSON pointer, e.g. ``/spec/destinations``) of the object to ``produce(manifests)``.

    Core calls ``produce`` once every object of the run is rendered, with all of them (each a
    :class:`ink.synth.Manifest`: folder and body): for a value that depends on what the other plugins
    emit, such as the cluster-scoped kinds an Argo CD project must allow.
    """
    patch(ctx, construct, {"op": "add", "path": path, "value": FromOutput(produce)})


def cluster_resource(kind: str) -> dict[str, str]:
    """An AppProject ``clusterResourceWhitelist`` entry: a built-in cluster-scoped ``Kind`` or ``group/Kind``."""
    group, _, name = kind.rpartition("/")
    if not group and name not in CLUSTER_KINDS:
        raise ValueError(f"{kind!r} is not a cluster-scoped kind ink knows; write it as 'group/{kind}'")
    return {"group": group or CLUSTER_KINDS[name], "kind": name}


def api_object(scope: Construct, id: str, manifest: Mapping[str, Any]) -> cdk8s.ApiObject:
    """Any Kubernetes object given as a plain mapping: custom resources, kinds cdk8s-plus lacks."""
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
    meta = manifest.get("metadata", {})
    obj = cdk8s.ApiObject(
        scope,
        id,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=cdk8s.ApiObjectMetadata(
            name=meta.get("name"),
            namespace=meta.get("namespace"),
            labels=meta.get("labels"),
            annotations=meta.get("annotations"),
            finalizers=meta.get("finalizers"),
        ),
    )
    if body:
        obj.add_json_patch(*(cdk8s.JsonPatch.add(f"/{key}", value) for key, value in body.items()))
    return obj


# --- workloads ----------------------------------------------------------------------------


class Workloads(Construct):
    """A service's components (see :mod:`ink.workload`) as objects: one plain ApiObject each.

    ``objects`` maps ``"<Kind>-<name>"`` to the emitted object.
    """

    def __init__(self, scope: Construct, id: str, *, ctx: ServiceContext, components: Sequence[Component]) -> None:
        super().__init__(scope, id)
        self.objects: dict[str, cdk8s.ApiObject] = {}
        for manifest in render(ctx, components):
            key = f"{manifest['kind']}-{manifest['metadata']['name']}"
            self.objects[key] = api_object(self, key, manifest)


@dataclass
class WebServiceProps:
    image: str
    ports: Sequence[Port]
    health: HttpCheck | None
    env: Mapping[str, str | SecretKeyRef] = field(default_factory=dict)
    volumes: Sequence[Volume] = ()
    scratch: Sequence[Scratch] = (Scratch(name="tmp", mount_path="/tmp"),)
    replicas: int = 1
    readiness_path: str | None = None  # default: the health check's path
    files: Sequence[ConfigFiles | SecretFiles] = ()  # mounted read-only; a ConfigFiles change rolls the pods
    spread: bool = False  # prefer one replica per node
    resources: Mapping[str, Mapping[str, str]] | None = None
    user: int = 1000
    command: Sequence[str] | None = None
    args: Sequence[str] | None = None


class WebService(Construct):
    """A Deployment with its Service, volumes and, with more than one replica, a PodDisruptionBudget.

    Hardened by default: non-root, read-only root filesystem, no privilege escalation, all
    capabilities dropped, seccomp RuntimeDefault, no service-account token.
    """

    def __init__(
        self, scope: Construct, id: str, *, ctx: ServiceContext, name: str, component: str, props: WebServiceProps
    ) -> None:
        super().__init__(scope, id)
        labels = ctx.labels(component)
        selector = ctx.selector_labels(component)
        namespace = ctx.namespace
        meta = cdk8s.ApiObjectMetadata(name=name, namespace=namespace, labels=labels)

        pod_volumes: list[tuple[kplus.Volume, str]] = []
        for volume in props.volumes:
            claim = kplus.PersistentVolumeClaim(
                self,
                f"pvc-{volume.name}",
                metadata=cdk8s.ApiObjectMetadata(
                    name=f"{name}-{volume.name}",
                    namespace=namespace,
                    labels=labels,
                    annotations={
                        **KEEP_ANNOTATIONS,
                        **({BACKUP_EXEMPT: volume.backup_exempt} if volume.backup_exempt else {}),
                    },
                ),
                access_modes=[kplus.PersistentVolumeAccessMode(_ACCESS_MODES[volume.access_mode])],
                storage_class_name=ctx.config.storage_class,
            )
            patch(ctx, claim, {"op": "add", "path": "/spec/resources", "value": {"requests": {"storage": volume.size}}})
            pod_volumes.append(
                (
                    kplus.Volume.from_persistent_volume_claim(self, f"vol-{volume.name}", claim, name=volume.name),
                    volume.mount_path,
                )
            )
        for scratch in props.scratch:
            pod_volumes.append(
                (kplus.Volume.from_empty_dir(self, f"scratch-{scratch.name}", scratch.name), scratch.mount_path)
            )

        main = props.ports[0].number if props.ports else None
        probes: dict[str, Any] = {}
        if props.health is not None:
            port = props.health.port or main
            probes = {
                "liveness": kplus.Probe.from_http_get(
                    props.health.path,
                    port=port,
                    failure_threshold=3,
                    period_seconds=cdk8s.Duration.seconds(10),
                    timeout_seconds=cdk8s.Duration.seconds(3),
                ),
                "readiness": kplus.Probe.from_http_get(
                    props.readiness_path or props.health.path,
                    port=port,
                    failure_threshold=3,
                    period_seconds=cdk8s.Duration.seconds(5),
                    timeout_seconds=cdk8s.Duration.seconds(3),
                ),
                "startup": kplus.Probe.from_http_get(
                    props.health.path,
                    port=port,
                    failure_threshold=max(1, props.health.startup_seconds // 5),
                    period_seconds=cdk8s.Duration.seconds(5),
                    timeout_seconds=cdk8s.Duration.seconds(3),
                ),
            }
        env = {key: _env_value(self, key, value) for key, value in props.env.items()}
        has_rwo = any(v.access_mode == "ReadWriteOnce" for v in props.volumes)
        deployment = kplus.Deployment(
            self,
            "deployment",
            metadata=meta,
            replicas=props.replicas,
            select=False,
            pod_metadata=cdk8s.ApiObjectMetadata(
                labels=labels, annotations=backup_annotations(ctx, name, props.volumes)
            ),
            automount_service_account_token=False,
            # A ReadWriteOnce volume cannot attach to a second node during a rolling update.
            strategy=kplus.DeploymentStrategy.recreate() if has_rwo else None,
            security_context=kplus.PodSecurityContextProps(
                user=props.user, group=props.user, fs_group=props.user, ensure_non_root=True
            ),
            volumes=[volume for volume, _ in pod_volumes],
            containers=[
                kplus.ContainerProps(
                    name=component,
                    image=props.image,
                    image_pull_policy=_PULL_POLICIES[ctx.setting("pull_policy", "IfNotPresent")],
                    ports=[
                        kplus.ContainerPort(number=p.number, name=p.name, protocol=kplus.Protocol(p.protocol))
                        for p in props.ports
                    ],
                    env_variables=env,
                    command=list(props.command) if props.command else None,
                    args=list(props.args) if props.args else None,
                    volume_mounts=[kplus.VolumeMount(path=path, volume=volume) for volume, path in pod_volumes],
                    security_context=kplus.ContainerSecurityContextProps(
                        user=props.user,
                        group=props.user,
                        ensure_non_root=True,
                        read_only_root_filesystem=True,
                        allow_privilege_escalation=False,
                        privileged=False,
                    ),
                    **probes,
                )
            ],
        )
        deployment.select(kplus.LabelSelector.of(labels=selector))
        container = "/spec/template/spec/containers/0"
        patch(
            ctx,
            deployment,
            # cdk8s-plus' internal selector label; the app.kubernetes.io labels select the pods instead.
            {"op": "remove", "path": "/spec/template/metadata/labels/cdk8s.io~1metadata.addr"},
            {"op": "add", "path": f"{container}/resources", "value": dict(props.resources or _resources(ctx))},
            {"op": "add", "path": f"{container}/securityContext/capabilities", "value": {"drop": ["ALL"]}},
            {"op": "add", "path": f"{container}/securityContext/seccompProfile", "value": {"type": "RuntimeDefault"}},
            {
                "op": "add",
                "path": "/spec/template/spec/securityContext/seccompProfile",
                "value": {"type": "RuntimeDefault"},
            },
        )
        self._mount_files(ctx, deployment, name, props, labels, selector, has_volumes=bool(pod_volumes))
        self.deployment = deployment

        service = kplus.Service(
            self,
            "service",
            metadata=meta,
            ports=[
                kplus.ServicePort(
                    name=p.name,
                    port=p.service_port or p.number,
                    target_port=p.number,
                    protocol=kplus.Protocol(p.protocol),
                )
                for p in props.ports
            ],
        )
        for key, value in selector.items():
            service.select_label(key, value)
        patch(ctx, service, {"op": "remove", "path": "/spec/externalIPs"})  # cdk8s-plus emits an empty list
        self.service = service

        if props.replicas > 1:
            api_object(
                self,
                "pdb",
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
                },
            )

    def _mount_files(
        self,
        ctx: ServiceContext,
        deployment: kplus.Deployment,
        name: str,
        props: WebServiceProps,
        labels: dict[str, str],
        selector: dict[str, str],
        *,
        has_volumes: bool,
    ) -> None:
        """File volumes, checksums and spreading, as patches: cdk8s-plus has no typed form for them."""
        spec = "/spec/template/spec"
        ops: list[dict[str, Any]] = []
        checksums: dict[str, str] = {}
        for files in props.files:
            if isinstance(files, ConfigFiles):
                api_object(
                    self,
                    f"config-{files.name}",
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": files.name, "namespace": ctx.namespace, "labels": labels},
                        "data": files.rendered(),
                    },
                )
                checksums[f"checksum/{files.volume_name}"] = files.digest()
            elif files.files:
                checksums[f"checksum/{files.volume_name}"] = files.digest()
        if props.files:
            volumes = [files.pod_volume() for files in props.files]
            mounts = [mount_of(files) for files in props.files]
            if has_volumes:
                ops += [{"op": "add", "path": f"{spec}/volumes/-", "value": v} for v in volumes]
                ops += [{"op": "add", "path": f"{spec}/containers/0/volumeMounts/-", "value": m} for m in mounts]
            else:
                ops += [
                    {"op": "add", "path": f"{spec}/volumes", "value": volumes},
                    {"op": "add", "path": f"{spec}/containers/0/volumeMounts", "value": mounts},
                ]
        if checksums:
            if backup_annotations(ctx, name, props.volumes):
                ops += [
                    {"op": "add", "path": f"/spec/template/metadata/annotations/{k.replace('/', '~1')}", "value": v}
                    for k, v in checksums.items()
                ]
            else:
                ops.append({"op": "add", "path": "/spec/template/metadata/annotations", "value": checksums})
        if props.spread:
            ops.append({"op": "add", "path": f"{spec}/affinity", "value": spread_affinity(selector)})
        if ops:
            patch(ctx, deployment, *ops)


def backup_annotations(ctx: ServiceContext, name: str, volumes: Sequence[Volume]) -> dict[str, str] | None:
    """Pod annotations the backup provider asked for, for the volumes it covers (values joined by ',')."""
    merged: dict[str, list[str]] = {}
    for volume in volumes:
        binding = ctx.bindings.get(f"backup/{name}-{volume.name}")
        for key, value in getattr(binding, "pod_annotations", {}).items():
            merged.setdefault(key, []).extend(v for v in value.split(",") if v not in merged.get(key, []))
    return {key: ",".join(values) for key, values in sorted(merged.items())} or None


_PULL_POLICIES = {"Always": kplus.ImagePullPolicy.ALWAYS, "IfNotPresent": kplus.ImagePullPolicy.IF_NOT_PRESENT}
_ACCESS_MODES = {
    "ReadWriteOnce": "READ_WRITE_ONCE",
    "ReadWriteMany": "READ_WRITE_MANY",
    "ReadOnlyMany": "READ_ONLY_MANY",
    "ReadWriteOncePod": "READ_WRITE_ONCE_POD",
}


def _env_value(scope: Construct, key: str, value: str | SecretKeyRef) -> kplus.EnvValue:
    if isinstance(value, SecretKeyRef):
        secret = kplus.Secret.from_secret_name(scope, f"secret-{key}", value.name)
        return kplus.EnvValue.from_secret_value(kplus.SecretValue(secret=secret, key=value.key))
    return kplus.EnvValue.from_value(value)


def _resources(ctx: ServiceContext) -> dict[str, dict[str, str]]:
    """requests/limits from the plugin's ``resources`` settings."""
    res = ctx.setting("resources")
    if res is None:
        return {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
    limits = {"memory": res.memory_limit}
    if res.cpu_limit:
        limits["cpu"] = res.cpu_limit
    return {"requests": {"cpu": res.cpu_request, "memory": res.memory_request}, "limits": limits}


# --- installs -----------------------------------------------------------------------------


def helm_application(
    scope: Construct,
    *,
    ctx: ServiceContext,
    name: str,
    repo_url: str,
    chart: str,
    version: str,
    values: Mapping[str, Any],
    namespace: str | None = None,
    sync_wave: int = 0,
    release: str | None = None,
    cascade_delete: bool = True,
    cluster_kinds: Sequence[str] = (),
    other_namespaces: Sequence[str] = (),
) -> cdk8s.ApiObject:
    """An Argo CD Application installing an upstream Helm chart, pinned to a chart version.

    ink does not re-implement operators: it installs their official charts this way.
    ``name`` names the Application (in Argo CD's namespace, so it must not be a service's
    name: those belong to the per-service Applications); ``release`` names the Helm release,
    which chart objects are usually named after (default: ``name``). ``cascade_delete=False``
    leaves the installed objects in place when the Application is deleted.

    The Application belongs to an AppProject of the same name, emitted beside it, that allows only
    what the chart installs: its repository, the destination namespace (and ``other_namespaces`` the
    chart writes to, e.g. ``kube-system`` for leader election) and the cluster-scoped kinds in
    ``cluster_kinds`` (``"ClusterRole"``, ``"CustomResourceDefinition"``, or ``"group/Kind"``), plus the
    destination Namespace itself (``CreateNamespace``). tests/test_charts.py renders each chart and
    checks that the two lists are exactly what it installs.
    """
    if name in ctx.services:
        raise ValueError(
            f"Application name {name!r} is taken by the service of that name; "
            f"name the install e.g. {name + '-chart'!r} and pass release={name!r}"
        )
    destination = namespace or ctx.namespace
    api_object(
        scope,
        f"project-{name}",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {
                "name": name,
                "namespace": ARGOCD_NAMESPACE,
                "labels": ctx.labels("install"),
                # Before the Application that belongs to it.
                "annotations": {"argocd.argoproj.io/sync-wave": str(sync_wave - 1)},
            },
            "spec": {
                "description": f"The {chart} chart of {ctx.name}: only what it installs.",
                "sourceRepos": [repo_url],
                "destinations": [
                    {"server": IN_CLUSTER, "namespace": ns} for ns in sorted({destination, *other_namespaces})
                ],
                # Argo CD checks the Namespace that CreateNamespace makes against this list too.
                "clusterResourceWhitelist": [
                    {"group": "", "kind": "Namespace", "name": destination},
                    *sorted((cluster_resource(k) for k in set(cluster_kinds)), key=lambda e: (e["group"], e["kind"])),
                ],
            },
        },
    )
    return api_object(
        scope,
        f"helm-{name}",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": name,
                "namespace": ARGOCD_NAMESPACE,
                "labels": ctx.labels("install"),
                "annotations": {"argocd.argoproj.io/sync-wave": str(sync_wave)},
                # Deleting the Application must delete what the chart installed, too (unless told not to).
                # The path form (Argo CD's ForegroundPropagationPolicyFinalizer, same behaviour as the bare
                # name) because the API server warns on finalizer names without one.
                "finalizers": ["resources-finalizer.argocd.argoproj.io/foreground"] if cascade_delete else None,
            },
            "spec": {
                "project": name,
                "source": {
                    "repoURL": repo_url,
                    "chart": chart,
                    "targetRevision": version,
                    "helm": {"releaseName": release or name, "valuesObject": dict(values)},
                },
                "destination": {"server": IN_CLUSTER, "namespace": destination},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    # Operators ship large CRDs; client-side apply hits the annotation size limit.
                    "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
                },
            },
        },
    )
