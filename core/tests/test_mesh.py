"""The service-mesh extension point: a Mesh rule (ink_network) and ink_network_objects.

A stand-in mesh plugin meshes some namespaces; core must open its tunnel port exactly on the flows between
meshed pods, admit its probe source into meshed namespaces only, label them, list where traffic enters the
mesh, mark the edges it carries ``mtls``, and place the objects the plugin derives from the plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ink import hookimpl, testing
from ink.errors import PluginError
from ink.models import Mesh, ServiceInfo

PLUGINS = ["sealed-secrets", "cert-manager", "traefik", "cloudnativepg", "vaultwarden"]
EDGE = "vaultwarden→cloudnativepg:database/vaultwarden"


class FakeMesh:
    def __init__(self, namespaces: tuple[str, ...], objects: Any = None, name: str = "fakemesh") -> None:
        self.namespaces, self.objects, self.name = namespaces, objects, name
        self.plans: list[Any] = []

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title="Fake mesh", version="1", homepage="https://example.org")

    @hookimpl
    def ink_network(self) -> list[Mesh]:
        return [
            Mesh(
                namespaces=self.namespaces,
                tunnel_ports=(15008,),
                probe_sources=("169.254.7.127/32",),
                namespace_labels={"example.org/mesh": "on"},
                left_out={"traefik": "a test leaves it out"},
                reason="a test mesh",
            )
        ]

    @hookimpl
    def ink_network_objects(self, plan) -> Any:
        self.plans.append(plan)
        return self.objects


def synth(tmp_path: Path, *meshes: FakeMesh):
    return testing.synth(tmp_path, plugins=PLUGINS, extra={m.name: m for m in meshes})


@pytest.fixture(scope="module")
def meshed(tmp_path_factory: pytest.TempPathFactory):
    mesh = FakeMesh(("vaultwarden", "cloudnativepg", "cert-manager"))
    return synth(tmp_path_factory.mktemp("meshed"), mesh), mesh


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory):
    return testing.synth(tmp_path_factory.mktemp("plain"), plugins=PLUGINS)


def flows(result, edge: str) -> list:
    return [f for f in result.network.flows if f.edge == edge]


def test_the_tunnel_port_joins_exactly_the_flows_between_meshed_pods(meshed, plain) -> None:
    result, _ = meshed
    assert [p.text() for f in flows(result, EDGE) for p in f.ports] == ["5432/TCP", "15008/TCP"]
    route = "vaultwarden→traefik:ingress/vault"  # traefik is not meshed
    assert [p.text() for f in flows(result, route) for p in f.ports] == ["8080/TCP"]
    unchanged = [f for f in plain.network.flows if not (f.source.is_pods and f.target.is_pods)]
    assert all(f in result.network.flows for f in unchanged)


def test_probe_source_reaches_the_meshed_namespaces_only(meshed) -> None:
    result, _ = meshed
    probes = [f for f in result.network.flows if f.source.cidr == "169.254.7.127/32"]
    assert sorted(f.target.namespace for f in probes) == ["cert-manager", "cloudnativepg", "vaultwarden"]
    assert all(f.ports == () and not f.target.pods for f in probes)


def test_meshed_namespaces_carry_the_mesh_labels(meshed) -> None:
    result, _ = meshed
    labels = {
        o["metadata"]["name"]: o["metadata"]["labels"]
        for o in testing.objects(result).values()
        if o["kind"] == "Namespace"
    }
    assert {ns for ns, lab in labels.items() if lab.get("example.org/mesh") == "on"} == set(result.network.meshed)
    assert result.network.meshed == ["cert-manager", "cloudnativepg", "vaultwarden"]


def test_entries_are_the_flows_into_meshed_pods_from_outside(meshed) -> None:
    result, _ = meshed
    entries = {
        (f.source.text(), f.target.text(), tuple(p.text() for p in f.ports)) for f in result.network.mesh_entries
    }
    assert ("api-server", "cert-manager[app.kubernetes.io/name=webhook]", ("10250/TCP",)) in entries
    assert not any(t.startswith("traefik") for _, t, _ in entries)  # traefik is not meshed: nothing enters there
    assert any(s.startswith("traefik[") and t.startswith("vaultwarden[") for s, t, _ in entries)
    assert not any(s == "kubelet probes (mesh)" for s, _, _ in entries)


def test_edges_the_mesh_carries_are_mtls(meshed) -> None:
    result, _ = meshed
    assert result.network.transport[EDGE] == "mtls"
    assert "vaultwarden→traefik:ingress/vault" not in result.network.transport
    assert result.network.mesh.left_out == {"traefik": "a test leaves it out"}


def test_the_plan_reaches_ink_network_objects(meshed) -> None:
    result, mesh = meshed
    assert [plan.meshed for plan in mesh.plans] == [result.network.meshed]


def test_objects_land_in_the_folder_of_their_namespace(tmp_path: Path) -> None:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "mesh-note", "namespace": "vaultwarden"},
    }
    result = synth(tmp_path, FakeMesh(("vaultwarden",), objects=[config_map]))
    placed = testing.objects(result)["vaultwarden/configmap-mesh-note.yaml"]
    assert placed["metadata"]["labels"]["app.kubernetes.io/instance"] == "vaultwarden"


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}], "must name a namespace ink writes"),
        (
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}}],
            "got 'kube-system'",
        ),
        ("not a list", "must return a list of objects"),
    ],
)
def test_misplaced_objects_are_one_clear_error(tmp_path: Path, objects: Any, message: str) -> None:
    with pytest.raises(PluginError) as error:
        synth(tmp_path, FakeMesh(("vaultwarden",), objects=objects))
    assert "fakemesh" in str(error.value) and message in str(error.value)


def test_two_meshes_are_a_problem_and_neither_applies(tmp_path: Path) -> None:
    result = testing.synth(
        tmp_path,
        plugins=PLUGINS,
        extra={
            "mesh-a": FakeMesh(("vaultwarden",), name="mesh-a"),
            "mesh-b": FakeMesh(("vaultwarden",), name="mesh-b"),
        },
    )
    assert result.network.mesh is None
    assert "more than one service mesh is declared (mesh-a, mesh-b)" in result.network.problems[0]


def test_a_namespace_ink_does_not_write_is_a_problem(tmp_path: Path) -> None:
    result = synth(tmp_path, FakeMesh(("vaultwarden", "nowhere")))
    assert result.network.meshed == ["vaultwarden"]
    assert any("names namespaces ink does not write: nowhere" in p for p in result.network.problems)


def test_mesh_model_checks_its_fields() -> None:
    with pytest.raises(ValidationError, match="does not appear to be an IPv4 or IPv6 network"):
        Mesh(namespaces=("a",), probe_sources=("169.254.7.300/32",), reason="x")
    with pytest.raises(ValidationError):
        Mesh(namespaces=("a",), reason="")
    with pytest.raises(ValidationError):
        Mesh(namespaces=("Not_A_Label",), reason="x")
