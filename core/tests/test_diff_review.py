"""`ink diff` for reviews: field-level changes, the Markdown form, --json, and --against GIT_REF."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from ink import testing
from ink.changes import FieldChange, compare, field_changes, markdown
from ink.cli import main

PLUGINS = ["cloudnativepg", "sealed-secrets", "vaultwarden"]
KEEP = {"argocd.argoproj.io/sync-options": "Delete=false,Prune=false"}


def deployment(image: str, replicas: int = 1, args: list[str] | None = None) -> dict:
    container = {"name": "app", "image": image, **({"args": args} if args else {})}
    sidecar = {"name": "proxy", "image": "proxy:1"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "app"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [sidecar, container]}}},
    }


def sealed(value: str) -> dict:
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "app"},
        "spec": {"encryptedData": {"password": value}, "template": {"metadata": {"name": "db"}}},
    }


def text(body: dict) -> str:
    return yaml.safe_dump(body)


def test_field_changes_key_containers_by_name() -> None:
    found = field_changes(deployment("app:1"), deployment("app:2", replicas=2))
    assert found == (
        FieldChange("spec.replicas", "1", "2"),
        FieldChange("spec.template.spec.containers[app].image", "app:1", "app:2"),
    )


def test_field_changes_name_added_and_removed_fields() -> None:
    found = field_changes(deployment("app:1"), deployment("app:1", args=["--verbose"]))
    assert found == (FieldChange("spec.template.spec.containers[app].args", None, "[--verbose]"),)
    assert field_changes(deployment("app:1", args=["x"]), deployment("app:1"))[0].after is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (sealed("AgBy3oldCIPHERTEXT"), sealed("AgBy3newCIPHERTEXT")),
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "b2xkLXZhbHVl"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "bmV3LXZhbHVl"}},
        ),
    ],
)
def test_secret_data_shows_only_that_it_changed(before: dict, after: dict) -> None:
    (change,) = compare({"app/x.yaml": text(before)}, {"app/x.yaml": text(after)})
    assert [f.hidden for f in change.fields] == [True]
    rendered = markdown([change])
    assert "encrypted data changed (values not shown)" in rendered
    for value in ("AgBy3old", "AgBy3new", "b2xkLXZhbHVl", "bmV3LXZhbHVl"):
        assert value not in rendered


def test_markdown_puts_destructive_changes_first_and_groups_by_service() -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "app", "annotations": KEEP},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    }
    shrunk = {**pvc, "spec": {**pvc["spec"], "resources": {"requests": {"storage": "1Gi"}}}}
    old = {
        "zeta/deployment-app.yaml": text(deployment("app:1")),
        "app/persistentvolumeclaim-data.yaml": text(pvc),
        "app/configmap-old.yaml": "kind: ConfigMap\nmetadata: {name: old}\n",
    }
    new = {
        "zeta/deployment-app.yaml": text(deployment("app:2")),
        "app/persistentvolumeclaim-data.yaml": text(shrunk),
        "app/configmap-new.yaml": "kind: ConfigMap\nmetadata: {name: new}\n",
    }
    rendered = markdown(compare(old, new))
    assert rendered == markdown(compare(dict(reversed(old.items())), dict(reversed(new.items()))))  # deterministic
    lines = rendered.splitlines()
    assert lines[2] == "**4 changes** (1 added, 1 removed, 2 changed), **1 destructive**"
    warning = lines.index("> [!WARNING]")
    assert warning < lines.index("#### app") < lines.index("#### zeta")
    assert "a volume cannot shrink (5Gi → 1Gi)" in lines[warning + 3]
    app = lines[lines.index("#### app") : lines.index("#### zeta")]
    # added, then removed, then changed, within a service
    assert [line.split()[1] for line in app if line.startswith("- ")] == ["added", "removed", "changed"]
    assert "  - `spec.resources.requests.storage`: `5Gi` → `1Gi`" in app
    assert "  - `spec.template.spec.containers[app].image`: `app:1` → `app:2`" in lines


def test_markdown_truncates_long_values_readably() -> None:
    long = "x" * 300
    (change,) = compare({"a/d.yaml": text(deployment("app:1"))}, {"a/d.yaml": text(deployment("app:1", args=[long]))})
    line = next(line for line in markdown([change]).splitlines() if "args" in line)
    assert "…" in line and "(302 chars)" in line
    assert len(line) < 160


def test_markdown_without_changes() -> None:
    assert markdown([]) == "### ink diff\n\nNo changes.\n"


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A synthesised project in a git repository, its dist/ committed as the first commit."""
    testing.synth(tmp_path, plugins=PLUGINS, validate=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "dist")
    git(tmp_path, "commit", "-q", "-m", "output")
    return tmp_path


def git(where: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "-C", str(where), *identity, *args], check=True, capture_output=True)


def test_diff_against_a_commit(project: Path) -> None:
    same = cli("diff", "--against", "HEAD")
    assert same.exit_code == 0, same.output
    assert same.stdout == "no changes\n"
    (project / "ink.toml").write_text('[plugins.vaultwarden]\nstorage_size = "1Gi"\n')
    (project / "dist" / "vaultwarden" / "persistentvolumeclaim-vaultwarden-data.yaml").unlink()  # on disk only
    found = cli("diff", "--against", "main", "--format", "markdown")
    assert found.exit_code == 0, found.output
    assert found.stdout.startswith("### ink diff against main\n")
    assert "a volume cannot shrink (5Gi → 1Gi)" in found.stdout  # the committed file, not the deleted one
    assert "`spec.resources.requests.storage`: `5Gi` → `1Gi`" in found.stdout
    on_disk = cli("diff")
    assert "added vaultwarden/persistentvolumeclaim-vaultwarden-data.yaml" in on_disk.stdout


def test_diff_against_a_commit_sees_a_master_key_change(project: Path) -> None:
    (project / ".ink" / "master.key").write_text("another-master-key-" + "x" * 40 + "\n")
    found = cli("diff", "--against", "HEAD")
    assert "DESTRUCTIVE, the master key changed" in found.stdout


def test_diff_against_errors(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    unknown = cli("diff", "--against", "no-such-branch")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: --against no-such-branch: no such commit, branch or tag")
    absent = cli("diff", "--against", "HEAD", "--out", "manifests")
    assert absent.exit_code == 2
    assert absent.stderr.startswith("error: --against HEAD: manifests/ holds no ink output")
    outside = tmp_path_factory.mktemp("plain")
    testing.prepare(outside)
    not_git = cli("diff", "--against", "HEAD", "--out", outside / "dist", "--config", outside / "ink.toml")
    assert not_git.exit_code == 2
    assert "is not in a git repository" in not_git.stderr
    for result in (unknown, absent, not_git):
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_diff_json(project: Path) -> None:
    (project / "ink.toml").write_text("[plugins.vaultwarden]\nsignups_allowed = true\n")
    result = cli("diff", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert result.stdout == json.dumps(report, indent=2, sort_keys=True) + "\n"
    assert report["summary"] == {"added": 0, "changed": 1, "changes": 1, "destructive": 0, "removed": 0}
    (change,) = report["changes"]
    assert change["path"] == "vaultwarden/deployment-vaultwarden.yaml"
    assert change["service"] == "vaultwarden"
    field = "spec.template.spec.containers[server].env[SIGNUPS_ALLOWED].value"
    assert change["fields"] == [{"path": field, "before": "false", "after": "true", "hidden": False}]
    assert cli("diff", "--json", "--format", "markdown").exit_code == 2
    docs = Path(__file__).parents[2] / "docs" / "cli.md"
    row = next(line for line in docs.read_text().splitlines() if line.startswith("| `ink diff --json`"))
    for key in {*report, *report["summary"], *change, *change["fields"][0]}:
        assert key in row, f"docs/cli.md does not document ink diff --json's {key}"


def test_list_items_that_come_or_go_are_named_alone() -> None:
    old = {"spec": {"destinations": [{"namespace": "a"}, {"namespace": "gone"}, {"namespace": "z"}]}}
    new = {"spec": {"destinations": [{"namespace": "a"}, {"namespace": "z"}]}}
    assert field_changes(old, new) == (FieldChange("spec.destinations[1]", "{namespace: gone}", None),)
    grown = {"spec": {"destinations": [*new["spec"]["destinations"], {"namespace": "new"}]}}
    assert field_changes(new, grown) == (FieldChange("spec.destinations[2]", None, "{namespace: new}"),)


def test_a_script_is_compared_line_by_line() -> None:
    old = {"data": {"run.sh": "set -eu\nfor db in a b c; do\n  check $db\ndone\n"}}
    new = {"data": {"run.sh": "set -eu\nfor db in a c; do\n  check $db\ndone\n"}}
    assert field_changes(old, new) == (FieldChange("data.run.sh (line 2)", "for db in a b c; do", "for db in a c; do"),)
    many = {"data": {"run.sh": "\n".join(f"line {i}" for i in range(0, 60, 2))}}
    changed = {"data": {"run.sh": "\n".join(f"line {i + (i % 4 == 0)}" for i in range(0, 60, 2))}}
    found = field_changes(many, changed)
    assert len(found) == 11 and found[-1].path == "data.run.sh (and 5 more changed stretches)"
    assert "`data.run.sh (and 5 more changed stretches)`" in markdown(
        compare({"a/x.yaml": text(many)}, {"a/x.yaml": text(changed)})
    )
