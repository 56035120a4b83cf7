"""Validate Kubernetes objects offline, reporting every problem rather than the first.

Built-in kinds use the strict JSON schemas bundled with ``kubernetes-validate``; custom resources use
CRD schemas from folders, normalised so plain JSON Schema behaves like the API server. A few
server-side rules the schemas lack (names, label syntax, digit-string ports) are checked as well.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from ink.cluster import NOT_MANIFESTS
from ink.errors import UserError, clip
from ink.files import BoundedReadError, load_yaml_all, read_bounded
from ink.kubeschemas import schema_root, supported_kubernetes_versions

_DEFS_URI = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META = {"$ref": f"{_DEFS_URI}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
_API_VERSION = re.compile(r"(?:[a-z0-9.-]+/)?[a-z0-9]+")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_DIGITS = re.compile(r"[0-9]+")
_INLINE_FLAGS = re.compile(r"(?<!\\)\(\?([aimsux]+)\)")
_LABEL_PATHS = (
    ("metadata",),
    ("spec", "template", "metadata"),
    ("spec", "jobTemplate", "metadata"),
    ("spec", "jobTemplate", "spec", "template", "metadata"),
)
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "additionalProperties", "additionalItems", "not")
_GVK = "x-kubernetes-group-version-kind"
_CrdIndex = dict[tuple[str, str], tuple[str | None, Path | dict[str, Any]]]


class SchemaFileError(ValueError):
    """A custom-resource schema file (validation.crd_dirs, --crd-dir) is broken: the user's to fix."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one object."""

    object: str
    path: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        text = f"{self.object}: {self.path}: {self.message}"
        return f"{self.source}: {text}" if self.source else text


@dataclass
class ValidationReport:
    """The outcome of validating many objects."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    skipped: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _dig(node: Any, *keys: str) -> Any:
    """``node[k1][k2]…``, or None as soon as a level is not a mapping."""
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


@cache
def _definitions(version: str) -> tuple[Registry[Any], dict[str, Any], dict[str, Any]]:
    """The registry holding ``_definitions.json``, its raw ``$defs``, and a memo of inlined ones."""
    defs = json.loads((schema_root() / f"v{version}.0-local-strict" / "_definitions.json").read_bytes())
    return Registry().with_resource(_DEFS_URI, Resource.from_contents(defs)), defs["$defs"], {}


def _inline(node: Any, version: str, active: set[str]) -> Any:
    """Copy ``node`` with references to the definitions inlined, keeping ``$ref`` only where they recurse.

    Resolving ``$ref`` at validation time costs about a third of the time spent on a Deployment.
    """
    if isinstance(node, list):
        return [_inline(sub, version, active) for sub in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")  # a property *named* "$ref" (in JSONSchemaProps) maps to a dict, not a str
    if not (isinstance(ref, str) and "#/$defs/" in ref):
        return {key: _inline(sub, version, active) for key, sub in node.items()}
    _, defs, memo = _definitions(version)
    name = ref.rpartition("#/$defs/")[2]
    if name not in memo:
        if name in active or name not in defs:
            return {"$ref": f"{_DEFS_URI}#/$defs/{name}"}
        active.add(name)
        memo[name] = _inline(defs[name], version, active)
        active.discard(name)
    rest = {key: sub for key, sub in node.items() if key not in ("$ref", "description")}
    return {"allOf": [memo[name]], **_inline(rest, version, active)} if rest else memo[name]


def _python_pattern(pattern: str) -> str | None:
    """Return ``pattern`` in a form Python's ``re`` accepts, or None (drop it) if it cannot be fixed."""
    # Go accepts global flags such as (?i) anywhere; Python only at the start.
    flags = "".join(dict.fromkeys("".join(_INLINE_FLAGS.findall(pattern))))
    for candidate in (pattern, f"(?{flags}){_INLINE_FLAGS.sub('', pattern)}"):
        with suppress(re.error):
            re.compile(candidate)
            return candidate
    return None  # keeping it would crash validation of every object this schema checks


def _normalise(node: Any) -> Any:
    """Copy a CRD schema node, translating Kubernetes extensions into plain JSON Schema."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _normalise(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_normalise(sub) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = [_normalise(sub) for sub in value] if isinstance(value, list) else _normalise(value)
        elif key == "pattern" and isinstance(value, str):
            if (fixed := _python_pattern(value)) is not None:
                out[key] = fixed
        else:
            out[key] = value
    if out.get("x-kubernetes-int-or-string") is True and "anyOf" not in out and "oneOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") is True:
        if isinstance(kind := out.get("type"), str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("anyOf"), list):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    if out.get("x-kubernetes-preserve-unknown-fields") is True and out.get("additionalProperties") is False:
        del out["additionalProperties"]
    return out


def _normalise_crd(schema: Mapping[str, Any], version: str) -> dict[str, Any]:
    """Normalise a whole openAPIV3Schema: strict top level, metadata checked as a real ObjectMeta."""
    out = _normalise(dict(schema))
    meta = _inline(_OBJECT_META, version, set())
    props = dict(out.get("properties") or {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"allOf": [meta, props["metadata"]]} if "metadata" in props else meta
    out["properties"] = props
    if out.get("x-kubernetes-preserve-unknown-fields") is not True:
        out["additionalProperties"] = False
    return out


def _crd_index(dirs: Sequence[Path]) -> _CrdIndex:
    """Map (apiVersion, lower-case kind) to (exact kind if known, JSON schema file or schema)."""
    index: _CrdIndex = {}
    for folder in map(Path, dirs):
        if not folder.is_dir():
            raise ValueError(f"CRD schema directory not found: {folder}")
        for path in sorted(folder.glob("*/*.json")):
            kind, _, version = path.stem.rpartition("_")
            index.setdefault((f"{path.parent.name}/{version}", kind.lower()), (None, path))
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                docs = list(load_yaml_all(read_bounded(path).decode("utf-8")))
            except (OSError, BoundedReadError) as exc:
                raise SchemaFileError(f"{path}: unreadable CRD file: {getattr(exc, 'strerror', None) or exc}") from None
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                first = str(exc).splitlines()[0]
                raise SchemaFileError(f"{path}: not valid YAML: {first}") from None
            for doc in docs:
                group, kind = _dig(doc, "spec", "group"), _dig(doc, "spec", "names", "kind")
                if _dig(doc, "kind") != "CustomResourceDefinition" or not (isinstance(group, str) and kind):
                    continue
                for ver in _dig(doc, "spec", "versions") or []:
                    schema = _dig(ver, "schema", "openAPIV3Schema")
                    if isinstance(schema, dict):
                        index.setdefault((f"{group}/{_dig(ver, 'name')}", kind.lower()), (kind, schema))
    return index


def _describe(obj: Mapping[str, Any]) -> str:
    kind, name, namespace = obj.get("kind"), _dig(obj, "metadata", "name"), _dig(obj, "metadata", "namespace")
    kind, name = kind if isinstance(kind, str) and kind else "<no kind>", name or "<no name>"
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _name_problem(api_version: str, kind: str, name: str) -> str | None:
    if kind == "Service" and api_version == "v1":
        if len(name) > 63 or not _DNS_1035.fullmatch(name):
            return f"{name!r} is not a valid DNS-1035 label (a-z, 0-9, '-', starting with a letter, ≤63)"
    elif kind == "Namespace" and api_version == "v1":
        if len(name) > 63 or not _DNS_LABEL.fullmatch(name):
            return f"{name!r} is not a valid DNS-1123 label (a-z, 0-9, '-', ≤63)"
    elif api_version.startswith("rbac.authorization.k8s.io/"):
        # RBAC names are path segments, so "system:metrics-reader" is fine.
        if name in (".", "..") or "/" in name or "%" in name:
            return f"{name!r} may not be '.' or '..' or contain '/' or '%'"
    elif len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        return f"{name!r} is not a valid DNS-1123 subdomain (a-z, 0-9, '-', '.', ≤253)"
    return None


def _label_problems(labels: Any, path: str) -> Iterator[tuple[str, str]]:
    for key, value in labels.items() if isinstance(labels, Mapping) else ():
        prefix, slash, name = str(key).rpartition("/")
        bad_prefix = slash and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix))
        if bad_prefix or not (0 < len(name) <= 63 and _LABEL_VALUE.fullmatch(name)):
            yield f"{path}.{key}", f"label key {key!r} is invalid ([DNS-subdomain/]name, name ≤63)"
        if isinstance(value, str) and (len(value) > 63 or not _LABEL_VALUE.fullmatch(value)):
            yield f"{path}.{key}", f"label value {value!r} is invalid (≤63 of A-Za-z0-9-_., alnum at ends)"


def _digit_ports(node: Any, path: str, parent: str = "") -> Iterator[tuple[str, str]]:
    """Find int-or-string ports given as digit strings, which Kubernetes reads as port *names*."""
    items = node.items() if isinstance(node, Mapping) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping | list):
            yield from _digit_ports(value, here, str(key))
        elif (key == "targetPort" or (key == "port" and parent in ("httpGet", "tcpSocket"))) and (
            isinstance(value, str) and _DIGITS.fullmatch(value)
        ):
            yield here, f"{value!r} is read as a port name; use an integer: {key}: {int(value)}"


def _server_rules(obj: Mapping[str, Any], api_version: str, kind: str) -> Iterator[tuple[str, str]]:
    """Rules the API server enforces that the schemas do not express."""
    name, namespace = _dig(obj, "metadata", "name"), _dig(obj, "metadata", "namespace")
    if isinstance(name, str) and (message := _name_problem(api_version, kind, name)):
        yield "metadata.name", message
    elif name is None and not _dig(obj, "metadata", "generateName"):
        yield "metadata.name", "metadata.name is required"
    if isinstance(namespace, str) and (len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace)):
        yield "metadata.namespace", f"{namespace!r} is not a valid DNS-1123 label (a-z, 0-9, '-', ≤63)"
    for steps in _LABEL_PATHS:
        yield from _label_problems(_dig(obj, *steps, "labels"), ".".join(steps) + ".labels")
    yield from _digit_ports(obj, "")


class ManifestValidator:
    """Validates Kubernetes objects for one Kubernetes version, plus custom resources from CRD folders.

    In ``crd_dirs``, the first schema found for an apiVersion and kind wins.
    """

    def __init__(
        self, kubernetes_version: str = "1.33", crd_dirs: Sequence[Path] = (), *, allow_unknown_kinds: bool = False
    ) -> None:
        supported = supported_kubernetes_versions()
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", str(kubernetes_version).strip())
        version = f"{int(match[1])}.{int(match[2])}" if match else ""
        if version not in supported:
            raise ValueError(
                f"unsupported Kubernetes version {kubernetes_version!r}; supported: {', '.join(supported)}"
            )
        self.kubernetes_version = version
        self.allow_unknown_kinds = allow_unknown_kinds
        self._dir = schema_root() / f"v{version}.0-local-strict"
        self._crds = _crd_index(crd_dirs)
        self._validators: dict[tuple[str, str], Validator | None] = {}

    def has_schema(self, api_version: str, kind: str) -> bool:
        """Whether objects of this apiVersion and kind can be validated."""
        return self._validator(api_version, kind) is not None

    def _validator(self, api_version: str, kind: str) -> Validator | None:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind)
        return self._validators[key]

    def _build(self, api_version: str, kind: str) -> Validator | None:
        if not (_API_VERSION.fullmatch(api_version) and _KIND.fullmatch(kind)):
            return None  # also keeps odd input out of the file names below
        registry = _definitions(self.kubernetes_version)[0]
        exact, source = self._crds.get((api_version, kind.lower()), (None, None))
        if source is not None and exact in (None, kind):
            where = source if isinstance(source, Path) else f"the CRD of {api_version} {kind}"
            if isinstance(source, Path):
                try:
                    source = json.loads(read_bounded(source))
                except (OSError, ValueError, RecursionError) as exc:
                    reason = getattr(exc, "strerror", None) or str(exc) or "nested too deeply"
                    raise SchemaFileError(f"{where}: unreadable CRD schema: {reason}") from None
            try:
                if not isinstance(source, dict):
                    raise TypeError("not a JSON object")
                return Draft7Validator(_normalise_crd(source, self.kubernetes_version), registry=registry)
            except Exception as exc:  # a schema damaged in a way the normaliser or jsonschema trips over
                raise SchemaFileError(f"{where}: not a usable CRD schema: {type(exc).__name__}: {exc}") from None
        group, _, version = api_version.rpartition("/")
        path = self._dir / f"{kind.lower()}{'-' + group.split('.')[0] if group else ''}-{version}.json"
        if not path.is_file():
            return None
        schema = json.loads(path.read_bytes())
        # File names keep only the group's first label, so confirm the exact group/version/kind.
        if {"group": group, "version": version, "kind": kind} not in (schema.get(_GVK) or []):
            return None
        return Draft202012Validator(_inline(schema, self.kubernetes_version, set()), registry=registry)

    def validate(self, obj: Mapping[str, Any], *, source: str = "") -> list[Problem]:
        """Return every problem found in one object (an empty list when it is valid)."""
        if not isinstance(obj, Mapping):
            return [Problem("<not an object>", "<root>", f"not a mapping but {type(obj).__name__}", source)]
        api_version, kind = (v if isinstance(v := obj.get(k), str) else "" for k in ("apiVersion", "kind"))
        found = [
            ("<root>", f"{k!r} is required (a non-empty string)")
            for k, v in (("apiVersion", api_version), ("kind", kind))
            if not v
        ]
        try:
            validator = self._validator(api_version, kind) if api_version and kind else None
        except SchemaFileError:
            raise  # the user's schema file, not this object, is broken
        try:
            if validator is not None:
                errors = validator.iter_errors(obj)
                found += [(".".join(map(str, e.absolute_path)) or "<root>", e.message) for e in errors]
            elif api_version and kind and not self.allow_unknown_kinds:
                why = "removed or misspelled API, or a custom resource without a schema"
                found.append(("<root>", f"no schema for {api_version} {kind} ({why})"))
            found.extend(_server_rules(obj, api_version, kind))
        except Exception as exc:
            found.append(("<root>", f"could not be validated: {type(exc).__name__}: {exc}"))
        return [Problem(_describe(obj), path, message, source) for path, message in found]

    def validate_all(self, objects: Iterable[tuple[str, Mapping[str, Any]]]) -> ValidationReport:
        """Validate (source, object) pairs and summarise the result."""
        report = ValidationReport()
        skipped: Counter[tuple[str, str]] = Counter()
        for source, obj in objects:
            report.problems.extend(self.validate(obj, source=source))
            key = (_dig(obj, "apiVersion"), _dig(obj, "kind"))
            if not all(isinstance(part, str) and part for part in key):
                continue
            if self._validator(*key) is not None:
                report.checked += 1
            elif self.allow_unknown_kinds:
                skipped[key] += 1
        report.skipped = dict(skipped)
        return report


def manifest_documents(paths: Sequence[Path]) -> list[tuple[str, Any]]:
    """Every YAML document in ``paths`` (files, or folders searched recursively) as (file, document).

    Folders whose name starts with ``_`` (``_cluster/``: the k3s configuration) hold files for people,
    not Kubernetes objects, and are left out.
    """
    documents: list[tuple[str, Any]] = []
    for path in paths:
        files = (
            sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml")
                and not any(part.startswith(NOT_MANIFESTS) for part in p.relative_to(path).parts[:-1])
            )
            if path.is_dir()
            else [path]
        )
        for file in files:
            try:
                docs = list(load_yaml_all(read_bounded(file).decode("utf-8")))
            except BoundedReadError as err:
                raise UserError(f"{file}: {err}; pass ink only manifest files") from None
            except OSError as err:
                raise UserError(f"{file}: cannot read ({err.strerror}); make it readable") from None
            except (yaml.YAMLError, UnicodeDecodeError) as err:
                raise UserError(f"{file}: not valid YAML: {_yaml_problem(err)}") from None
            documents.extend((str(file), doc) for doc in docs if doc is not None)
    if not documents:
        raise UserError(f"{', '.join(map(str, paths))}: no YAML manifests found; run `ink synth` first")
    return documents


def _yaml_problem(err: Exception) -> str:
    """A YAML error on one line: what the parser says, without its quoted context."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip() and not line.startswith(" ")]
    return clip(" ".join(lines[:2]) or type(err).__name__, 200)
