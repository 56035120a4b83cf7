"""Velero: the chart, the storage location on the claimed bucket, one Schedule, backup bindings, and the restore
drill (the Restore's filters, what the resource modifiers do to a restored pod, the check, the steps, RBAC, the
sealed scratch namespace, the drill settings)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonpatch
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ink import hookimpl, sealing, testing
from ink.errors import ConfigError, PluginError, UserError
from ink.models import (
    BackupBinding,
    BackupTarget,
    BucketClaim,
    Capability,
    S3Binding,
    SecretKeyRef,
    ServiceInfo,
)
from ink.plugins import make_plugin_host
from ink.podsecurity import RunAsRoot
from ink.secrets import MasterKey
from ink.settings import check_cron
from ink.validate import ManifestValidator
from ink_plugin_minio import access_key_id, secret_access_key

PLUGINS = ["velero", "minio", "sealed-secrets"]


class App:
    """A consumer with a data volume it declares as a backup target."""

    def __init__(self, name: str = "notes", pod_volume: str = "data") -> None:
        self.name = name
        self.pod_volume = pod_volume
        self.binding: BackupBinding | None = None

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(name=self.name, title=self.name.title(), version="1.0.0", homepage="https://example.org")

    @hookimpl
    def ink_backup_targets(self) -> list[BackupTarget]:
        return [BackupTarget(volume=f"{self.name}-data", pod_volume=self.pod_volume)]

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:
        from ink import kube

        self.binding = ctx.backup(f"{self.name}-data")
        kube.Workloads(
            scope,
            self.name,
            ctx=ctx,
            components=[
                kube.Component(
                    name="server",
                    object_name=self.name,
                    containers=[
                        kube.Container(
                            name="server",
                            image="docker.io/library/nginx:1.29.0",
                            ports=[kube.Port(name="http", number=8080)],
                            health=kube.HttpProbe(path="/", port=8080),
                            mounts=[kube.Volume(name="data", mount_path="/data", size="1Gi")],
                        )
                    ],
                )
            ],
        )


def synth(directory: Path, config: str = "", **apps: App):
    return testing.synth(directory, config, plugins=PLUGINS, extra=apps)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("velero")
    notes, wiki = App("notes"), App("wiki")
    return directory, synth(directory, notes=notes, wiki=wiki), notes


def objects(default) -> dict:
    return testing.objects(default[1])


def test_discovered_through_its_entry_point() -> None:
    assert make_plugin_host(environ={}).dists["velero"].distribution == "ink-plugin-velero"


def test_output_matches_reviewed_snapshot(default, snapshot) -> None:
    assert testing.snapshot_text(default[1], ["velero"]) == snapshot


def test_output_validates(default, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(objects(default).items())
    assert report.problems == []
    assert report.skipped == {}


def test_installed_from_the_official_chart_with_aws_plugin_and_node_agent(default) -> None:
    app = objects(default)["velero/application-velero-chart.yaml"]
    source = app["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        "https://vmware-tanzu.github.io/helm-charts",
        "velero",
        "12.2.0",
    )
    values = source["helm"]["valuesObject"]
    assert values["image"]["tag"] == "v1.18.4"
    assert values["initContainers"][0]["image"] == "docker.io/velero/velero-plugin-for-aws:v1.14.4"
    assert values["initContainers"][0]["volumeMounts"] == [{"mountPath": "/target", "name": "plugins"}]
    assert values["deployNodeAgent"] is True
    assert values["configuration"]["uploaderType"] == "kopia"
    assert app["spec"]["destination"]["namespace"] == "velero"


def test_namespace_is_privileged_for_the_node_agent(default) -> None:
    labels = objects(default)["velero/namespace-velero.yaml"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_storage_location_on_the_claimed_bucket(default) -> None:
    location = objects(default)["velero/backupstoragelocation-default.yaml"]
    assert location["spec"]["provider"] == "aws"
    assert location["spec"]["objectStorage"] == {"bucket": "velero"}
    assert location["spec"]["config"] == {
        "region": "us-east-1",
        "s3ForcePathStyle": "true",
        "s3Url": "http://minio.minio.svc:9000",
    }
    assert location["spec"]["credential"] == {"name": "velero-s3-credentials", "key": "cloud"}
    assert location["spec"]["default"] is True


def test_credentials_file_holds_the_buckets_key_pair(default) -> None:
    directory, result, _ = default
    body = testing.objects(result)["velero/sealedsecret-velero-s3-credentials.yaml"]
    key = serialization.load_pem_private_key((directory / ".ink" / sealing.DEV_KEY_NAME).read_bytes(), None)
    cloud = sealing.unseal_value(
        key, namespace="velero", name="velero-s3-credentials", ciphertext=body["spec"]["encryptedData"]["cloud"]
    ).decode()
    # Built from the binding's key pair specs: the same ids the S3 provider (minio) generates.
    master = MasterKey(testing.TEST_MASTER_KEY.encode(), "test")
    key_id, secret = master.derive(access_key_id("velero")), master.derive(secret_access_key("velero"))
    assert cloud == f"[default]\naws_access_key_id={key_id}\naws_secret_access_key={secret}\n"
    # The same pair the S3 provider gave the bucket's user.
    minio = testing.objects(result)["minio/sealedsecret-velero-s3.yaml"]
    opened = sealing.unseal_value(
        key, namespace="minio", name="velero-s3", ciphertext=minio["spec"]["encryptedData"]["AWS_ACCESS_KEY_ID"]
    ).decode()
    assert opened == key_id


class BareS3:
    """An S3 provider whose binding carries Secret refs only, not the key pair's specs."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name="bare-s3", title="Bare S3", version="1.0.0", homepage="https://example.org", provides=(Capability.S3,)
        )

    @hookimpl
    def ink_provide_bucket(self, claim: BucketClaim) -> S3Binding:
        name = f"{claim.bucket}-keys"
        return S3Binding(
            endpoint="http://s3.example:9000",
            bucket=claim.bucket,
            access_key_id=SecretKeyRef(name=name, key="id"),
            secret_access_key=SecretKeyRef(name=name, key="secret"),
        )


def test_an_s3_provider_without_the_key_pair_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"'bare-s3' does not expose how the key pair of bucket 'velero'"):
        testing.synth(tmp_path, plugins=["velero", "sealed-secrets"], extra={"bare-s3": BareS3(), "notes": App()})


def test_one_schedule_for_every_namespace_with_targets(default) -> None:
    found = objects(default)
    schedules = [body for path, body in found.items() if body["kind"] == "Schedule"]
    assert len(schedules) == 1
    spec = schedules[0]["spec"]
    assert spec["schedule"] == "0 3 * * *"
    assert spec["template"]["ttl"] == "720h"
    assert spec["template"]["includedNamespaces"] == ["notes", "wiki"]
    assert spec["template"]["defaultVolumesToFsBackup"] is False
    assert spec["template"]["storageLocation"] == "default"
    assert not any(body["kind"] == "Backup" for body in found.values())


def test_binding_and_the_pod_annotation_it_asks_for(default) -> None:
    binding = default[2].binding
    assert binding is not None
    assert (binding.schedule, binding.ttl, binding.method) == ("0 3 * * *", "720h", "velero file-system backup")
    assert binding.pod_annotations == {"backup.velero.io/backup-volumes": "data"}
    deployment = objects(default)["notes/deployment-notes.yaml"]
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {"backup.velero.io/backup-volumes": "data"}


def test_a_target_without_pod_volume_is_warned_about(tmp_path: Path) -> None:
    result = synth(tmp_path, notes=App(pod_volume=""))
    assert any("names no pod volume" in warning for warning in result.warnings)
    deployment = testing.objects(result)["notes/deployment-notes.yaml"]
    assert "annotations" not in deployment["spec"]["template"]["metadata"]


def test_no_targets_no_schedule(tmp_path: Path) -> None:
    # Velero reads an empty includedNamespaces as "all namespaces".
    result = synth(tmp_path)
    assert not any(body["kind"] == "Schedule" for body in testing.objects(result).values())
    assert "velero/backupstoragelocation-default.yaml" in result.files


def test_settings_from_ink_toml(tmp_path: Path) -> None:
    config = """
[plugins.velero]
schedule = "30 1 * * MON-FRI"
ttl = "168h"
chart_version = "12.1.0"
"""
    app = App()
    result = synth(tmp_path, config, notes=app)
    found = testing.objects(result)
    assert found["velero/schedule-declared-volumes.yaml"]["spec"]["schedule"] == "30 1 * * MON-FRI"
    assert found["velero/schedule-declared-volumes.yaml"]["spec"]["template"]["ttl"] == "168h"
    assert found["velero/application-velero-chart.yaml"]["spec"]["source"]["targetRevision"] == "12.1.0"
    assert app.binding is not None and app.binding.schedule == "30 1 * * MON-FRI"


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__VELERO__SCHEDULE", "0 4 * * *")
    result = synth(tmp_path, notes=App())
    assert testing.objects(result)["velero/schedule-declared-volumes.yaml"]["spec"]["schedule"] == "0 4 * * *"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 0 3 * * *", "has 6 fields"),
        ("@daily", "has 1 field"),
        ("61 3 * * *", "minute field '61'"),
        ("0 24 * * *", "outside 0-23"),
        ("0 3 * * funday", "day of week"),
    ],
)
def test_a_bad_schedule_is_a_clear_error(tmp_path: Path, schedule: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"5-field cron|outside|not valid") as raised:
        synth(tmp_path, f'[plugins.velero]\nschedule = "{schedule}"\n', notes=App())
    assert message in str(raised.value)


@pytest.mark.parametrize("schedule", ["0 3 * * *", "*/15 * * * *", "0 2,14 1-7 JAN-JUN 1", "0 0 * * 6", "0 0 * * SUN"])
def test_valid_schedules(schedule: str) -> None:
    assert check_cron(schedule) == schedule


# --- the restore drill ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory):
    notes, wiki = App("notes"), App("wiki")
    result = synth(tmp_path_factory.mktemp("drill"), notes=notes, wiki=wiki)
    return result, testing.objects(result), notes


def manifest(found: dict, namespace: str, name: str) -> dict:
    return yaml.safe_load(found[f"velero/configmap-drill-{namespace}.yaml"]["data"][name])


def steps(found: dict, namespace: str) -> dict[str, list[str]]:
    pod = found[f"velero/cronjob-drill-{namespace}.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return {c["name"]: c["command"] for c in [*pod["initContainers"], *pod["containers"]]}


# --- the Restore ------------------------------------------------------------------------------------


def test_the_restore_takes_the_latest_completed_backup_of_one_namespace_into_its_scratch_namespace(drilled) -> None:
    _, found, _ = drilled
    restore = manifest(found, "notes", "restore.yaml")
    assert restore["metadata"] == {
        "name": "drill-notes",
        "namespace": "velero",
        "labels": found["velero/cronjob-drill-notes.yaml"]["metadata"]["labels"]
        | {"app.kubernetes.io/component": "drill"},
    }
    assert restore["spec"] == {
        "scheduleName": "declared-volumes",  # Velero picks that schedule's newest backup in phase Completed
        "includedNamespaces": ["notes"],
        "namespaceMapping": {"notes": "drill-notes"},
        # Pods drive the file-system restore, which needs PVCs and PVs included; their ConfigMap and Secret
        # volumes let them start. Nothing else: no Deployment, Service, Ingress, ServiceAccount, CRs.
        "includedResources": ["pods", "persistentvolumeclaims", "persistentvolumes", "configmaps", "secrets"],
        "resourceModifier": {"kind": "ConfigMap", "name": "drill-resource-modifiers"},
        "existingResourcePolicy": "none",
    }


def test_the_restore_names_only_fields_of_velero_s_restore_spec(drilled) -> None:
    # velero-io/velero v1.18.2 config/crd/v1/bases/velero.io_restores.yaml, spec.properties (no CRD in ../shared).
    known = {
        "backupName", "excludedNamespaces", "excludedResources", "existingResourcePolicy", "hooks",
        "includeClusterResources", "includedNamespaces", "includedResources", "itemOperationTimeout",
        "labelSelector", "namespaceMapping", "orLabelSelectors", "preserveNodePorts", "resourceModifier",
        "restorePVs", "restoreStatus", "scheduleName", "uploaderConfig",
    }  # fmt: skip
    assert set(manifest(drilled[1], "wiki", "restore.yaml")["spec"]) <= known


# --- the resource modifiers, applied as Velero applies them ---------------------------------------------


def _velero_value(value: str):
    """internal/resourcemodifiers/json_patch.go addQuotes: JSON for lists, objects, booleans, numbers, null."""
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    if value.lower() in ("null", "true", "false") or value[:1] in ("{", "["):
        return json.loads(value.lower() if value.lower() in ("true", "false") else value)
    try:
        float(value)
    except ValueError:
        return value
    return json.loads(value)


def _matches(obj: dict, conditions: dict, group_resource: str) -> bool:
    if conditions["groupResource"] != group_resource:
        return False
    for rule in conditions.get("matches", []):
        try:
            jsonpatch.apply_patch(obj, [{"op": "test", "path": rule["path"], "value": _velero_value(rule["value"])}])
        except (jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPointerException):
            return False
    return True


def modify(found: dict, obj: dict, group_resource: str) -> dict:
    """ResourceModifiers.ApplyResourceModifierRules: every rule matches the original, patches apply in order."""
    rules = yaml.safe_load(found["velero/configmap-drill-resource-modifiers.yaml"]["data"]["modifiers.yaml"])
    assert rules["version"] == "v1"
    origin, result = copy.deepcopy(obj), copy.deepcopy(obj)
    for rule in rules["resourceModifierRules"]:
        if not _matches(origin, rule["conditions"], group_resource):
            continue
        ops = []
        for patch in rule["patches"]:
            op = {"op": patch["operation"], "path": patch["path"]}
            if "from" in patch:
                op["from"] = patch["from"]
            if patch["operation"] in ("add", "replace", "test"):
                op["value"] = _velero_value(patch["value"])
            ops.append(op)
        result = jsonpatch.apply_patch(result, ops)
    return result


def _container(name: str) -> dict:
    return {"name": name, "image": f"example.org/{name}:1", "securityContext": {"runAsNonRoot": True}}


def _pod(init: list[dict]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "notes-5d8f-x2", "namespace": "notes"},
        "spec": {
            "serviceAccountName": "notes",
            "serviceAccount": "notes",
            "initContainers": init,
            "containers": [_container("server"), _container("sidecar")],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "notes-data"}}],
        },
    }


def test_a_pod_with_volumes_to_restore_runs_only_restore_wait_then_a_placeholder(drilled) -> None:
    found = drilled[1]
    # As the PodVolumeRestoreAction leaves it: restore-wait first, then the app's own init containers.
    pod = modify(found, _pod([_container("restore-wait"), _container("migrate")]), "pods")
    spec = pod["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["restore-wait"]
    assert spec["initContainers"][0]["image"] == "example.org/restore-wait:1"
    assert "schedulingGates" not in spec and "restoreWait" not in spec
    (placeholder,) = spec["containers"]
    assert placeholder["image"] == "docker.io/velero/velero:v1.18.4"
    assert placeholder["command"] == ["/velero", "version", "--client-only"]
    assert placeholder["securityContext"]["runAsNonRoot"] is True
    assert placeholder["resources"]["limits"]["memory"]
    assert (spec["restartPolicy"], spec["serviceAccountName"], spec["serviceAccount"]) == (
        "Never",
        "default",
        "default",
    )
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    assert spec["volumes"] == _pod([])["spec"]["volumes"]  # the volumes stay: restore-wait mounts them


def test_a_pod_without_volumes_to_restore_never_starts(drilled) -> None:
    found = drilled[1]
    for init in ([], [_container("migrate")]):
        spec = modify(found, _pod(init), "pods")["spec"]
        assert spec["schedulingGates"] == [{"name": "ink.homelab/velero-drill"}]
        assert [c["name"] for c in spec["containers"]] == ["drill-placeholder"]
        assert spec["initContainers"] == init  # gated: none of them ever runs


def test_every_restored_claim_gets_a_new_volume(drilled) -> None:
    claim = {"kind": "PersistentVolumeClaim", "metadata": {"name": "notes-data"}, "spec": {"volumeName": "pvc-live"}}
    assert modify(drilled[1], claim, "persistentvolumeclaims")["spec"]["volumeName"] == ""
    assert modify(drilled[1], {"kind": "Secret", "data": {}}, "secrets") == {"kind": "Secret", "data": {}}


# --- the check and the CronJob ------------------------------------------------------------------------


def test_the_check_mounts_each_restored_volume_and_fails_when_one_is_empty(drilled) -> None:
    job = manifest(drilled[1], "notes", "check.yaml")
    assert (job["metadata"]["name"], job["metadata"]["namespace"]) == ("drill-check", "drill-notes")
    pod = job["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "volume-0", "persistentVolumeClaim": {"claimName": "notes-data"}}]
    (check,) = pod["containers"]
    assert check["volumeMounts"] == [{"name": "volume-0", "mountPath": "/volumes/notes-data"}]
    assert check["image"] == "docker.io/library/busybox:1.37.0"
    script = check["command"][2]
    assert "for volume in notes-data; do" in script
    assert "grep -v -x -e .velero -e lost+found" in script
    assert '[ "$entries" -gt 0 ] || {' in script and "exit 1" in script
    assert pod["automountServiceAccountToken"] is False and job["spec"]["backoffLimit"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert check["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_check_job_validates(drilled, ink_validator: ManifestValidator) -> None:
    jobs = [(f"drill/{ns}/check.yaml", manifest(drilled[1], ns, "check.yaml")) for ns in ("notes", "wiki")]
    assert ink_validator.validate_all(jobs).problems == []


def test_drill_steps_in_order_and_cleanup_touches_only_restored_copies(drilled) -> None:
    commands = steps(drilled[1], "notes")
    assert list(commands) == [
        "forget", "leftover-check", "leftover-restored", "restore", "wait-restore", "release", "check",
        "wait-check", "result", "record", "clean-check", "clean-restored",
    ]  # fmt: skip
    restored = "--selector=velero.io/restore-name=drill-notes"
    assert commands["forget"][1:] == [
        "--namespace=velero", "delete", "restore.velero.io/drill-notes", "--ignore-not-found", "--wait=true",
    ]  # fmt: skip
    for step in ("leftover-restored", "clean-restored"):
        assert commands[step][1:] == [
            "--namespace=drill-notes", "delete", "pods,persistentvolumeclaims,configmaps,secrets", restored,
            "--ignore-not-found", "--wait=true",
        ]  # fmt: skip
    for step in ("leftover-check", "clean-check"):
        assert commands[step][1:4] == ["--namespace=drill-notes", "delete", "job/drill-check"]
    assert commands["restore"][1:] == ["--namespace=velero", "create", "--filename=/drill/restore.yaml"]
    assert commands["wait-restore"][3:5] == [
        "restore.velero.io/drill-notes",
        "--for=jsonpath={.status.phase}=Completed",
    ]
    assert commands["release"][1:] == ["--namespace=drill-notes", "delete", "pods", restored, "--wait=true"]
    assert commands["check"][1:] == ["--namespace=drill-notes", "create", "--filename=/drill/check.yaml"]
    assert commands["wait-check"][3:5] == ["job/drill-check", "--for=condition=Complete"]
    assert commands["record"][1:] == ["--namespace=velero", "apply", "--filename=/result/result.yaml"]
    result = yaml.safe_load(commands["result"][2].split("<<EOF\n")[1].split("EOF\n")[0].replace("$(date", "x$(date"))
    assert result["metadata"] == {"name": "drill-notes-result", "namespace": "velero"}
    assert (result["data"]["namespace"], result["data"]["volumes"]) == ("notes", "notes-data")
    # No step deletes a namespace: Argo CD owns drill-notes.
    assert not any(p.startswith(("namespace", "ns/", "ns,")) for command in commands.values() for p in command[2:])


def test_drills_are_staggered_weekly_after_the_daily_backup(drilled) -> None:
    _, found, notes = drilled
    assert found["velero/cronjob-drill-notes.yaml"]["spec"]["schedule"] == "0 5 * * 0"
    assert found["velero/cronjob-drill-wiki.yaml"]["spec"]["schedule"] == "30 5 * * 0"
    assert notes.binding is not None
    assert (notes.binding.drill_schedule, notes.binding.drill_result) == (
        "0 5 * * 0",
        "ConfigMap velero/drill-notes-result",
    )


# --- RBAC ------------------------------------------------------------------------------------------------


def test_the_drill_may_touch_only_its_restores_its_results_and_the_scratch_namespaces(drilled) -> None:
    found = drilled[1]
    assert found["velero/role-drill.yaml"]["rules"] == [
        {"apiGroups": ["velero.io"], "resources": ["restores"], "verbs": ["create"]},
        {
            "apiGroups": ["velero.io"],
            "resources": ["restores"],
            "resourceNames": ["drill-notes", "drill-wiki"],
            "verbs": ["get", "list", "watch", "delete"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["drill-notes-result", "drill-wiki-result"],
            "verbs": ["get", "patch"],
        },
    ]
    for namespace in ("drill-notes", "drill-wiki"):
        role = found[f"velero/role-{namespace}.yaml"]
        assert role["metadata"]["namespace"] == namespace
        assert role["rules"] == [
            {
                "apiGroups": [""],
                "resources": ["configmaps", "persistentvolumeclaims", "pods", "secrets"],
                "verbs": ["get", "list", "watch", "delete"],
            },
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
            {
                "apiGroups": ["batch"],
                "resources": ["jobs"],
                "resourceNames": ["drill-check"],
                "verbs": ["get", "list", "watch", "delete"],
            },
        ]
        binding = found[f"velero/rolebinding-{namespace}.yaml"]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": namespace}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "drill", "namespace": "velero"}]
    # Nothing cluster-wide, and the live namespaces are out of reach.
    drill_rbac = [b for b in found.values() if b["kind"].startswith(("Role", "ClusterRole")) and "drill" in str(b)]
    assert {b["kind"] for b in drill_rbac} == {"Role", "RoleBinding"}
    assert {b["metadata"]["namespace"] for b in drill_rbac} == {"velero", "drill-notes", "drill-wiki"}


# --- the scratch namespace ---------------------------------------------------------------------------


def test_the_scratch_namespace_is_emitted_by_ink_restricted_and_sealed(drilled) -> None:
    found = drilled[1]
    namespace = found["velero/namespace-drill-notes.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Delete=false,Prune=false"
    policies = [
        b for b in found.values() if b["kind"] == "NetworkPolicy" and b["metadata"]["namespace"] == "drill-notes"
    ]
    # One policy, deny-all both ways, and no allow rule: not DNS, not the pods of the namespace itself.
    assert [(p["metadata"]["name"], p["spec"]) for p in policies] == [
        ("default-deny-drill-notes", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    ]


class RootApp(App):
    """A target whose pods run as root: restored copies need its namespace's level."""

    @hookimpl
    def ink_service_info(self) -> ServiceInfo:
        return ServiceInfo(
            name=self.name,
            title="Root",
            version="1.0.0",
            homepage="https://example.org",
            exemptions=(RunAsRoot(reason="upstream image"),),
        )


def test_the_scratch_namespace_takes_the_level_of_the_namespace_it_copies(tmp_path: Path) -> None:
    found = testing.objects(synth(tmp_path, notes=App(), legacy=RootApp("legacy")))
    levels = {
        ns: found[f"velero/namespace-drill-{ns}.yaml"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for ns in ("notes", "legacy")
    }
    assert levels == {"notes": "restricted", "legacy": "baseline"}


def test_the_drill_output_validates(drilled, ink_validator: ManifestValidator) -> None:
    report = ink_validator.validate_all(drilled[1].items())
    assert report.problems == [] and report.skipped == {}


# --- settings ------------------------------------------------------------------------------------------


def test_drill_off(tmp_path: Path) -> None:
    app = App()
    result = synth(tmp_path, "[plugins.velero]\ndrill = false\n", notes=app)
    assert not [p for p in result.files if "drill" in p]
    assert app.binding is not None and (app.binding.drill_schedule, app.binding.drill_result) == ("", "")


def test_chosen_namespaces_only(tmp_path: Path) -> None:
    notes, wiki = App("notes"), App("wiki")
    found = testing.objects(synth(tmp_path, '[plugins.velero]\ndrill_namespaces = ["wiki"]\n', notes=notes, wiki=wiki))
    assert sorted(p for p in found if p.startswith("velero/cronjob-")) == ["velero/cronjob-drill-wiki.yaml"]
    assert found["velero/cronjob-drill-wiki.yaml"]["spec"]["schedule"] == "0 5 * * 0"  # the first drilled one
    assert "velero/namespace-drill-notes.yaml" not in found
    assert notes.binding is not None and notes.binding.drill_schedule == ""


def test_an_empty_list_drills_nothing(tmp_path: Path) -> None:
    result = synth(tmp_path, "[plugins.velero]\ndrill_namespaces = []\n", notes=App())
    assert not [p for p in result.files if "drill" in p]


def test_drill_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_PLUGINS__VELERO__DRILL_SCHEDULE", "15 2 * * 6")
    monkeypatch.setenv("INK_PLUGINS__VELERO__DRILL_SPACING", "45")
    found = testing.objects(synth(tmp_path, notes=App("notes"), wiki=App("wiki")))
    assert found["velero/cronjob-drill-notes.yaml"]["spec"]["schedule"] == "15 2 * * 6"
    assert found["velero/cronjob-drill-wiki.yaml"]["spec"]["schedule"] == "0 3 * * 6"


def test_a_target_without_pod_volume_is_not_drilled(tmp_path: Path) -> None:
    found = testing.objects(synth(tmp_path, notes=App(pod_volume="")))
    assert not [p for p in found if "drill" in p]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('drill_namespaces = ["Notes"]', "drill_namespaces"),
        (f'drill_namespaces = ["{"n" * 47}"]', "drill_namespaces"),
        ('drill_namespaces = ["notes", "notes"]', "lists notes more than once"),
        ('drill_schedule = "*/30 5 * * 0"', "minute and hour must be plain numbers"),
        ('drill_schedule = "0 5 * *"', "5-field cron"),
        ("drill_spacing = 0", "drill_spacing"),
    ],
)
def test_bad_drill_settings_are_one_clear_line(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        synth(tmp_path, f"[plugins.velero]\n{config}\n", notes=App())
    assert message in str(raised.value)
    assert "\n" not in str(raised.value).strip()


def test_a_namespace_without_targets_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"drill_namespaces lists 'wiki', which has no backup target .* notes\)"):
        synth(tmp_path, '[plugins.velero]\ndrill_namespaces = ["wiki"]\n', notes=App())


def test_drills_past_midnight_are_a_clear_error(tmp_path: Path) -> None:
    config = '[plugins.velero]\ndrill_schedule = "0 23 * * 0"\ndrill_spacing = 60\n'
    with pytest.raises(UserError, match="drill of 'wiki' would start past midnight"):
        synth(tmp_path, config, notes=App("notes"), wiki=App("wiki"))


def test_the_server_is_scraped_with_backup_and_drill_alerts_when_there_is_a_metrics_provider(tmp_path: Path) -> None:
    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    result = testing.synth(tmp_path, plugins=PLUGINS, extra={"notes": App("notes"), "monitoring": monitoring})
    target = testing.metrics_targets(result, "velero")["server"]
    # The pods and port the chart renders are checked in tests/test_metrics_targets.py (helm template).
    assert (dict(target.pods), target.port, target.path) == (
        {"name": "velero", "app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"},
        8085,
        "/metrics",
    )
    alerts = {a.alert: a for a in target.alerts}
    assert sorted(alerts) == ["VeleroBackupLate", "VeleroRestoreDrillLate"]
    assert (
        alerts["VeleroBackupLate"].expr == 'time() - velero_backup_last_successful_timestamp{schedule!=""} > 26 * 3600'
    )
    # Weekly drills (Sundays): a week and a day.
    assert 'kube_cronjob_status_last_successful_time{namespace="velero", cronjob=~"drill-.+"} > 192 * 3600' in (
        alerts["VeleroRestoreDrillLate"].expr
    )
    # The chart's metrics are on by default; ink turns on no chart monitor (the provider writes a PodMonitor).
    values = testing.objects(result)["velero/application-velero-chart.yaml"]["spec"]["source"]["helm"]["valuesObject"]
    assert "metrics" not in values


def test_without_drills_there_is_no_drill_alert_and_the_period_follows_the_schedule(tmp_path: Path) -> None:
    monitoring = testing.StandIn("monitoring", Capability.METRICS)
    extra = {"notes": App("notes"), "monitoring": monitoring}
    result = testing.synth(tmp_path, "[plugins.velero]\ndrill = false\n", plugins=PLUGINS, extra=extra)
    assert [a.alert for a in testing.metrics_targets(result, "velero")["server"].alerts] == ["VeleroBackupLate"]
    result = testing.synth(tmp_path, '[plugins.velero]\ndrill_schedule = "0 5 1 * *"\n', plugins=PLUGINS, extra=extra)
    drill = testing.metrics_targets(result, "velero")["server"].alerts[1]
    assert "> 768 * 3600" in drill.expr  # monthly: 31 days and a day


def test_without_a_metrics_provider_nothing_is_scraped(default) -> None:
    assert testing.metrics_targets(default[1], "velero") == {}
