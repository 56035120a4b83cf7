"""Render the upstream Helm charts ink installs, offline, the way Argo CD does.

Every chart Application in ink's output (an Argo CD ``Application`` whose ``spec.source.chart`` is set)
names a chart, a version and a ``valuesObject``. Argo CD's repo server runs ``helm template`` on it;
this module does the same from the chart snapshots in ``../shared/charts`` (``CHARTS_DIR`` to use
another folder), so tests can check what the cluster would really receive::

    apps = chartrender.chart_applications(objects)
    rendered = chartrender.render(apps[0], kube_version="1.33")
    schemas = chartrender.crds(rendered)

Helm is the pinned binary built by ``tests/tools/gobuild.py`` (or the one ``HELM_BINARY`` names: the
``tests`` nox session sets it). Not ``INK_HELM``: the test suite clears every ``INK_*`` variable.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
CHARTS_DIR = Path(os.environ.get("CHARTS_DIR") or REPO.parent / "shared" / "charts")
DEPENDENCIES = "_dependencies"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# apiVersions a homelab running ink's output has besides those of the objects in it: the Prometheus
# operator's, which the `service_monitor`-style options require (charts refuse ServiceMonitors without it).
ASSUMED_API_VERSIONS = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor")
_BUILT_IN_GROUP = re.compile(r"(?:[a-z0-9-]+\.)*k8s\.io|apps|batch|policy|autoscaling")


class ChartRenderError(RuntimeError):
    """A chart could not be rendered: missing chart or sub-chart, no helm, or helm refused."""


@dataclass(frozen=True)
class ChartApp:
    """One Argo CD Application with ``spec.source.chart`` in the synthesised output."""

    application: str  # Application metadata.name
    namespace: str  # spec.destination.namespace
    release: str  # spec.source.helm.releaseName
    chart: str
    version: str
    repo_url: str
    values: dict  # spec.source.helm.valuesObject
    chart_dir: Path | None  # the folder under ../shared/charts holding that chart, None when missing
    # Custom-resource apiVersions (group/version and group/version/Kind) the cluster serves: those of
    # ink's own objects plus the assumed ones. render() passes them to helm as --api-versions with the
    # built-in ones, as Argo CD passes the destination cluster's.
    api_versions: tuple[str, ...] = ()
    service: str = ""  # the ink service (plugin) whose output holds the Application

    @property
    def label(self) -> str:
        """Short id for test names and messages, e.g. ``traefik-chart/traefik@41.7.0``."""
        return f"{self.application}/{self.chart}@{self.version}"


def _chart_name(folder: Path) -> str | None:
    path = folder / "Chart.yaml"
    if not path.is_file():
        return None
    name = (yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}).get("name")
    return name if isinstance(name, str) else None


@functools.cache
def _chart_folders(root: Path) -> dict[str, Path]:
    """Chart name -> folder, for the charts at the top of ``root`` (first folder wins)."""
    found: dict[str, Path] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else ():
        if (name := _chart_name(folder)) is not None:
            found.setdefault(name, folder)
    return found


def find_chart(chart: str) -> Path | None:
    """The snapshot folder of the chart named ``chart`` (its Chart.yaml ``name``), or None."""
    return _chart_folders(CHARTS_DIR).get(chart)


@functools.cache
def builtin_api_versions(kube_version: str) -> tuple[str, ...]:
    """The built-in ``group/version`` and ``group/version/Kind`` a cluster of that version serves.

    Argo CD hands the destination cluster's list to helm (``--api-versions``), and charts test it
    (traefik: ``.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget"``). Read from the
    Kubernetes schemas that ink validates against (kubernetes-validate).
    """
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        raise ChartRenderError("kubernetes-validate is not installed")
    major, minor = _kube_version(kube_version)[1:].split(".")[:2]
    path = (
        Path(spec.origin).parent / "kubernetes-json-schema" / f"v{major}.{minor}.0-local-strict" / "_definitions.json"
    )
    found: set[str] = set()
    for name, definition in json.loads(path.read_bytes())["$defs"].items():
        if name.startswith("io.k8s.apimachinery."):
            continue  # meta types (DeleteOptions, WatchEvent, …) list every group ever served
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            if gvk["kind"].endswith("List"):
                continue
            group_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            found.update((group_version, f"{group_version}/{gvk['kind']}"))
    return tuple(sorted(found))


def is_custom_api_version(api_version: str) -> bool:
    """Whether ``api_version`` belongs to a custom resource (a dotted group that is not Kubernetes' own)."""
    group = api_version.rpartition("/")[0]
    return "." in group and not _BUILT_IN_GROUP.fullmatch(group)


def chart_applications(objects: Iterable[Mapping[str, Any]]) -> list[ChartApp]:
    """Every chart Application among ``objects`` (ink's output), ordered by Application name."""
    objects = list(objects)
    served = set(ASSUMED_API_VERSIONS)
    for obj in objects:
        if isinstance(api_version := obj.get("apiVersion"), str) and is_custom_api_version(api_version):
            served.update((api_version, f"{api_version}/{obj.get('kind')}"))
    api_versions = tuple(sorted(served))
    apps = []
    for obj in objects:
        source = (obj.get("spec") or {}).get("source") or {}
        if obj.get("kind") != "Application" or not source.get("chart"):
            continue
        helm = source.get("helm") or {}
        apps.append(
            ChartApp(
                application=obj["metadata"]["name"],
                namespace=obj["spec"]["destination"]["namespace"],
                release=helm.get("releaseName") or obj["metadata"]["name"],
                chart=source["chart"],
                version=str(source.get("targetRevision", "")),
                repo_url=source.get("repoURL", ""),
                values=copy.deepcopy(helm.get("valuesObject") or {}),
                chart_dir=find_chart(source["chart"]),
                api_versions=api_versions,
                service=((obj["metadata"].get("labels") or {}).get("app.kubernetes.io/instance", "")),
            )
        )
    return sorted(apps, key=lambda app: app.application)


@functools.cache
def _gobuild() -> Any:
    """tests/tools/gobuild.py as a module (it is a script folder, not a package)."""
    spec = importlib.util.spec_from_file_location("gobuild", Path(__file__).parent / "tools" / "gobuild.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gobuild", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@functools.cache
def helm_binary() -> Path:
    """The pinned helm: ``$HELM_BINARY`` when set, else built (once, cached) by tests/tools/gobuild.py."""
    if named := os.environ.get("HELM_BINARY"):
        path = Path(named)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ChartRenderError(f"HELM_BINARY={named} is not an executable file")
        return path
    try:
        return _gobuild().build(_gobuild().TOOLS["helm"])
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ChartRenderError(f"could not build helm with tests/tools/gobuild.py: {exc}") from exc


def merge_values(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` deep-merged onto ``defaults`` as Helm does: maps merge, null deletes, the rest replaces."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def chart_defaults(chart_dir: Path) -> dict[str, Any]:
    """The chart's own ``values.yaml`` (empty when it has none)."""
    path = chart_dir / "values.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) if path.is_file() else None
    return data if isinstance(data, dict) else {}


def _condition_enabled(condition: str | None, values: Mapping[str, Any]) -> bool:
    """A dependency's ``condition``: the first of its comma-separated paths that holds a bool decides."""
    for path in (condition or "").split(","):
        node: Any = values
        for key in path.strip().split("."):
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, bool):
            return node
    return True


def _vendored(charts: Path, name: str) -> bool:
    return (charts / name / "Chart.yaml").is_file() or any(charts.glob(f"{name}-*.tgz"))


def _prepare(app: ChartApp, work: Path) -> Path:
    """Copy the chart to ``work`` with its sub-charts resolved offline; disabled, missing ones dropped."""
    if app.chart_dir is None:
        raise ChartRenderError(
            f"chart {app.chart!r} ({app.repo_url}) installed by plugin {app.service!r} "
            f"(Application {app.application!r}) is not in {CHARTS_DIR}"
        )
    target = work / app.chart_dir.name
    shutil.copytree(app.chart_dir, target, symlinks=True)
    meta_path = target / "Chart.yaml"
    meta = yaml.load(meta_path.read_text(encoding="utf-8"), Loader=_LOADER)
    values = merge_values(chart_defaults(target), app.values)
    kept = []
    for dep in meta.get("dependencies") or []:
        charts = target / "charts"
        if _vendored(charts, dep["name"]):
            kept.append(dep)
        elif not _condition_enabled(dep.get("condition"), values):
            continue  # disabled: Helm would not render it, and it cannot be fetched offline
        elif source := _chart_folders(CHARTS_DIR / DEPENDENCIES).get(dep["name"]) or find_chart(dep["name"]):
            charts.mkdir(exist_ok=True)
            shutil.copytree(source, charts / dep["name"], symlinks=True)
            kept.append(dep)
        else:
            raise ChartRenderError(
                f"chart {app.chart!r} needs its enabled sub-chart {dep['name']!r} ({dep.get('repository')}), "
                f"which is not in {CHARTS_DIR} or {CHARTS_DIR / DEPENDENCIES}"
            )
    meta["dependencies"] = kept
    if not kept:
        del meta["dependencies"]
    meta_path.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    (target / "Chart.lock").unlink(missing_ok=True)  # describes the dependencies before we dropped some
    return target


def _kube_version(version: str) -> str:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if not match:
        raise ChartRenderError(f"not a Kubernetes version: {version!r}")
    return f"v{match[1]}.{match[2]}.{match[3] or 0}"


def _helm_template(app: ChartApp, kube_version: str) -> str:
    """The text ``helm template`` prints for ``app``, rendered from a prepared copy of its chart."""
    with tempfile.TemporaryDirectory(prefix=f"ink-helm-{app.chart}-") as directory:
        work = Path(directory)
        chart = _prepare(app, work)
        values_file = work / "values.json"  # JSON is YAML
        values_file.write_text(json.dumps(app.values), encoding="utf-8")
        command = [
            str(helm_binary()),
            "template",
            app.release,
            str(chart),
            "--namespace",
            app.namespace,
            "--kube-version",
            _kube_version(kube_version),
            "--include-crds",
            "--values",
            str(values_file),
        ]
        for api_version in (*builtin_api_versions(kube_version), *app.api_versions):
            command += ["--api-versions", api_version]
        # A private, empty Helm home: no repositories, no registry logins, nothing from the developer's set-up.
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": directory,
            **{f"HELM_{kind}_HOME": str(work / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")},
        }
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ChartRenderError(f"helm template of {app.label} failed: {done.stderr.strip()}")
        return done.stdout


# One render per (chart, values, release, namespace, API versions, Kubernetes version) per test session.
_RENDERS: dict[str, str] = {}


def render(app: ChartApp, *, kube_version: str) -> list[dict]:
    """``helm template --include-crds`` of ``app``'s chart with its values, offline: the objects rendered.

    Raises :class:`ChartRenderError` when the chart or an enabled sub-chart is not in ``CHARTS_DIR``,
    or helm refuses (a values schema violation, a template ``fail``, an unsupported Kubernetes version).
    """
    key = json.dumps(
        [str(app.chart_dir), app.release, app.namespace, app.values, app.api_versions, kube_version], sort_keys=True
    )
    if key not in _RENDERS:
        _RENDERS[key] = _helm_template(app, kube_version)
    text = _RENDERS[key]
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if isinstance(doc, dict) and not helm_test_hook(doc)]


def helm_test_hook(obj: Mapping[str, Any]) -> bool:
    """An object only ``helm test`` creates (``helm.sh/hook: test``, or Helm 2's test-success/test-failure).

    Argo CD never applies one: any ``helm.sh/hook`` annotation makes an object a hook, and only pre-/post-
    install/upgrade map to a sync phase (argoproj/gitops-engine pkg/sync/hook/hook.go, pkg/sync/hook/helm/type.go),
    so a test pod (e.g. the vault chart's vault-server-test) never reaches the cluster; render() leaves it out.
    """
    hooks = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return bool({"test", "test-success", "test-failure"} & {h.strip() for h in str(hooks).split(",")})


def crds(rendered: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The CustomResourceDefinitions among rendered objects."""
    return [
        dict(obj)
        for obj in rendered
        if obj.get("kind") == "CustomResourceDefinition" and obj.get("apiVersion") == "apiextensions.k8s.io/v1"
    ]


# --- checking values against the chart -------------------------------------------------------


def values_schema(chart_dir: Path) -> dict[str, Any] | None:
    """The chart's ``values.schema.json``, or None when it has none."""
    path = chart_dir / "values.schema.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _resolve(node: Any, root: Mapping[str, Any]) -> Any:
    """Follow a local ``$ref`` (``#/definitions/x``, ``#/$defs/x``) to the schema it names."""
    seen = 0
    while isinstance(node, Mapping) and isinstance(ref := node.get("$ref"), str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, Mapping) else None
        node, seen = target, seen + 1
        if seen > 32:  # a reference cycle: treat as unknown
            return None
    return node


def _branches(node: Any, root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``node`` and the sub-schemas combined into it (allOf/anyOf/oneOf), each resolved."""
    node = _resolve(node, root)
    if not isinstance(node, Mapping):
        return []
    found = [node]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or []:
            found += _branches(sub, root)
    return found


def _schema_child(node: Any, key: str, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema a property ``key`` has under ``node``, or None when the schema does not declare it."""
    for branch in _branches(node, root):
        if isinstance(props := branch.get("properties"), Mapping) and key in props:
            child = _resolve(props[key], root)
            return child if isinstance(child, Mapping) else {}
        for pattern, sub in (branch.get("patternProperties") or {}).items():
            if re.search(pattern, key):
                child = _resolve(sub, root)
                return child if isinstance(child, Mapping) else {}
    return None


def _schema_free_form(node: Any, root: Mapping[str, Any]) -> bool:
    """A schema that takes any keys: ``additionalProperties`` allowed and no properties listed."""
    branches = _branches(node, root)
    if not branches:
        return False
    listed = any(b.get("properties") or b.get("patternProperties") for b in branches)
    extra = [b["additionalProperties"] for b in branches if "additionalProperties" in b]
    return not listed and all(value is not False for value in extra)


_VALUES_PATH = r"\$?\.Values\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
_WHOLE_MAP = (
    re.compile(r"\b(?:toYaml|toJson)\s+\(?\s*" + _VALUES_PATH + r"\s*\)?\s*(?:\||-?\}\})"),  # toYaml .Values.x
    re.compile(_VALUES_PATH + r"\s*\|\s*(?:toYaml|toJson)\b"),  # .Values.x | toYaml
    re.compile(r"\bomit\s+" + _VALUES_PATH + r"[^}|]*\|\s*(?:toYaml|toJson)\b"),  # omit .Values.x "enabled" | toYaml
)


@functools.cache
def maps_rendered_whole(chart_dir: Path) -> frozenset[str]:
    """Values paths the chart's templates write out whole as YAML (``toYaml .Values.x``, ``omit … | toYaml``).

    Such a map is free-form whatever its defaults list: e.g. sealed-secrets' ``podSecurityContext``
    becomes the pod's securityContext as it is.
    """
    found: set[str] = set()
    for path in sorted((chart_dir / "templates").rglob("*")):
        if path.suffix in (".yaml", ".yml", ".tpl", ".txt") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for pattern in _WHOLE_MAP:
                found.update(pattern.findall(text))
    return frozenset(found)


def unknown_value_keys(
    values: Mapping[str, Any],
    defaults: Any,
    schema: Mapping[str, Any] | None = None,
    free_form: Iterable[str] = (),
) -> list[str]:
    """Key paths in ``values`` that the chart neither has in ``values.yaml`` nor declares in its schema.

    Helm ignores such a key silently (or its schema rejects it), so a wrong or moved key does nothing.
    Below a free-form map every key is accepted: a default of ``{}`` or ``null``, a schema that takes
    any keys, or a path in ``free_form`` (see :func:`maps_rendered_whole`). Lists are not descended
    into: their items are Kubernetes objects, validated once rendered.
    """
    free_form = set(free_form)
    root = schema or {}
    found: list[str] = []

    def walk(node: Mapping[str, Any], default: Any, node_schema: Any, path: str) -> None:
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            in_defaults = isinstance(default, Mapping) and key in default
            child_schema = _schema_child(node_schema, key, root) if node_schema is not None else None
            if not in_defaults and child_schema is None:
                found.append(here)
                continue
            if not isinstance(value, Mapping):
                continue
            if here in free_form:
                continue  # the templates render this map whole
            child_default = default[key] if in_defaults else None
            declared = child_schema is not None and not _schema_free_form(child_schema, root)
            if child_default == {} or (child_default is None and not declared):
                continue  # a free-form map in values.yaml
            if child_schema is not None and _schema_free_form(child_schema, root) and not child_default:
                continue  # a free-form map in the schema
            walk(value, child_default if isinstance(child_default, Mapping) else {}, child_schema, here)

    walk(values, defaults, schema, "")
    return found


def schema_problems(chart_dir: Path, values: Mapping[str, Any]) -> list[str]:
    """Where the chart's defaults merged with ``values`` (as Helm merges them) break ``values.schema.json``."""
    import jsonschema

    schema = values_schema(chart_dir)
    if schema is None:
        return []
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    merged = merge_values(chart_defaults(chart_dir), values)
    errors = validator_class(schema).iter_errors(merged)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)
