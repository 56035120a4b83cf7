"""The generated NetworkPolicies, evaluated: they allow exactly the graph's flows, nothing more, nothing less.

The pods are the real ones: ink's workloads from the output, the charts' from an offline ``helm template``
(tests/chartrender.py), CloudNativePG's instances from the Cluster (labels from the CloudNativePG docs), the
MongoDB members from the MongoDBCommunity resource (labels from the operator's source),
one stand-in pod per namespace for pods an operator creates at run time (Longhorn's CSI and instance
managers), CoreDNS in kube-system, and three addresses outside the pod network: a host on the internet,
a client on the LAN, a node (the API server). hostNetwork pods are left out: policies do not govern them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import chartrender
import pytest
from click.testing import CliRunner
from netpol_eval import Evaluator, Pod

from ink import hookimpl, netpol, testing
from ink.cli import main
from ink.models import BucketClaim, Mesh, ServiceInfo

REPO = Path(__file__).resolve().parent.parent
# The embedded default and every config in tests/configs/ (maximal.toml: every option on; openbao.toml:
# the settings a service switches to an alternative with, e.g. Vault → OpenBao).
CONFIGS = {"default": "", **{p.stem: p.read_text() for p in sorted((REPO / "tests" / "configs").glob("*.toml"))}}
# Charts a config installs that are not in ../shared/charts yet (plugins/istio/README.md): their pods are
# left out, and their namespace is represented by its stand-in pod like every namespace.
MISSING_CHARTS = {"istio": {"base", "istiod", "cni", "ztunnel"}}
INTERNET = Pod("internet", ip="1.1.1.1")
# Istio ambient's istio-cni SNATs the kubelet's probes to this address (cni/pkg/iptables/iptables.go).
PROBE_SNAT = Pod("kubelet-probe-snat", ip="169.254.7.127")
LAN_CLIENT = Pod("lan-client", ip="192.168.1.50")
NODE = Pod("node", ip="192.168.1.10")
# k3s manifests/coredns.yaml: DNS on 53 and the prometheus plugin's metrics on 9153.
KUBE_DNS = Pod(
    "kube-system/coredns",
    "kube-system",
    (("k8s-app", "kube-dns"),),
    (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")),
)
# Ports probed besides every pod's own container ports: each one a flow or a test names.
PROBED = {(p, proto) for p in (22, 53, 80, 443, 5432, 6443, 7844, 8080, 8443, 9000) for proto in ("TCP", "UDP")}


def _pod(name: str, template_namespace: str, labels: dict, ports: list) -> Pod:
    return Pod(
        name,
        template_namespace,
        tuple(sorted(labels.items())),
        tuple((p.get("name", ""), int(p["containerPort"]), p.get("protocol", "TCP")) for p in ports),
    )


def _pods(objects: list[dict]) -> list[Pod]:
    pods: list[Pod] = []
    rendered: list[dict] = []
    for app in chartrender.chart_applications(objects):
        if app.chart_dir is None:
            assert app.chart in MISSING_CHARTS.get(app.service, ()), f"{app.label}: not in shared/charts"
            continue
        rendered += [
            {**o, "metadata": {"namespace": app.namespace, **o["metadata"]}}
            for o in chartrender.render(app, kube_version="1.33")
        ]
    for obj in [*objects, *rendered]:
        template = obj.get("spec", {}).get("template", {}).get("spec", {})
        if template.get("hostNetwork"):
            continue
        for namespace, labels, ports in netpol._pod_templates(obj):
            name = re.sub(r"-[0-9a-f]{8}$", "", obj["metadata"]["name"])  # a Job's name ends in a content hash
            pods.append(_pod(f"{namespace}/{obj['kind'].lower()}-{name}", namespace, labels, ports))
        if obj.get("kind") == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            # CloudNativePG docs, "Labels and annotations" and "Networking": instances carry cnpg.io/cluster,
            # serve PostgreSQL on 5432 and the instance manager's status on 8000.
            labels = {"cnpg.io/cluster": obj["metadata"]["name"], "cnpg.io/instanceRole": "primary"}
            ports = [{"name": "postgresql", "containerPort": 5432}, {"name": "status", "containerPort": 8000}]
            pods.append(
                _pod(
                    f"{obj['metadata']['namespace']}/instance-{obj['metadata']['name']}",
                    obj["metadata"]["namespace"],
                    labels,
                    ports,
                )
            )
        if obj.get("kind") == "MongoDBCommunity":
            # mongodb/mongodb-kubernetes, mongodb-community-operator/controllers/construct/mongodbstatefulset.go: the
            # members carry app=<name>-svc and serve MongoDB on 27017.
            # With spec.prometheus the agent serves metrics on its port (9216 by default; ink declares it).
            labels = {"app": f"{obj['metadata']['name']}-svc"}
            ports = [{"name": "mongodb", "containerPort": 27017}]
            if "prometheus" in obj["spec"]:
                ports.append({"name": "prometheus", "containerPort": obj["spec"]["prometheus"].get("port", 9216)})
            pods.append(
                _pod(
                    f"{obj['metadata']['namespace']}/member-{obj['metadata']['name']}",
                    obj["metadata"]["namespace"],
                    labels,
                    ports,
                )
            )
        if obj.get("kind") == "Prometheus" and obj["apiVersion"].startswith("monitoring.coreos.com/"):
            # prometheus-operator makes the StatefulSet: its pods carry app.kubernetes.io/name=prometheus and
            # operator.prometheus.io/name=<the resource> (pkg/prometheus/statefulset.go), web on 9090.
            labels = {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": obj["metadata"]["name"]}
            pods.append(
                _pod(
                    f"{obj['metadata']['namespace']}/prometheus-{obj['metadata']['name']}",
                    obj["metadata"]["namespace"],
                    labels,
                    [{"name": "http-web", "containerPort": 9090}],
                )
            )
    for namespace in sorted({o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}):
        pods.append(Pod(f"{namespace}/other", namespace, (("ink.test/stand-in", "true"),)))
    # A second stand-in in each namespace a service owns besides its own (sealed, no pod rendered there), so
    # traffic inside it is probed too.
    for namespace in sorted(
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "Namespace" and "ink.homelab/purpose" in o["metadata"].get("annotations", {})
    ):
        pods.append(Pod(f"{namespace}/another", namespace, (("ink.test/stand-in", "again"),), (("http", 8080, "TCP"),)))
    return [*pods, KUBE_DNS, INTERNET, LAN_CLIENT, NODE]


def _in_peer(pod: Pod, peer: netpol.Peer) -> bool:
    if peer.cidr:
        if not pod.external:
            return False
        address = ipaddress.ip_address(pod.ip)
        return address in ipaddress.ip_network(peer.cidr) and not any(
            address in ipaddress.ip_network(e) for e in peer.excepts
        )
    labels = dict(pod.labels)
    return not pod.external and pod.namespace == peer.namespace and all(labels.get(k) == v for k, v in peer.pods)


def _expected(
    plan: netpol.NetworkPlan, pods: list[Pod], probed: set, sealed: frozenset[str] = frozenset()
) -> set[tuple[str, str, int, str]]:
    """What the graph says may flow, expanded over the pods; nothing inside a sealed namespace."""
    expected: set[tuple[str, str, int, str]] = set()
    for flow in plan.flows:
        for source in (p for p in pods if _in_peer(p, flow.source)):
            for target in (p for p in pods if _in_peer(p, flow.target) and p is not source):
                if not flow.ports:  # every port: the probed ones and the target's own
                    ports = probed | {(num, proto) for _, num, proto in target.ports}
                    expected |= {(source.name, target.name, num, proto) for num, proto in ports}
                for port in flow.ports:
                    if isinstance(port.port, int) and port.end_port is not None:  # a range, at the probed ports
                        expected |= {
                            (source.name, target.name, num, proto)
                            for num, proto in probed | {(n, pr) for _, n, pr in target.ports}
                            if port.port <= num <= port.end_port and proto == port.protocol
                        }
                    elif isinstance(port.port, int):
                        expected.add((source.name, target.name, port.port, port.protocol))
                    else:
                        expected |= {
                            (source.name, target.name, num, proto)
                            for name, num, proto in target.ports
                            if name == port.port and proto == port.protocol
                        }
    for source in pods:  # the pods of one namespace reach each other on every port
        for target in pods:
            same = not source.external and source.namespace == target.namespace
            if source is not target and same and source.namespace not in sealed:
                ports = probed | {(num, proto) for _, num, proto in target.ports}
                expected |= {(source.name, target.name, port, proto) for port, proto in ports}
    return expected


def _probes(port: netpol.Port) -> set[int]:
    """A single port, or a range's ends and the ports just outside it (so a range one too wide shows)."""
    assert isinstance(port.port, int)
    if port.end_port is None:
        return {port.port}
    return {n for n in (port.port - 1, port.port, port.end_port, port.end_port + 1) if 1 <= n <= 65535}


def _evaluate(tmp_path: Path, config: str = "", **kwargs):
    result = testing.synth(tmp_path, config, **kwargs)
    objects = list(testing.objects(result).values())
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    pods = _pods(objects)
    if result.network is not None and result.network.mesh is not None:
        pods.append(PROBE_SNAT)  # the address the mesh's probes come from: only a mesh may open it
    return result, Evaluator(policies, {}), pods


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def evaluated(request, tmp_path_factory):
    return _evaluate(tmp_path_factory.mktemp(request.param), CONFIGS[request.param])


def test_policies_allow_exactly_the_graph(evaluated) -> None:
    result, evaluator, pods = evaluated
    assert result.network is not None and not result.network.problems
    # Pairs between pods of namespaces ink does not write (kube-system) and outside addresses are not ink's.
    sealed = frozenset(result.graph.sealed_namespaces())
    namespaces = {ctx.namespace for ctx in result.graph.services.values()} | sealed
    ours = {p.name for p in pods if p.namespace in namespaces}
    named = {
        (number, p.protocol)
        for flow in result.network.flows
        for p in flow.ports
        if isinstance(p.port, int)
        for number in _probes(p)
    }
    actual = {r for r in evaluator.reachable(pods, PROBED | named) if r[0] in ours or r[1] in ours}
    expected = {r for r in _expected(result.network, pods, PROBED | named, sealed) if r[0] in ours or r[1] in ours}
    assert sorted(expected - actual) == [], "flows of the graph the policies block"
    assert sorted(actual - expected) == [], "traffic the policies allow that the graph does not declare"


def test_the_evaluator_sees_a_missing_or_a_broader_policy(evaluated) -> None:
    _, evaluator, pods = evaluated
    by_name = {p.name: p for p in pods}
    vaultwarden, postgres = by_name["vaultwarden/deployment-vaultwarden"], by_name["cloudnativepg/instance-postgres-ha"]
    assert evaluator.allowed(vaultwarden, postgres, 5432)
    without = [
        p
        for p in evaluator.policies
        if p["metadata"]["namespace"] != "vaultwarden" or p["metadata"]["name"] != "allow-egress"
    ]
    assert not Evaluator(without, {}).allowed(vaultwarden, postgres, 5432)
    allow_all = {"metadata": {"namespace": "cloudnativepg", "name": "x"}, "spec": {"podSelector": {}, "ingress": [{}]}}
    broader = Evaluator([*evaluator.policies, allow_all], {})
    assert not evaluator.allowed(vaultwarden, postgres, 8000)
    assert not broader.allowed(vaultwarden, postgres, 8000)  # vaultwarden's egress still stops it
    assert broader.allowed(by_name["internet"], postgres, 5432)


def test_every_namespace_denies_by_default(evaluated) -> None:
    result, evaluator, _ = evaluated
    namespaces = {ctx.namespace for ctx in result.graph.services.values()}
    deny = {p["metadata"]["namespace"] for p in evaluator.policies if p["metadata"]["name"] == "default-deny"}
    assert deny == namespaces
    sealed = result.graph.sealed_namespaces()
    assert {
        p["metadata"]["namespace"]: p["metadata"]["name"]
        for p in evaluator.policies
        if p["metadata"]["namespace"] in sealed
    } == {namespace: netpol.sealed_policy_name(namespace) for namespace in sealed}


def test_a_sealed_namespace_is_reachable_by_nothing_and_reaches_nothing(evaluated) -> None:
    # The scratch namespaces of Velero's restore drills: not even DNS, not even each other.
    result, evaluator, pods = evaluated
    sealed = result.graph.sealed_namespaces()
    if "velero" not in result.graph.services:  # s3-tls.toml leaves Velero out (it cannot verify the S3 store yet)
        assert sealed == {}
        return
    assert sealed, "the homelab has no sealed namespace (a Velero drill) to check"
    inside = [p for p in pods if p.namespace in sealed]
    assert len(inside) >= 2 * len(sealed)
    reachable = evaluator.reachable(pods, PROBED | {(8080, "TCP")})
    touching = sorted(r for r in reachable if r[0] in {p.name for p in inside} or r[1] in {p.name for p in inside})
    assert touching == []


def test_every_edge_opens_its_path_or_carries_no_traffic(evaluated) -> None:
    result, _, _ = evaluated
    plan = result.network
    opened = {flow.edge for flow in plan.flows if flow.edge}
    for edge in result.graph.edges:
        key = f"{edge.source}→{edge.target}:{edge.name}"
        if key not in opened:
            # A certificate, a sealed Secret, a backup schedule, addresses only clients dial (TURN): the binding
            # holds no address the consumer's pods dial, so there is no connection between pods to open.
            binding = result.graph.services[edge.source].bindings.get(edge.name)
            assert binding is not None and netpol._addresses(binding) == [], f"{key} opens no path"
            assert f"{edge.source} → {edge.target} ({edge.name})" in plan.no_traffic


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return _evaluate(tmp_path_factory.mktemp("default"))


def test_paths_of_the_default_homelab(default) -> None:
    _, evaluator, pods = default
    by_name = {p.name: p for p in pods}

    def may(source: str, target: str, port: int, protocol: str = "TCP") -> bool:
        return evaluator.allowed(by_name[source], by_name[target], port, protocol)

    vaultwarden = "vaultwarden/deployment-vaultwarden"
    postgres = "cloudnativepg/instance-postgres-ha"
    traefik = "traefik/deployment-traefik"
    minio = "minio/deployment-minio"
    assert may(vaultwarden, postgres, 5432)  # database/vaultwarden
    assert may(traefik, vaultwarden, 8080)  # the route: Service port 80 → container port 8080
    assert not may(traefik, vaultwarden, 80)  # the Service port is not what policies see
    assert may(vaultwarden, traefik, 8443)  # OIDC back-channel to the issuer's public URL
    assert may(traefik, "authentik/deployment-authentik-server", 9000)
    assert not may(vaultwarden, "authentik/deployment-authentik-server", 9000)  # only through the ingress
    assert not may(vaultwarden, minio, 9000)  # undeclared: blocked
    assert may("velero/deployment-velero", minio, 9000)  # s3/velero
    assert may("internet", traefik, 8443) and may("lan-client", traefik, 8000)
    assert not may("internet", minio, 9000) and not may("lan-client", vaultwarden, 8080)
    assert may(vaultwarden, "kube-system/coredns", 53, "UDP")
    assert may("cert-manager/deployment-cert-manager", "internet", 443)
    assert not may(minio, "internet", 443)
    assert may("cert-manager/deployment-cert-manager", "node", 6443) and not may(minio, "node", 6443)
    assert may("node", "cert-manager/deployment-cert-manager-webhook", 10250)
    assert not may(vaultwarden, "cert-manager/deployment-cert-manager-webhook", 10250)
    prometheus = "prometheus/prometheus-prometheus-prometheus"
    assert may(prometheus, "kube-system/coredns", 9153)  # the chart's coreDns monitor (KubeDns rule)
    assert not may(vaultwarden, "kube-system/coredns", 9153)  # everyone else: DNS only
    assert may(prometheus, "mongodb/member-mongodb", 9216)  # the agents' metrics (spec.prometheus)
    assert not may(vaultwarden, "mongodb/member-mongodb", 9216)
    assert may(prometheus, "searxng/deployment-searxng", 8080)  # /metrics, behind basic auth


class Prober:
    """A service that claims a bucket: its one new edge must open exactly prober → MinIO."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="prober", title="Prober", version="1", homepage="https://example.org")

    @hookimpl
    def ink_bucket_claims(self) -> list[BucketClaim]:
        return [BucketClaim(bucket="prober")]


def test_a_new_declaration_opens_exactly_its_path(tmp_path: Path, default) -> None:
    _, before_eval, before_pods = default
    _, after_eval, after_pods = _evaluate(tmp_path / "after", extra={"prober": Prober()})
    before = before_eval.reachable(before_pods, PROBED)
    after = after_eval.reachable(after_pods, PROBED)
    assert before <= after
    new = {(s, t, port, proto) for s, t, port, proto in after - before if s != t}
    assert new == {
        ("prober/other", "minio/deployment-minio", 9000, "TCP"),
        ("prober/other", "kube-system/coredns", 53, "UDP"),
        ("prober/other", "kube-system/coredns", 53, "TCP"),
    }


def test_egress_setting_opens_the_internet_on_its_ports_only(tmp_path: Path, default) -> None:
    _, before_eval, pods = default
    config = "[plugins.minio]\negress_internet_ports = [8443]\n"
    _, after_eval, after_pods = _evaluate(tmp_path / "after", config)
    new = after_eval.reachable(after_pods, PROBED) - before_eval.reachable(pods, PROBED)
    assert {(s.split("/")[0], t, port, proto) for s, t, port, proto in new} == {
        ("minio", "internet", 8443, "TCP"),
        ("minio", "internet", 8443, "UDP"),
    }


def test_bad_egress_port_is_one_clear_line(tmp_path: Path) -> None:
    from ink.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        testing.synth(tmp_path, "[plugins.minio]\negress_internet_ports = [70000]\n")
    assert "egress_internet_ports" in str(err.value)


def test_ink_graph_prints_edges_without_starting_node(tmp_path: Path) -> None:
    config = testing.prepare(tmp_path)
    code = (
        "import json, sys; from ink.cli import main\n"
        f"main(['graph', '--json', '--config', {str(config)!r}], standalone_mode=False)\n"
        "print('jsii' in sys.modules, file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INK_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
    edges = json.loads(done.stdout)["edges"]
    row = {"source": "vaultwarden", "target": "cloudnativepg", "kind": "need", "name": "database/vaultwarden"}
    assert {**row, "port": None, "transport": None} in edges  # known once the providers answer (--policies)


def test_ink_graph_policies_shows_which_policy_allows_each_flow(tmp_path: Path) -> None:
    config = testing.prepare(tmp_path)
    result = CliRunner().invoke(main, ["graph", "--policies", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    flow = next(f for f in report["flows"] if f["why"] == "vaultwarden → cloudnativepg (database/vaultwarden)")
    assert flow["ports"] == ["5432/TCP"]
    assert flow["allowed_by"] == ["vaultwarden/allow-egress", "cloudnativepg/allow-ingress-postgres-ha"]
    # The database edge is over TLS (cert-manager is in the default homelab); a binding without `tls` says nothing.
    database = next(e for e in report["edges"] if e["name"] == "database/vaultwarden")
    assert database["transport"] == "tls"
    # Every edge says how it travels; a route, a certificate or a Secret carries no traffic between pods.
    assert {e["transport"] for e in report["edges"]} <= {"tls", "tls-unverified", "mtls", "plain", None}
    no_traffic = set(report["no_traffic"])
    for edge in report["edges"]:
        label = f"{edge['source']} → {edge['target']} ({edge['name']})"
        assert (edge["transport"] is None) == (label in no_traffic), edge
    # A route's hop from the ingress controller to the app's pods is plain HTTP (TLS ends at the controller).
    assert next(e for e in report["edges"] if e["name"].startswith("ingress/"))["transport"] == "plain"
    # The search limiter's Valkey serves TLS from the in-cluster CA (cert-manager is in the default homelab).
    assert next(e for e in report["edges"] if e["name"] == "redis/searxng")["transport"] == "tls"
    # So does the MongoDB replica set, and Rocket.Chat verifies it (tls=true&tlsCAFile= in its URIs).
    assert next(e for e in report["edges"] if e["name"] == "mongodb/rocketchat")["transport"] == "tls"
    assert report["problems"] == []
    assert report["policies"]["vaultwarden"][:2] == ["allow-dns", "allow-egress"]
    text = CliRunner().invoke(main, ["graph", "--policies", "--config", str(config)])
    assert text.exit_code == 0, text.output
    assert "vaultwarden → cloudnativepg[cnpg.io/cluster=postgres-ha] 5432/TCP" in text.stdout
    assert "vaultwarden → cloudnativepg  need database/vaultwarden  (tls)" in text.stdout
    assert "traefik → cert-manager  need tls/wildcard-tls  (no traffic)" in text.stdout.splitlines()
    assert "searxng → valkey  need redis/searxng  (tls)" in text.stdout.splitlines()


class StandInMesh:
    """A stand-in service mesh carrying the traffic between the pods of the namespaces it names."""

    def __init__(self, namespaces: tuple[str, ...]) -> None:
        self.namespaces = namespaces

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="mesh", title="Mesh", version="1", homepage="https://example.org")

    @hookimpl
    def ink_network(self) -> list[Mesh]:
        return [Mesh(namespaces=self.namespaces, tunnel_ports=(15008,), reason="a stand-in mesh")]


def test_a_mesh_marks_the_edges_between_its_namespaces_mtls(tmp_path: Path) -> None:
    from ink.run import edge_transports

    mesh = StandInMesh(("vaultwarden", "cloudnativepg", "traefik"))
    result = testing.synth(tmp_path, extra={"mesh": mesh})
    assert result.graph is not None and result.network is not None
    transports = {(e.source, e.name): t for e, t in edge_transports(result.graph, result.network).items()}
    assert transports[("vaultwarden", "database/vaultwarden")] == "mtls"  # both ends meshed
    # One end outside the mesh: the binding's own transport stays (TLS from the in-cluster CA, or plain).
    assert transports[("searxng", "redis/searxng")] == "tls"
    assert transports[("velero", "s3/velero")] == "plain"
    # No traffic stays no traffic, meshed or not.
    assert all(t is None for (source, name), t in transports.items() if name.startswith("tls/"))
    without = testing.synth(tmp_path / "without")
    before = edge_transports(without.graph, without.network)
    assert "mtls" not in before.values()


def test_the_s3_tls_config_puts_the_store_on_verified_tls(tmp_path: Path) -> None:
    """tests/configs/s3-tls.toml exists for this: every bucket's consumer verifies, so MinIO serves TLS."""
    from ink.run import edge_transports

    result = testing.synth(tmp_path, CONFIGS["s3-tls"])
    transports = {(e.source, e.name): t for e, t in edge_transports(result.graph, result.network).items()}
    assert transports[("cloudnativepg", "s3/postgres-backups")] == "tls"
    assert not any("stays plain http" in w for w in result.warnings)
    store = testing.objects(result)["cloudnativepg/objectstore-postgres-ha-backups.yaml"]["spec"]["configuration"]
    assert store["endpointURL"].startswith("https://")


def test_the_default_homelab_keeps_the_store_plain_and_says_why(default) -> None:
    result, _, _ = default
    assert any(
        "the S3 endpoint stays plain http" in w and "longhorn's s3/longhorn" in w and "velero's s3/velero" in w
        for w in result.warnings
    )


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    return _evaluate(tmp_path_factory.mktemp("mesh"), CONFIGS["mesh"])


def test_the_mesh_opens_its_tunnel_and_probes_for_meshed_pods_only(mesh, default) -> None:
    """plugins/istio on: HBONE (15008) between meshed pods of the graph's pairs, the SNATed probes into meshed
    namespaces; nothing changes for pairs the graph does not have, nor for unmeshed namespaces."""
    result, evaluator, pods = mesh
    by_name = {p.name: p for p in pods}
    vaultwarden, postgres = by_name["vaultwarden/deployment-vaultwarden"], by_name["cloudnativepg/instance-postgres-ha"]
    searxng = by_name["searxng/deployment-searxng"]
    assert evaluator.allowed(vaultwarden, postgres, 15008)
    assert not evaluator.allowed(searxng, postgres, 15008)  # no edge: no tunnel
    assert evaluator.allowed(PROBE_SNAT, vaultwarden, 8080)
    unmeshed = [p for p in pods if p.namespace == "metallb"]
    assert unmeshed and not any(evaluator.allowed(PROBE_SNAT, p, 7472) for p in unmeshed)
    assert "metallb" not in result.network.meshed and "vaultwarden" in result.network.meshed
    _, plain, plain_pods = default
    plain_by_name = {p.name: p for p in plain_pods}
    vw, pg = plain_by_name["vaultwarden/deployment-vaultwarden"], plain_by_name["cloudnativepg/instance-postgres-ha"]
    assert not plain.allowed(vw, pg, 15008)
    assert not plain.allowed(PROBE_SNAT, vw, 8080)
