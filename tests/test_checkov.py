"""checkov's Kubernetes checks over what reaches the cluster: ink's output and the charts it installs.

For the embedded default and the configs of tests/test_charts.py (``tests/configs/*.toml`` but mesh.toml), ink's
objects (dist/) and every chart it installs (and ink's objects of ``tests/configs/mesh.toml``, whose Istio charts are
not in ../shared/charts), rendered with ink's values (tests/chartrender.py), are written to one folder
and scanned by one checkov process (``--framework kubernetes``). Every failed check must be in the
reviewed allowlist ``tests/checkov-allowlist.yaml`` (check id, resource, one-line reason), and every
allowlist entry must still match a finding, so a fixed finding takes its entry with it.

checkov runs from its own virtualenv, which the ``tests`` nox session builds from the ``checkov``
dependency group and names in ``CHECKOV_BINARY`` (its pins would downgrade packages ink is tested with).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import test_charts
import yaml

from ink import testing

ALLOWLIST = Path(__file__).parent / "checkov-allowlist.yaml"
MESH_CONFIG = Path(__file__).parent / "configs" / "mesh.toml"


def checkov_binary() -> str:
    named = os.environ.get("CHECKOV_BINARY") or shutil.which("checkov")
    if not named or not os.access(named, os.X_OK):
        pytest.fail(
            "checkov not found: run the tests through `nox -s tests` (it installs the pinned checkov and sets "
            "CHECKOV_BINARY), or set CHECKOV_BINARY to a checkov executable",
            pytrace=False,
        )
    return named


def scanned_tree(root: Path) -> None:
    """``<config>/ink/<folder>/<file>.yaml`` for dist/, ``<config>/charts/<Application>.yaml`` per chart.

    A file the default config already has with the same content is not written again for the maximal one
    (findings are keyed by check and resource, not config): checkov's time grows with the objects it reads.
    """
    written: dict[Path, str] = {}
    for config in test_charts.CONFIGS:
        files = {Path("ink", path): [obj] for path, obj in test_charts.output(config).items()}
        for app in test_charts.applications(config):
            # CRDs are schemas, not workloads or RBAC: checkov has no check for them, and they are large.
            rendered = [o for o in test_charts.render(app) if o.get("kind") != "CustomResourceDefinition"]
            files[Path("charts", f"{app.application}.yaml")] = rendered
        for relative, objects in files.items():
            text = yaml.safe_dump_all(objects, sort_keys=False)
            if written.get(relative) == text:
                continue
            written.setdefault(relative, text)
            (root / config / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / config / relative).write_text(text, encoding="utf-8")
    # tests/configs/mesh.toml (plugins/istio on): ink's objects only. Istio's charts are not in
    # ../shared/charts yet (plugins/istio/README.md); the other charts render as in the default config.
    for path, obj in mesh_output().items():
        relative = Path("ink", path)
        text = yaml.safe_dump_all([obj], sort_keys=False)
        if written.get(relative) == text:
            continue
        (root / "mesh" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "mesh" / relative).write_text(text, encoding="utf-8")


@functools.cache
def mesh_output() -> dict[str, dict[str, Any]]:
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("INK_")}
    try:
        with tempfile.TemporaryDirectory(prefix="ink-checkov-mesh-") as directory:
            return testing.objects(testing.synth(Path(directory), MESH_CONFIG.read_text(encoding="utf-8")))
    finally:
        os.environ.update(hidden)


@functools.cache
def scan() -> dict[str, Any]:
    """checkov's JSON report of the whole tree: one process."""
    with tempfile.TemporaryDirectory(prefix="ink-checkov-") as directory:
        root = Path(directory)
        scanned_tree(root)
        done = subprocess.run(
            [
                checkov_binary(),
                *("--directory", str(root), "--framework", "kubernetes", "--output", "json", "--quiet", "--compact"),
                "--skip-download",  # no policy metadata from Prisma Cloud: offline and deterministic
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if not done.stdout.strip().startswith(("{", "[")):
            pytest.fail(f"checkov printed no JSON report (exit {done.returncode}): {done.stderr[-2000:]}")
        report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    (kubernetes,) = [r for r in reports if r.get("check_type") == "kubernetes"]
    return kubernetes


def resource_id(resource: str) -> str:
    """checkov's resource id, stable: ``Kind.namespace.name``.

    Its graph checks (CKV2_*) name a Pod by kind, namespace, name and then every label (versions too);
    a setup Job is named after a hash of its pod (``minio-buckets-4fd806df``), which any change renews.
    """
    kind, namespace, name = [*resource.split(".", 3), "", ""][:3]
    return f"{kind}.{namespace}.{re.sub(r'-[0-9a-f]{8}$', '-<hash>', name) if kind in ('Job', 'Pod') else name}"


def findings() -> set[tuple[str, str, str]]:
    """(check id, resource, where: ink or charts) of every failed check."""
    found = set()
    for check in scan()["results"]["failed_checks"]:
        where = Path(check["file_path"].lstrip("/")).parts[1]  # <config>/<ink or charts>/...
        found.add((check["check_id"], resource_id(check["resource"]), where))
    return found


def allowlist() -> set[tuple[str, str, str]]:
    """(check id, resource, where) of every reviewed finding; each entry has a one-line reason."""
    entries = yaml.safe_load(ALLOWLIST.read_text(encoding="utf-8"))
    allowed = set()
    for entry in entries:
        assert set(entry) == {"check", "where", "reason", "resources"}, f"allowlist entry {entry}: wrong keys"
        assert entry["reason"].strip() and "\n" not in entry["reason"].strip(), f"{entry['check']}: one-line reason"
        assert entry["where"] in ("ink", "charts"), entry
        allowed |= {(entry["check"], resource, entry["where"]) for resource in entry["resources"]}
    return allowed


def test_checkov_scanned_everything() -> None:
    summary = scan()["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 300  # ink's objects and the charts', both configs
    assert summary["passed"] > 1000


def test_every_checkov_finding_is_fixed_or_reviewed() -> None:
    new = sorted(findings() - allowlist())
    assert new == [], (
        "checkov findings not in tests/checkov-allowlist.yaml: fix them, or add each (check, resource) with a "
        "one-line reason"
    )


def test_resource_ids_are_stable() -> None:
    pod = "Pod.minio.minio.app.kubernetes.io/name-minio.app.kubernetes.io/version-RELEASE.2026-09-16T00-00-00Z"
    assert resource_id(pod) == "Pod.minio.minio"
    assert resource_id("Job.minio.minio-buckets-4fd806df") == "Job.minio.minio-buckets-<hash>"
    assert resource_id("Deployment.velero.velero") == "Deployment.velero.velero"


def test_every_allowlist_entry_still_matches_a_finding() -> None:
    """A finding that went away (fixed, or the resource renamed) takes its entry with it."""
    assert sorted(allowlist() - findings()) == []
