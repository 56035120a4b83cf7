"""kube.api_object renders its objects in Python exactly as cdk8s's toJson would (issue 17: one jsii call each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ink import hookimpl, kube, testing
from ink.errors import PluginError
from ink.models import ServiceInfo

cdk8s = kube.cdk8s


def through_cdk8s(manifest: dict[str, Any]) -> dict[str, Any]:
    """What cdk8s renders for ``manifest`` made the way api_object made it before: metadata and a JSON patch a key."""
    chart = cdk8s.Chart(cdk8s.App(), "ink", disable_resource_name_hashes=True)
    meta = manifest.get("metadata", {})
    obj = cdk8s.ApiObject(
        kube.Construct(chart, "scope"),
        "object",
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=cdk8s.ApiObjectMetadata(**{k: meta.get(k) for k in kube._METADATA_FIELDS}),
    )
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
    if body:
        obj.add_json_patch(*(cdk8s.JsonPatch.add(f"/{key}", value) for key, value in body.items()))
    return obj.to_json()


def in_python(manifest: dict[str, Any]) -> dict[str, Any]:
    chart = cdk8s.Chart(cdk8s.App(), "ink", disable_resource_name_hashes=True)
    obj = kube.api_object(kube.Construct(chart, "scope"), "object", manifest)
    assert isinstance(obj, kube.PlainObject), "took cdk8s's path"
    return obj.rendered


EDGE_CASES = {
    "labels sorted, empty annotations left out": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "n", "namespace": "ns", "labels": {"b": "1", "a": "2"}, "annotations": {}},
        "data": {"k": "v"},
    },
    "None dropped from objects, kept in arrays; 1.0 as 1": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "n", "labels": {}, "finalizers": []},
        "data": {"z": None, "b": [None, 1.0, 2.5, True], "e": {}, "l": []},
    },
    "array-index keys first, in numeric order": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "n", "annotations": {"10": "a", "9": "b", "x": ""}},
        "data": {"x": "1", "10": "2", "2": "3", "01": "4", "4294967295": "5"},
    },
    "body keys in their order, after the metadata": {
        "apiVersion": "example.org/v1",
        "kind": "Thing",
        "metadata": {"name": "n", "finalizers": ["b", "a"]},
        "status": {"b": 1, "a": 2},
        "spec": {"nested": {"z": [{"b": 1, "a": None}], "a": -0.0}},
    },
}


@pytest.mark.parametrize("manifest", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_rendered_in_python_as_cdk8s_renders(manifest: dict[str, Any]) -> None:
    # json.dumps keeps the key order, at every level: it is the YAML's.
    assert json.dumps(in_python(manifest)) == json.dumps(through_cdk8s(manifest))


@pytest.mark.parametrize(
    "manifest",
    [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}, "data": {"k": "v"}},  # cdk8s makes up the name
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}, "data": {1: "v"}},
    ],
    ids=["no name", "key that is no string"],
)
def test_what_python_cannot_reproduce_takes_cdk8s_s_path(manifest: dict[str, Any]) -> None:
    chart = cdk8s.Chart(cdk8s.App(), "ink", disable_resource_name_hashes=True)
    obj = kube.api_object(kube.Construct(chart, "scope"), "object", manifest)
    assert isinstance(obj, cdk8s.ApiObject)
    if manifest["metadata"]:
        return  # jsii's own handling of the value is what it always was
    assert obj.to_json() == {**through_cdk8s(manifest), "metadata": {"name": "ink-scope-object"}}


def test_a_value_jsii_refuses_is_refused_as_before() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "ink", disable_resource_name_hashes=True)
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}, "data": {"k": ("a", "tuple")}}
    with pytest.raises(AttributeError, match="__jsii_type__"):
        kube.api_object(kube.Construct(chart, "scope"), "object", manifest)


def test_every_object_of_the_default_homelab_renders_as_cdk8s_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[dict[str, Any]] = []
    original = kube.api_object

    def recording(scope: Any, id: str, manifest: Any) -> Any:
        made.append(manifest)
        return original(scope, id, manifest)

    monkeypatch.setattr(kube, "api_object", recording)
    result = testing.synth(tmp_path, validate=False)
    monkeypatch.undo()  # in_python below makes objects too
    # Every plugin's objects go through it (Workloads, charts, custom resources); core adds Namespaces and policies.
    assert len(made) > 400, len(made)
    mismatched = [m["metadata"].get("name") for m in made if json.dumps(in_python(m)) != json.dumps(through_cdk8s(m))]
    assert not mismatched
    assert result.objects >= len(made)


class _Emitter:
    """A stand-in service emitting plain objects, one of them then changed through cdk8s's ApiObject API."""

    def __init__(self, *, twice: bool = False, construct: str = "") -> None:
        self.twice = twice
        self.construct = construct  # "before" or "after": a cdk8s construct of the id "plain" in the same scope

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="emitter", title="Emitter", version="1", homepage="https://example.org")

    @hookimpl
    def ink_workloads(self, scope: Any, ctx: Any) -> None:
        nested = kube.child(scope, "nested")
        if self.construct == "before":
            kube.child(scope, "plain")
        for where, name in ((scope, "plain"), (nested, "nested"), (scope, "patched")):
            obj = kube.api_object(
                where, name, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}}
            )
            assert isinstance(obj, kube.PlainObject)
        obj.add_json_patch(cdk8s.JsonPatch.add("/data/b", "2"))  # cdk8s's API: the ApiObject exists from here on
        assert isinstance(obj.api_object, cdk8s.ApiObject)
        if self.twice:
            kube.api_object(scope, "plain", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
        if self.construct == "after":
            cdk8s.ApiObject(scope, "plain", api_version="v1", kind="Secret", metadata={"name": "x"})


def test_plain_objects_are_collected_and_one_changed_through_cdk8s_keeps_its_change(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=[], extra={"emitter": _Emitter()}, validate=False)
    objects = testing.objects(result)
    assert {path: body["data"] for path, body in objects.items() if body["kind"] == "ConfigMap"} == {
        "emitter/configmap-plain.yaml": {"a": "1"},
        "emitter/configmap-nested.yaml": {"a": "1"},
        "emitter/configmap-patched.yaml": {"a": "1", "b": "2"},  # once, rendered by cdk8s
    }


@pytest.mark.parametrize("construct", ["before", "after"])
def test_a_plain_object_and_a_construct_of_one_name_in_one_scope_are_refused(tmp_path: Path, construct: str) -> None:
    # cdk8s never sees the plain object, so it lets the construct take the name: _collect refuses it instead.
    match = r"emitter.*ink_workloads.*already a Construct with name 'plain' in ink/.*give the kube.api_object"
    with pytest.raises(PluginError, match=match):
        testing.synth(tmp_path, plugins=[], extra={"emitter": _Emitter(construct=construct)}, validate=False)


def test_two_plain_objects_of_one_name_in_one_scope_are_refused_as_cdk8s_refuses(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"emitter.*ink_workloads.*already a Construct with name 'plain' in ink/"):
        testing.synth(tmp_path, plugins=[], extra={"emitter": _Emitter(twice=True)}, validate=False)
