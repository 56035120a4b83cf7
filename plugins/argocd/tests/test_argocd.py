"""Argo CD: discovery, the reviewed output, one Application per service in wave order, the bootstrap."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ink import cluster, hookimpl, testing
from ink.models import (
    Capability,
    DatabaseBinding,
    DatabaseClaim,
    SecretKeyRef,
    ServiceInfo,
)
from ink.plugins import make_plugin_host
from ink.validate import ManifestValidator
from ink_plugin_argocd import APP_VERSION, CHART_VERSION, DEFAULT_REPO_URL
from ink_plugin_argocd.construct import APPLICATION_HEALTH_KEY

FOLDER = "argocd"


class Provider:
    """A stand-in database provider: needs nothing, so it deploys in the first wave."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="provider",
            title="Provider",
            version="1.0.0",
            homepage="https://example.org",
            provides=(Capability.DATABASE,),
        )

    @hookimpl
    def ink_provide_database(self, claim: DatabaseClaim) -> DatabaseBinding:
        ref = SecretKeyRef(name=f"{claim.name}-db", key="password")
        return DatabaseBinding(host="db", port=5432, database=claim.name, user=claim.name, password=ref, uri=ref)


class Consumer:
    """A stand-in service that needs the provider, in a namespace that differs from its name."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="consumer", title="Consumer", version="1.0.0", homepage="https://example.org", namespace="shop"
        )

    @hookimpl
    def ink_database_claims(self) -> list[DatabaseClaim]:
        return [DatabaseClaim(name="consumer")]


def fakes() -> dict[str, object]:
    return {"provider": Provider(), "consumer": Consumer()}


def synth(tmp_path: Path, config: str = ""):
    return testing.synth(tmp_path, config, plugins=["argocd"], extra=fakes())


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    return synth(tmp_path_factory.mktemp("argocd"))


def obj(result, name: str) -> dict:
    return testing.objects(result)[f"{FOLDER}/{name}"]


def applications(result) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in testing.objects(result).values() if o["kind"] == "Application"}


def wave(app: dict) -> int:
    return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])


def test_discovered_through_its_entry_point() -> None:
    host = make_plugin_host(environ={})
    assert host.dists["argocd"].distribution == "ink-plugin-argocd"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default, [FOLDER]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(testing.objects(default).items())
    assert report.problems == []
    assert report.skipped == {}
    kinds = {o["kind"] for o in testing.objects(default).values()}
    assert {"Application", "AppProject"} <= kinds


def test_one_application_per_enabled_service_folder(default) -> None:
    folders = {path.split("/")[0] for path in default.files}
    assert folders == {"argocd", "provider", "consumer"}
    services = applications(default)
    # The argocd folder is synced by the root app (homelab), every other folder by its own Application;
    # the Application "argocd-chart" installs Argo CD itself from its chart.
    assert set(services) == {"homelab", "argocd-chart", "provider", "consumer"}
    for name in folders - {"argocd"}:
        app = services[name]
        assert app["metadata"]["namespace"] == "argocd"
        assert app["spec"]["project"] == "homelab"
        assert app["spec"]["source"] == {
            "repoURL": DEFAULT_REPO_URL,
            "targetRevision": "main",
            "path": f"dist/{name}",
        }
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert app["spec"]["syncPolicy"]["syncOptions"] == ["ServerSideApply=true"]
        assert "finalizers" not in app["metadata"]
    assert services["consumer"]["spec"]["destination"] == {
        "server": "https://kubernetes.default.svc",
        "namespace": "shop",
    }
    assert services["provider"]["spec"]["destination"]["namespace"] == "provider"


def test_consumers_sync_in_a_later_wave_than_their_providers(default) -> None:
    apps = applications(default)
    assert wave(apps["provider"]) == 0
    assert wave(apps["consumer"]) > wave(apps["provider"])
    # The project and Argo CD itself come before every service.
    assert wave(apps["argocd-chart"]) < wave(apps["provider"])
    assert int(obj(default, "appproject-homelab.yaml")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < (
        wave(apps["argocd-chart"])
    )


def test_app_project(default) -> None:
    project = obj(default, "appproject-homelab.yaml")
    assert project["metadata"]["namespace"] == "argocd"
    assert project["spec"]["sourceRepos"] == [DEFAULT_REPO_URL]
    # Least privilege: the service folders' namespaces and the cluster-scoped kinds they hold, nothing else
    # (here each stand-in folder holds only its Namespace; Argo CD's own folder is the root app's, in `default`).
    assert project["spec"]["destinations"] == [
        {"server": "https://kubernetes.default.svc", "namespace": "provider"},
        {"server": "https://kubernetes.default.svc", "namespace": "shop"},
    ]
    assert project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]


class Operator:
    """A stand-in service that installs a ClusterRole and a chart."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name="operator", title="Operator", version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "op"}}
        kube.api_object(scope, "role", {**role, "rules": []})
        kube.helm_application(
            scope,
            ctx=ctx,
            name="operator-chart",
            repo_url="https://charts.example.org",
            chart="operator",
            version="1.0.0",
            values={},
            cluster_kinds=("CustomResourceDefinition", "example.org/Widget"),
            other_namespaces=("kube-system",),
        )


def test_app_project_follows_what_the_services_emit(tmp_path: Path) -> None:
    result = testing.synth(tmp_path, plugins=["argocd"], extra={"operator": Operator()})
    project = obj(result, "appproject-homelab.yaml")
    assert [d["namespace"] for d in project["spec"]["destinations"]] == ["argocd", "operator"]
    assert project["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace"},
        {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"},
    ]
    # The chart's Application has a project of its own: its repository, namespaces and cluster kinds only.
    objects = testing.objects(result)
    chart_project = objects["operator/appproject-operator-chart.yaml"]
    assert objects["operator/application-operator-chart.yaml"]["spec"]["project"] == "operator-chart"
    assert chart_project["spec"]["sourceRepos"] == ["https://charts.example.org"]
    assert [d["namespace"] for d in chart_project["spec"]["destinations"]] == ["kube-system", "operator"]
    assert chart_project["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": "operator"},
        {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"},
        {"group": "example.org", "kind": "Widget"},
    ]


def test_an_unknown_cluster_kind_without_its_group_is_refused() -> None:
    from ink import kube

    assert kube.cluster_resource("StorageClass") == {"group": "storage.k8s.io", "kind": "StorageClass"}
    with pytest.raises(
        ValueError, match=r"'Widget' is not a cluster-scoped kind ink knows; write it as 'group/Widget'"
    ):
        kube.cluster_resource("Widget")


def test_root_app_of_apps_syncs_this_folder(default) -> None:
    root = obj(default, "application-homelab.yaml")
    assert root["spec"]["project"] == "default"  # it creates the homelab project, so it cannot belong to it
    assert root["spec"]["source"]["path"] == "dist/argocd"
    assert root["spec"]["destination"]["namespace"] == "argocd"
    assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "finalizers" not in root["metadata"]


def test_argo_cd_installs_itself_from_the_official_chart_with_the_application_health_check(default) -> None:
    app = obj(default, "application-argocd-chart.yaml")
    source = app["spec"]["source"]
    assert source["repoURL"] == "https://argoproj.github.io/argo-helm"
    assert source["chart"] == "argo-cd"
    assert source["targetRevision"] == CHART_VERSION == "10.10.2"
    assert APP_VERSION == "3.5.4"
    assert source["helm"]["releaseName"] == "argocd"
    lua = source["helm"]["valuesObject"]["configs"]["cm"][APPLICATION_HEALTH_KEY]
    assert APPLICATION_HEALTH_KEY == "resource.customizations.health.argoproj.io_Application"
    assert 'hs.status = "Progressing"' in lua
    assert "hs.status = obj.status.health.status" in lua
    assert lua.rstrip().endswith("return hs")
    assert app["spec"]["destination"]["namespace"] == "argocd"
    assert "finalizers" not in app["metadata"]  # deleting it must not uninstall Argo CD


def test_bootstrap_application_validates_against_the_argo_cd_schema(
    default, crd_dir: Path, ink_validator: ManifestValidator
) -> None:
    assert (crd_dir / "argoproj.io" / "application_v1alpha1.json").is_file()
    assert (crd_dir / "argoproj.io" / "appproject_v1alpha1.json").is_file()
    for name in ("application-homelab.yaml", "appproject-homelab.yaml", "application-argocd-chart.yaml"):
        report = ink_validator.validate_all([(name, obj(default, name))])
        assert report.problems == []
        assert report.skipped == {}
        assert report.checked == 1


def test_placeholder_repository_warns(default) -> None:
    assert any("argocd: repo_url is the placeholder" in w for w in default.warnings)


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
domain = "home.example.org"

[plugins.argocd]
repo_url = "git@github.com:me/homelab.git"
path = "clusters/home/dist"
target_revision = "production"
project = "lab"
chart_version = "10.10.1"
"""
    result = synth(tmp_path, config)
    assert not any("repo_url" in w for w in result.warnings)
    apps = applications(result)
    assert apps["consumer"]["spec"]["project"] == "lab"
    assert apps["consumer"]["spec"]["source"] == {
        "repoURL": "git@github.com:me/homelab.git",
        "targetRevision": "production",
        "path": "clusters/home/dist/consumer",
    }
    root = obj(result, "application-lab.yaml")
    assert root["spec"]["source"]["path"] == "clusters/home/dist/argocd"
    assert obj(result, "appproject-lab.yaml")["spec"]["sourceRepos"] == ["git@github.com:me/homelab.git"]
    install = obj(result, "application-argocd-chart.yaml")["spec"]["source"]
    assert install["targetRevision"] == "10.10.1"
    assert install["helm"]["valuesObject"]["global"]["domain"] == "argocd.home.example.org"


def test_repository_root_as_path(tmp_path: Path) -> None:
    result = synth(tmp_path, '[plugins.argocd]\npath = "."\n')
    assert applications(result)["consumer"]["spec"]["source"]["path"] == "consumer"
    assert obj(result, "application-homelab.yaml")["spec"]["source"]["path"] == "argocd"


@pytest.mark.parametrize("path", ["/dist", "../dist", ".."])
def test_path_outside_the_repository_is_a_config_error(tmp_path: Path, path: str) -> None:
    from ink.errors import ConfigError

    with pytest.raises(ConfigError, match="path"):
        synth(tmp_path, f'[plugins.argocd]\npath = "{path}"\n')


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__ARGOCD__REPO_URL", "https://git.example.org/me/lab.git")
    monkeypatch.setenv("INK_PLUGINS__ARGOCD__TARGET_REVISION", "v1")
    result = synth(tmp_path, '[plugins.argocd]\ntarget_revision = "main"\n')
    source = applications(result)["provider"]["spec"]["source"]
    assert source["repoURL"] == "https://git.example.org/me/lab.git"
    assert source["targetRevision"] == "v1"


def test_disabled_service_gets_no_application(tmp_path: Path) -> None:
    result = synth(tmp_path, "[plugins.consumer]\nenabled = false\n")
    assert "consumer" not in applications(result)
    assert "provider" in applications(result)


def test_disabled_leaves_no_trace(tmp_path: Path) -> None:
    result = synth(tmp_path, "[plugins.argocd]\nenabled = false\n")
    assert not any(path.startswith("argocd/") for path in result.files)


def test_all_installed_plugins_synthesise_without_duplicate_application_names(tmp_path: Path) -> None:
    host = testing.host()
    provided = {c for name in host.names for c in host.call(name, "ink_service_info").provides}
    missing = tuple(c for c in Capability if c not in provided)
    extra = {"stand-in": testing.StandIn("stand-in", *missing)} if missing else {}
    result = testing.synth(tmp_path, extra=extra)
    names = [
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in testing.objects(result).values()
        if o["kind"] == "Application"
    ]
    assert [n for n, count in Counter(names).items() if count > 1] == []
    apps = applications(result)
    folders = {path.split("/")[0] for path in result.files} - {"argocd"}
    # _cluster/ holds the k3s configuration for the nodes (ink.cluster): no Application may sync it.
    for folder in {f for f in folders if not f.startswith(cluster.NOT_MANIFESTS)}:
        assert apps[folder]["spec"]["source"]["path"] == f"dist/{folder}"
    assert not any("_cluster" in app["spec"]["source"].get("path", "") for app in apps.values())
    assert apps["homelab"]["spec"]["source"]["path"] == "dist/argocd"


def test_each_component_is_scraped_with_a_metrics_provider(tmp_path: Path) -> None:
    extra = {**fakes(), "monitoring": testing.StandIn("monitoring", Capability.METRICS)}
    result = testing.synth(tmp_path, plugins=["argocd"], extra=extra)
    targets = testing.metrics_targets(result, "argocd")
    # Pods and ports against the rendered chart: tests/test_metrics_targets.py.
    assert {name: (dict(t.pods), t.port, t.path, t.scheme) for name, t in targets.items()} == {
        name: (
            {"app.kubernetes.io/name": f"argocd-{name}", "app.kubernetes.io/instance": "argocd"},
            port,
            "/metrics",
            "http",
        )
        for name, port in {
            "application-controller": 8082,
            "server": 8083,
            "repo-server": 8084,
            "applicationset-controller": 8080,
            "notifications-controller": 9001,
        }.items()
    }
    assert [a.alert for a in targets["application-controller"].alerts] == ["ArgoAppMissing", "ArgoAppNotSynced"]
    assert all(not t.alerts for name, t in targets.items() if name != "application-controller")
    # ink's PodMonitors, not the chart's ServiceMonitors: the chart values (and the bootstrap install) stay the same.
    values = obj(result, "application-argocd-chart.yaml")["spec"]["source"]["helm"]["valuesObject"]
    assert (
        values
        == obj(synth(tmp_path / "plain"), "application-argocd-chart.yaml")["spec"]["source"]["helm"]["valuesObject"]
    )


def test_without_a_metrics_provider_nothing_is_scraped(default) -> None:
    assert testing.metrics_targets(default, "argocd") == {}


# --- environments ---------------------------------------------------------------------------------------------

HUB = """
[plugins.argocd]
clusters = { staging = "https://192.168.2.10:6443", lab = "https://k8s.lab.example.org:6443" }

[environments.staging]
domain = "staging.example.org"

[environments.lab]

[environments.test]
"""


def synth_environment(tmp_path: Path, config: str, environment: str | None):
    return testing.synth(tmp_path, config, plugins=["argocd"], extra=fakes(), environment=environment)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    return synth_environment(tmp_path_factory.mktemp("hub"), HUB, None)


def test_an_environment_syncs_from_its_own_folder(tmp_path: Path) -> None:
    config = '[plugins.argocd]\npath = "clusters/home/dist"\n\n[environments.staging]\n'
    result = synth_environment(tmp_path, config, "staging")
    assert (tmp_path / "dist-staging" / "argocd").is_dir()
    apps = applications(result)
    # Not delivered by the base (no clusters): it keeps its root, applied once on its cluster.
    assert apps["homelab"]["spec"]["source"]["path"] == "clusters/home/dist-staging/argocd"
    assert apps["consumer"]["spec"]["source"]["path"] == "clusters/home/dist-staging/consumer"
    assert apps["provider"]["spec"]["source"]["path"] == "clusters/home/dist-staging/provider"
    # The base is unchanged by the environment's presence.
    base = synth_environment(tmp_path / "base", config, None)
    assert applications(base)["consumer"]["spec"]["source"]["path"] == "clusters/home/dist/consumer"


def test_repository_root_as_path_in_an_environment_is_a_user_error(tmp_path: Path) -> None:
    from ink.errors import UserError

    config = '[plugins.argocd]\npath = "."\n\n[environments.staging]\n'
    assert applications(synth_environment(tmp_path / "base", config, None))["consumer"]["spec"]["source"]["path"] == (
        "consumer"
    )
    message = (
        r"^\[plugins\.argocd\] path = '\.': environment 'staging' is written beside the output \(<out>-staging\), "
        r"outside a repository whose root is the output; keep the output in a folder of the repository, "
        r"e\.g\. path = 'dist'$"
    )
    with pytest.raises(UserError, match=message):
        synth_environment(tmp_path / "env", config, "staging")
    # The base that delivers the environment needs its folder too.
    with pytest.raises(UserError, match=r"path = '\.': environment 'staging'"):
        hub = config.replace("\n\n", '\nclusters = { staging = "https://10.0.0.1:6443" }\n\n')
        synth_environment(tmp_path / "hub", hub, None)


def test_the_hub_delivers_its_environments_with_an_application_set(hub) -> None:
    appset = obj(hub, "applicationset-homelab-environments.yaml")
    assert appset["metadata"]["namespace"] == "argocd"
    assert appset["metadata"]["labels"]["app.kubernetes.io/component"] == "environments"
    spec = appset["spec"]
    # One element per clusters entry, by name; each environment's argocd folder beside dist/.
    assert spec["generators"] == [
        {
            "list": {
                "elements": [
                    {"environment": "lab", "server": "https://k8s.lab.example.org:6443", "path": "dist-lab/argocd"},
                    {"environment": "staging", "server": "https://192.168.2.10:6443", "path": "dist-staging/argocd"},
                ]
            }
        }
    ]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    # Removing an environment must not delete that cluster's Argo CD objects.
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    template = spec["template"]
    assert template["metadata"]["name"] == "homelab-{{.environment}}"
    assert "finalizers" not in template["metadata"]
    assert template["spec"]["project"] == "homelab-environments"
    assert template["spec"]["source"] == {"repoURL": DEFAULT_REPO_URL, "targetRevision": "main", "path": "{{.path}}"}
    assert template["spec"]["destination"] == {"server": "{{.server}}", "namespace": "argocd"}
    root = obj(hub, "application-homelab.yaml")
    assert template["spec"]["syncPolicy"] == root["spec"]["syncPolicy"]
    # After its project, and after every service of the hub: a cluster not yet registered leaves it Degraded.
    project = obj(hub, "appproject-homelab-environments.yaml")
    assert wave(appset) > wave(project)
    assert wave(appset) > max(wave(app) for app in applications(hub).values())


def test_the_environments_project_allows_their_clusters_argocd_namespace_only(hub) -> None:
    project = obj(hub, "appproject-homelab-environments.yaml")
    assert project["metadata"]["namespace"] == "argocd"
    assert project["spec"]["sourceRepos"] == [DEFAULT_REPO_URL]
    assert project["spec"]["destinations"] == [
        {"server": "https://k8s.lab.example.org:6443", "namespace": "argocd"},
        {"server": "https://192.168.2.10:6443", "namespace": "argocd"},
    ]
    # What an environment's argocd folder holds that is cluster-scoped: its Namespace.
    assert project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    # The hub's own objects are unchanged: the root is still there, the services' project the same.
    assert obj(hub, "application-homelab.yaml")["spec"]["source"]["path"] == "dist/argocd"


def test_the_hub_output_validates(hub, crd_dir: Path, ink_validator: ManifestValidator) -> None:
    assert (crd_dir / "argoproj.io" / "applicationset_v1alpha1.json").is_file()
    report = ink_validator.validate_all(testing.objects(hub).items())
    assert report.problems == []
    assert report.skipped == {}
    assert "ApplicationSet" in {o["kind"] for o in testing.objects(hub).values()}


def test_an_environment_the_hub_delivers_has_no_root(tmp_path: Path, ink_validator: ManifestValidator) -> None:
    result = synth_environment(tmp_path, HUB, "staging")
    apps = applications(result)
    assert "homelab" not in apps  # the hub's ApplicationSet syncs dist-staging/argocd to its cluster
    assert not any(o["kind"] == "ApplicationSet" for o in testing.objects(result).values())
    assert set(apps) == {"argocd-chart", "provider", "consumer"}
    assert apps["consumer"]["spec"]["source"]["path"] == "dist-staging/consumer"
    assert apps["consumer"]["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    assert {p["metadata"]["name"] for p in testing.objects(result).values() if p["kind"] == "AppProject"} == {
        "homelab",
        "argocd-chart",
    }
    domain = apps["argocd-chart"]["spec"]["source"]["helm"]["valuesObject"]["global"]["domain"]
    assert domain == "argocd.staging.example.org"
    # Only the hub dials the environments' API servers.
    assert "argocd/networkpolicy-allow-outside.yaml" not in result.files
    report = ink_validator.validate_all(testing.objects(result).items())
    assert (report.problems, report.skipped) == ([], {})


def test_an_environment_the_hub_does_not_deliver_keeps_its_root(tmp_path: Path) -> None:
    result = synth_environment(tmp_path, HUB, "test")
    root = applications(result)["homelab"]
    assert root["spec"]["source"]["path"] == "dist-test/argocd"
    assert root["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    assert not any(o["kind"] == "ApplicationSet" for o in testing.objects(result).values())
    assert "argocd/appproject-homelab-environments.yaml" not in result.files


def test_without_clusters_the_base_has_no_application_set(default) -> None:
    assert not any(path.startswith("argocd/applicationset-") for path in default.files)
    assert "argocd/appproject-homelab-environments.yaml" not in default.files
    assert "argocd/networkpolicy-allow-outside.yaml" not in default.files


def test_an_unknown_environment_in_clusters_is_a_user_error(tmp_path: Path) -> None:
    from ink.errors import UserError

    config = '[plugins.argocd]\nclusters = { stagin = "https://10.0.0.1:6443" }\n\n[environments.staging]\n'
    message = (
        r"^\[plugins\.argocd\] clusters: 'stagin' is not an environment of ink\.toml \(did you mean 'staging'\?\) "
        r"\(declared: staging\); fix the key or add an \[environments\.stagin\] table$"
    )
    with pytest.raises(UserError, match=message):
        synth_environment(tmp_path, config, None)


def test_the_environments_name_must_not_be_a_service_name(tmp_path: Path) -> None:
    from ink.errors import UserError

    config = '[plugins.argocd]\nclusters = { staging = "https://10.0.0.1:6443" }\n\n[environments.staging]\n'
    extra = {**fakes(), "homelab-environments": testing.StandIn("homelab-environments")}
    with pytest.raises(UserError, match=r"^\[plugins\.argocd\] clusters: .*'homelab-environments'.*project name"):
        testing.synth(tmp_path, config, plugins=["argocd"], extra=extra)


def test_clusters_in_an_environment_is_a_user_error(tmp_path: Path) -> None:
    from ink.errors import UserError

    config = '[environments.staging.plugins.argocd]\nclusters = { staging = "https://10.0.0.1:6443" }\n'
    message = (
        r"^\[environments\.staging\.plugins\.argocd\] clusters: only the base's Argo CD delivers environments; "
        r"move the entries to the base's \[plugins\.argocd\] clusters$"
    )
    with pytest.raises(UserError, match=message):
        synth_environment(tmp_path, config, None)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:6443", "10.0.0.1:6443", "https://", "https://10.0.0.1:port", "kubernetes.default.svc"]
)
def test_a_cluster_url_that_is_no_https_url_is_a_config_error(tmp_path: Path, url: str) -> None:
    from ink.errors import ConfigError

    config = f'[plugins.argocd]\nclusters = {{ staging = "{url}" }}\n\n[environments.staging]\n'
    with pytest.raises(ConfigError, match=r"clusters.*staging = .*give the https:// URL of that cluster's API server"):
        synth_environment(tmp_path, config, None)


def test_the_hub_may_reach_each_environment_api_server(hub) -> None:
    policy = obj(hub, "networkpolicy-allow-outside.yaml")
    assert policy["spec"]["podSelector"] == {}
    egress = {
        (block["ipBlock"]["cidr"], port["port"])
        for rule in policy["spec"]["egress"]
        for block in rule["to"]
        for port in rule["ports"]
    }
    # An IP literal: that address only; a host name: any address, on that port only.
    assert egress == {("192.168.2.10/32", 6443), ("0.0.0.0/0", 6443)}
    reasons = [
        f.why for f in hub.network.flows if f.source.namespace == "argocd" and f.target.name.startswith("outside:")
    ]
    assert sorted(reasons) == [
        "argocd: the application controller and server manage the cluster of environment 'lab'",
        "argocd: the application controller and server manage the cluster of environment 'staging'",
    ]
