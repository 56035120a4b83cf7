"""No data loss on sync: kept objects left behind are reported, destructive changes need a flag."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ink import testing
from ink.changes import compare, rekey
from ink.cli import main
from ink.errors import UserError
from ink.output import MARKER

PLUGINS = ["vaultwarden", "cloudnativepg", "sealed-secrets"]
KEEP = {"argocd.argoproj.io/sync-options": "Delete=false,Prune=false"}


def doc(kind: str, name: str, namespace: str = "app", annotations=None, spec=None) -> str:
    meta = {"name": name, "namespace": namespace, **({"annotations": annotations} if annotations else {})}
    return yaml.safe_dump({"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec or {}})


def pvc(name: str, size: str = "5Gi", mode: str = "ReadWriteOnce") -> str:
    spec = {"accessModes": [mode], "resources": {"requests": {"storage": size}}}
    return doc("PersistentVolumeClaim", name, annotations=KEEP, spec=spec)


def test_unchanged_output_has_no_changes() -> None:
    files = {"app/pvc-data.yaml": pvc("data")}
    assert compare(files, dict(files)) == []


def test_removed_service_leaves_its_volume_behind_with_a_delete_command() -> None:
    staying = {"other/x.yaml": "kind: ConfigMap\n", "third/x.yaml": "kind: ConfigMap\n"}
    (change,) = compare({"app/persistentvolumeclaim-data.yaml": pvc("data"), **staying}, staying)
    assert change.action == "removed" and not change.destructive
    assert change.left_behind == "kubectl delete -n app persistentvolumeclaim data"


def test_renamed_volume_is_destructive() -> None:
    old = {"app/persistentvolumeclaim-data.yaml": pvc("data"), "app/deployment-app.yaml": doc("Deployment", "app")}
    new = {"app/persistentvolumeclaim-data2.yaml": pvc("data2"), "app/deployment-app.yaml": doc("Deployment", "app")}
    removed = next(c for c in compare(old, new) if c.action == "removed")
    assert "would be replaced by PersistentVolumeClaim app/data2" in removed.destructive


@pytest.mark.parametrize(
    ("before", "after", "reason"),
    [
        (pvc("data", "5Gi"), pvc("data", "1Gi"), "cannot shrink"),
        (pvc("data", mode="ReadWriteOnce"), pvc("data", mode="ReadWriteMany"), "spec.accessModes cannot change"),
        (
            doc("Database", "db", spec={"name": "one"}),
            doc("Database", "db", spec={"name": "two"}),
            "spec.name cannot change",
        ),
        (
            doc("Deployment", "app", spec={"selector": {"matchLabels": {"a": "1"}}}),
            doc("Deployment", "app", spec={"selector": {"matchLabels": {"a": "2"}}}),
            "spec.selector cannot change",
        ),
    ],
)
def test_immutable_field_changes_are_destructive(before: str, after: str, reason: str) -> None:
    (change,) = compare({"app/x.yaml": before}, {"app/x.yaml": after})
    assert reason in change.destructive


def test_growing_a_volume_is_fine() -> None:
    (change,) = compare({"app/x.yaml": pvc("data", "5Gi")}, {"app/x.yaml": pvc("data", "10Gi")})
    assert change.action == "changed" and not change.destructive


def test_disabling_a_service_reports_what_it_leaves_behind(tmp_path: Path) -> None:
    testing.synth(tmp_path, plugins=PLUGINS)
    result = testing.synth(tmp_path, "[plugins.vaultwarden]\nenabled = false\n", plugins=PLUGINS)
    left = "\n".join(w for w in result.warnings if "left in the cluster" in w)
    assert "kubectl delete -n vaultwarden persistentvolumeclaim vaultwarden-data" in left
    assert "kubectl delete -n cloudnativepg database.postgresql.cnpg.io postgres-ha-vaultwarden" in left
    assert "kubectl delete namespace vaultwarden" in left


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_shrinking_a_volume_is_refused_without_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    testing.synth(tmp_path, plugins=PLUGINS)
    before = tree(tmp_path / "dist")
    with pytest.raises(UserError, match=r"a volume cannot shrink \(5Gi → 1Gi\).*--allow-destructive"):
        testing.synth(tmp_path, '[plugins.vaultwarden]\nstorage_size = "1Gi"\n', plugins=PLUGINS)
    assert tree(tmp_path / "dist") == before

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    diff = CliRunner().invoke(main, ["diff"])
    assert diff.exit_code == 0
    assert "DESTRUCTIVE" in diff.output and "1 destructive" in diff.output
    refused = CliRunner().invoke(main, ["synth"])
    assert refused.exit_code == 2
    allowed = CliRunner().invoke(main, ["synth", "--allow-destructive"])
    assert allowed.exit_code == 0, allowed.output
    assert b"storage: 1Gi" in (tmp_path / "dist/vaultwarden/persistentvolumeclaim-vaultwarden-data.yaml").read_bytes()


@pytest.mark.parametrize(("before", "after", "destructive"), [(1, 0, True), (3, 1, True), (2, 1, False), (4, 2, False)])
def test_removing_most_services_at_once_is_destructive(before: int, after: int, destructive: bool) -> None:
    # INK_LOAD_PLUGINS=<typo> or a wrong enabled = false would otherwise let Argo CD prune every service.
    old = {f"s{i}/configmap-x.yaml": "kind: ConfigMap\n" for i in range(before)}
    new = {path: text for path, text in old.items() if int(path[1]) < after}
    found = [c for c in compare(old, new) if c.destructive]
    assert bool(found) is destructive
    if destructive:
        assert f"{before - after} of {before} services would leave the output" in found[0].destructive


def test_a_damaged_previous_file_is_a_plain_change() -> None:
    # Hand-edited dist/: invalid YAML, annotations: null, a billion laughs. The next synth repairs it.
    new = {"app/persistentvolumeclaim-data.yaml": pvc("data")}
    lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    nulled = pvc("data").replace("annotations:", "annotations: null\n  was:")
    for damaged in ("kind: [unclosed\n", nulled, lol, "", "\ufffd\ufffd kind: PersistentVolumeClaim\n"):
        (change,) = compare({"app/persistentvolumeclaim-data.yaml": damaged}, new)
        assert change.action == "changed" and not change.destructive, damaged
    # Removed with its service while damaged: reported, not a crash.
    staying = {"b/x.yaml": "kind: ConfigMap\n", "c/x.yaml": "kind: ConfigMap\n"}
    found = compare({"app/persistentvolumeclaim-data.yaml": nulled, **staying}, staying)
    assert [c.action for c in found] == ["removed"]


def test_rekey_is_destructive_and_names_both_fingerprints() -> None:
    assert rekey(None, "abc") is None  # an output from before fingerprints: nothing to compare
    assert rekey("abc", "abc") is None
    change = rekey("0123456789abcdef", "fedcba9876543210")
    assert change is not None and change.path == MARKER
    assert "0123456789abcdef → fedcba9876543210" in change.destructive
    assert "every generated credential" in change.destructive
