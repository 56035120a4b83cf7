"""Every chart Application ink writes installs: its values fit the chart, and what Argo CD renders is valid.

Argo CD runs ``helm template`` on each chart Application with the ``valuesObject`` ink wrote. Helm
ignores a key the chart does not read and refuses to render when ``values.schema.json`` rejects one,
so nothing in ink's own output shows either mistake. For the embedded default and the maximal config
(``tests/configs/maximal.toml``), and every chart Application in their output, these tests check:

- the chart is in ``../shared/charts`` (otherwise: a failure naming the chart and the plugin);
- every values key path exists in the chart's ``values.yaml`` or lies under a free-form map there;
- the chart's defaults merged with ink's values pass the chart's ``values.schema.json``;
- ``helm template --include-crds`` renders offline, and the result passes the same strict Kubernetes and
  custom-resource validation as ink's own objects (schemas: the CRDs the charts ship, then ../shared/crds);
- every pod the chart renders meets the Pod Security level ink enforces on its namespace.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chartrender
import podsecurity
import pytest
import yaml
from chartrender import ChartApp, ChartRenderError

from ink import images, testing
from ink import podsecurity as kube_exemptions
from ink.synth import CLUSTER_KINDS
from ink.validate import ManifestValidator

KUBERNETES_VERSION = "1.33"  # ink's default kubernetes_version; both configs keep it
# The embedded default and every config in tests/configs/ (maximal.toml: every option on; openbao.toml:
# the settings a service switches to an alternative with, e.g. Vault → OpenBao).
# mesh.toml installs charts not in ../shared/charts yet (plugins/istio/README.md): its own test below.
CONFIGS = {
    "default": "",
    **{p.stem: p.read_text() for p in sorted((Path(__file__).parent / "configs").glob("*.toml")) if p.stem != "mesh"},
}
PSS_LABEL = "pod-security.kubernetes.io/enforce"
# Maps a chart reads key by key in a way maps_rendered_whole cannot see; each with where it is read.
FREE_FORM_MAPS = {
    "argo-cd": {
        # _helpers.tpl "argo-cd.config.cm": omit .Values.configs.cm "create" "annotations", then every
        # remaining key becomes a key of the argocd-cm ConfigMap.
        "configs.cm": "argocd-cm data",
    },
    "kube-prometheus-stack": {
        # _dependencies/prometheus-node-exporter templates/daemonset.yaml: `with .Values.containerSecurityContext`
        # then toYaml, whole, as the container's securityContext.
        "prometheus-node-exporter.containerSecurityContext": "node-exporter's container securityContext",
    },
    "loki": {
        # values.yaml has storage.bucketNames only as a comment (its schema: additionalProperties true);
        # _helpers.tpl "loki.commonStorageConfig" / "loki.rulerStorageConfig" read it with
        # `dig "storage" "bucketNames" "chunks"` / "ruler", which .Values.<key> matching cannot see.
        "loki.storage": "Loki's storage: bucketNames, s3...",
        # config.yaml template: `with .Values.loki.limits_config` then `tpl (. | toYaml)`, the whole map.
        "loki.limits_config": "Loki's limits_config",
    },
    "mongodb-kubernetes": {
        # templates/operator.yaml: `$telemetry := default dict .Values.operator.telemetry`, then .enabled,
        # .collection.<kind>.enabled and .send.enabled, none of which values.yaml lists.
        "operator.telemetry": "MDB_OPERATOR_TELEMETRY_* variables of the operator",
    },
    "grafana": {
        # templates/_pod.tpl: `with .Values.securityContext` / `.containerSecurityContext` /
        # `.sidecar.securityContext`, then `toYaml .`: the pod's and the containers' securityContext as given.
        "securityContext": "the pod's securityContext",
        "containerSecurityContext": "the grafana container's securityContext",
        "sidecar.securityContext": "each sidecar container's securityContext",
        "downloadDashboards.securityContext": "the dashboard download container's securityContext",
        # templates/_config.tpl: `range $elem, $elemVal := index .Values "grafana.ini"`, each section's keys
        # in turn: every section and key becomes a line of grafana.ini.
        "grafana.ini": "grafana.ini sections and keys",
    },
    "external-secrets": {
        # _helpers.tpl "external-secrets.renderSecurityContext": omit $adaptedContext "enabled" | toYaml, from
        # `with .Values.<part>.podSecurityContext` / `securityContext` in each Deployment template.
        **{
            f"{part}{context}": "a pod's or container's securityContext"
            for part in ("", "webhook.", "certController.")
            for context in ("podSecurityContext", "securityContext")
        },
    },
}
# Keys a chart's templates read that its values.yaml leaves out (so the key check cannot see them), each
# with what reads it; test_undefaulted_keys_are_read_by_the_templates keeps this list honest.
UNDEFAULTED_KEYS = {
    "openbao": {"fullnameOverride": 'templates/_helpers.tpl "openbao.fullname"'},
    "grafana": {"rbac.useExistingClusterRole": "templates/clusterrolebinding.yaml roleRef, templates/clusterrole.yaml"},
}


@functools.cache
def _synthesised(
    config: str,
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, ...]], dict[str, set[images.Image]]]:
    """ink's output for one config, by path; each owned namespace → the namespaces it copies pods from; each
    service's declared images (``ink_images``)."""
    # Collection runs before conftest's fixture that hides the developer's INK_* variables: hide them here.
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("INK_")}
    try:
        with tempfile.TemporaryDirectory(prefix=f"ink-charts-{config}-") as directory:
            result = testing.synth(Path(directory), CONFIGS[config])
            assert result.graph is not None
            services = result.graph.services
            copies = {
                owned.name: tuple(services[other].namespace for other in owned.pod_security_of)
                for declared in result.graph.owned_namespaces.values()
                for owned in declared
            }
            assert result.images is not None
            declared = {service: set(found) for service, found in result.images.declared.items()}
            return testing.objects(result), copies, declared
    finally:
        os.environ.update(hidden)


def output(config: str) -> dict[str, dict[str, Any]]:
    """ink's output for one config, by path; synthesised once (also at collection, for the parameters)."""
    return _synthesised(config)[0]


def applications(config: str) -> list[ChartApp]:
    return chartrender.chart_applications(output(config).values())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = [(config, app) for config in CONFIGS for app in applications(config)]
        metafunc.parametrize("case", cases, ids=[f"{config}-{app.application}" for config, app in cases])


def require_chart(app: ChartApp) -> Path:
    """The chart's snapshot folder; a failure naming the chart and the plugin when it is missing."""
    if app.chart_dir is None:
        pytest.fail(
            f"plugin {app.service!r} installs chart {app.chart!r} {app.version} from {app.repo_url} "
            f"(Application {app.application!r}), which is not in {chartrender.CHARTS_DIR}: add the upstream "
            "chart there (see its README) so its values can be checked and rendered",
            pytrace=False,
        )
    return app.chart_dir


def render(app: ChartApp) -> list[dict[str, Any]]:
    require_chart(app)
    try:
        return chartrender.render(app, kube_version=KUBERNETES_VERSION)
    except ChartRenderError as err:
        pytest.fail(f"plugin {app.service!r}: {err}", pytrace=False)


@pytest.fixture(scope="session")
def validator(tmp_path_factory: pytest.TempPathFactory, crd_dir: Path) -> Callable[[str], ManifestValidator]:
    """A strict validator per config: custom resources checked against the CRDs the charts of that
    config ship (what the pinned operators install, so they win), then against ../shared/crds."""
    made: dict[str, ManifestValidator] = {}

    def get(config: str) -> ManifestValidator:
        if config not in made:
            folder = tmp_path_factory.mktemp(f"chart-crds-{config}")
            shipped = []
            for app in applications(config):
                try:
                    shipped += chartrender.crds(chartrender.render(app, kube_version=KUBERNETES_VERSION))
                except ChartRenderError:
                    continue  # that chart's own test fails, naming the reason
            (folder / "crds.yaml").write_text(yaml.safe_dump_all(shipped), encoding="utf-8")
            made[config] = ManifestValidator(KUBERNETES_VERSION, [folder, crd_dir])
        return made[config]

    return get


# --- every chart Application of the default and the maximal config ------------------------------


def test_chart_is_in_shared_charts(case: tuple[str, ChartApp]) -> None:
    require_chart(case[1])


def test_values_keys_exist_in_chart(case: tuple[str, ChartApp]) -> None:
    _, app = case
    chart_dir = require_chart(app)
    free_form = {*chartrender.maps_rendered_whole(chart_dir), *FREE_FORM_MAPS.get(app.chart, {})}
    unknown = chartrender.unknown_value_keys(
        app.values,
        chartrender.chart_defaults_with_dependencies(chart_dir),
        chartrender.values_schema(chart_dir),
        free_form,
    )
    unknown = [key for key in unknown if key not in UNDEFAULTED_KEYS.get(app.chart, {})]
    assert unknown == [], f"{app.label}: keys {chart_dir}/values.yaml does not have (Helm ignores them)"


@pytest.mark.parametrize(("chart", "key"), [(c, k) for c, keys in UNDEFAULTED_KEYS.items() for k in keys])
def test_undefaulted_keys_are_read_by_the_templates(chart: str, key: str) -> None:
    folder = chartrender.CHARTS_DIR / chart / "templates"
    templates = "".join(p.read_text() for p in sorted(folder.rglob("*")) if p.suffix in (".tpl", ".yaml"))
    assert f".Values.{key}" in templates, f"{chart} no longer reads .Values.{key}: drop it from UNDEFAULTED_KEYS"


def test_values_pass_chart_schema(case: tuple[str, ChartApp]) -> None:
    _, app = case
    assert chartrender.schema_problems(require_chart(app), app.values) == []


def test_chart_renders_and_validates(case: tuple[str, ChartApp], validator) -> None:
    config, app = case
    rendered = render(app)
    assert rendered, f"{app.label} rendered nothing"
    report = validator(config).validate_all((f"{app.label}", obj) for obj in rendered)
    assert [str(p) for p in report.problems] == []


def namespace_levels(config: str) -> dict[str, str | None]:
    """The Pod Security level ink enforces on each Namespace it writes."""
    return {
        obj["metadata"]["name"]: obj["metadata"].get("labels", {}).get(PSS_LABEL)
        for obj in output(config).values()
        if obj.get("kind") == "Namespace"
    }


def pod_security_problems(objects: list[dict[str, Any]], levels: dict[str, str | None], default: str) -> list[str]:
    """Pods among ``objects`` their namespace's level would refuse (``default``: namespace of unnamespaced ones)."""
    problems = []
    for obj in objects:
        pod = podsecurity.pod_template(obj)
        if pod is None:
            continue
        namespace = obj.get("metadata", {}).get("namespace") or default
        level = levels.get(namespace)
        where = f"{obj['kind']} {namespace}/{obj['metadata']['name']}"
        if level is None:
            problems.append(f"{where}: ink writes no Namespace {namespace!r} with a {PSS_LABEL} label")
            continue
        problems += [
            f"{where} (needs {podsecurity.required_level(pod)}, namespace enforces {level}): {v}"
            for v in podsecurity.violations(pod, level)
        ]
    return problems


def test_chart_pods_meet_namespace_pod_security(case: tuple[str, ChartApp]) -> None:
    config, app = case
    assert pod_security_problems(render(app), namespace_levels(config), app.namespace) == []


@pytest.mark.parametrize("config", CONFIGS)
def test_ink_pods_meet_namespace_pod_security(config: str) -> None:
    """ink's own workloads, too, meet the level their plugin declares for the namespace."""
    objects = list(output(config).values())
    assert pod_security_problems(objects, namespace_levels(config), "") == []


@pytest.mark.parametrize("config", CONFIGS)
def test_ink_objects_validate_against_chart_crds(config: str, validator) -> None:
    """ink's own custom resources fit the CRDs the charts install (strict: every kind has a schema)."""
    report = validator(config).validate_all(output(config).items())
    assert [str(p) for p in report.problems] == []


@functools.cache
def pods_by_namespace(config: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every pod template of ink's output and of the charts it installs, by the namespace it runs in."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    sources = [("ink", "", obj) for obj in output(config).values()]
    sources += [(app.label, app.namespace, obj) for app in applications(config) for obj in render(app)]
    for source, default, obj in sources:
        pod = podsecurity.pod_template(obj)
        if pod is not None:
            namespace = obj["metadata"].get("namespace") or default
            found.setdefault(namespace, []).append((f"{source}: {obj['kind']} {obj['metadata']['name']}", pod))
    return found


def strictest_levels(config: str) -> dict[str, str]:
    """For every namespace ink writes, the strictest Pod Security level all its pods (ink's and charts') meet.

    An owned namespace that receives copies of another namespace's pods (a restore drill's) needs that
    namespace's level too: the copies are not in the output.
    """
    pods = pods_by_namespace(config)
    levels = {
        namespace: max(
            (podsecurity.required_level(pod) for _, pod in pods.get(namespace, [])),
            key=podsecurity.LEVELS.index,
            default="restricted",
        )
        for namespace in namespace_levels(config)
    }
    for owned, copied in _synthesised(config)[1].items():
        levels[owned] = max([levels[owned], *(levels[ns] for ns in copied)], key=podsecurity.LEVELS.index)
    return levels


@functools.cache
def service_infos() -> dict[str, Any]:
    """Every installed plugin's ServiceInfo, by the namespace it writes."""
    host = testing.host()
    infos = [host.call(name, "ink_service_info") for name in host.names]
    return {info.namespace or info.name: info for info in infos}


@pytest.mark.parametrize("config", CONFIGS)
def test_each_namespace_enforces_the_strictest_level_its_pods_meet(config: str) -> None:
    """Not looser than the pods need (that would admit more than they use), not stricter (they would be refused)."""
    assert namespace_levels(config) == strictest_levels(config)


# The Pod Security controls (their names in podsecurity.violations) each exemption answers: a namespace above
# restricted must say why with an exemption per control its pods need, and declare none they do not use.
EXEMPTION_CONTROLS = {
    "HostPath": ("(HostPath Volumes)",),
    "HostNetwork": ("spec.hostNetwork: true (Host Namespaces)",),
    "Privileged": ("(Privileged Containers)",),
    "AddCapabilities": (".capabilities.add:",),
    "RunAsRoot": ("runAsUser: 0 (Running as Non-root user)",),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_a_namespace_above_restricted_says_why_with_exemptions(config: str) -> None:
    problems = []
    for namespace, level in namespace_levels(config).items():
        if level == "restricted":
            continue
        info = service_infos().get(namespace)
        if info is None:  # a namespace a plugin owns (ink_namespaces): the level of the services it copies
            continue
        from_exemptions = kube_exemptions.required_level(info.exemptions)
        if from_exemptions != level:
            problems.append(f"{namespace}: enforces {level}, its plugin's exemptions justify only {from_exemptions}")
        found = [
            v for _, pod in pods_by_namespace(config)[namespace] for v in podsecurity.violations(pod, "restricted")
        ]
        declared = {type(e).__name__ for e in info.exemptions}
        for name, controls in EXEMPTION_CONTROLS.items():
            used = any(control in v for control in controls for v in found)
            if used and name not in declared:
                problems.append(f"{namespace}: pods need {name} ({controls[0]}), which {info.name} does not declare")
            if name in declared and not used and config == "maximal":  # the maximal config turns everything on
                problems.append(f"{namespace}: {info.name} declares {name}, which no pod of the namespace uses")
        added = {
            capability
            for _, pod in pods_by_namespace(config)[namespace]
            for field in ("initContainers", "containers")
            for container in pod["spec"].get(field) or []
            for capability in ((container.get("securityContext") or {}).get("capabilities") or {}).get("add") or []
        } - kube_exemptions.RESTRICTED_CAPABILITIES
        declared_caps = {
            c for e in info.exemptions if isinstance(e, kube_exemptions.AddCapabilities) for c in e.capabilities
        }
        if added - declared_caps:
            problems.append(
                f"{namespace}: pods add capabilities {sorted(added - declared_caps)} {info.name} does not declare"
            )
    assert problems == []


def test_the_velero_server_runs_restricted() -> None:
    """Only the node agent needs privileged (host paths, root); the server, its CRD upgrade Job and ink's restore
    drills do not."""
    levels = {where: podsecurity.required_level(pod) for where, pod in pods_by_namespace("default")["velero"]}
    drills = {where: level for where, level in levels.items() if where.startswith("ink: CronJob drill-")}
    assert drills and set(drills.values()) == {"restricted"}
    assert {where: level for where, level in levels.items() if where not in drills} == {
        "velero-chart/velero@12.2.0: Deployment velero": "restricted",
        "velero-chart/velero@12.2.0: Job velero-upgrade-crds": "restricted",
        "velero-chart/velero@12.2.0: DaemonSet node-agent": "privileged",
    }


# --- Argo CD least privilege: every project allows exactly what its Applications install ------------


def _cluster_scoped(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The kinds (group, kind) among ``objects`` that are cluster-scoped: built-in ones core knows, and custom
    ones whose CRD (rendered with them) says ``scope: Cluster``."""
    custom = {
        (crd["spec"]["group"], crd["spec"]["names"]["kind"])
        for crd in chartrender.crds(objects)
        if crd["spec"].get("scope") == "Cluster"
    }
    kinds = {(str(o["apiVersion"]).rpartition("/")[0], o["kind"]) for o in objects}
    return {(g, k) for g, k in kinds if CLUSTER_KINDS.get(k) == g or (g, k) in custom}


def _project(config: str, name: str) -> dict[str, Any]:
    found = [o for o in output(config).values() if o["kind"] == "AppProject" and o["metadata"]["name"] == name]
    assert len(found) == 1, f"ink emits {len(found)} AppProjects named {name!r}"
    return found[0]


def _allowed(project: dict[str, Any]) -> tuple[set[tuple[str, str]], set[str]]:
    spec = project["spec"]
    kinds = {(e["group"], e["kind"]) for e in spec.get("clusterResourceWhitelist") or []}
    return kinds, {d["namespace"] for d in spec.get("destinations") or []}


def test_each_chart_application_has_a_project_allowing_exactly_what_the_chart_installs(
    case: tuple[str, ChartApp],
) -> None:
    """Not `default` (which allows everything): the chart's repository, the namespaces its objects go to and
    the cluster-scoped kinds it renders, each and nothing more (the Namespace of CreateNamespace by name)."""
    config, app = case
    (application,) = [
        o for o in output(config).values() if o["kind"] == "Application" and o["metadata"]["name"] == app.application
    ]
    assert application["spec"]["project"] == app.application
    project = _project(config, app.application)
    rendered = render(app)
    scoped = _cluster_scoped(rendered)
    namespaces = {
        o["metadata"].get("namespace") or app.namespace
        for o in rendered
        if (o["apiVersion"].rpartition("/")[0], o["kind"]) not in scoped
    }
    kinds, destinations = _allowed(project)
    assert (kinds - {("", "Namespace")}, destinations) == (scoped, namespaces | {app.namespace})
    assert {"group": "", "kind": "Namespace", "name": app.namespace} in project["spec"]["clusterResourceWhitelist"]
    assert project["spec"]["sourceRepos"] == [app.repo_url]


@pytest.mark.parametrize("config", CONFIGS)
def test_the_homelab_project_allows_exactly_what_the_service_folders_hold(config: str) -> None:
    """Computed from dist/: every cluster-scoped kind of the folders the service Applications sync (all but
    argocd/, which the root app syncs) is whitelisted, nothing else; the destinations are their namespaces."""
    synced = [(path, obj) for path, obj in output(config).items() if not path.startswith("argocd/")]
    scoped = _cluster_scoped([obj for _, obj in synced])
    namespaces = {obj["metadata"]["namespace"] for _, obj in synced if "namespace" in obj["metadata"]}
    namespaces |= {obj["metadata"]["name"] for _, obj in synced if obj["kind"] == "Namespace"}
    assert ("", "Namespace") in scoped and len(namespaces) > 10, "nothing found: the check would prove nothing"
    assert _allowed(_project(config, "homelab")) == (scoped, namespaces)
    projects = {
        o["metadata"]["name"]: o["spec"]["project"] for o in output(config).values() if o["kind"] == "Application"
    }
    assert {name for name, project in projects.items() if project == "default"} == {"homelab"}  # the root only


# --- the checks themselves ------------------------------------------------------------------------


def traefik_app(values: dict[str, Any]) -> ChartApp:
    (app,) = [a for a in applications("default") if a.chart == "traefik"]
    return ChartApp(**{**app.__dict__, "values": values})


# What the traefik plugin wrote before chart v39/v40 moved these keys (issue #7, defect 1).
OLD_TRAEFIK_VALUES = {
    "ports": {"web": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}}},
    "service": {"type": "LoadBalancer"},
}


def test_key_check_finds_moved_traefik_keys() -> None:
    chart_dir = require_chart(traefik_app({}))
    found = chartrender.unknown_value_keys(
        OLD_TRAEFIK_VALUES,
        chartrender.chart_defaults(chart_dir),
        chartrender.values_schema(chart_dir),
        chartrender.maps_rendered_whole(chart_dir),
    )
    assert found == ["ports.web.redirections", "service.type"]


def test_schema_check_and_render_refuse_old_traefik_values() -> None:
    app = traefik_app(OLD_TRAEFIK_VALUES)
    assert any("redirections" in p for p in chartrender.schema_problems(require_chart(app), app.values))
    with pytest.raises(ChartRenderError, match="redirections"):
        chartrender.render(app, kube_version=KUBERNETES_VERSION)


def test_key_check_accepts_free_form_maps_only() -> None:
    defaults = {"labels": {}, "affinity": None, "image": {"tag": "1"}, "configs": {"cm": {"create": True}}}
    values = {
        "labels": {"any": "thing"},
        "affinity": {"nodeAffinity": {}},
        "image": {"tag": "2", "tga": "typo"},
        "configs": {"cm": {"x.y": "z"}},
    }
    assert chartrender.unknown_value_keys(values, defaults) == ["image.tga", "configs.cm.x.y"]
    assert chartrender.unknown_value_keys(values, defaults, free_form={"configs.cm"}) == ["image.tga"]
    schema = {"properties": {"extra": {"type": "object", "additionalProperties": {"type": "string"}}}}
    assert chartrender.unknown_value_keys({"extra": {"a": "b"}, "other": 1}, {}, schema) == ["other"]


def test_missing_chart_fails_naming_chart_and_plugin() -> None:
    app = ChartApp(**{**traefik_app({}).__dict__, "chart": "no-such-chart", "chart_dir": None})
    with pytest.raises(pytest.fail.Exception, match=r"plugin 'traefik' installs chart 'no-such-chart'"):
        require_chart(app)
    with pytest.raises(ChartRenderError, match=r"'no-such-chart'.*plugin 'traefik'"):
        chartrender.render(app, kube_version=KUBERNETES_VERSION)


def test_disabled_sub_chart_is_dropped_and_enabled_missing_one_named() -> None:
    (app,) = [a for a in applications("default") if a.chart == "authentik"]
    assert chartrender.render(app, kube_version=KUBERNETES_VERSION)  # postgresql sub-chart off: not needed
    enabled = ChartApp(**{**app.__dict__, "values": {**app.values, "postgresql": {"enabled": True}}})
    with pytest.raises(ChartRenderError, match=r"sub-chart 'postgresql'"):
        chartrender.render(enabled, kube_version=KUBERNETES_VERSION)


RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
RESTRICTED_POD = {
    "metadata": {},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "securityContext": RESTRICTED_CONTAINER}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
    },
}


@pytest.mark.parametrize(
    ("change", "level"),
    [
        ({}, "restricted"),
        ({"spec": {"securityContext": {"runAsNonRoot": False}}}, "baseline"),
        ({"spec": {"containers": [{"name": "app", "securityContext": {}}]}}, "baseline"),
        ({"spec": {"securityContext": {"runAsNonRoot": None}}}, "baseline"),
        (  # a container's null runAsNonRoot defers to the pod's
            {
                "spec": {
                    "containers": [{"name": "app", "securityContext": {**RESTRICTED_CONTAINER, "runAsNonRoot": None}}]
                }
            },
            "restricted",
        ),
        ({"spec": {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]}}, "privileged"),
        ({"spec": {"hostNetwork": True}}, "privileged"),
        ({"spec": {"containers": [{"name": "a", "securityContext": {"privileged": True}}]}}, "privileged"),
        (
            {"spec": {"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}},
            "privileged",
        ),
        ({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}]}}, "privileged"),
        ({"spec": {"volumes": [{"name": "nfs", "nfs": {"server": "nas", "path": "/"}}]}}, "baseline"),
    ],
)
def test_pod_security_levels(change: dict[str, Any], level: str) -> None:
    pod = chartrender.merge_values(RESTRICTED_POD, change)
    assert podsecurity.required_level(pod) == level


@pytest.mark.parametrize("config", CONFIGS)
def test_every_custom_resource_of_ink_has_its_crd_from_an_installed_chart(config: str) -> None:
    """ink never emits a custom resource whose operator it does not install: the charts ship every CRD
    (so the validation above used the pinned operators' schemas, not only ../shared/crds)."""
    shipped = set()
    for app in applications(config):
        for crd in chartrender.crds(render(app)):
            shipped |= {
                (f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"]) for v in crd["spec"]["versions"]
            }
    objects = output(config).values()
    used = {(o["apiVersion"], o["kind"]) for o in objects if chartrender.is_custom_api_version(o["apiVersion"])}
    assert len(used) > 10, "ink's custom resources not found: the check would prove nothing"
    assert used - shipped == set()


def test_without_helm_the_chart_tests_fail_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HELM_BINARY", str(tmp_path / "no-helm"))
    chartrender.helm_binary.cache_clear()
    try:
        with pytest.raises(ChartRenderError, match=r"HELM_BINARY=.*no-helm is not an executable file"):
            chartrender.helm_binary()
    finally:
        chartrender.helm_binary.cache_clear()  # the next test finds the real one again


def test_plugin_readme_names_the_snapshot_and_the_pinned_chart_version(case: tuple[str, ChartApp]) -> None:
    """The checks run against the snapshot: the README must say which, next to the version pinned."""
    _, app = case
    chart_dir = require_chart(app)
    snapshot = str(yaml.safe_load((chart_dir / "Chart.yaml").read_text())["version"])
    readme = (chartrender.REPO / "plugins" / app.service / "README.md").read_text()
    section = readme[readme.index("hart checks") :]
    assert snapshot in section and app.version in section, f"plugins/{app.service}/README.md: chart checks section"


@pytest.mark.parametrize(
    ("hook", "dropped"),
    [("test", True), ("test-success", True), ("pre-install, test", True), ("post-install", False), (None, False)],
)
def test_helm_test_hooks_are_left_out_as_argo_cd_does(hook: str | None, dropped: bool) -> None:
    annotations = {"helm.sh/hook": hook} if hook else {}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t", "annotations": annotations}}
    assert chartrender.helm_test_hook(pod) is dropped


def test_a_chart_name_in_two_folders_is_found_by_version() -> None:
    """grafana/loki's chart (7.x) and the grafana-community one (18.x) are both named loki."""
    assert chartrender.find_chart("loki", "18.11.0").name == "loki-grafana-community"
    assert chartrender.find_chart("loki", "18.12.0").name == "loki-grafana-community"  # a pin above the snapshot
    assert chartrender.find_chart("loki", "7.3.0").name == "loki"
    assert chartrender.find_chart("alloy", "9.9.9").name == "alloy"  # one folder: that one
    assert chartrender.find_chart("no-such-chart", "1.0.0") is None


# `ink images` (tests/test_images_pinned.py): core never runs helm, so a chart's images reach it only through the
# plugin's declaration (ink_images). Here, on the renders the tests above made, a chart or value change that adds,
# drops or retags an image fails until the declaration follows. A declared image no pod of the chart names (one an
# operator starts from a custom resource, e.g. the MongoDB server) must at least be named in the rendered chart.
def chart_services(config: str) -> dict[str, list[ChartApp]]:
    apps: dict[str, list[ChartApp]] = {}
    for app in applications(config):
        apps.setdefault(app.service, []).append(app)
    return apps


@pytest.mark.parametrize(
    "config_service",
    [(config, service) for config in CONFIGS for service in chart_services(config)],
    ids=lambda case: f"{case[0]}-{case[1]}",
)
def test_image_declarations_equal_the_rendered_charts(config_service: tuple[str, str]) -> None:
    config, service = config_service
    rendered: set[images.Image] = set()
    text = ""
    older = []  # snapshots older than the pinned chart: their default tags may lag the pin's
    for app in chart_services(config)[service]:
        chart_dir = require_chart(app)
        meta = chartrender._chart_meta(chart_dir)
        if meta is None or meta[1] != app.version:
            older.append(f"{app.label} rendered from the {meta[1] if meta else '?'} snapshot")
        objects = render(app)
        text += json.dumps(objects)
        rendered |= {images.parse(ref) for obj in objects for ref in images.object_images(obj)}
    declaration = _synthesised(config)[2].get(service, set())

    def key(image: images.Image) -> str:
        # Against an older snapshot only the repositories can be compared: the pinned chart's default tags
        # are not in ../shared/charts (each plugin's README, "Images", names the source of its tags).
        return image.repository if older else image.ref

    missing = sorted({key(i) for i in rendered} - {key(i) for i in declaration})
    assert missing == [], f"{service}'s charts render images its ink_images does not declare ({config}; {older})"
    # Started by an operator, not named in a pod: the rendered chart must still name the repository.
    unseen = sorted(i.ref for i in declaration - rendered if i.path.rsplit("/", 1)[-1] not in text)
    assert unseen == [], f"{service} declares images its charts neither render nor name ({config})"
