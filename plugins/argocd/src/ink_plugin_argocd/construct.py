"""Argo CD's own install, the AppProject, one Application per service folder, and the root app.

Upstream facts:
- Chart ``argo-cd`` from https://argoproj.github.io/argo-helm; everything under ``configs.cm`` is copied
  into the ``argocd-cm`` ConfigMap (templates/_helpers.tpl, ``argo-cd.config.cm``).
- Since Argo CD 1.8 an Application has no health of its own, so sync waves between child Applications
  do not wait for the children to become healthy. The documented fix is the Lua health check below
  (docs/operator-manual/health.md, "Argocd App").
- Release name ``argocd`` with the chart's ``nameOverride: argocd`` gives the upstream object names
  (``argocd-server``, ``argocd-repo-server``, ...), the same as the bootstrap ``helm install argocd``.
"""

from __future__ import annotations

import posixpath

from ink import kube
from ink.context import ServiceContext
from ink.synth import Manifest
from ink_plugin_argocd import CHART_REPO, DEFAULT_REPO_URL, output_path

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


def source_path(ctx: ServiceContext, folder: str) -> str:
    """``folder`` of this run's output in the repository."""
    return posixpath.normpath(posixpath.join(output_path(ctx.settings.path, ctx.environment), folder))


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
    root(scope, ctx=ctx)
    for name in sorted(ctx.services):
        if name != ctx.name:  # this folder is synced by the root app
            service_application(scope, ctx=ctx, service=name)


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
    kinds = {
        (str(m.body.get("apiVersion", "")).rpartition("/")[0], m.kind)
        for m in _synced(manifests, own_folder)
        if not m.namespace
    }
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
