"""The `apiserver` tier: what a real kube-apiserver says about ink's output.

Schemas cannot see the API server's own validation, CRD CEL rules, strict field validation or
Pod Security admission. Here the objects of the embedded default and of the maximal config go to
a real kube-apiserver (tests/kubeapi.py): the namespaces and the operators' CRDs are created for
real, every other object is server-side dry-run with ``fieldValidation=Strict``, and any error or
warning fails the test with the object and the server's words.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import chartrender
import kubeapi
import pytest
import yaml
from click.testing import CliRunner

from ink import cli, dryrun, testing

pytestmark = pytest.mark.apiserver

REPO = Path(__file__).resolve().parent.parent
# The embedded default and every config in tests/configs/ (maximal.toml: every option on; openbao.toml:
# the settings a service switches to an alternative with, e.g. Vault → OpenBao).
# mesh.toml installs charts not in ../shared/charts yet (plugins/istio/README.md): its own test below.
CONFIGS = {
    "default": "",
    **{p.stem: p.read_text() for p in sorted((REPO / "tests" / "configs").glob("*.toml")) if p.stem != "mesh"},
}
RESTRICTED = "ink-test-restricted"


@pytest.fixture(scope="module")
def client(apiserver: kubeapi.TestAPIServer) -> Iterator[dryrun.KubeClient]:
    client = apiserver.client()
    yield client
    client.close()


def failures(report: dryrun.DryRunReport) -> str:
    lines = report.problems + [f"{o.object}: not checked: {o.unchecked}" for o in report.unchecked]
    return "\n".join(lines)


def assert_accepted(report: dryrun.DryRunReport, also: Sequence[str] = ()) -> None:
    """Fail with every object the server refused or warned about, each with its words (untruncated)."""
    refused = failures(report)
    if refused or also:
        count = refused.count("\n") + 1 if refused else 0
        pytest.fail("\n".join([*also, f"the API server did not accept {count} objects:", refused]), pytrace=False)


@dataclasses.dataclass
class Deployed:
    """One config's objects on the server: ink's and its charts', with namespaces and CRDs created for real."""

    dist: Path
    ink: list[tuple[str, dict[str, Any]]]
    charts: list[tuple[str, dict[str, Any]]]
    render_errors: list[str]
    namespace_warnings: list[str]  # what the server said creating ink's Namespaces (for real, not dry-run)


def _prometheus_operator_crds() -> list[dict[str, Any]]:
    """ServiceMonitor & co: chartrender.ASSUMED_API_VERSIONS says the homelab has them; ink installs no chart
    with them, so they come from the prometheus-operator CRDs kube-prometheus-stack ships (its crds sub-chart)."""
    folder = chartrender.CHARTS_DIR / "kube-prometheus-stack" / "charts" / "crds" / "crds"
    return [yaml.load(path.read_text(), Loader=_PlainLoader) for path in sorted(folder.glob("crd-*.yaml"))]


class _PlainLoader(yaml.SafeLoader):
    """PyYAML reads a bare ``=`` as YAML 1.1's "value" tag, which it cannot construct; it is the string "="."""


_PlainLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _with_namespace(client: dryrun.KubeClient, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A chart's object as Argo CD applies it: namespaced kinds without a namespace go to the destination's."""
    if obj.get("metadata", {}).get("namespace") or obj["kind"] == "Namespace":
        return obj
    found = client.resources(str(obj["apiVersion"])).get(str(obj["kind"]))
    if found is None or not found[1]:
        return obj
    return {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}


def _render(app: chartrender.ChartApp, kube_version: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """(objects, CRDs, error) of one chart with ink's values. When helm refuses ink's values, the error is kept
    for the chart test and the CRDs come from the chart's defaults, so ink's own objects can still be checked."""
    try:
        objects = chartrender.render(app, kube_version=kube_version)
        return objects, chartrender.crds(objects), ""
    except chartrender.ChartRenderError as err:
        defaults = chartrender.render(dataclasses.replace(app, values={}), kube_version=kube_version)
        return [], chartrender.crds(defaults), str(err)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def deployed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    apiserver: kubeapi.TestAPIServer,
    client: dryrun.KubeClient,
) -> Deployed:
    directory = tmp_path_factory.mktemp(request.param)
    ink = sorted(testing.objects(testing.synth(directory, CONFIGS[request.param])).items())
    kube_version = apiserver.version.removeprefix("v")
    apps = chartrender.chart_applications(body for _, body in ink)
    rendered = [(app, *_render(app, kube_version)) for app in apps]
    crds = [crd for _, _, app_crds, _ in rendered for crd in app_crds] + _prometheus_operator_crds()
    for crd in crds:
        kubeapi.create(client, crd)
    kubeapi.wait_established(client, [crd["metadata"]["name"] for crd in crds])
    namespace_warnings = [
        f"{path}: warning: {warning}"
        for path, body in ink
        if body["kind"] == "Namespace"
        for warning in kubeapi.create(client, body)
    ]
    charts = [
        (app.label, _with_namespace(client, obj, app.namespace))
        for app, objects, _, _ in rendered
        for obj in objects
        if obj.get("kind") != "CustomResourceDefinition"
    ]
    for _, body in charts:
        if body["kind"] == "Namespace":
            kubeapi.create(client, body)
    errors = [error for *_, error in rendered if error]
    return Deployed(
        dist=directory / "dist", ink=ink, charts=charts, render_errors=errors, namespace_warnings=namespace_warnings
    )


def test_the_server_is_the_pinned_release(apiserver: kubeapi.TestAPIServer) -> None:
    assert apiserver.version == kubeapi.gobuild.KUBERNETES_VERSION


def test_inks_objects_are_accepted(client: dryrun.KubeClient, deployed: Deployed) -> None:
    """Every object of dist/ besides its namespaces (created for real, without a warning): dry-run, no error, no
    warning (Pod Security admission warns on every pod template its namespace's level refuses)."""
    report = dryrun.dry_run(client, [(path, body) for path, body in deployed.ink if body["kind"] != "Namespace"])
    assert_accepted(report, also=deployed.namespace_warnings)
    assert report.checked == sum(1 for _, body in deployed.ink if body["kind"] != "Namespace")


def test_the_charts_objects_are_accepted(client: dryrun.KubeClient, deployed: Deployed) -> None:
    """What the operators' charts render with ink's values, in ink's namespaces: chart pods against the
    namespace's Pod Security level, by the real admission plugin."""
    report = dryrun.dry_run(client, [(source, body) for source, body in deployed.charts if body["kind"] != "Namespace"])
    assert_accepted(report, also=deployed.render_errors)
    assert report.checked > 100


# Charts tests/configs/mesh.toml installs that are not in ../shared/charts yet (plugins/istio/README.md), and
# the kinds of ink's own objects whose CRDs only those charts would bring.
MESH_MISSING_CHARTS = {"base", "istiod", "cni", "ztunnel"}
MESH_UNSCHEMED_KINDS = {"PeerAuthentication"}


def test_the_mesh_configs_objects_are_accepted(
    client: dryrun.KubeClient, apiserver: kubeapi.TestAPIServer, tmp_path: Path
) -> None:
    """tests/configs/mesh.toml (plugins/istio on): every object ink writes is accepted — the meshed Namespaces'
    labels, the NetworkPolicies with the tunnel port and the probe source, the chart Applications — except
    Istio's own custom resources, whose CRDs come from Istio's base chart, which is not in ../shared/charts:
    those, and only those, go unchecked."""
    config = (REPO / "tests" / "configs" / "mesh.toml").read_text()
    ink = sorted(testing.objects(testing.synth(tmp_path, config)).items())
    kube_version = apiserver.version.removeprefix("v")
    apps = chartrender.chart_applications(body for _, body in ink)
    missing = {app.chart for app in apps if app.chart_dir is None}
    assert missing == MESH_MISSING_CHARTS
    crds = [crd for app in apps if app.chart_dir is not None for crd in _render(app, kube_version)[1]]
    crds += _prometheus_operator_crds()
    for crd in crds:
        kubeapi.create(client, crd)
    kubeapi.wait_established(client, [crd["metadata"]["name"] for crd in crds])
    warnings = [
        f"{path}: warning: {warning}"
        for path, body in ink
        if body["kind"] == "Namespace"
        for warning in kubeapi.create(client, body)
    ]
    report = dryrun.dry_run(client, [(path, body) for path, body in ink if body["kind"] != "Namespace"])
    unchecked = report.unchecked
    unschemed = {path for path, body in ink if body["kind"] in MESH_UNSCHEMED_KINDS}
    assert unschemed and {o.source for o in unchecked} == unschemed, [o.unchecked for o in unchecked]
    refused = [f"{o.object}: {o.error} {' '.join(o.warnings)}" for o in report.outcomes if o.error or o.warnings]
    assert warnings == [] and refused == []
    assert report.checked == sum(1 for _, body in ink if body["kind"] != "Namespace") - len(unschemed)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def test_no_process_outlives_a_killed_test_session(tmp_path: Path) -> None:
    """SIGKILL the Python process that started etcd and kube-apiserver: the kernel kills both (PDEATHSIG)."""
    script = (
        "import os, sys, time; sys.path.insert(0, sys.argv[1]); import kubeapi; "
        "server = kubeapi.start(); print(*(p.pid for p in server.processes), flush=True); time.sleep(600)"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pids = [int(pid) for pid in (owner.stdout.readline() if owner.stdout else "").split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []


def test_a_port_taken_between_choosing_and_binding_it_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        real = kubeapi._free_port
        monkeypatch.setattr(kubeapi, "_free_port", lambda: next(ports, None) or real())
        server = kubeapi.start()
        client = server.client()
        try:
            assert client.get("/readyz").status == 200
        finally:
            client.close()
            server.stop()


# --- the check sees what the schemas cannot: deliberately broken objects -------------------------


def _restricted_namespace(client: dryrun.KubeClient) -> None:
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}
    kubeapi.create(
        client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RESTRICTED, "labels": labels}}
    )


def _deployment(**pod_changes: Any) -> dict[str, Any]:
    """A Deployment that passes the restricted Pod Security level, changed as asked."""
    container = {
        "name": "app",
        "image": "docker.io/library/nginx:1.29",
        "ports": [{"name": "http", "containerPort": 8080}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "broken", "namespace": RESTRICTED},
        "spec": {
            "selector": {"matchLabels": {"app": "broken"}},
            "template": {"metadata": {"labels": {"app": "broken"}}, "spec": {"containers": [container]}},
        },
    }
    for change in pod_changes.values():
        change(body)
    return body


def _check(client: dryrun.KubeClient, body: dict[str, Any]) -> dryrun.DryRunReport:
    _restricted_namespace(client)
    return dryrun.dry_run(client, [("fixture.yaml", body)])


def test_a_good_fixture_is_accepted(client: dryrun.KubeClient) -> None:
    """The baseline the broken fixtures below differ from by one thing each."""
    report = _check(client, _deployment())
    assert report.ok, failures(report)
    assert report.checked == 1


def test_a_selector_that_does_not_match_the_template_fails(client: dryrun.KubeClient) -> None:
    def mismatch(body: dict[str, Any]) -> None:
        body["spec"]["selector"]["matchLabels"]["app"] = "other"

    report = _check(client, _deployment(selector=mismatch))
    assert len(report.problems) == 1
    assert "apps/v1 Deployment ink-test-restricted/broken" in report.problems[0]
    assert "`selector` does not match template `labels`" in report.problems[0]


def test_a_port_name_over_15_characters_fails(client: dryrun.KubeClient) -> None:
    def long_name(body: dict[str, Any]) -> None:
        body["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = "http-with-a-long-name"

    report = _check(client, _deployment(port=long_name))
    assert len(report.problems) == 1
    assert "must be no more than 15 characters" in report.problems[0]


def test_an_unknown_field_fails_under_strict_field_validation(client: dryrun.KubeClient) -> None:
    def typo(body: dict[str, Any]) -> None:
        body["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"

    report = _check(client, _deployment(field=typo))
    assert len(report.problems) == 1
    assert 'containers[name="app"].imagePullPolice: field not declared in schema' in report.problems[0]


def test_a_privileged_workload_in_a_restricted_namespace_fails_on_the_pod_security_warning(
    client: dryrun.KubeClient,
) -> None:
    def privileged(body: dict[str, Any]) -> None:
        context = body["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        context.update(privileged=True, allowPrivilegeEscalation=True)  # the API server refuses one without the other

    report = _check(client, _deployment(privileged=privileged))
    assert len(report.problems) == 1
    assert 'warning: would violate PodSecurity "restricted:latest": privileged' in report.problems[0]


def test_a_privileged_pod_in_a_restricted_namespace_is_rejected(client: dryrun.KubeClient) -> None:
    deployment = _deployment()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "broken", "namespace": RESTRICTED},
        "spec": copy.deepcopy(deployment["spec"]["template"]["spec"]),
    }
    pod["spec"]["containers"][0]["securityContext"].update(privileged=True, allowPrivilegeEscalation=True)
    report = _check(client, pod)
    assert len(report.problems) == 1
    assert 'violates PodSecurity "restricted:latest": privileged' in report.problems[0]


def test_creating_a_namespace_returns_the_pod_security_warnings(client: dryrun.KubeClient) -> None:
    """The fixture creates ink's Namespaces for real; their warnings must reach the test like a dry-run's."""
    name = "ink-test-relabel"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    assert kubeapi.create(client, namespace) == ()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged", "namespace": name}}
    pod["spec"] = copy.deepcopy(_deployment()["spec"]["template"]["spec"])
    pod["spec"]["containers"][0]["securityContext"].update(privileged=True, allowPrivilegeEscalation=True)
    kubeapi.create(client, pod)
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    relabelled = {**namespace, "metadata": {"name": name, "labels": labels}}
    # Pod Security admission checks a namespace's pods from its informer cache, which can lag the create
    # on a loaded machine: wait (with dry-runs, which warn alike) until the server sees the pod.
    deadline = time.monotonic() + 30
    while not client.apply(relabelled, dry_run=True).warnings and time.monotonic() < deadline:
        time.sleep(0.2)
    warnings = kubeapi.create(client, relabelled)
    assert any('violate the new PodSecurity enforce level "restricted:latest"' in w for w in warnings), warnings


def test_dry_run_writes_nothing(client: dryrun.KubeClient) -> None:
    report = _check(client, _deployment())
    assert report.ok, failures(report)
    assert client.get(f"/apis/apps/v1/namespaces/{RESTRICTED}/deployments/broken").status == 404


def test_an_immutable_field_of_an_existing_object_fails(client: dryrun.KubeClient) -> None:
    """Server-side apply makes the dry-run an update when the object exists: a changed selector is refused."""
    _restricted_namespace(client)
    existing = _deployment()
    existing["metadata"]["name"] = "existing"
    kubeapi.create(client, existing)
    changed = copy.deepcopy(existing)
    changed["spec"]["selector"]["matchLabels"]["tier"] = "web"
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    report = dryrun.dry_run(client, [("d.yaml", changed)])
    assert len(report.problems) == 1
    assert "spec.selector: Invalid value" in report.problems[0]
    assert "field is immutable" in report.problems[0]


def test_an_object_in_a_missing_namespace_is_reported_unchecked(client: dryrun.KubeClient) -> None:
    body = _deployment()
    body["metadata"]["namespace"] = "ink-test-absent"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ink-test-absent"}}
    report = dryrun.dry_run(client, [("d.yaml", body), ("ns.yaml", namespace)])
    assert report.ok  # not checked is not a problem: on a first deploy the namespaces do not exist yet
    assert [(o.object, o.unchecked) for o in report.unchecked] == [
        (
            "apps/v1 Deployment ink-test-absent/broken",
            "namespace does not exist yet (dist/ creates it): ink-test-absent",
        )
    ]
    assert report.checked == 1  # the Namespace itself, dry-run
    assert client.get("/api/v1/namespaces/ink-test-absent").status == 404


def test_a_custom_resource_violating_a_cel_rule_fails(client: dryrun.KubeClient, deployed: Deployed) -> None:
    """CRD validation rules (x-kubernetes-validations) run on the server only: ink's own CloudNativePG
    Cluster, changed to break one, and a Traefik Middleware breaking another."""
    cluster = next(copy.deepcopy(body) for _, body in deployed.ink if body["kind"] == "Cluster")
    initdb = cluster["spec"].setdefault("bootstrap", {}).setdefault("initdb", {})
    initdb.pop("localeProvider", None)
    initdb["builtinLocale"] = "C.UTF-8"
    middleware = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "Middleware",
        "metadata": {"name": "broken", "namespace": cluster["metadata"]["namespace"]},
        "spec": {"addPrefix": {"prefix": "no-leading-slash"}},
    }
    report = dryrun.dry_run(client, [("cluster.yaml", cluster), ("middleware.yaml", middleware)])
    assert len(report.problems) == 2, failures(report)
    assert "builtinLocale is only available when localeProvider is set to `builtin`" in report.problems[0]
    assert "spec.addPrefix.prefix: Invalid value" in report.problems[1]
    assert "must start with a '/'" in report.problems[1]


def test_a_kind_the_cluster_does_not_serve_is_reported_unchecked(client: dryrun.KubeClient) -> None:
    widget = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": RESTRICTED}}
    report = dryrun.dry_run(client, [("w.yaml", widget)])
    assert report.problems == []
    assert [o.unchecked for o in report.unchecked] == [
        "the cluster serves no example.org/v1 Widget (its CRD is not installed yet)"
    ]


# --- ink validate --server ------------------------------------------------------------------------


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli.main, ["validate", "--server", *args], catch_exceptions=False)


def _write(directory: Path, *objects: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for number, body in enumerate(objects):
        (directory / f"{number}-{body['kind'].lower()}.yaml").write_text(yaml.safe_dump(body))
    return directory


def test_validate_server_accepts_good_manifests(
    apiserver: kubeapi.TestAPIServer, client: dryrun.KubeClient, tmp_path: Path
) -> None:
    _restricted_namespace(client)
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    result = _invoke("--kubeconfig", str(kubeconfig), str(_write(tmp_path / "dist", _deployment())))
    assert result.exit_code == 0, result.output
    assert "accepted by the API server of context ink-test" in result.output
    assert ": 1 objects" in result.output


def test_validate_server_accepts_the_whole_dist(
    apiserver: kubeapi.TestAPIServer, deployed: Deployed, tmp_path: Path
) -> None:
    """The user's command on a real dist/ (its _cluster/ k3s files are not objects and are left out)."""
    assert (deployed.dist / "_cluster").is_dir()
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    result = _invoke("--kubeconfig", str(kubeconfig), str(deployed.dist))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert f": {len(deployed.ink)} objects" in result.stdout


def test_a_document_that_is_not_an_object_is_an_error(client: dryrun.KubeClient) -> None:
    report = dryrun.dry_run(client, [("list.yaml", ["not", "an", "object"]), ("cm.yaml", {"kind": "ConfigMap"})])
    assert report.problems == [
        "list.yaml: document: not a Kubernetes object (apiVersion, kind and metadata.name are required)",
        "cm.yaml: document: not a Kubernetes object (apiVersion, kind and metadata.name are required)",
    ]


def test_validate_server_names_the_object_and_quotes_the_server(
    apiserver: kubeapi.TestAPIServer, client: dryrun.KubeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _restricted_namespace(client)
    monkeypatch.setenv("KUBECONFIG", str(apiserver.write_kubeconfig(tmp_path / "kubeconfig")))
    broken = _deployment()
    broken["spec"]["selector"]["matchLabels"]["app"] = "other"
    result = _invoke(str(_write(tmp_path / "dist", broken)))
    assert result.exit_code == 1
    assert "Deployment ink-test-restricted/broken: 422" in result.output
    assert "`selector` does not match template `labels`" in result.output
    assert "1 validation problem by the API server of context ink-test" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("token", "error: API server refused GET /version (401: Unauthorized); check the kubeconfig user"),
        ("ca", "error: API server https://127.0.0.1:"),
    ],
)
def test_validate_server_with_wrong_credentials_exits_2(
    apiserver: kubeapi.TestAPIServer, tmp_path: Path, change: str, message: str
) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    config = yaml.safe_load(kubeconfig.read_text())
    if change == "token":
        config["users"][0]["user"]["token"] = "not-the-token"
    else:  # a CA that did not sign the server's certificate
        other = kubeapi._self_signed(tmp_path)[0].read_bytes()
        config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other).decode()
    kubeconfig.write_text(yaml.safe_dump(config))
    result = _invoke("--kubeconfig", str(kubeconfig), str(_write(tmp_path / "dist", _deployment())))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(message)
    if change == "ca":
        assert "TLS failed" in lines[0]
        assert "check the kubeconfig's certificate-authority" in lines[0]


def test_validate_server_without_a_reachable_cluster_exits_2(apiserver: kubeapi.TestAPIServer, tmp_path: Path) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    text = kubeconfig.read_text().replace(apiserver.cluster.server, f"https://127.0.0.1:{kubeapi._free_port()}")
    kubeconfig.write_text(text)
    result = _invoke("--kubeconfig", str(kubeconfig), str(_write(tmp_path / "dist", _deployment())))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no API server reachable at https://127.0.0.1:")
    assert "Traceback" not in result.output
