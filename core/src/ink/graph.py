"""The resolver: who provides what, who links to whom, and the deploy order that follows.

Every capability is treated alike (no capability is named here): exactly one enabled provider,
an optional need without one is dropped with a warning, a required one is an error, and needs
are answered in the order the capability definitions give. Links join a consumer to the service
that serves an endpoint. Needs and links are the edges of one graph, kept as
:class:`ResolvedGraph` for the deploy waves and for anything generated from the graph later
(e.g. NetworkPolicies from ``edges``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from ink import cluster as cluster_mod
from ink import config as config_mod
from ink.capabilities import CapabilitySpec, provide_order
from ink.context import ServiceContext
from ink.errors import ConfigError, PluginError, ResolutionError, clip
from ink.models import (
    ChartService,
    ClusterRequirements,
    Connects,
    Endpoint,
    Inbound,
    IngressGateway,
    Internet,
    KubeApi,
    KubeDns,
    Link,
    Mesh,
    NamedNeed,
    Need,
    NetworkRule,
    Nodes,
    OwnedNamespace,
    Scraper,
    ServiceInfo,
)
from ink.settings import PluginSettings

if TYPE_CHECKING:
    from ink.config import Config
    from ink.plugins import PluginHost

NEEDS_HOOK = "ink_needs"
ENDPOINTS_HOOK = "ink_endpoints"
LINKS_HOOK = "ink_links"
NETWORK_HOOK = "ink_network"
NAMESPACES_HOOK = "ink_namespaces"
NETWORK_RULES = (ChartService, IngressGateway, Scraper, Internet, KubeApi, KubeDns, Nodes, Inbound, Connects, Mesh)


@dataclass(frozen=True)
class ResolvedLink:
    """A link and the endpoint it reached."""

    link: Link
    service: str
    endpoint: Endpoint


@dataclass(frozen=True)
class Edge:
    """``source`` depends on ``target``: it needs a capability ``target`` provides, or links to it."""

    source: str
    target: str
    kind: Literal["need", "link"]
    name: str
    """The need's key (``<capability>/<id>``) or the link's (``link/<name>``)."""
    port: int | None = None
    """For a link: the target's port (what a NetworkPolicy would open)."""


@dataclass
class ResolvedGraph:
    """The resolved graph: enabled services, who provides what, every need and link."""

    services: dict[str, ServiceContext]
    providers: dict[str, str]
    needs: list[Need]
    capabilities: dict[str, CapabilitySpec] = field(default_factory=dict)
    links: list[ResolvedLink] = field(default_factory=list)
    endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    derived_needs: list[Need] = field(default_factory=list)
    """Needs that arose while answering others (Secrets a provider asked for): edges too."""
    cluster: dict[str, ClusterRequirements] = field(default_factory=dict)
    """Service → what it needs from the cluster outside Kubernetes (k3s components off, node packages)."""
    network: dict[str, list[NetworkRule]] = field(default_factory=dict)
    """Service → what its NetworkPolicies open besides the edges (``ink_network``; see :mod:`ink.netpol`)."""
    owned_namespaces: dict[str, list[OwnedNamespace]] = field(default_factory=dict)
    """Service → the namespaces it owns besides its own (``ink_namespaces``, asked after the build phase)."""

    def sealed_namespaces(self) -> dict[str, str]:
        """Every namespace a service owns besides its own (sealed: deny-all policies) → that service."""
        return {ns.name: name for name, declared in self.owned_namespaces.items() for ns in declared}

    @property
    def edges(self) -> list[Edge]:
        """Every dependency, in a stable order: needs (declared, then derived), then links."""
        edges: list[Edge] = []
        seen: set[tuple[str, str, str]] = set()
        for need in [*self.needs, *self.derived_needs]:
            provider = self.providers.get(need.capability)
            if provider is None or provider == need.owner or (need.owner, provider, need.key) in seen:
                continue
            seen.add((need.owner, provider, need.key))
            edges.append(Edge(need.owner, provider, "need", need.key))
        for resolved in self.links:
            edges.append(Edge(resolved.link.owner, resolved.service, "link", resolved.link.key, resolved.endpoint.port))
        return edges

    def edges_by_kind(self) -> dict[str, list[Edge]]:
        """The edges grouped by kind: ``{"need": [...], "link": [...]}`` (e.g. links for NetworkPolicies)."""
        grouped: dict[str, list[Edge]] = {"need": [], "link": []}
        for edge in self.edges:
            grouped[edge.kind].append(edge)
        return grouped

    @property
    def depends_on(self) -> dict[str, set[str]]:
        """Service → the services it deploys after (itself excluded): every edge but those of capabilities that do
        not order deploys (``CapabilitySpec.orders_deploy``)."""
        unordered = {name for name, spec in self.capabilities.items() if not spec.orders_deploy}
        graph: dict[str, set[str]] = {name: set() for name in self.services}
        for edge in self.edges:
            if edge.kind == "need" and edge.name.split("/", 1)[0] in unordered:
                continue
            if edge.source in graph and edge.target != edge.source:
                graph[edge.source].add(edge.target)
        return graph

    def waves(self) -> dict[str, int]:
        """Deploy order: 0 for services that depend on nobody, else 1 + the highest wave they depend on.

        Services in a dependency cycle share a wave (Argo CD retries until both are healthy).
        """
        graph = self.depends_on
        waves: dict[str, int] = {}
        remaining = dict(graph)
        while remaining:
            ready = {n for n, deps in remaining.items() if deps <= waves.keys()}
            if not ready:
                # A cycle (and whatever waits on it): settle them together, one wave after everything they need
                # that is placed already. The same whatever order the services come in.
                base = 1 + max((waves[d] for n in remaining for d in graph[n] if d in waves), default=-1)
                waves.update(dict.fromkeys(remaining, base))
                break
            for name in sorted(ready):
                waves[name] = 1 + max((waves[d] for d in graph[name]), default=-1)
                remaining.pop(name)
        return dict(sorted(waves.items()))


def resolve(config: Config, host: PluginHost) -> ResolvedGraph:
    """Describe every plugin, validate its settings, and resolve needs to providers and links to targets."""
    specs = host.capabilities
    services = describe(config, host)
    providers: dict[str, str] = {}
    for name, ctx in services.items():
        for capability in ctx.service.provides:
            if capability not in specs:
                raise PluginError(
                    name,
                    "ink_service_info",
                    f"provides {capability!r}, which no installed package defines (defined: {', '.join(specs)})",
                )
            if capability in providers:
                raise ResolutionError(
                    f"two plugins provide {capability}: {providers[capability]!r} and {name!r}; "
                    f"disable one with [plugins.{name}] enabled = false"
                )
            providers[capability] = name

    needs: list[Need] = []
    for need in declare(host, services):
        if isinstance(need, Need) and need.capability in providers:
            needs.append(need)
            continue
        capability = need.capability
        defined = capability in specs
        what = "no enabled plugin provides" if defined else "no installed package defines"
        missing = f"{what} {capability}"
        if not defined:
            install = f"install a package that defines and provides {capability}"
        elif off := _disabled_provider(host, services, capability):  # the other end, named
            install = (
                f"install or enable a provider of {capability} "
                f"({off} is installed but disabled: [plugins.{off}] enabled = true)"
            )
        else:
            install = f"install or enable a provider of {capability}"
        if need.optional and need.enabled_by in services[need.owner].settings.model_fields_set:
            raise ResolutionError(
                f"[plugins.{need.owner}] {need.enabled_by} is set, but {missing}, so it cannot take effect; "
                f"{install}, or remove {need.enabled_by} from [plugins.{need.owner}]"
            )
        if need.optional and not getattr(type(need), "warn_when_missing", True):
            continue
        if need.optional:
            services[need.owner].warn(f"{missing}, so {need.key} is left out; {install} to get it")
        else:
            raise ResolutionError(
                f"{need.owner} needs {capability} ({need.key}) but {what} it; {install}, "
                f"or turn the need off in [plugins.{need.owner}] (see `ink schema`), or disable {need.owner}"
            )
    endpoints = declare_endpoints(host, services)
    links = resolve_links(declare_links(host, services), endpoints, services)
    warnings = [w for ctx in services.values() for w in ctx.warnings]
    return ResolvedGraph(
        services=services,
        providers=providers,
        needs=needs,
        capabilities=specs,
        links=links,
        endpoints=endpoints,
        warnings=warnings,
        cluster=cluster_mod.requirements(host, services),
        network=declare_network(host, services),
    )


def _disabled_provider(host: PluginHost, services: dict[str, ServiceContext], capability: str) -> str | None:
    """An installed plugin that would provide ``capability`` but is disabled: the other end of a missing need."""
    for name in host.names:
        if name not in services:
            info = host.call(name, "ink_service_info")
            if isinstance(info, ServiceInfo) and capability in info.provides:
                return name
    return None


def describe(config: Config, host: PluginHost) -> dict[str, ServiceContext]:
    """Every enabled plugin's description and validated settings."""
    infos: dict[str, ServiceInfo] = {}
    for name in host.names:
        info = host.call(name, "ink_service_info")
        if info is None:
            raise PluginError(name, "ink_service_info", "not implemented; every plugin must describe itself")
        if not isinstance(info, ServiceInfo):
            raise PluginError(name, "ink_service_info", f"returned {type(info).__name__}, expected ServiceInfo")
        if info.name != name:
            raise PluginError(name, "ink_service_info", f"says its name is {info.name!r}; it must be {name!r}")
        infos[name] = info

    tables = config_mod.plugin_tables(config, sorted(infos))
    services: dict[str, ServiceContext] = {}
    problems: list[str] = []  # every plugin table's problems in one message, not only the first table's
    for name, info in infos.items():
        model = info.settings_model or PluginSettings
        try:
            settings = config_mod.plugin_settings(config, name, tables.get(name, {}), model)
        except ConfigError as err:
            problems.extend(err.problems)
            continue
        if getattr(settings, "enabled", True):
            services[name] = ServiceContext(
                service=info,
                settings=settings,
                config=config.settings,
                base_dir=config.base_dir,
                environment=config.environment,
                environments=config.environments,
            )
    if problems:
        raise config_mod.combined(problems)
    _check_namespaces(services)
    infos = {name: ctx.service for name, ctx in services.items()}
    for ctx in services.values():
        ctx.services = infos
    return services


def declare(host: PluginHost, services: dict[str, ServiceContext]) -> list[Need | NamedNeed]:
    """Every need of every enabled plugin, owner-stamped, in the order they are answered.

    A :class:`NamedNeed` of a capability no package defines stays a NamedNeed: the caller decides
    whether its absence is an error.
    """
    specs = host.capabilities
    needs: list[Need | NamedNeed] = []
    seen: set[str] = set()

    def add(name: str, hook: str, need: Need | NamedNeed, ctx: ServiceContext) -> None:
        if need.namespace not in ("", ctx.namespace) or need.owner not in ("", name):
            raise PluginError(
                name,
                hook,
                f"{need.key} names owner {need.owner!r} / namespace {need.namespace!r}; a service declares "
                f"only for itself ({name!r}, namespace {ctx.namespace!r}): leave both empty",
            )
        if isinstance(need, NamedNeed):
            if need.capability not in specs:  # kept as it is: resolve() reports it like a need without a provider
                needs.append(need.model_copy(update={"owner": name, "namespace": ctx.namespace}))
                return
            need = _typed(name, hook, need, specs[need.capability])
        need = need.model_copy(update={"owner": name, "namespace": ctx.namespace})
        if f"{name}:{need.key}" in seen:
            raise PluginError(name, hook, f"declares {need.key} twice")
        seen.add(f"{name}:{need.key}")
        needs.append(need)

    for spec in specs.values():
        if spec.declare_hook is None:
            continue
        # What the capabilities before this one declared (ctx.needs): e.g. a metrics target's scheme follows a
        # server's TLS, which depends on every claim of the run (an S3 server that serves all buckets on one port).
        declared_so_far = [n for n in needs if isinstance(n, Need)]
        for ctx in services.values():
            ctx.needs = declared_so_far
        for name, ctx in services.items():
            for need in _declared(host, name, spec.declare_hook, ctx, (spec.need,)):
                add(name, spec.declare_hook, need, ctx)
    for name, ctx in services.items():
        for need in _declared(host, name, NEEDS_HOOK, ctx, (Need, NamedNeed)):
            spec = specs.get(need.capability)
            if isinstance(need, Need) and (spec is None or not isinstance(need, spec.need)):
                problem = f"{need.key}: {type(need).__name__} is not the need model of a defined capability"
                raise PluginError(name, NEEDS_HOOK, f"{problem}; declare it with NamedNeed(capability=...) instead")
            add(name, NEEDS_HOOK, need, ctx)
    for ctx in services.values():
        ctx.needs = []  # as before the declare phase: the resolved needs are set for the provide phase
    _check_clashes([n for n in needs if isinstance(n, Need)])
    order = provide_order(specs)
    needs.sort(key=lambda need: order.get(need.capability, len(order)))  # stable: plugin order within one
    return needs


def _typed(name: str, hook: str, need: NamedNeed, spec: CapabilitySpec) -> Need:
    fields = {**need.params, spec.need.id_field: need.id, "optional": need.optional, "enabled_by": need.enabled_by}
    try:
        return spec.need.model_validate(fields)
    except ValidationError as err:
        problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}" for e in err.errors())
        raise PluginError(name, hook, f"{need.key} is not a valid {spec.need.__name__}: {clip(problem, 300)}") from None


def _declared(host: PluginHost, name: str, hook: str, ctx: ServiceContext, expected: tuple[type, ...]) -> list:
    declared = host.call(name, hook, ctx=ctx) if host.implements(name, hook) else None
    if declared is None:
        return []
    if not isinstance(declared, list | tuple) or not all(isinstance(d, expected) for d in declared):
        names = " or ".join(t.__name__ for t in expected)
        raise PluginError(name, hook, f"must return a list of {names}, got {declared!r:.120}")
    return list(declared)


def declare_endpoints(host: PluginHost, services: dict[str, ServiceContext]) -> dict[str, list[Endpoint]]:
    """Service → the endpoints it serves."""
    endpoints: dict[str, list[Endpoint]] = {}
    for name, ctx in services.items():
        declared = _declared(host, name, ENDPOINTS_HOOK, ctx, (Endpoint,))
        names = [e.name for e in declared]
        for duplicate in sorted({n for n in names if names.count(n) > 1}):
            raise PluginError(name, ENDPOINTS_HOOK, f"declares endpoint {duplicate!r} twice")
        if declared:
            endpoints[name] = declared
    return endpoints


def declare_network(host: PluginHost, services: dict[str, ServiceContext]) -> dict[str, list[NetworkRule]]:
    """Service → its ``ink_network`` rules, plus the internet egress its ``egress_internet_ports`` setting opens."""
    network: dict[str, list[NetworkRule]] = {}
    for name, ctx in services.items():
        rules: list[NetworkRule] = list(_declared(host, name, NETWORK_HOOK, ctx, NETWORK_RULES))
        ports = tuple(getattr(ctx.settings, "egress_internet_ports", ()) or ())
        if ports:
            reason = f"[plugins.{name}] egress_internet_ports"
            rules.append(Internet(ports=ports, protocols=("TCP", "UDP"), reason=reason))
        if rules:
            network[name] = rules
    return network


def declare_namespaces(host: PluginHost, services: dict[str, ServiceContext]) -> dict[str, list[OwnedNamespace]]:
    """Service → the namespaces it owns besides its own; no name twice, none a service's namespace."""
    owned: dict[str, list[OwnedNamespace]] = {}
    taken = {ctx.namespace: f"the namespace of {name}" for name, ctx in services.items()}
    for name, ctx in services.items():
        declared: list[OwnedNamespace] = _declared(host, name, NAMESPACES_HOOK, ctx, (OwnedNamespace,))
        for namespace in declared:
            if namespace.name in taken:
                raise PluginError(
                    name, NAMESPACES_HOOK, f"declares namespace {namespace.name!r}, which is {taken[namespace.name]}"
                )
            for other in namespace.pod_security_of:
                if other not in services:
                    raise PluginError(
                        name,
                        NAMESPACES_HOOK,
                        f"namespace {namespace.name!r} takes the Pod Security level of {other!r}, which is not enabled",
                    )
            taken[namespace.name] = f"declared by {name}"
        if declared:
            owned[name] = declared
    return owned


def declare_links(host: PluginHost, services: dict[str, ServiceContext]) -> list[Link]:
    """Every link of every enabled plugin, owner-stamped."""
    links: list[Link] = []
    for name, ctx in services.items():
        seen: set[str] = set()
        for link in _declared(host, name, LINKS_HOOK, ctx, (Link,)):
            if link.owner not in ("", name):
                raise PluginError(name, LINKS_HOOK, f"{link.key} names owner {link.owner!r}; leave it empty")
            if link.name in seen:
                raise PluginError(name, LINKS_HOOK, f"declares {link.key} twice")
            seen.add(link.name)
            links.append(link.model_copy(update={"owner": name}))
    return links


def resolve_links(
    links: list[Link], endpoints: dict[str, list[Endpoint]], services: dict[str, ServiceContext]
) -> list[ResolvedLink]:
    """Each link's endpoint; an optional link without one is dropped, a required one is an error."""
    resolved: list[ResolvedLink] = []
    for link in links:
        found = [
            (service, endpoint)
            for service, served in endpoints.items()
            if service != link.owner and link.service in (None, service)
            for endpoint in served
            if link.endpoint in (None, endpoint.name) and (not link.kind or endpoint.kind == link.kind)
        ]
        if len(found) > 1 and link.service:
            raise PluginError(
                link.owner,
                LINKS_HOOK,
                f"{link.key} links to {link.service}, which serves several matching endpoints "
                f"({', '.join(e.name for _, e in found)}): name one with endpoint='...'",
            )
        if len(found) > 1:
            raise ResolutionError(
                f"{link.owner} links to {link.target_text}, and several enabled services serve one "
                f"({', '.join(f'{s}/{e.name}' for s, e in found)}); disable all but one of them"
            )
        if found:
            resolved.append(ResolvedLink(link, *found[0]))
        elif not link.optional:
            if link.service and link.service not in services:
                why = f"{link.service} is not enabled"
                fix = f"install or enable {link.service}"
            elif link.service:
                what = f"endpoint {link.endpoint!r}" if link.endpoint else "endpoint"
                why = f"{link.service} serves no {what}" + (f" of kind {link.kind!r}" if link.kind else "")
                fix = f"update {link.service} or {link.owner} (their versions may not fit)"
            else:
                why = "no enabled service serves one"
                fix = f"install or enable a service that serves {link.kind!r}"
            raise ResolutionError(
                f"{link.owner} links to {link.target_text} ({link.key}), but {why}; {fix}, or disable {link.owner}"
            )
    return resolved


def _check_namespaces(services: dict[str, ServiceContext]) -> None:
    owners: dict[str, str] = {}
    for name, ctx in services.items():
        other = owners.setdefault(ctx.namespace, name)
        if other != name:
            raise ResolutionError(
                f"plugins {other!r} and {name!r} both use namespace {ctx.namespace!r}; disable one of them"
            )


def _check_clashes(needs: list[Need]) -> None:
    """Needs of different owners that cannot both exist (two routes for one hostname)."""
    by_capability: dict[str, list[Need]] = {}
    for need in needs:
        for other in by_capability.get(need.capability, []):
            problem = need.clash(other) if other.owner != need.owner else None
            if problem:
                raise ResolutionError(problem)
        by_capability.setdefault(need.capability, []).append(need)
