"""Evaluate NetworkPolicy objects the way the Kubernetes API defines them: who may reach whom on which port.

Independent of ink.netpol: it reads only policy objects and pods. Semantics (networking/v1 NetworkPolicySpec):

- a pod is isolated for a direction when a policy selecting it (podSelector, its namespace) lists that
  direction in policyTypes (absent: Ingress, plus Egress when the policy has egress rules);
- a connection needs the source's egress AND the destination's ingress to allow it; each side is the
  union of the rules of every policy that selects the pod;
- a peer is a podSelector (the policy's namespace), a namespaceSelector (with a podSelector: AND), or an
  ipBlock, which matches addresses outside the pod network only (the API says ipBlock is for
  cluster-external IPs: pod IPs are ephemeral);
- a rule without ``from``/``to`` matches every peer, without ``ports`` every port; a named port is
  looked up among the destination pod's container ports; ``endPort`` makes a range.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pod:
    """A pod (``namespace`` set) or an address outside the pod network (``ip`` set)."""

    name: str
    namespace: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[str, int, str], ...] = ()
    """Container ports: (name, number, protocol)."""
    ip: str = ""

    @property
    def external(self) -> bool:
        return bool(self.ip)


@functools.cache
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@functools.cache
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy.get("spec", {})
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


class Evaluator:
    def __init__(self, policies: Iterable[dict[str, Any]], namespace_labels: dict[str, dict[str, str]]):
        self.policies = list(policies)
        self.namespace_labels = namespace_labels
        self._cache: dict[tuple[Pod, str], list[dict[str, Any]]] = {}

    def _ns_labels(self, namespace: str) -> dict[str, str]:
        return {**self.namespace_labels.get(namespace, {}), "kubernetes.io/metadata.name": namespace}

    def _selecting(self, pod: Pod, direction: str) -> list[dict[str, Any]]:
        if (pod, direction) not in self._cache:
            self._cache[(pod, direction)] = self._select(pod, direction)
        return self._cache[(pod, direction)]

    def _select(self, pod: Pod, direction: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and direction in policy_types(p)
            and matches(p["spec"].get("podSelector", {}), dict(pod.labels))
        ]

    def _peer_matches(self, peer: dict[str, Any], policy_namespace: str, other: Pod) -> bool:
        if "ipBlock" in peer:
            if not other.external:
                return False
            address = _address(other.ip)
            block = peer["ipBlock"]
            if address not in _network(block["cidr"]):
                return False
            return not any(address in _network(e) for e in block.get("except", []))
        if other.external:
            return False
        if "namespaceSelector" in peer:
            if not matches(peer["namespaceSelector"], self._ns_labels(other.namespace)):
                return False
        elif other.namespace != policy_namespace:
            return False
        return matches(peer.get("podSelector", {}), dict(other.labels))

    @staticmethod
    def _port_matches(rule_ports: list[dict[str, Any]] | None, target: Pod, port: int, protocol: str) -> bool:
        if not rule_ports:
            return True
        for entry in rule_ports:
            if entry.get("protocol", "TCP") != protocol:
                continue
            value = entry.get("port")
            if value is None:
                return True
            if isinstance(value, str):
                if any(n == value and num == port and proto == protocol for n, num, proto in target.ports):
                    return True
                continue
            if value <= port <= entry.get("endPort", value):
                return True
        return False

    def _side(self, pod: Pod, other: Pod, direction: str, target: Pod, port: int, protocol: str) -> bool:
        """Whether ``pod``'s policies for ``direction`` let the connection with ``other`` through."""
        if pod.external:
            return True
        selecting = self._selecting(pod, direction)
        if not selecting:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in selecting:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if peers and not any(self._peer_matches(p, pod.namespace, other) for p in peers):
                    continue
                if self._port_matches(rule.get("ports"), target, port, protocol):
                    return True
        return False

    def allowed(self, source: Pod, target: Pod, port: int, protocol: str = "TCP") -> bool:
        if source.external and target.external:
            return False
        return self._side(source, target, "Egress", target, port, protocol) and self._side(
            target, source, "Ingress", target, port, protocol
        )

    def reachable(self, pods: list[Pod], ports: Iterable[tuple[int, str]]) -> set[tuple[str, str, int, str]]:
        """Every (source, target, port, protocol) the policies allow, over ``ports`` and each target's own."""
        candidates = set(ports)
        found: set[tuple[str, str, int, str]] = set()
        for target in pods:
            target_ports = candidates | {(num, proto) for _, num, proto in target.ports}
            for source in pods:
                if source is target:
                    continue
                for port, protocol in target_ports:
                    if self.allowed(source, target, port, protocol):
                        found.add((source.name, target.name, port, protocol))
        return found
