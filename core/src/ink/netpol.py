"""NetworkPolicies from the graph: every namespace ink writes denies all traffic, then allows exactly the flows.

A *flow* is traffic from some pods (or addresses) to other pods (or addresses) on some ports, with the
reason it exists. Flows come from:

- the graph's edges: every address a need's or link's binding holds (a URL, ``host`` + ``port``, a
  :class:`~ink.models.ServiceRef`) is one the consumer dials, unless the binding model says otherwise
  (``Binding.not_dialled``, ``Binding.dialled_by_ingress``); a route is dialled by the ingress provider, a
  metrics target (:class:`~ink.models.MetricsTarget`) by the metrics provider's :class:`~ink.models.Scraper` pods;
- what plugins declare through ``ink_network`` (internet, the API server, webhooks, other addresses) and
  the ``egress_internet_ports`` setting every plugin table has;
- DNS (kube-dns in kube-system) for every namespace, and all traffic between the pods of one namespace;
- a service mesh (:class:`~ink.models.Mesh`, declared by the mesh plugin): its tunnel port on every flow
  between pods of two meshed namespaces, and the kubelet's re-addressed probes into every meshed namespace.

A namespace a service owns besides its own (``ink_namespaces``, e.g. a restore drill's scratch namespace)
is *sealed*: its only policy is ``default-deny-<namespace>`` (deny all), so its pods reach nothing and nothing
reaches them.

Policies see pod addresses and container ports: kube-proxy has already replaced the Service address
(DNAT). A Service ink renders is resolved through its selector and ``targetPort``; a Service a chart or
operator creates is resolved through the :class:`~ink.models.ChartService` its plugin declares; a public
URL (``https://<route>.<domain>``) reaches the pods of the ingress provider's
:class:`~ink.models.IngressGateway` (the LoadBalancer address is DNATed to them too). docs/network-policies.md
explains each choice and what is not expressed exactly.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ink.models import (
    Binding,
    ChartService,
    Connects,
    Inbound,
    IngressGateway,
    Internet,
    KubeApi,
    KubeDns,
    Mesh,
    MetricsTarget,
    Nodes,
    Route,
    Scraper,
    ServiceRef,
)
from ink.settings import PRIVATE_RANGES

if TYPE_CHECKING:
    from ink.graph import ResolvedGraph

API_VERSION = "networking.k8s.io/v1"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace (Kubernetes 1.21+)
# k3s deploys CoreDNS in kube-system with the label k8s-app=kube-dns, serving port 53 on UDP and TCP
# (k3s manifests/coredns.yaml).
KUBE_DNS = ("kube-system", (("k8s-app", "kube-dns"),))
DEFAULT_PORTS = {"http": 80, "https": 443, "postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6379}
_IN_CLUSTER = re.compile(r"^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, order=True)
class Peer:
    """Pods of one namespace (``pods`` empty: all of them), or an address block."""

    namespace: str = ""
    pods: Labels = ()
    cidr: str = ""
    excepts: tuple[str, ...] = ()
    name: str = ""
    """What it is, for people: a service, 'internet', 'api-server', 'kube-dns'."""

    @property
    def is_pods(self) -> bool:
        return not self.cidr

    def text(self) -> str:
        if self.cidr:
            return self.name or self.cidr
        selector = ",".join(f"{k}={v}" for k, v in self.pods)
        return f"{self.namespace}" + (f"[{selector}]" if selector else "")

    def rule_peer(self, policy_namespace: str) -> dict[str, Any]:
        if self.cidr:
            block: dict[str, Any] = {"cidr": self.cidr}
            if self.excepts:
                block["except"] = list(self.excepts)
            return {"ipBlock": block}
        peer: dict[str, Any] = {"podSelector": _selector(self.pods)}
        if self.namespace != policy_namespace:
            peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: self.namespace}}, **peer}
        return peer


@dataclass(frozen=True, order=True)
class Port:
    port: int | str
    protocol: str = "TCP"
    end_port: int | None = None
    """The last port of a range starting at ``port`` (NetworkPolicy ``endPort``)."""

    def text(self) -> str:
        span = f"-{self.end_port}" if self.end_port is not None else ""
        return f"{self.port}{span}/{self.protocol}"


@dataclass(frozen=True)
class Flow:
    """Traffic the policies allow: ``source`` may open connections to ``target`` on ``ports``."""

    source: Peer
    target: Peer
    ports: tuple[Port, ...]
    why: str
    """The edge or declaration it comes from, e.g. 'vaultwarden → cloudnativepg (database/vaultwarden)'."""
    edge: str = ""
    """``<source>→<target>:<key>`` of the graph edge behind it, '' for declarations and fixed flows."""
    public: bool = False
    """Dialled at a public address (a route's name, the LoadBalancer's address), not at a Service's."""


@dataclass
class NetworkPlan:
    flows: list[Flow]
    policies: dict[str, list[dict[str, Any]]]
    """Namespace → its NetworkPolicy objects, sorted by name."""
    allowed_by: dict[Flow, list[str]] = field(default_factory=dict)
    """Flow → the ``namespace/policy`` names that allow it (egress side, ingress side)."""
    no_traffic: list[str] = field(default_factory=list)
    """Edges that carry no traffic between pods (a certificate, a Secret, a backup schedule)."""
    problems: list[str] = field(default_factory=list)
    """Addresses that could not be resolved to pods: their traffic stays blocked."""
    mesh: Mesh | None = None
    """The service mesh a plugin declared, if any (:class:`~ink.models.Mesh`)."""
    meshed: list[str] = field(default_factory=list)
    """The namespaces the mesh carries (those of ``mesh.namespaces`` that ink writes), sorted."""
    mesh_entries: list[Flow] = field(default_factory=list)
    """Flows into meshed pods from outside the mesh (unmeshed pods, the API server, the LAN): the mesh must
    accept plain traffic on their ports. The probe flows are not among them (the kubelet's bypass the mesh)."""
    transport: dict[str, str] = field(default_factory=dict)
    """Edge key (``<source>→<target>:<key>``) → ``"mtls"`` for the edges whose every flow runs between pods
    of meshed namespaces; other edges' transport is their binding's (``ink graph``)."""


def plan(resolved: ResolvedGraph, objects: Iterable[dict[str, Any]]) -> NetworkPlan:
    """The flows of the synthesised homelab and the policies that allow exactly them."""
    objects = list(objects)
    builder = _Builder(resolved, objects)
    builder.build()
    mesh = _mesh(resolved, builder)
    policies, allowed_by = _policies(resolved, builder.flows)
    network = NetworkPlan(builder.flows, policies, allowed_by, builder.no_traffic, builder.problems)
    if mesh is not None:
        _apply_mesh(network, mesh)
    return network


def _mesh(resolved: ResolvedGraph, builder: _Builder) -> Mesh | None:
    """The one Mesh declared; its tunnel ports join the flows between meshed pods before policies are written."""
    declared = [(name, rule) for name, rules in resolved.network.items() for rule in rules if isinstance(rule, Mesh)]
    if not declared:
        return None
    if len(declared) > 1:
        names = ", ".join(sorted({name for name, _ in declared}))
        builder.problems.append(f"more than one service mesh is declared ({names}): none is applied")
        return None
    owner, mesh = declared[0]
    namespaces = set(builder.namespaces)
    unknown = sorted(set(mesh.namespaces) - namespaces)
    if unknown:
        builder.problems.append(f"{owner}: the mesh names namespaces ink does not write: {', '.join(unknown)}")
    meshed = set(mesh.namespaces) & namespaces
    tunnel = {Port(p) for p in mesh.tunnel_ports}
    flows = []
    for flow in builder.flows:
        source, target = flow.source, flow.target
        between_meshed = source.is_pods and target.is_pods and {source.namespace, target.namespace} <= meshed
        carried = any(p.protocol in mesh.protocols for p in flow.ports)
        if between_meshed and carried and source.namespace != target.namespace:
            flow = dataclasses.replace(flow, ports=tuple(sorted(set(flow.ports) | tunnel)))
        flows.append(flow)
    builder.flows[:] = flows
    for namespace in sorted(meshed):
        for cidr in mesh.probe_sources:
            probes = Peer(cidr=cidr, name="kubelet probes (mesh)")
            builder.add(probes, Peer(namespace, name=builder.namespaces[namespace]), (), f"{owner}: {mesh.reason}")
    return mesh.model_copy(update={"namespaces": tuple(sorted(meshed))})


def _apply_mesh(network: NetworkPlan, mesh: Mesh) -> None:
    meshed = set(mesh.namespaces)
    network.mesh, network.meshed = mesh, sorted(meshed)
    probes = {Peer(cidr=cidr, name="kubelet probes (mesh)") for cidr in mesh.probe_sources}

    def inside(peer: Peer) -> bool:
        return peer.is_pods and peer.namespace in meshed

    carried = set(mesh.protocols)
    for flow in network.flows:
        if inside(flow.target) and not inside(flow.source) and flow.source not in probes:
            ports = tuple(p for p in flow.ports if p.protocol in carried)
            if ports or not flow.ports:  # what the mesh does not carry passes it untouched
                network.mesh_entries.append(dataclasses.replace(flow, ports=ports))
    by_edge: dict[str, list[Flow]] = {}
    for flow in network.flows:
        if flow.edge:
            by_edge.setdefault(flow.edge, []).append(flow)
    network.transport = {
        edge: "mtls"
        for edge, flows in sorted(by_edge.items())
        # A public address is the LoadBalancer's: whether the mesh carries that hop depends on the mesh.
        if all(
            inside(f.source) and inside(f.target) and not f.public and {p.protocol for p in f.ports} <= carried
            for f in flows
        )
    }


class _Builder:
    def __init__(self, resolved: ResolvedGraph, objects: list[dict[str, Any]]) -> None:
        self.resolved = resolved
        self.flows: list[Flow] = []
        self.no_traffic: list[str] = []
        self.problems: list[str] = []
        settings = next(iter(resolved.services.values())).config if resolved.services else None
        self.nodes = tuple(settings.network.nodes) if settings else PRIVATE_RANGES
        self.api_port = settings.network.api_server_port if settings else 6443
        self.domain = settings.domain if settings else ""
        self.namespaces = {ctx.namespace: name for name, ctx in resolved.services.items()}
        self.services = {
            (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
            for o in objects
            if o.get("kind") == "Service"
        }
        self.pods = [p for o in objects for p in _pod_templates(o)]
        self.chart_services: dict[tuple[str, str], ChartService] = {}
        self.gateway: tuple[str, IngressGateway] | None = None
        self.scraper: tuple[str, Scraper] | None = None
        for name, rules in resolved.network.items():
            namespace = resolved.services[name].namespace
            for rule in rules:
                if isinstance(rule, ChartService):
                    self.chart_services[(namespace, rule.name)] = rule
                elif isinstance(rule, IngressGateway) and name == resolved.providers.get("ingress"):
                    self.gateway = (namespace, rule)
                elif isinstance(rule, Scraper) and name == resolved.providers.get("metrics"):
                    self.scraper = (namespace, rule)
        self.routes = {
            f"{need.host}.{self.domain}": need for need in resolved.needs if isinstance(need, Route) and self.domain
        }

    def add(
        self, source: Peer, target: Peer, ports: Iterable[Port], why: str, edge: str = "", public: bool = False
    ) -> None:
        flow = Flow(source, target, tuple(sorted(set(ports))), why, edge, public)
        if flow not in self.flows:
            self.flows.append(flow)

    def build(self) -> None:
        for name, ctx in self.resolved.services.items():
            everyone = Peer(ctx.namespace, name=name)
            dns_ports = (Port(53, "UDP"), Port(53, "TCP"))
            self.add(everyone, Peer(KUBE_DNS[0], KUBE_DNS[1], name="kube-dns"), dns_ports, "DNS (kube-dns)")
        for edge in self.resolved.edges:
            consumer = self.resolved.services[edge.source]
            binding = consumer.bindings.get(edge.name)
            need = next((n for n in self.resolved.needs if n.owner == edge.source and n.key == edge.name), None)
            label = f"{edge.source} → {edge.target} ({edge.name})"
            key = f"{edge.source}→{edge.target}:{edge.name}"
            before = len(self.flows)
            if isinstance(need, Route):
                self._route(need, label, key)
            elif isinstance(need, MetricsTarget):
                self._scrape(need, label, key)
            if isinstance(binding, Binding):
                self._binding(edge.source, binding, label, key)
            if len(self.flows) == before:
                self.no_traffic.append(label)
        for name, rules in self.resolved.network.items():
            self._declared(name, rules)

    def _gateway_peer(self, why: str) -> tuple[Peer, IngressGateway] | None:
        if self.gateway is None:
            provider = self.resolved.providers.get("ingress", "no ingress provider")
            self.problems.append(f"{why}: the ingress provider ({provider}) declares no IngressGateway")
            return None
        namespace, gateway = self.gateway
        return Peer(namespace, tuple(sorted(gateway.pods.items())), name=self.namespaces[namespace]), gateway

    def _route(self, route: Route, label: str, key: str) -> None:
        found = self._gateway_peer(label)
        for service, port in [(route.service, route.port), *((p.service, p.port) for p in route.paths)]:
            target = self.service_target(route.namespace, service, port, label)
            if found and target:
                self.add(found[0], target[0], [target[1]], label, key)

    def _scrape(self, target: MetricsTarget, label: str, key: str) -> None:
        """The metrics provider's scraping pods reach the target's pods on its port (on the host network: the nodes)."""
        if self.scraper is None:
            provider = self.resolved.providers.get("metrics", "no metrics provider")
            self.problems.append(f"{label}: the metrics provider ({provider}) declares no Scraper")
            return
        namespace, scraper = self.scraper
        source = Peer(namespace, tuple(sorted(scraper.pods.items())), name=self.namespaces[namespace])
        if target.host_network:  # the pods' addresses are the nodes': NetworkPolicies do not govern their side
            for cidr in self.nodes:
                self.add(source, Peer(cidr=cidr, name=f"nodes ({cidr})"), [Port(target.port)], label, key)
            return
        pods = Peer(target.namespace, tuple(sorted(target.pods.items())), name=target.owner)
        self.add(source, pods, [Port(target.port)], label, key)

    def _binding(self, owner: str, binding: Binding, label: str, key: str) -> None:
        source = Peer(self.resolved.services[owner].namespace, name=owner)
        for field_name, host, port in _addresses(binding):
            if field_name in binding.dialled_by_ingress:
                found = self._gateway_peer(label)
                if found is None:
                    continue
                dialler = found[0]
            else:
                dialler = source
            self.dial(dialler, host, port, label, key)

    def dial(self, source: Peer, host: str, port: int, label: str, key: str = "") -> None:
        """``source`` connects to ``host:port``: in-cluster, a public route, or outside the cluster."""
        host = host.lower().rstrip(".")
        match = _IN_CLUSTER.match(host)
        if match:
            target = self.service_target(match.group(2), match.group(1), port, label)
            if target:
                self.add(source, target[0], [target[1]], label, key)
            return
        if host in self.routes:
            found = self._gateway_peer(label)
            if found is None:
                return
            peer, gateway = found
            if port not in gateway.ports:
                self.problems.append(f"{label}: the ingress gateway serves no port {port} (it serves {gateway.ports})")
                return
            self.add(source, peer, [Port(gateway.ports[port])], f"{label}, through the ingress controller", key, True)
            return
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:  # a name outside the cluster: its address is unknown, only the port is known
            cidr, name = "0.0.0.0/0", host
        else:
            cidr, name = str(ipaddress.ip_network(address)), host
        self.add(source, Peer(cidr=cidr, name=f"outside: {name}"), [Port(port)], label, key)

    def service_target(self, namespace: str, service: str, port: int, why: str) -> tuple[Peer, Port] | None:
        """The pods behind a Service port, and their container port."""
        owner = self.namespaces.get(namespace, namespace)
        body = self.services.get((namespace, service))
        if body is not None:
            spec = body.get("spec", {})
            selector = tuple(sorted((spec.get("selector") or {}).items()))
            for entry in spec.get("ports", []):
                if entry.get("port") == port:
                    target = entry.get("targetPort", port)
                    protocol = entry.get("protocol", "TCP")
                    if isinstance(target, str):  # a named port: the number, where ink rendered the pods
                        target = self._named_port(namespace, selector, target) or target
                    return Peer(namespace, selector, name=owner), Port(target, protocol)
            self.problems.append(f"{why}: Service {namespace}/{service} has no port {port}")
            return None
        chart = self.chart_services.get((namespace, service))
        if chart is not None:
            if port not in chart.ports:
                self.problems.append(f"{why}: the declared Service {namespace}/{service} has no port {port}")
                return None
            pods = tuple(sorted(chart.pods.items()))
            return Peer(namespace, pods, name=owner), Port(chart.ports[port], chart.protocol)
        self.problems.append(
            f"{why}: {service}.{namespace}.svc:{port} is neither a Service ink renders nor a ChartService its "
            f"plugin declares (ink_network), so no policy can open it"
        )
        return None

    def _named_port(self, namespace: str, selector: Labels, name: str) -> int | None:
        for pod_namespace, labels, ports in self.pods:
            if pod_namespace == namespace and selector and all(labels.get(k) == v for k, v in selector):
                for port in ports:
                    if port.get("name") == name:
                        return int(port["containerPort"])
        return None

    def _declared(self, name: str, rules: list) -> None:
        namespace = self.resolved.services[name].namespace
        for rule in rules:
            pods = tuple(sorted(getattr(rule, "pods", {}).items()))
            here = Peer(namespace, pods, name=name)
            if isinstance(rule, Mesh):
                continue  # applied to the flows once they are all known (_mesh)
            if isinstance(rule, Internet):
                internet = Peer(cidr="0.0.0.0/0", excepts=PRIVATE_RANGES, name="internet")
                self.add(here, internet, _declared_ports(rule), f"{name}: {rule.reason}")
            elif isinstance(rule, KubeApi):
                for cidr in self.nodes:
                    api = Peer(cidr=cidr, name=f"api-server ({cidr})")
                    self.add(here, api, [Port(self.api_port)], f"{name}: {rule.reason}")
            elif isinstance(rule, KubeDns):
                dns = Peer(KUBE_DNS[0], KUBE_DNS[1], name="kube-dns")
                self.add(here, dns, _declared_ports(rule), f"{name}: {rule.reason}")
            elif isinstance(rule, Nodes):
                for cidr in self.nodes:
                    self.add(
                        here, Peer(cidr=cidr, name=f"nodes ({cidr})"), _declared_ports(rule), f"{name}: {rule.reason}"
                    )
            elif isinstance(rule, Inbound):
                # Webhook calls come from the node the API server runs on, or through the overlay (a flannel
                # address of the pod CIDR), so no narrower block fits every cluster: see the docs.
                anywhere = Peer(cidr="0.0.0.0/0", name="anywhere" if rule.source == "anywhere" else "api-server")
                self.add(anywhere, here, _declared_ports(rule), f"{name}: {rule.reason}")
            elif isinstance(rule, Connects):
                parts = urlsplit(rule.url)
                port = parts.port or DEFAULT_PORTS.get(parts.scheme)
                if not parts.hostname or port is None:
                    self.problems.append(f"{name}: {rule.url!r} names no host and port (ink_network Connects)")
                    continue
                self.dial(here, parts.hostname, port, f"{name}: {rule.reason}")


def _declared_ports(rule: Internet | KubeDns | Nodes | Inbound) -> list[Port]:
    singles = [Port(p, proto) for p in rule.ports for proto in rule.protocols]
    return singles + [Port(first, proto, last) for first, last in rule.ranges for proto in rule.protocols]


def _addresses(binding: Binding) -> list[tuple[str, str, int]]:
    """(field, host, port) of every address the binding holds."""
    found: list[tuple[str, str, int]] = []
    for name in type(binding).model_fields:
        if name in ("provider", "secrets") or name in binding.not_dialled:
            continue
        value = getattr(binding, name)
        if isinstance(value, ServiceRef):
            found.append((name, f"{value.name}.{value.namespace}.svc", value.port))
        elif isinstance(value, str) and "://" in value:
            parts = urlsplit(value)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
            if parts.hostname and port:
                found.append((name, parts.hostname, port))
        elif name == "host" and isinstance(value, str) and value and isinstance(getattr(binding, "port", None), int):
            found.append((name, value, binding.port))  # type: ignore[attr-defined]
    return found


addresses = _addresses
"""Public for :func:`ink.tls.transport`: an edge's addresses are the ones its traffic goes to."""


def _pod_templates(obj: dict[str, Any]) -> list[tuple[str, dict[str, str], list[dict[str, Any]]]]:
    """(namespace, labels, container ports) of the pods an object would create."""
    kind = obj.get("kind")
    spec = obj.get("spec", {})
    if kind == "CronJob":
        template = spec.get("jobTemplate", {}).get("spec", {}).get("template", {})
    elif kind in WORKLOAD_KINDS:
        template = spec.get("template", {})
    elif kind == "Pod":
        template = obj
    else:
        return []
    labels = template.get("metadata", {}).get("labels", {}) or {}
    pod = template.get("spec", {})
    ports = [p for c in [*pod.get("containers", []), *pod.get("initContainers", [])] for p in c.get("ports", [])]
    return [(obj["metadata"].get("namespace", ""), labels, ports)]


# --- rendering ----------------------------------------------------------------------------------------


def _selector(labels: Labels) -> dict[str, Any]:
    return {"matchLabels": dict(labels)} if labels else {}


def _slug(labels: Labels) -> str:
    """A short name for a pod selector: its component, else its most specific value."""
    values = dict(labels)
    value = values.get("app.kubernetes.io/component") or values.get("app") or labels[-1][1]
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:40].strip("-") or "pods"


def _policies(resolved: ResolvedGraph, flows: list[Flow]) -> tuple[dict[str, list[dict[str, Any]]], dict]:
    ink_namespaces = {ctx.namespace for ctx in resolved.services.values()}
    # (namespace, policy name) → (pod selector, direction, {peer json → (peer dict, ports | None for all)})
    groups: dict[tuple[str, str], tuple[Labels, str, dict[str, tuple[dict, set[Port] | None]]]] = {}
    names: dict[tuple[str, str, Labels], str] = {}
    allowed_by: dict[Flow, list[str]] = {}

    def policy(namespace: str, base: str, pods: Labels, direction: str) -> str:
        key = (namespace, base, pods)
        if key not in names:
            name = base if not pods else f"{base}-{_slug(pods)}"
            taken = {n for (ns, _, _), n in names.items() if ns == namespace}
            suffix = 2
            candidate = name
            while candidate in taken:
                candidate, suffix = f"{name}-{suffix}", suffix + 1
            names[key] = candidate
            groups[(namespace, candidate)] = (pods, direction, {})
        return names[key]

    def add_rule(namespace: str, name: str, peer: Peer, ports: tuple[Port, ...]) -> None:
        rules = groups[(namespace, name)][2]
        peer_dict = peer.rule_peer(namespace)
        key = repr(sorted(peer_dict.items()))
        current = rules.get(key)
        if current is None:
            rules[key] = (peer_dict, set(ports) if ports else None)
        elif current[1] is not None:
            rules[key] = (peer_dict, current[1] | set(ports) if ports else None)

    for flow in flows:
        source, target = flow.source, flow.target
        if source.is_pods and target.is_pods and source.namespace == target.namespace:
            allowed_by[flow] = [f"{source.namespace}/allow-same-namespace"]
            continue
        where: list[str] = []
        if source.is_pods and source.namespace in ink_namespaces:
            if target.name == "kube-dns":
                base = "allow-dns"
            elif target.cidr and target.name.startswith("api-server"):
                base = "allow-kube-api"
            elif target.cidr and target.name.startswith("nodes ("):
                base = "allow-nodes"
            elif target.cidr:
                base = "allow-internet" if target.name == "internet" else "allow-outside"
            else:
                base = "allow-egress"
            name = policy(source.namespace, base, source.pods, "Egress")
            add_rule(source.namespace, name, target, flow.ports)
            where.append(f"{source.namespace}/{name}")
        if target.is_pods and target.namespace in ink_namespaces:
            name = policy(target.namespace, "allow-ingress", target.pods, "Ingress")
            add_rule(target.namespace, name, source, flow.ports)
            where.append(f"{target.namespace}/{name}")
        allowed_by[flow] = where

    policies: dict[str, list[dict[str, Any]]] = {ns: [] for ns in sorted(ink_namespaces)}
    for namespace in policies:
        policies[namespace].append(
            _object(namespace, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        )
        # Two dicts, not one shared: a shared one would be written as a YAML anchor and alias.
        spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{"from": [{"podSelector": {}}]}]}
        spec["egress"] = [{"to": [{"podSelector": {}}]}]
        policies[namespace].append(_object(namespace, "allow-same-namespace", spec))
    # A namespace a service owns besides its own (ink_namespaces) is sealed: one deny-all policy and nothing else.
    # Named after the namespace: it is written into the owner's folder, next to the owner's own default-deny.
    for namespace in sorted(resolved.sealed_namespaces()):
        spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        policies[namespace] = [_object(namespace, sealed_policy_name(namespace), spec)]
    for (namespace, name), (pods, direction, rules) in groups.items():
        rendered = []
        for peer_dict, ports in sorted(rules.values(), key=lambda r: repr(r[0])):
            rule: dict[str, Any] = {"from" if direction == "Ingress" else "to": [peer_dict]}
            if ports:
                rule["ports"] = [_port_entry(p) for p in sorted(ports, key=_port_key)]
            rendered.append(rule)
        spec = {"podSelector": _selector(pods), "policyTypes": [direction], direction.lower(): rendered}
        policies[namespace].append(_object(namespace, name, spec))
    for namespace in policies:
        policies[namespace].sort(key=lambda o: o["metadata"]["name"])
    return policies, allowed_by


def sealed_policy_name(namespace: str) -> str:
    """The only NetworkPolicy of a sealed namespace: it denies all traffic, in and out."""
    return f"default-deny-{namespace}"


def _port_entry(port: Port) -> dict[str, Any]:
    entry: dict[str, Any] = {"port": port.port, "protocol": port.protocol}
    if port.end_port is not None:
        entry["endPort"] = port.end_port
    return entry


def _port_key(port: Port) -> tuple[int, str, str, int]:
    return (port.port if isinstance(port.port, int) else 0, str(port.port), port.protocol, port.end_port or 0)


def _object(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
