"""The synthesis pipeline: describe, declare, resolve, provide, build, collect.

Everything is synthesised by one cdk8s App into one Chart. Under the chart, core creates one
construct per service (its output folder); a provider that answers a need adds the
consumer-side objects (a SealedSecret, an Ingress) under the *consumer's* construct, so they
land in the consumer's folder and Argo CD syncs them with the consumer.
"""

from __future__ import annotations

import base64
import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonpatch
from pydantic import BaseModel

from ink import images as images_mod
from ink import netpol
from ink import secrets as secrets_mod
from ink.capabilities import SECRETS
from ink.context import ServiceContext
from ink.errors import PluginError, ResolutionError
from ink.graph import ResolvedGraph, ResolvedLink, declare, declare_namespaces, describe
from ink.graph import resolve as plan
from ink.images import Image
from ink.models import (
    Binding,
    LinkBinding,
    Need,
    OwnedNamespace,
    PublicLinkBinding,
    Route,
    SecretBinding,
    SecretClaim,
    SecretKeyRef,
    UserSecret,
    is_dns_label,
)
from ink.podsecurity import LEVELS, Exemption, required_level
from ink.workload import load_balancer_clashes

if TYPE_CHECKING:
    from constructs import Construct

    from ink.config import Config
    from ink.plugins import PluginHost
    from ink.secrets import MasterKey

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
# What a namespace a service owns besides its own is for (OwnedNamespace.reason).
OWNED_REASON = "ink.homelab/purpose"
# API groups built into Kubernetes; objects of other groups are custom resources.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
    }
)
# Kinds without a namespace, with their API group; every other object gets its folder's namespace if it has none.
CLUSTER_KINDS: dict[str, str] = {
    "Namespace": "",
    "PersistentVolume": "",
    "ClusterRole": "rbac.authorization.k8s.io",
    "ClusterRoleBinding": "rbac.authorization.k8s.io",
    "CustomResourceDefinition": "apiextensions.k8s.io",
    "StorageClass": "storage.k8s.io",
    "CSIDriver": "storage.k8s.io",
    "PriorityClass": "scheduling.k8s.io",
    "IngressClass": "networking.k8s.io",
    "ClusterIssuer": "cert-manager.io",
    "ClusterSecretStore": "external-secrets.io",
    "ValidatingWebhookConfiguration": "admissionregistration.k8s.io",
    "MutatingWebhookConfiguration": "admissionregistration.k8s.io",
    "APIService": "apiregistration.k8s.io",
    "RuntimeClass": "node.k8s.io",
    "VolumeSnapshotClass": "snapshot.storage.k8s.io",
}
CLUSTER_SCOPED = frozenset(CLUSTER_KINDS)


@dataclass(frozen=True)
class FromOutput:
    """A patch value computed from the whole output (see :func:`ink.kube.from_output`).

    ``produce`` gets every :class:`Manifest` of the run once all are rendered (values of other
    ``FromOutput`` patches are not filled in yet) and returns the value to put at the patch's path.
    """

    produce: Callable[[list[Manifest]], Any]


@dataclass
class Manifest:
    """One object of the output and the folder it goes to."""

    folder: str
    body: dict[str, Any]
    origin: tuple[str, str] = ("", "")
    """The plugin and hook that built the object (for error messages)."""

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.body.get("metadata", {}).get("namespace", ""))

    @property
    def identity(self) -> tuple[str, str, str, str]:
        group = str(self.body.get("apiVersion", "")).rpartition("/")[0]
        return (group, self.kind, self.namespace, self.name)

    @property
    def filename(self) -> str:
        return f"{self.kind.lower()}-{self.name}.yaml"

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.filename}"


Plan = ResolvedGraph  # the name plugins and tools used before the graph had links
__all__ = ["Manifest", "Plan", "ResolvedGraph", "Synthesis", "declare", "describe", "plan", "synthesise"]


@dataclass
class Synthesis:
    plan: Plan
    manifests: list[Manifest]
    protected_values: list[str]
    """Every generated credential: none may appear in the output in plain text or base64."""
    user_values: dict[str, str] = field(default_factory=dict, repr=False)
    """Value → the variable (or file entry) the user gave it in: must not appear in plain text either."""
    generated: dict[str, list[str]] = field(default_factory=dict)
    """Credential id → where it is used (``namespace/secret:key``), for ``ink secrets``."""
    kept_files: dict[Path, tuple[bytes, int]] = field(default_factory=dict, repr=False)
    """Files plugins asked to keep (:meth:`ServiceContext.keep_file`), written only with the output."""
    network: netpol.NetworkPlan | None = None
    """The flows and the NetworkPolicies that allow them (:mod:`ink.netpol`)."""
    declared_images: dict[str, list[Image]] = field(default_factory=dict)
    """Service → the images its charts and operators deploy besides those in its objects (``ink_images``)."""


# --- provide and build ---------------------------------------------------------------------


def synthesise(
    config: Config,
    host: PluginHost,
    master_key: MasterKey,
    resolved: Plan | None = None,
    kept_files: dict[Path, tuple[bytes, int]] | None = None,
) -> Synthesis:
    """Run the whole pipeline and return every object with its folder (nothing is written).

    ``kept_files``: the files earlier builds of the same run keep (``ink synth --all-environments``), shared.
    """
    resolved = resolved or plan(config, host)
    from ink import kube  # starts Node; only now that the configuration is known to be good

    app = kube.cdk8s.App()
    chart = kube.cdk8s.Chart(app, "ink", disable_resource_name_hashes=True)
    scopes = {name: kube.child(chart, name) for name in resolved.services}
    patches: dict[str, list[dict[str, Any]]] = {}
    waves = resolved.waves()
    infos = {name: ctx.service for name, ctx in resolved.services.items()}
    kept_files = {} if kept_files is None else kept_files
    for ctx in resolved.services.values():
        ctx.kept_files = kept_files
        ctx.master_key = master_key
        ctx.warnings = resolved.warnings
        ctx.patches = patches
        ctx.services = infos
        ctx.needs = resolved.needs
        ctx.waves = waves

    secret_claims: list[SecretClaim] = []
    counters: dict[str, int] = defaultdict(int)

    origins: dict[str, tuple[str, str]] = {}

    def sub_scope(owner: str, label: str, plugin: str, hook: str) -> Construct:
        """A construct in ``owner``'s folder for objects ``plugin`` adds in ``hook``."""
        counters[owner] += 1
        scope = kube.child(scopes[owner], f"{label}-{counters[owner]}")
        origins[kube.path_of(scope) + "/"] = (plugin, hook)
        return scope

    for need in resolved.needs:
        spec = resolved.capabilities[need.capability]
        if spec.deferred:  # core answers these below, once every value is known
            assert isinstance(need, SecretClaim)
            secret_claims.append(need)
            continue
        provider = resolved.providers[need.capability]
        binding = _provide(host, provider, need, resolved, sub_scope)
        resolved.services[need.owner].bindings[need.key] = binding
        resolved.services[provider].served.append((need, binding))
        for claim in binding.secrets:
            owner = claim.owner or need.owner
            if owner not in (provider, need.owner):
                raise PluginError(
                    provider,
                    spec.provide_hook,
                    f"asked for secret {claim.name!r} owned by {owner!r}, neither itself nor the consumer",
                )
            namespace = resolved.services[owner].namespace
            if claim.namespace not in ("", namespace):
                raise PluginError(
                    provider,
                    spec.provide_hook,
                    f"asked for secret {claim.name!r} in namespace {claim.namespace!r}; secrets go in their owner's "
                    f"namespace ({namespace!r})",
                )
            secret_claims.append(claim.model_copy(update={"owner": owner, "namespace": namespace}))

    for resolved_link in resolved.links:
        binding, credentials = _link_binding(resolved, resolved_link)
        consumer = resolved.services[resolved_link.link.owner]
        consumer.bindings[resolved_link.link.key] = binding
        resolved.services[resolved_link.service].linked_by.append((resolved_link.link, binding))
        if credentials is not None:
            secret_claims.append(credentials)

    for name, ctx in resolved.services.items():
        for claim in _declared_secrets(host, name, ctx, "ink_binding_secrets"):
            secret_claims.append(claim)
    resolved.derived_needs = [claim for claim in secret_claims if claim not in resolved.needs]

    protected: list[str] = []
    user_provided: dict[str, str] = {}
    secrets_provider = resolved.providers.get(SECRETS)
    if secret_claims and secrets_provider is None:
        first = secret_claims[0]
        raise ResolutionError(
            f"{first.owner} needs secrets ({first.name}) but no enabled plugin provides secrets; "
            "install or enable a secrets provider such as ink-plugin-sealed-secrets"
        )
    user_secrets = secrets_mod.UserSecrets.load(config.base_dir, config.environ)
    placed: set[str] = set()  # user secrets whose value (or placeholder) a Secret holds
    generated: dict[str, list[str]] = defaultdict(list)
    for claim in _unique_secrets(secret_claims):
        for key, spec in secrets_mod.generated_specs(claim):
            generated[spec.id].append(f"{claim.namespace}/{claim.name}:{key}")
        resolved_secret = secrets_mod.resolve(claim, master_key, user_secrets)
        protected.extend(secrets_mod.generated_values(claim, master_key, user_secrets))
        user_provided.update(secrets_mod.user_values(claim, user_secrets))
        assert secrets_provider is not None
        ctx = resolved.services[secrets_provider]
        binding = host.call(
            secrets_provider,
            "ink_provide_secret",
            secret=resolved_secret,
            scope=sub_scope(claim.owner, "secret", secrets_provider, "ink_provide_secret"),
            ctx=ctx,
        )
        _check_binding(secrets_provider, "ink_provide_secret", binding, SecretBinding)
        if not binding.from_sources:  # the Secret holds data, with a placeholder for each unset user secret
            placed.update(v.name for v in claim.data.values() if isinstance(v, UserSecret))
        resolved.services[claim.owner].bindings[claim.key] = binding
        ctx.served.append((claim, binding))

    # Now that every Secret's owner is known, settle the deploy order the build phase may read.
    waves.clear()
    waves.update(resolved.waves())
    for name, ctx in resolved.services.items():
        if host.implements(name, "ink_workloads"):
            host.call(name, "ink_workloads", scope=scopes[name], ctx=ctx)
    resolved.owned_namespaces = declare_namespaces(host, resolved.services)
    # Asked on every run, not only by `ink images`: a declaration that is not an image reference fails the build.
    declared_images = images_mod.declared(host, resolved.services)

    resolved.warnings.extend(user_secrets.warnings(placed))
    manifests = _collect(resolved, scopes, kube.cdk8s.ApiObject, patches, origins)
    network = netpol.plan(resolved, [m.body for m in manifests])
    for service, ctx in resolved.services.items():
        owned = [ns.name for ns in resolved.owned_namespaces.get(service, [])]
        for namespace in (ctx.namespace, *owned):
            for body in network.policies.get(namespace, []):
                manifests.append(Manifest(service, _finish(body, ctx), ("ink", "netpol")))
    manifests += _network_objects(host, resolved, network, manifests)
    manifests.sort(key=lambda m: (m.folder, m.filename))
    resolved.warnings.extend(f"network policies: {problem}" for problem in network.problems)
    unused = sorted(set(master_key.rotations) - generated.keys())
    if unused:
        resolved.warnings.append(
            f"[secrets.rotations] names {', '.join(unused)}, which no service uses; see `ink secrets list`"
        )
    return Synthesis(
        plan=resolved,
        manifests=manifests,
        protected_values=sorted(set(protected)),
        user_values=dict(sorted(user_provided.items())),
        generated={k: sorted(v) for k, v in sorted(generated.items())},
        kept_files=kept_files,
        network=network,
        declared_images=declared_images,
    )


def _network_objects(
    host: PluginHost, resolved: Plan, network: netpol.NetworkPlan, manifests: list[Manifest]
) -> list[Manifest]:
    """Label the meshed Namespaces, and collect ``ink_network_objects``, each in its namespace owner's folder."""
    if network.mesh is not None:
        meshed = set(network.meshed)
        for manifest in manifests:
            if manifest.kind == "Namespace" and manifest.name in meshed:
                labels = manifest.body["metadata"].setdefault("labels", {})
                labels.update(network.mesh.namespace_labels)
                manifest.body["metadata"]["labels"] = dict(sorted(labels.items()))
    owners = {ctx.namespace: name for name, ctx in resolved.services.items()}
    added: list[Manifest] = []
    hook = "ink_network_objects"
    for name, ctx in resolved.services.items():
        if not host.implements(name, hook):
            continue
        objects = host.call(name, hook, plan=network, ctx=ctx) or []
        if not isinstance(objects, list | tuple) or not all(isinstance(o, dict) for o in objects):
            raise PluginError(name, hook, f"must return a list of objects (dicts), got {objects!r:.120}")
        for body in objects:
            namespace = (body.get("metadata") or {}).get("namespace")
            owner = owners.get(namespace or "")
            if owner is None:
                raise PluginError(
                    name,
                    hook,
                    f"object {body.get('kind')} {body.get('metadata', {}).get('name')!r} must name a "
                    f"namespace ink writes (metadata.namespace), got {namespace!r}",
                )
            added.append(Manifest(owner, _finish(copy.deepcopy(body), resolved.services[owner]), (name, hook)))
    identities = {m.identity: m for m in manifests}
    for manifest in added:
        other = identities.setdefault(manifest.identity, manifest)
        if other is not manifest:
            raise PluginError(
                *manifest.origin,
                f"{manifest.kind} {manifest.namespace}/{manifest.name} is also emitted by {other.origin[0]!r} "
                f"({other.origin[1]}); object names must be unique",
            )
    return added


def _declared_secrets(host: PluginHost, name: str, ctx: ServiceContext, hook: str) -> list[SecretClaim]:
    declared = host.call(name, hook, ctx=ctx) if host.implements(name, hook) else None
    if declared is None:
        return []
    if not isinstance(declared, list | tuple) or not all(isinstance(d, SecretClaim) for d in declared):
        raise PluginError(name, hook, f"must return a list of SecretClaim, got {declared!r:.120}")
    claims = []
    for claim in declared:
        if claim.namespace not in ("", ctx.namespace):
            raise PluginError(name, hook, f"secret {claim.name!r} must be in the service's own namespace")
        claims.append(claim.model_copy(update={"owner": name, "namespace": ctx.namespace}))
    return claims


def _provide(
    host: PluginHost,
    provider: str,
    need: Need,
    resolved: Plan,
    sub_scope: Callable[[str, str, str, str], Construct],
) -> Binding:
    spec = resolved.capabilities[need.capability]
    hook = spec.provide_hook
    kwargs: dict[str, Any] = {
        spec.need_argument: need,
        "scope": sub_scope(need.owner, need.capability, provider, hook),
        "ctx": resolved.services[provider],
        "consumer": resolved.services[need.owner],
    }
    binding = host.call(provider, hook, **kwargs)
    if binding is None:
        raise PluginError(
            provider, hook, f"provides {need.capability} but returned nothing for {need.owner}'s {need.key}"
        )
    _check_binding(provider, hook, binding, spec.binding)
    return binding.model_copy(update={"provider": provider})


def _link_binding(resolved: Plan, found: ResolvedLink) -> tuple[LinkBinding, SecretClaim | None]:
    """How the consumer reaches the target, and the Secret (in the consumer's namespace) with its credentials."""
    link, endpoint = found.link, found.endpoint
    target = resolved.services[found.service]
    host = f"{endpoint.service or found.service}.{target.namespace}.svc"
    route = target.bindings.get(f"{Route.capability}/{endpoint.route}") if endpoint.route else None
    claim = None
    refs = {}
    if endpoint.credentials:
        consumer = resolved.services[link.owner]
        name = f"{link.owner}-link-{link.name}"
        if not is_dns_label(name):
            raise PluginError(link.owner, "ink_links", f"{link.key}: the Secret name {name!r} is too long; shorten it")
        claim = SecretClaim(name=name, data=dict(endpoint.credentials), owner=link.owner, namespace=consumer.namespace)
        refs = {key: SecretKeyRef(name=name, key=key) for key in endpoint.credentials}
    # A link only its browsers follow opens no path between pods (netpol reads no address from it).
    binding = (LinkBinding if link.dialled else PublicLinkBinding)(
        provider=found.service,
        service=found.service,
        endpoint=endpoint.name,
        kind=endpoint.kind,
        host=host,
        port=endpoint.port,
        url=f"{endpoint.protocol}://{host}:{endpoint.port}{endpoint.path}",
        public_url=(getattr(route, "url", "") + endpoint.path) if route is not None else "",
        credentials=refs,
    )
    return binding, claim


def _check_binding(plugin: str, hook: str, binding: object, expected: type[BaseModel]) -> None:
    if not isinstance(binding, expected):
        raise PluginError(plugin, hook, f"returned {type(binding).__name__}, expected {expected.__name__}")


def _unique_secrets(claims: list[SecretClaim]) -> list[SecretClaim]:
    """One object per (namespace, name); two different claims for the same Secret are a bug."""
    unique: dict[tuple[str, str], SecretClaim] = {}
    for claim in claims:
        existing = unique.setdefault((claim.namespace, claim.name), claim)
        if existing != claim:
            raise PluginError(
                claim.owner,
                "ink_secrets",
                f"secret {claim.namespace}/{claim.name} is claimed twice "
                f"with different contents (also by {existing.owner!r})",
            )
    return list(unique.values())


# --- collect -------------------------------------------------------------------------------


def _collect(
    resolved: Plan,
    scopes: dict[str, Construct],
    api_object_type: type,
    patches: dict[str, list[dict[str, Any]]],
    origins: dict[str, tuple[str, str]],
) -> list[Manifest]:
    from ink import kube

    manifests: list[Manifest] = []
    later: list[tuple[Manifest, list[dict[str, Any]], str]] = []
    owners: dict[tuple[str, str, str, str], Manifest] = {}
    for name, scope in scopes.items():
        ctx = resolved.services[name]
        manifests.append(Manifest(name, _namespace_object(ctx), ("ink", "core")))
        for owned in resolved.owned_namespaces.get(name, []):
            manifests.append(Manifest(name, _owned_namespace_object(resolved, ctx, owned), (name, "ink_namespaces")))
        constructs: set[str] = set()
        plain: dict[str, Manifest] = {}
        for node in scope.node.find_all():
            # Remembered on the node already (a plain object's scope asked for it; an ApiObject's is needed below).
            constructs.add(kube.path_of(node))
            # kube.api_object's objects are rendered in Python, the same as toJson, and only ink holds them.
            objects: list[Any] = list(kube.plain_objects(node))
            if isinstance(node, api_object_type):
                objects.insert(0, node)
            for obj in objects:
                manifest, deferred = _rendered_object(obj, name, ctx, patches, origins)
                manifests.append(manifest)
                if isinstance(obj, kube.PlainObject):
                    plain[obj.path] = manifest
                if deferred:
                    later.append((manifest, deferred, kube.path_of(obj)))
        _refuse_shared_ids(plain, constructs)
    for manifest, ops, path in later:  # values computed from the whole output, once it is all rendered
        try:
            ops = [{**op, "value": op["value"].produce(manifests)} for op in ops]
            manifest.body = jsonpatch.apply_patch(manifest.body, ops, in_place=True)
        except Exception as err:
            raise PluginError(*manifest.origin, f"object {path} cannot be rendered: {err}") from err
    paths: dict[str, Manifest] = {}
    for manifest in manifests:
        clash = paths.setdefault(manifest.path, manifest)
        if clash is not manifest:
            raise PluginError(
                *manifest.origin,
                f"{manifest.path} would hold two objects ({clash.body.get('apiVersion')} and "
                f"{manifest.body.get('apiVersion')} {manifest.kind} {manifest.name}); give them different names",
            )
        other = owners.get(manifest.identity)
        if other is not None:
            raise PluginError(
                *manifest.origin,
                f"{manifest.kind} {manifest.namespace or '-'}/{manifest.name} is also emitted by "
                f"{other.origin[0]!r} ({other.origin[1]}); object names must be unique",
            )
        owners[manifest.identity] = manifest
    clashes = load_balancer_clashes((m.folder, m.body) for m in manifests if m.kind == "Service")
    if clashes:
        raise ResolutionError(clashes[0])
    manifests.sort(key=lambda m: (m.folder, m.filename))
    return manifests


def _refuse_shared_ids(plain: dict[str, Manifest], constructs: set[str]) -> None:
    """A kube.api_object given the id of a construct of the same scope: constructs refuses two children of one
    name when they are made, but it never sees the object, which only ink holds (kube.PlainObject)."""
    shared = sorted(plain.keys() & constructs)
    if shared:
        path = shared[0]
        raise PluginError(
            *plain[path].origin,
            f"There is already a Construct with name '{path.rpartition('/')[2]}' in {path.rpartition('/')[0]}: "
            "give the kube.api_object and the construct different ids",
        )


def _rendered_object(
    obj: Any,
    name: str,
    ctx: ServiceContext,
    patches: dict[str, list[dict[str, Any]]],
    origins: dict[str, tuple[str, str]],
) -> tuple[Manifest, list[dict[str, Any]]]:
    """One object of ``name``'s tree (a :class:`ink.kube.PlainObject` or a cdk8s ApiObject) as a manifest, its
    patches applied but those whose value comes from the whole output (returned, for later)."""
    from ink import kube

    path = kube.path_of(obj)
    origin = next((o for prefix, o in origins.items() if path.startswith(prefix)), (name, "ink_workloads"))
    ops = patches.get(path) or []
    now = [op for op in ops if not isinstance(op.get("value"), FromOutput)]
    try:
        body = obj.rendered if isinstance(obj, kube.PlainObject) else obj.to_json()
        if now:
            body = jsonpatch.apply_patch(body, now, in_place=True)
    except Exception as err:
        raise PluginError(*origin, f"object {path} cannot be rendered: {err}") from err
    return Manifest(name, _finish(body, ctx), origin), [op for op in ops if isinstance(op.get("value"), FromOutput)]


def _counted_exemptions(ctx: ServiceContext) -> list[Exemption]:
    """The declared exemptions that set the namespace's level: all but those marked when_used and not used."""
    return [e for e in ctx.service.exemptions if not e.when_used or e in ctx.exemptions_used]


def _namespace_object(ctx: ServiceContext) -> dict[str, Any]:
    # The plugin's floor, raised as far as its declared exemptions need (ink.podsecurity); one a setting
    # switches on (when_used) counts only when a rendered component uses it.
    level = required_level(_counted_exemptions(ctx), ctx.service.pod_security)
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ctx.namespace,
            # Removing a service must never delete its namespace, and with it the volumes inside.
            "annotations": {SYNC_OPTIONS: "Delete=false,Prune=false"},
            "labels": dict(
                sorted(
                    {
                        **ctx.labels(),
                        "pod-security.kubernetes.io/enforce": level,
                        "pod-security.kubernetes.io/warn": level,
                    }.items()
                )
            ),
        },
    }


def _owned_namespace_object(resolved: Plan, ctx: ServiceContext, owned: OwnedNamespace) -> dict[str, Any]:
    """A namespace a service owns besides its own: its level, raised to that of the services it copies pods from."""
    exemptions = [e for other in owned.pod_security_of for e in _counted_exemptions(resolved.services[other])]
    floors = [owned.pod_security, *(resolved.services[other].service.pod_security for other in owned.pod_security_of)]
    level = required_level(exemptions, max(floors, key=LEVELS.index))
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": owned.name,
            "annotations": {SYNC_OPTIONS: "Delete=false,Prune=false", OWNED_REASON: owned.reason},
            "labels": dict(
                sorted(
                    {
                        **ctx.labels(),
                        "pod-security.kubernetes.io/enforce": level,
                        "pod-security.kubernetes.io/warn": level,
                    }.items()
                )
            ),
        },
    }


def _finish(body: dict[str, Any], ctx: ServiceContext) -> dict[str, Any]:
    """Fill what every object needs: its namespace (if namespaced) and the standard labels."""
    metadata = body.setdefault("metadata", {})
    if body.get("kind") not in CLUSTER_SCOPED:
        metadata.setdefault("namespace", ctx.namespace)
    labels = metadata.setdefault("labels", {})
    for key, value in ctx.labels().items():
        labels.setdefault(key, value)
    metadata["labels"] = dict(sorted(labels.items()))
    group = str(body.get("apiVersion", "")).rpartition("/")[0]
    if group not in BUILTIN_GROUPS:
        # Its CRD may be installed by an operator in the same sync; let Argo CD apply it once it exists.
        annotations = metadata.setdefault("annotations", {})
        options = [o for o in annotations.get(SYNC_OPTIONS, "").split(",") if o]
        if "SkipDryRunOnMissingResource=true" not in options:
            annotations[SYNC_OPTIONS] = ",".join([*options, "SkipDryRunOnMissingResource=true"])
    return body


def leaked_values(rendered: dict[str, str], protected: list[str]) -> list[tuple[str, str]]:
    """(file, how) for every protected value found in plain text or base64 in the rendered files."""
    needles: list[tuple[str, str]] = []
    for value in protected:
        needles.append((value, "in plain text"))
        needles.append((base64.b64encode(value.encode()).decode(), "base64-encoded"))
    return [(path, how) for path, text in rendered.items() for needle, how in needles if needle in text]
