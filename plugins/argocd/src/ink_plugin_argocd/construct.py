"""Argo CD's own install, the AppProject, one Application per service folder, and the root app.

Upstream facts:
- Chart ``argo-cd`` from https://argoproj.github.io/argo-helm; everything under ``configs.cm`` is copied
  into the ``argocd-cm`` ConfigMap (templates/_helpers.tpl, ``argo-cd.config.cm``).
- Since Argo CD 1.8 an Application has no health of its own, so sync waves between child Applications
  do not wait for the children to become healthy. The documented fix is the Lua health check below
  (docs/operator-manual/health.md, "Argocd App").
- Release name ``argocd`` with the chart's ``nameOverride: argocd`` gives the upstream object names
  (``argocd-server``, ``argocd-repo-server``, ...), the same as the bootstrap ``helm install argocd``.
- An ApplicationSet's Applications get the resources finalizer (a cascade delete) unless
  ``spec.syncPolicy.preserveResourcesOnDeletion`` is true, and are deleted with the ApplicationSet or when
  their generator element goes (docs/operator-manual/applicationset/Application-Deletion.md). Its health
  (resource_customizations/argoproj.io/ApplicationSet/health.lua) is Degraded while it cannot generate an
  Application, e.g. for a destination cluster not yet registered with ``argocd cluster add``.
"""

from __future__ import annotations

import posixpath

from ink import kube
from ink.context import ServiceContext
from ink.synth import Manifest
from ink_plugin_argocd import CHART_REPO, DEFAULT_REPO_URL, environments_name, output_path

IN_CLUSTER = kube.IN_CLUSTER
RELEASE = "argocd"
APPLICATION_HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
# Verbatim from the Argo CD docs (operator-manual/health.md): an Application is as healthy as it reports
# itself, and Progressing until it reports anything.
APPLICATION_HEALTH_LUA = """hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"""
# Waves inside the root app. Service Applications use core's waves (0 and up).
ROOT_WAVE = -3  # the root app's own changes (repository, revision) apply first
PROJECT_WAVE = -2  # the AppProject must exist before any Application that belongs to it
SELF_WAVE = -1  # Argo CD itself (and with it the health check) before the services
RETRY = {"limit": 10, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}}


def chart_values(ctx: ServiceContext) -> dict:
    """The values of the argo-cd chart: also what the one-time bootstrap `helm install` must use."""
    return {
        # Argo CD's external URL (argocd-cm `url`), used by SSO and notifications.
        "global": {"domain": f"argocd.{ctx.domain}"},
        "configs": {"cm": {APPLICATION_HEALTH_KEY: APPLICATION_HEALTH_LUA}},
    }


def source_path(ctx: ServiceContext, folder: str, environment: str | None = None) -> str:
    """``folder`` of this run's output in the repository (of ``environment``'s, for the ApplicationSet)."""
    base = output_path(ctx.settings.path, environment if environment is not None else ctx.environment)
    return posixpath.normpath(posixpath.join(base, folder))


def git_source(ctx: ServiceContext, folder: str) -> dict:
    return {
        "repoURL": ctx.settings.repo_url,
        "targetRevision": ctx.settings.target_revision,
        "path": source_path(ctx, folder),
    }


def gitops(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    settings = ctx.settings
    if settings.repo_url == DEFAULT_REPO_URL:
        ctx.warn(
            f"repo_url is the placeholder {DEFAULT_REPO_URL}: Argo CD cannot sync from it. Push the output to "
            'your Git repository and set [plugins.argocd] repo_url = "https://github.com/<you>/<repo>.git"'
        )
    install(scope, ctx=ctx)
    project(scope, ctx=ctx)
    # An environment the base delivers has no root: the base's ApplicationSet syncs this folder to its cluster.
    if ctx.environment not in settings.clusters:
        root(scope, ctx=ctx)
    for name in sorted(ctx.services):
        if name != ctx.name:  # this folder is synced by the root app
            service_application(scope, ctx=ctx, service=name)
    if ctx.environment is None and settings.clusters:  # only the base is the hub
        environments_project(scope, ctx=ctx)
        environments(scope, ctx=ctx)


def install(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """Argo CD itself, from the official chart: after the bootstrap, Argo CD upgrades itself."""
    kube.helm_application(
        scope,
        ctx=ctx,
        release=RELEASE,
        repo_url=CHART_REPO,
        chart="argo-cd",
        # What the chart installs cluster-wide (checked against its rendering by tests/test_charts.py).
        cluster_kinds=("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"),
        version=ctx.settings.chart_version,
        values=chart_values(ctx),
        sync_wave=SELF_WAVE,
        # Deleting this Application must never uninstall the Argo CD that runs it.
        cascade_delete=False,
    )


def project(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """The AppProject of the service folders: only the namespaces and cluster-scoped kinds they hold.

    Both lists are computed from the output itself (``kube.from_output``), once every plugin has emitted its
    objects: each folder but this one (the root app syncs it, in ``default``). The charts' own objects are not
    in it: each chart Application has its own project (``kube.helm_application``).
    """
    obj = kube.api_object(
        scope,
        "project",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {
                "name": ctx.settings.project,
                "namespace": kube.ARGOCD_NAMESPACE,
                "labels": ctx.labels("project"),
                "annotations": {"argocd.argoproj.io/sync-wave": str(PROJECT_WAVE)},
            },
            "spec": {
                "description": "Every service folder ink synthesises into dist/.",
                # Only the homelab repository: the service folders are plain manifests from it.
                "sourceRepos": [ctx.settings.repo_url],
            },
        },
    )
    kube.from_output(ctx, obj, "/spec/destinations", lambda manifests: destinations(manifests, ctx.name))
    # An AppProject denies every cluster-scoped kind it does not list.
    kube.from_output(ctx, obj, "/spec/clusterResourceWhitelist", lambda manifests: cluster_kinds(manifests, ctx.name))


def _synced(manifests: list[Manifest], own_folder: str) -> list[Manifest]:
    """The objects the service Applications sync: every folder but Argo CD's own."""
    return [m for m in manifests if m.folder != own_folder]


def destinations(manifests: list[Manifest], own_folder: str) -> list[dict[str, str]]:
    """Every namespace a service folder holds (its Namespace: the service Application's destination) or writes
    namespaced objects to (argocd, for the chart Applications and their projects)."""
    synced = _synced(manifests, own_folder)
    namespaces = {m.namespace for m in synced if m.namespace} | {m.name for m in synced if m.kind == "Namespace"}
    return [{"server": IN_CLUSTER, "namespace": namespace} for namespace in sorted(namespaces)]


def cluster_kinds(manifests: list[Manifest], own_folder: str) -> list[dict[str, str]]:
    """Every cluster-scoped kind (with its group) a service folder holds."""
    return _cluster_kinds(_synced(manifests, own_folder))


def _cluster_kinds(manifests: list[Manifest]) -> list[dict[str, str]]:
    kinds = {(str(m.body.get("apiVersion", "")).rpartition("/")[0], m.kind) for m in manifests if not m.namespace}
    return [{"group": group, "kind": kind} for group, kind in sorted(kinds)]


def root(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """The app of apps: syncs dist/argocd (this folder, itself included). Applied once with kubectl."""
    kube.api_object(
        scope,
        "root",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": ctx.settings.project,
                "namespace": kube.ARGOCD_NAMESPACE,
                "labels": ctx.labels("app-of-apps"),
                "annotations": {"argocd.argoproj.io/sync-wave": str(ROOT_WAVE)},
                # No resources finalizer: deleting the root must never cascade into every service.
            },
            "spec": {
                # `default`, not the AppProject: the root creates that project, so it cannot belong to it.
                "project": "default",
                "source": git_source(ctx, ctx.name),
                "destination": {"server": IN_CLUSTER, "namespace": kube.ARGOCD_NAMESPACE},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["ServerSideApply=true"],
                    "retry": RETRY,
                },
            },
        },
    )


def service_application(scope: kube.Construct, *, ctx: ServiceContext, service: str) -> None:
    info = ctx.services[service]
    kube.api_object(
        scope,
        f"app-{service}",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": service,
                "namespace": kube.ARGOCD_NAMESPACE,
                "labels": ctx.labels("app-of-apps"),
                # Providers before the services that need them; the health check above makes each wave
                # wait until the Applications of the previous one are Healthy.
                "annotations": {"argocd.argoproj.io/sync-wave": str(ctx.waves[service])},
                # No resources finalizer (see the README): a cascade delete would delete the folder's
                # Namespace, and with it every PersistentVolumeClaim in it.
            },
            "spec": {
                "project": ctx.settings.project,
                "source": git_source(ctx, service),
                "destination": {"server": IN_CLUSTER, "namespace": info.namespace or info.name},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    # No CreateNamespace: the folder holds its Namespace (with its Pod Security labels),
                    # which Argo CD applies before the namespaced objects.
                    "syncOptions": ["ServerSideApply=true"],
                    "retry": RETRY,
                },
            },
        },
    )


def environments_project(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """The AppProject of the environments' root Applications: each cluster's argocd namespace only."""
    obj = kube.api_object(
        scope,
        "environments-project",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {
                "name": environments_name(ctx.settings.project),
                "namespace": kube.ARGOCD_NAMESPACE,
                "labels": ctx.labels("environments"),
                "annotations": {"argocd.argoproj.io/sync-wave": str(PROJECT_WAVE)},
            },
            "spec": {
                "description": "The argocd folder of every environment this Argo CD delivers, on its cluster.",
                "sourceRepos": [ctx.settings.repo_url],
                # Everything in an environment's argocd folder is in the argocd namespace but its Namespace.
                "destinations": [
                    {"server": url, "namespace": kube.ARGOCD_NAMESPACE}
                    for _, url in sorted(ctx.settings.clusters.items())
                ],
            },
        },
    )
    # The environments' output is not visible here; their argocd folders are written by this plugin and core
    # as this one is (less the ApplicationSet and this project, namespaced), so this folder's cluster-scoped
    # kinds (today only the Namespace argocd) stand for theirs.
    kube.from_output(
        ctx, obj, "/spec/clusterResourceWhitelist", lambda manifests: own_cluster_kinds(manifests, ctx.name)
    )


def own_cluster_kinds(manifests: list[Manifest], own_folder: str) -> list[dict[str, str]]:
    """Every cluster-scoped kind (with its group) Argo CD's own folder holds."""
    return _cluster_kinds([m for m in manifests if m.folder == own_folder])


def environments(scope: kube.Construct, *, ctx: ServiceContext) -> None:
    """One root Application per delivered environment, on its cluster: syncs that environment's argocd folder."""
    settings = ctx.settings
    elements = [
        {"environment": name, "server": url, "path": source_path(ctx, ctx.name, environment=name)}
        for name, url in sorted(settings.clusters.items())
    ]
    kube.api_object(
        scope,
        "environments",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {
                "name": environments_name(settings.project),
                "namespace": kube.ARGOCD_NAMESPACE,
                "labels": ctx.labels("environments"),
                # After everything of this cluster's own (the project it uses is in PROJECT_WAVE): it is Degraded
                # while a cluster is not registered yet, and a Degraded wave would hold back the later ones.
                "annotations": {"argocd.argoproj.io/sync-wave": str(max(ctx.waves.values(), default=0) + 1)},
            },
            "spec": {
                "generators": [{"list": {"elements": elements}}],
                "goTemplate": True,
                # A misspelt parameter is an error, not an empty string.
                "goTemplateOptions": ["missingkey=error"],
                # Removing an environment (or this ApplicationSet) deletes its Application but must not delete
                # that cluster's Argo CD objects: without this, the Applications get the resources finalizer.
                "syncPolicy": {"preserveResourcesOnDeletion": True},
                "template": {
                    "metadata": {
                        "name": f"{settings.project}-{{{{.environment}}}}",
                        "labels": ctx.labels("app-of-apps"),
                    },
                    "spec": {
                        "project": environments_name(settings.project),
                        # The base's repository and revision: an environment's own apply to its services only.
                        "source": {
                            "repoURL": settings.repo_url,
                            "targetRevision": settings.target_revision,
                            "path": "{{.path}}",
                        },
                        "destination": {"server": "{{.server}}", "namespace": kube.ARGOCD_NAMESPACE},
                        "syncPolicy": {
                            "automated": {"prune": True, "selfHeal": True},
                            "syncOptions": ["ServerSideApply=true"],
                            "retry": RETRY,
                        },
                    },
                },
            },
        },
    )
