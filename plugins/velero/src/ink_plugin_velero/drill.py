"""The restore drill: per drilled namespace, a CronJob restores its latest backup into ``drill-<namespace>``.

How a file-system (kopia) restore happens in Velero v1.18 (velero-io/velero at v1.18.2), and what follows:

- Data comes back only through a restored **pod**. ``pkg/restore/restore.go`` creates PodVolumeRestores only
  for a restored pod that has PodVolumeBackups, and only when the restore includes both
  ``persistentvolumeclaims`` and ``persistentvolumes``; the PodVolumeRestoreAction
  (``pkg/restore/actions/pod_volume_restore_action.go``) prepends the ``restore-wait`` init container, and the
  node agent starts copying only once that container runs (``pkg/controller/pod_volume_restore_controller.go``,
  ``isInitContainerRunning``). A restore of PVCs alone restores empty volumes.
- The pod must start, so the volumes it mounts must exist in the scratch namespace: its ConfigMaps and Secrets
  are restored too. Its ServiceAccount is not; the pod runs as ``default`` without a token.
- Resource modifiers apply *after* the restore item actions (``restoreItem``: actions, then
  ``ApplyResourceModifierRules``), to the object still in its original namespace. So the modifiers below see
  ``restore-wait`` at index 0 and can keep it while removing everything of the app: every restored pod's
  containers become one placeholder that prints the Velero version and exits; a pod with volumes to restore
  keeps only ``restore-wait`` as init container; every other pod gets a scheduling gate and never starts.
  No container of the app runs, and the scratch namespace is sealed (default-deny, no allow rule), so nothing
  restored can reach a live service.
- ``spec.scheduleName`` makes Velero pick the most recent backup in phase ``Completed`` of the schedule
  (``pkg/controller/restore_controller.go``, ``mostRecentCompletedBackup``).
"""

from __future__ import annotations

import json

import yaml

from ink import drill as drill_mod
from ink import kube
from ink.context import ServiceContext
from ink.podsecurity import restricted_container_context, restricted_pod_context
from ink_plugin_velero import Drill
from ink_plugin_velero.construct import SCHEDULE

# Docker's official busybox image, stable line (docker-library/official-images library/busybox: 1.37.0).
# renovate: datasource=docker depName=docker.io/library/busybox
BUSYBOX_IMAGE = "docker.io/library/busybox:1.37.0"
MODIFIERS = "drill-resource-modifiers"
CHECK = "drill-check"
ACCOUNT = "drill"
# Restored objects carry this label (Velero pkg/apis/velero/v1/labels_annotations.go, RestoreNameLabel).
RESTORE_LABEL = "velero.io/restore-name"
# restore-wait: pkg/restorehelper (WaitInitContainer).
RESTORE_WAIT = "restore-wait"
GATE = "ink.homelab/velero-drill"
# What a restored pod may need: itself, its volumes (with their PVs, for the pod volume restore) and the
# ConfigMaps and Secrets its other volumes name (without them the pod never starts, nor restore-wait in it).
RESOURCES = ("pods", "persistentvolumeclaims", "persistentvolumes", "configmaps", "secrets")
RESTORED = "pods,persistentvolumeclaims,configmaps,secrets"  # what the drill deletes again (PVs go with PVCs)
RESTORE_TIMEOUT = "3h"
CHECK_TIMEOUT = "1h"
NON_ROOT = 65532
RESTRICTED = restricted_container_context(NON_ROOT)
SMALL = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}


def restore(ctx: ServiceContext, drill: Drill) -> dict:
    """The Restore: the latest completed backup of the schedule, this namespace only, into its scratch namespace."""
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": drill.name, "namespace": ctx.namespace, "labels": ctx.labels("drill")},
        "spec": {
            "scheduleName": SCHEDULE,
            "includedNamespaces": [drill.namespace],
            "namespaceMapping": {drill.namespace: drill.name},
            "includedResources": list(RESOURCES),
            "resourceModifier": {"kind": "ConfigMap", "name": MODIFIERS},
            # Restored objects are copies: never touch anything that exists (the default, said out loud).
            "existingResourcePolicy": "none",
        },
    }


def _patch(operation: str, path: str, value: object = None, source: str = "") -> dict:
    """A Velero JSON patch: the value is a string, JSON for lists and objects (internal/resourcemodifiers)."""
    patch: dict = {"operation": operation, "path": path}
    if source:
        patch["from"] = source
    if value is not None:
        patch["value"] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return patch


def modifiers(ctx: ServiceContext) -> dict:
    """Resource modifier rules (velero.io docs, "Restore Resource Modifiers"; format version v1)."""
    placeholder = {
        "name": "drill-placeholder",
        "image": f"docker.io/velero/velero:{ctx.setting('image_tag')}",
        "command": ["/velero", "version", "--client-only"],
        "securityContext": RESTRICTED,
        "resources": SMALL,
    }
    return {
        "version": "v1",
        "resourceModifierRules": [
            {
                # Every PVC gets a new volume from its StorageClass, never the PV of the live claim.
                "conditions": {"groupResource": "persistentvolumeclaims"},
                "patches": [_patch("add", "/spec/volumeName", '""')],
            },
            {
                # Every pod: no container of the app, no ServiceAccount token, and gated (never scheduled).
                "conditions": {"groupResource": "pods"},
                "patches": [
                    _patch("add", "/spec/schedulingGates", [{"name": GATE}]),
                    _patch("replace", "/spec/containers", [placeholder]),
                    _patch("add", "/spec/restartPolicy", "Never"),
                    _patch("add", "/spec/serviceAccountName", "default"),
                    _patch("add", "/spec/serviceAccount", "default"),
                    _patch("add", "/spec/automountServiceAccountToken", False),
                    _patch("add", "/spec/enableServiceLinks", False),
                ],
            },
            {
                # A pod with volumes to restore: ungated, and restore-wait is its only init container.
                "conditions": {
                    "groupResource": "pods",
                    "matches": [{"path": "/spec/initContainers/0/name", "value": RESTORE_WAIT}],
                },
                "patches": [
                    _patch("remove", "/spec/schedulingGates"),
                    _patch("move", "/spec/restoreWait", source="/spec/initContainers/0"),
                    _patch("replace", "/spec/initContainers", []),
                    _patch("move", "/spec/initContainers/-", source="/spec/restoreWait"),
                ],
            },
        ],
    }


# The check, in the scratch namespace: each restored volume is mounted and must hold an entry besides what
# Velero and the filesystem put there (.velero: the restore's done files; lost+found: ext4). For people it
# prints the counts. A template for kube.render_template: $$ is a literal $.
CHECK_SCRIPT = """\
set -eu
for volume in $volumes; do
  dir=/volumes/$$volume
  [ -d "$$dir" ] || { echo "$$volume: not mounted" >&2; exit 1; }
  entries=$$(ls -A "$$dir" | grep -v -x -e .velero -e lost+found | wc -l)
  files=$$(find "$$dir" -path "$$dir/.velero" -prune -o -type f -print | wc -l)
  echo "$$volume: $$entries entries at the top, $$files files, $$(du -sk "$$dir" | cut -f1) KiB"
  [ "$$entries" -gt 0 ] || { echo "$$volume is empty: the restore brought nothing back" >&2; exit 1; }
done
"""


def check_job(ctx: ServiceContext, drill: Drill) -> dict:
    volumes = [target.volume for target in drill.targets]
    labels = ctx.labels("drill-check")
    script = kube.render_template(CHECK_SCRIPT, {"volumes": " ".join(volumes)})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": CHECK, "namespace": drill.name, "labels": dict(labels)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 3600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    # fsGroup makes the restored files readable to the check (the kubelet gives the group read
                    # access when the volume's root does not have it yet): this changes the scratch copy only.
                    "securityContext": {**restricted_pod_context(NON_ROOT), "fsGroupChangePolicy": "OnRootMismatch"},
                    "containers": [
                        {
                            "name": "check",
                            "image": BUSYBOX_IMAGE,
                            "command": ["sh", "-c", script],
                            "securityContext": RESTRICTED,
                            "resources": SMALL,
                            "volumeMounts": [
                                {"name": f"volume-{i}", "mountPath": f"/volumes/{v}"} for i, v in enumerate(volumes)
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": f"volume-{i}", "persistentVolumeClaim": {"claimName": v}}
                        for i, v in enumerate(volumes)
                    ],
                },
            },
        },
    }


VERIFIED = (
    "Restore Completed (the latest Completed backup of the schedule, every pod volume restore done); each volume "
    "mounted in the check Job holds an entry besides .velero and lost+found"
)


def _rbac(scope: kube.Construct, ctx: ServiceContext, drills: list[Drill]) -> None:
    """The drills' ServiceAccount: its Restores and result ConfigMaps here, restored copies in the scratch namespaces.

    No ClusterRole: everything it touches is namespaced. ``create`` cannot be limited to a name (Kubernetes RBAC
    docs, "Referring to resources"); kubectl delete and wait read what they act on (get, list with a name or a
    selector, watch), apply reads before it patches.
    """
    rbac = "rbac.authorization.k8s.io"
    subject = {"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ctx.namespace}
    meta = {"name": ACCOUNT, "namespace": ctx.namespace, "labels": ctx.labels("drill")}
    kube.api_object(scope, "drill-serviceaccount", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    own = [
        {"apiGroups": ["velero.io"], "resources": ["restores"], "verbs": ["create"]},
        {
            "apiGroups": ["velero.io"],
            "resources": ["restores"],
            "resourceNames": [d.name for d in drills],
            "verbs": ["get", "list", "watch", "delete"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [d.result for d in drills],
            "verbs": ["get", "patch"],
        },
    ]
    scratch = [
        {
            "apiGroups": [""],
            "resources": sorted(RESTORED.split(",")),
            "verbs": ["get", "list", "watch", "delete"],
        },
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
        {
            "apiGroups": ["batch"],
            "resources": ["jobs"],
            "resourceNames": [CHECK],
            "verbs": ["get", "list", "watch", "delete"],
        },
    ]
    # The Role here is `drill`; in each scratch namespace it is named like the drill (output paths are per name).
    for namespace, rules, name in [(ctx.namespace, own, ACCOUNT), *((d.name, scratch, d.name) for d in drills)]:
        meta = {"name": name, "namespace": namespace, "labels": ctx.labels("drill")}
        kube.api_object(
            scope, f"{name}-role", {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": meta, "rules": rules}
        )
        kube.api_object(
            scope,
            f"{name}-rolebinding",
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
                "subjects": [subject],
            },
        )


def drill_all(scope: kube.Construct, *, ctx: ServiceContext, drills: list[Drill]) -> None:
    if not drills:
        return
    _rbac(scope, ctx, drills)
    kube.api_object(
        scope,
        "drill-modifiers",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": MODIFIERS, "namespace": ctx.namespace, "labels": ctx.labels("drill")},
            # Velero reads a modifier ConfigMap with exactly one key (GetResourceModifiersFromConfig).
            "data": {"modifiers.yaml": yaml.safe_dump(modifiers(ctx), sort_keys=False)},
        },
    )
    for drill in drills:
        _drill(scope, ctx, drill)


def _drill(scope: kube.Construct, ctx: ServiceContext, drill: Drill) -> None:
    """One namespace's CronJob: its init containers run one after another, a failing one fails the Job.

    Forget the last Restore and clean the scratch namespace; restore; wait for Completed; delete the restored
    pods (they only ran restore-wait and the placeholder) so the volumes are free; run the check Job and wait
    for it; record the result; clean up again. A failed run leaves everything for inspection until the next.
    """
    manifests = kube.ConfigFiles(
        name=drill.name,
        mount_path="/drill",
        files={
            "restore.yaml": yaml.safe_dump(restore(ctx, drill), sort_keys=False),
            "check.yaml": yaml.safe_dump(check_job(ctx, drill), sort_keys=False),
        },
    )
    kubectl = drill_mod.kubectl
    restored = f"--selector={RESTORE_LABEL}={drill.name}"

    def clean(prefix: str) -> list[kube.Container]:
        check = ("delete", f"job/{CHECK}", "--ignore-not-found", "--wait=true", "--cascade=foreground")
        copies = ("delete", RESTORED, restored, "--ignore-not-found", "--wait=true")
        return [kubectl(f"{prefix}-check", drill.name, *check), kubectl(f"{prefix}-restored", drill.name, *copies)]

    # The result, written only when every step before succeeded; the next step applies it (that image has
    # kubectl but no shell, this one a shell but no kubectl).
    fields = {
        "namespace": drill.namespace,
        "restore": drill.name,
        "volumes": " ".join(t.volume for t in drill.targets),
        "verified": VERIFIED,
    }
    result = kube.Container(
        name="result",
        image=BUSYBOX_IMAGE,
        command=["sh", "-c", "set -eu\n" + drill_mod.result_script(drill.result, ctx.namespace, fields)],
        mounts=(drill_mod.RESULT_VOLUME,),
        resources=drill_mod.STEP_RESOURCES,
    )
    restore_object = f"restore.velero.io/{drill.name}"
    *final, last = clean("clean")
    kube.Workloads(
        scope,
        drill.name,
        ctx=ctx,
        components=[
            kube.Component(
                name=drill.name,
                object_name=drill.name,
                kind="CronJob",
                schedule=drill.schedule,
                service_account=ACCOUNT,
                user=NON_ROOT,
                job=kube.SetupJob(backoff_limit=0),
                init_containers=[
                    kubectl("forget", ctx.namespace, "delete", restore_object, "--ignore-not-found", "--wait=true"),
                    *clean("leftover"),
                    kubectl("restore", ctx.namespace, "create", "--filename=/drill/restore.yaml", mounts=(manifests,)),
                    kubectl(
                        "wait-restore",
                        ctx.namespace,
                        "wait",
                        restore_object,
                        "--for=jsonpath={.status.phase}=Completed",
                        f"--timeout={RESTORE_TIMEOUT}",
                    ),
                    kubectl("release", drill.name, "delete", "pods", restored, "--wait=true"),
                    kubectl("check", drill.name, "create", "--filename=/drill/check.yaml", mounts=(manifests,)),
                    kubectl(
                        "wait-check",
                        drill.name,
                        "wait",
                        f"job/{CHECK}",
                        "--for=condition=Complete",
                        f"--timeout={CHECK_TIMEOUT}",
                    ),
                    result,
                    drill_mod.record(ctx.namespace),
                    *final,
                ],
                containers=[last],
            )
        ],
    )
