"""Constructs plugins share, built on cdk8s: :class:`Workloads`, :func:`api_object`, :func:`helm_application`.

Importing this module starts the jsii Node runtime, so plugins import it inside
``ink_workloads`` (or from a module imported there), never at the top of the plugin
module: ``ink plugins`` and config errors then stay fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# jsii prints an 11-line end-of-life banner under Node 20; users must not see it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import cdk8s
from constructs import Construct

from ink.context import ServiceContext
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
    env_vars,
    port_range,
    render,
    render_template,
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
    "HttpProbe",
    "LoadBalancer",
    "PlainObject",
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
    "Workloads",
    "WritableRootFilesystem",
    "api_object",
    "env_vars",
    "from_output",
    "helm_application",
    "port_range",
    "render_template",
]

ARGOCD_NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"  # Argo CD's name for the cluster it runs in


def _defer(ctx: ServiceContext, construct: Construct | PlainObject, *ops: dict[str, Any]) -> None:
    """RFC 6902 operations core applies to the object's rendered JSON (for :func:`from_output` only).

    Not for plugins: a field a workload needs belongs in the vocabulary, not in a patch of its output.
    """
    target = construct if isinstance(construct, (PlainObject, cdk8s.ApiObject)) else cdk8s.ApiObject.of(construct)
    ctx.patches.setdefault(path_of(target), []).extend(ops)


def child(scope: Construct, id: str) -> Construct:
    """A plain construct in ``scope``, its path known without asking jsii (see :func:`path_of`)."""
    construct = Construct(scope, id)
    if "/" not in id:  # constructs rewrites a "/" in an id; let it say what the path is then
        construct._ink_path = f"{path_of(scope)}/{id}"
    return construct


def path_of(construct: Construct | PlainObject) -> str:
    """``construct.node.path``, remembered on the construct: two jsii calls the first time, none after."""
    if isinstance(construct, PlainObject):
        return construct.path
    path = getattr(construct, "_ink_path", None)
    if path is None:
        path = construct._ink_path = construct.node.path
    return path


def from_output(
    ctx: ServiceContext, construct: Construct | PlainObject, path: str, produce: Callable[[list[Manifest]], Any]
) -> None:
    """Set ``path`` (a JSON pointer, e.g. ``/spec/destinations``) of the object to ``produce(manifests)``.

    Core calls ``produce`` once every object of the run is rendered, with all of them (each a
    :class:`ink.synth.Manifest`: folder and body): for a value that depends on what the other plugins
    emit, such as the cluster-scoped kinds an Argo CD project must allow.
    """
    _defer(ctx, construct, {"op": "add", "path": path, "value": FromOutput(produce)})


def cluster_resource(kind: str) -> dict[str, str]:
    """An AppProject ``clusterResourceWhitelist`` entry: a built-in cluster-scoped ``Kind`` or ``group/Kind``."""
    group, _, name = kind.rpartition("/")
    if not group and name not in CLUSTER_KINDS:
        raise ValueError(f"{kind!r} is not a cluster-scoped kind ink knows; write it as 'group/{kind}'")
    return {"group": group or CLUSTER_KINDS[name], "kind": name}


def api_object(scope: Construct, id: str, manifest: Mapping[str, Any]) -> PlainObject | cdk8s.ApiObject:
    """Any Kubernetes object given as a plain mapping: custom resources, kinds the workload vocabulary lacks.

    The object is rendered here as cdk8s's ``toJson`` renders it (:func:`_rendered`) and joins the construct
    tree on ink's side only, as a :class:`PlainObject`: no jsii call at all, where a cdk8s ``ApiObject`` costs
    about half a millisecond each (docs/performance.md). A value jsii would treat differently from JSON (a set,
    a Decimal, a key that is no string), or an id with a "/", takes cdk8s's own path.
    """
    meta, body = _metadata_and_body(manifest)
    if "/" not in id:  # constructs rewrites a "/" in an id; let it say what the path is then
        try:
            rendered = _rendered(manifest["apiVersion"], manifest["kind"], meta, body)
        except _NotPlain:
            pass
        else:
            return PlainObject(scope, id, manifest, rendered)
    return _cdk8s_api_object(scope, id, manifest)


def _cdk8s_api_object(scope: Construct, id: str, manifest: Mapping[str, Any]) -> cdk8s.ApiObject:
    """The object as a cdk8s ApiObject: its kind and metadata, then a JSON patch adding each key of the rest."""
    meta, body = _metadata_and_body(manifest)
    obj = cdk8s.ApiObject(
        scope,
        id,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=cdk8s.ApiObjectMetadata(**{field: meta.get(field) for field in _METADATA_FIELDS}),
    )
    if "/" not in id:
        obj._ink_path = f"{path_of(scope)}/{id}"
    if body:
        obj.add_json_patch(*(cdk8s.JsonPatch.add(f"/{key}", value) for key, value in body.items()))
    return obj


def _metadata_and_body(manifest: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """A manifest's ``metadata`` and the rest of it after ``apiVersion`` and ``kind``."""
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
    return manifest.get("metadata", {}), body


class PlainObject:
    """An object :func:`api_object` rendered in Python, held by its scope on ink's side of the construct tree.

    ``rendered`` is its JSON as cdk8s would render it and ``path`` its construct path. Anything else asked of
    it (``add_dependency``, ``metadata``, ``to_json``: cdk8s's ApiObject API) creates the cdk8s ApiObject
    then, once, and is answered by it: ink renders that one through cdk8s from there on.
    """

    def __init__(self, scope: Construct, id: str, manifest: Mapping[str, Any], rendered: dict[str, Any]) -> None:
        held: dict[str, PlainObject] = scope.__dict__.setdefault("_ink_plain", {})
        if id in held:  # as constructs refuses two children of one name
            raise ValueError(f"There is already a Construct with name '{id}' in {path_of(scope)}")
        held[id] = self
        self.scope, self.id, self.rendered = scope, id, rendered
        self.path = f"{path_of(scope)}/{id}"
        self._manifest = manifest
        self._api_object: cdk8s.ApiObject | None = None

    @property
    def api_object(self) -> cdk8s.ApiObject | None:
        """The cdk8s ApiObject, once something asked for it; None while the object is ink's alone."""
        return self._api_object

    def __getattr__(self, attribute: str) -> Any:  # only for what PlainObject itself lacks
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if self._api_object is None:
            del self.scope.__dict__["_ink_plain"][self.id]  # the id passes to the ApiObject
            self._api_object = _cdk8s_api_object(self.scope, self.id, self._manifest)
        return getattr(self._api_object, attribute)


def plain_objects(construct: Construct) -> Iterable[PlainObject]:
    """The objects :func:`api_object` made directly in ``construct`` and kept on ink's side."""
    return construct.__dict__.get("_ink_plain", {}).values()


# The metadata api_object hands cdk8s (the rest of ``metadata`` was never part of the object).
_METADATA_FIELDS = ("name", "namespace", "labels", "annotations", "finalizers")


class _NotPlain(Exception):
    """A value whose way through jsii :func:`_rendered` does not reproduce."""


_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]{0,9})$")
_PLAIN_TYPES = (str, bool, int, type(None))


def _as_js(value: Any) -> Any:
    """``value`` as it comes back from a JavaScript object through jsii: keys that are array indices first, in
    numeric order (JavaScript's property order); None dropped from objects, kept in arrays; 1.0 as 1."""
    if type(value) is dict:
        if any(type(key) is not str for key in value):
            raise _NotPlain
        return _js_object((key, _as_js(item)) for key, item in value.items() if item is not None)
    if type(value) is list:  # jsii refuses a tuple
        return [_as_js(item) for item in value]
    if type(value) is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotPlain
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if type(value) not in _PLAIN_TYPES or (type(value) is int and abs(value) >= 2**53):
        raise _NotPlain
    return value


def _js_object(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A JavaScript object's key order: array-index keys first, ascending; then the others as inserted."""
    pairs = list(items)
    index = sorted((kv for kv in pairs if _is_index(kv[0])), key=lambda kv: int(kv[0]))
    return dict(index + [kv for kv in pairs if not _is_index(kv[0])])


def _is_index(key: str) -> bool:
    return bool(_ARRAY_INDEX.match(key)) and int(key) < 2**32 - 1


def _sanitised(value: Any) -> Any:
    """cdk8s's ``sanitizeValue`` of the metadata (already :func:`_as_js`): keys sorted, empty objects and arrays
    left out."""
    if isinstance(value, dict):
        kept = ((k, _sanitised(v)) for k, v in sorted(value.items()))
        return _js_object((k, v) for k, v in kept if v not in ({}, []))
    if isinstance(value, list):
        return [_sanitised(item) for item in value]
    return value


def _rendered(api_version: Any, kind: Any, meta: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """cdk8s's ``ApiObject.toJson`` of an object made by :func:`api_object` (cdk8s 2.70: its metadata, sanitised,
    then the JSON patches that add each key of ``body`` in order). ``core/tests/test_kube.py`` compares both."""
    if type(api_version) is not str or type(kind) is not str or type(meta) is not dict or not meta.get("name"):
        raise _NotPlain  # cdk8s would make up a name
    metadata = _sanitised(_as_js({field: meta.get(field) for field in _METADATA_FIELDS}))
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **_as_js(dict(body))}


# --- workloads ----------------------------------------------------------------------------


class Workloads(Construct):
    """A service's components (see :mod:`ink.workload`) as objects: one plain ApiObject each.

    ``objects`` maps ``"<Kind>-<name>"`` to the emitted object.
    """

    def __init__(self, scope: Construct, id: str, *, ctx: ServiceContext, components: Sequence[Component]) -> None:
        super().__init__(scope, id)
        self.objects: dict[str, PlainObject | cdk8s.ApiObject] = {}
        for manifest in render(ctx, components):
            key = f"{manifest['kind']}-{manifest['metadata']['name']}"
            self.objects[key] = api_object(self, key, manifest)


# --- installs -----------------------------------------------------------------------------


def helm_application(
    scope: Construct,
    *,
    ctx: ServiceContext,
    repo_url: str,
    chart: str,
    version: str,
    values: Mapping[str, Any],
    release: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
    sync_wave: int = 0,
    cascade_delete: bool = True,
    cluster_kinds: Sequence[str] = (),
    other_namespaces: Sequence[str] = (),
) -> cdk8s.ApiObject:
    """An Argo CD Application installing an upstream Helm chart, pinned to a chart version.

    ink does not re-implement operators: it installs their official charts this way.
    ``release`` names the Helm release, which chart objects are usually named after;
    ``name`` names the Application (default: ``<release>-chart``). It lives in Argo CD's
    namespace, so it must not be a service's name: those belong to the per-service
    Applications. Give at least one of the two; ``release`` defaults to ``name``.
    ``cascade_delete=False`` leaves the installed objects in place when the Application is deleted.

    The Application belongs to an AppProject of the same name, emitted beside it, that allows only
    what the chart installs: its repository, the destination namespace (and ``other_namespaces`` the
    chart writes to, e.g. ``kube-system`` for leader election) and the cluster-scoped kinds in
    ``cluster_kinds`` (``"ClusterRole"``, ``"CustomResourceDefinition"``, or ``"group/Kind"``), plus the
    destination Namespace itself (``CreateNamespace``). tests/test_charts.py renders each chart and
    checks that the two lists are exactly what it installs.
    """
    if name is None and release is None:
        raise ValueError("helm_application needs release= (the Helm release) or name= (the Application)")
    name = name or f"{release}-chart"
    if name in ctx.services:
        raise ValueError(
            f"Application name {name!r} is taken by the service of that name; "
            f"pass release={name!r} and leave name unset (the Application is then {name + '-chart'!r})"
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
