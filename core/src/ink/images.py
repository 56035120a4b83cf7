"""Every container image a homelab deploys: ``ink images``.

Two sources, because core never runs helm:

- ink's own objects: every ``image`` (pod specs: containers, init containers, Job and CronJob templates;
  custom resources such as ImageCatalog) and ``imageName`` (CloudNativePG's Cluster) string in the synthesised
  output. Argo CD Applications' Helm values are left out: the chart decides what they become.
- the ``ink_images`` hook: what a plugin's charts render and what its operators start from a custom resource
  (facts from the chart's values.yaml at the pinned version; tests/test_images.py renders every chart with
  helm and compares, so a declaration cannot rot).

References are normalised the way the container runtimes read them (Docker's reference grammar,
github.com/distribution/reference ``normalize.go``): no registry means ``docker.io``, and a one-part name on it
is ``docker.io/library/<name>``. So a mirror list names every source once, fully qualified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ink.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from ink.context import ServiceContext
    from ink.plugins import PluginHost

HOOK = "ink_images"
DEFAULT_REGISTRY = "docker.io"
# Keys whose string value is an image reference in Kubernetes objects and the operators' custom resources.
IMAGE_KEYS = frozenset({"image", "imageName"})
# Kinds whose contents are data, not specs: a ConfigMap key called "image" is not a pod's image.
DATA_KINDS = frozenset({"ConfigMap", "Secret", "SealedSecret", "CustomResourceDefinition"})
# distribution/reference regexp.go: name components, an optional tag, an optional digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:localhost|{_LABEL}(?:\.{_LABEL})*)(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_REGISTRY_PREFIX = re.compile(rf"{_DOMAIN}(?:/{_COMPONENT})*")


@dataclass(frozen=True, order=True)
class Image:
    """One image reference, normalised: ``repository`` always starts with its registry."""

    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def path(self) -> str:
        """The repository without its registry, e.g. ``library/busybox``."""
        return self.repository.split("/", 1)[1]

    @property
    def ref(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def pinned(self) -> bool:
        """A digest, or a tag that is not ``latest``: what a pull gets cannot move under you (for a tag, unless
        upstream re-pushes it)."""
        return bool(self.digest) or (bool(self.tag) and self.tag != "latest")


def parse(reference: str) -> Image:
    """``reference`` normalised; ValueError when it is not an image reference."""
    if not isinstance(reference, str):
        raise ValueError(f"{reference!r} is not an image reference: a string, registry/repository:tag")
    match = _REFERENCE.fullmatch(reference.strip())
    if match is None:
        raise ValueError(f"{reference!r} is not an image reference (registry/repository:tag or @sha256:...)")
    name = match["name"]
    first, _, rest = name.partition("/")
    # normalize.go splitDockerDomain: the first part is a registry if it has a dot or a port, or is localhost.
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        if not _PATH.fullmatch(name):  # no registry: every part is a lower-case path component
            raise ValueError(f"{reference!r} is not an image reference (registry/repository:tag or @sha256:...)")
        first, rest = DEFAULT_REGISTRY, name
    if first in ("index.docker.io", "registry-1.docker.io"):
        first = DEFAULT_REGISTRY
    if first == DEFAULT_REGISTRY and "/" not in rest:
        rest = f"library/{rest}"
    return Image(f"{first}/{rest}", match["tag"] or "", match["digest"] or "")


@dataclass
class ImageReport:
    """Image → the services that deploy it (sorted by reference)."""

    images: dict[Image, set[str]] = field(default_factory=dict)
    declared: dict[str, list[Image]] = field(default_factory=dict)
    """Service → what its ``ink_images`` declared (its charts' and operators' images)."""

    def add(self, image: Image, service: str) -> None:
        self.images.setdefault(image, set()).add(service)

    def sorted(self) -> list[tuple[Image, list[str]]]:
        return [(image, sorted(self.images[image])) for image in sorted(self.images, key=lambda i: i.ref)]

    def plain(self) -> str:
        return "".join(f"{image.ref}\n" for image, _ in self.sorted())

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "image": image.repository,
                "tag": image.tag or None,
                "digest": image.digest or None,
                "ref": image.ref,
                "pinned": image.pinned,
                "services": services,
            }
            for image, services in self.sorted()
        ]

    def mirror(self, registry: str) -> str:
        """``source=target`` lines, the mapping-file format of ``oc image mirror --filename`` (one mapping a line;
        also easy to feed to ``crane copy`` or ``skopeo copy`` one line at a time). The target keeps the source's
        registry as the first path part, ``<registry>/docker.io/library/busybox:1.37.0``, so images of two
        registries never collide and a containerd/k3s mirror entry can rewrite each upstream to its prefix."""
        prefix = mirror_prefix(registry)
        return "".join(f"{image.ref}={prefix}/{image.ref}\n" for image, _ in self.sorted())


def mirror_prefix(registry: str) -> str:
    """``--registry`` checked: a registry host (with optional port) and optional path, no scheme, no tag."""
    cleaned = registry.strip().rstrip("/")
    first = cleaned.split("/", 1)[0]
    if not _REGISTRY_PREFIX.fullmatch(cleaned) or not ("." in first or ":" in first or first == "localhost"):
        raise ConfigError(
            f"--registry {registry!r}: give a registry host with optional port and path, without a scheme, "
            "e.g. registry.lan:5000/mirror"
        )
    return cleaned


def object_images(body: Mapping[str, Any]) -> Iterator[str]:
    """Every image reference in one Kubernetes object of ink's output (see the module's docstring)."""
    if body.get("kind") in DATA_KINDS:
        return
    if body.get("kind") == "Application":  # chart values: the chart's declaration says what they become
        spec = dict(body.get("spec") or {})
        sources = [spec.pop("source", None) or {}, *(spec.pop("sources", None) or [])]
        yield from _walk({**spec, "sources": [{k: v for k, v in s.items() if k != "helm"} for s in sources]})
        return
    yield from _walk(body)


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in IMAGE_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def declared(host: PluginHost, services: Mapping[str, ServiceContext]) -> dict[str, list[Image]]:
    """Each enabled plugin's answer to ``ink_images``, parsed (a bad reference is the plugin's bug)."""
    found: dict[str, list[Image]] = {}
    for name, ctx in services.items():
        answer = host.call(name, HOOK, ctx=ctx) if host.implements(name, HOOK) else None
        if not answer:
            continue
        if isinstance(answer, str) or not isinstance(answer, Iterable):
            raise PluginError(name, HOOK, f"returned {type(answer).__name__}, expected a list of image references")
        try:
            found[name] = [parse(ref) for ref in answer]
        except (TypeError, ValueError) as err:
            raise PluginError(name, HOOK, str(err)) from None
    return found


def report(
    manifests: Iterable[tuple[str, Mapping[str, Any]]], declarations: Mapping[str, Iterable[Image]]
) -> ImageReport:
    """The report from ``(service, object)`` pairs of the output and the plugins' declarations."""
    result = ImageReport(declared={service: list(found) for service, found in declarations.items()})
    for service, body in manifests:
        for ref in object_images(body):
            try:
                result.add(parse(ref), service)
            except ValueError as err:
                raise PluginError(service, "ink_workloads", f"{body.get('kind')} {_name(body)}: {err}") from None
    for service, images in declarations.items():
        for image in images:
            result.add(image, service)
    return result


def _name(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("name", "?"))
