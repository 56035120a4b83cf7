"""What a synth changes in the output, and which changes would lose data once Argo CD syncs them.

Two kinds of findings besides plain additions, removals and edits:

* **left behind**: an object that holds data (it carries ``Delete=false``) leaves the output
  because its whole service was removed. Argo CD keeps it in the cluster; ink says so and how
  to delete it deliberately.
* **destructive**: a data-holding object disappears while its service stays (a rename: the app
  starts on a new, empty volume or database), or a field Kubernetes cannot change in place is
  changed (the object would have to be recreated). ``ink synth`` refuses these unless told
  ``--allow-destructive``; ``ink diff`` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ink.cluster import NOT_MANIFESTS
from ink.files import BoundedReadError, load_yaml_all, read_bounded
from ink.models import quantity_value
from ink.output import MARKER

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
# Kinds that hold data even without ink's keep annotation.
STATEFUL_KINDS = frozenset({"PersistentVolumeClaim", "StatefulSet"})
# Fields the API server (or the operator) refuses to change on a live object, by kind.
IMMUTABLE_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "PersistentVolumeClaim": (("spec", "accessModes"), ("spec", "storageClassName"), ("spec", "volumeMode")),
    "StatefulSet": (("spec", "selector"), ("spec", "serviceName"), ("spec", "volumeClaimTemplates")),
    "Deployment": (("spec", "selector"),),
    "DaemonSet": (("spec", "selector"),),
    "Database": (("spec", "name"),),
}


@dataclass(frozen=True)
class Change:
    path: str
    action: str  # "added", "removed", "changed"
    destructive: str = ""  # why this change would lose data, if it would
    left_behind: str = ""  # how to delete a kept object deliberately

    def __str__(self) -> str:
        text = f"{self.action} {self.path}"
        if self.destructive:
            text += f": DESTRUCTIVE, {self.destructive}"
        if self.left_behind:
            text += f": left in the cluster; delete deliberately with `{self.left_behind}`"
        return text


def read_output(out: Path) -> dict[str, str]:
    """The files of an existing ink output folder (empty if there is none).

    A file damaged by hand (not UTF-8, not a regular file, too large) reads as what it holds, or
    as nothing: it then differs from the new file, and the next synth repairs it.
    """
    if not (out / MARKER).is_file():
        return {}
    found = {}
    for path in sorted(out.rglob("*.yaml")):
        try:
            found[str(path.relative_to(out))] = read_bounded(path).decode("utf-8", errors="replace")
        except (OSError, BoundedReadError):
            if not path.is_dir():
                found[str(path.relative_to(out))] = ""
    return found


def rekey(previous: str | None, current: str) -> Change | None:
    """The change of master key between the output's stamp and this run, if any (None: same key or unknown)."""
    if not previous or previous == current:
        return None
    return Change(
        MARKER,
        "changed",
        destructive=f"the master key changed (fingerprint {previous[:16]} → {current}): every generated "
        "credential (database passwords, S3 keys, OIDC secrets) would get a new value",
    )


def compare(old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    """Every change from ``old`` to ``new`` (relative path → YAML text), with data-loss findings."""
    # A data-holding object removed while one of its kind appears in the same folder is a rename:
    # the service would start on the new, empty one.
    added_kinds: dict[tuple[str, str], list[str]] = {}
    for path in new.keys() - old.keys():
        body = _load(new[path])
        added_kinds.setdefault((path.split("/")[0], str(body.get("kind"))), []).append(_describe(body))
    changes: list[Change] = []
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            body = _load(old[path])
            replacements = added_kinds.get((path.split("/")[0], str(body.get("kind"))))
            if not _holds_data(body):
                changes.append(Change(path, "removed"))
            elif replacements:
                reason = f"{_describe(body)} would be replaced by {replacements[0]}: the data stays in the old one"
                changes.append(Change(path, "removed", destructive=reason))
            else:
                changes.append(Change(path, "removed", left_behind=_delete_command(body)))
        elif path not in old:
            changes.append(Change(path, "added"))
        elif old[path] != new[path]:
            before, after = _load(old[path]), _load(new[path])
            # Damaged by hand (unreadable, or no longer the same kind): nothing to compare; the synth repairs it.
            destructive = _immutable_change(before, after) if before.get("kind") == after.get("kind") else ""
            changes.append(Change(path, "changed", destructive=destructive))
    mass_removal = _mass_removal(old, new)
    return [mass_removal, *changes] if mass_removal else changes


def _mass_removal(old: Mapping[str, str], new: Mapping[str, str]) -> Change | None:
    """Most services leaving at once is far likelier a typo (INK_LOAD_PLUGINS, a disabled provider) than a wish."""
    before = _service_folders(old)
    gone = sorted(before - _service_folders(new))
    if not before or len(gone) * 2 <= len(before):
        return None
    listed = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
    return Change(
        f"{listed}",
        "removed",
        destructive=f"{len(gone)} of {len(before)} services would leave the output and Argo CD would prune "
        "them; check ink.toml, INK_LOAD_PLUGINS and INK_DISABLE_PLUGINS",
    )


def _service_folders(files: Mapping[str, str]) -> set[str]:
    """The top-level folders that are services (not ``_cluster/`` and the like, which hold files for people)."""
    return {path.split("/")[0] for path in files if "/" in path and not path.startswith(NOT_MANIFESTS)}


def _load(text: str) -> dict[str, Any]:
    """One object of an output file; a damaged file (invalid YAML, aliases run wild) reads as empty."""
    try:
        body = next(load_yaml_all(text), None)
    except (yaml.YAMLError, BoundedReadError):
        return {}
    return body if isinstance(body, dict) else {}


def _holds_data(body: Mapping[str, Any]) -> bool:
    options = _dig(body, ("metadata", "annotations", SYNC_OPTIONS))
    options = options if isinstance(options, str) else ""
    return body.get("kind") in STATEFUL_KINDS or "Delete=false" in options.split(",")


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _describe(body: Mapping[str, Any]) -> str:
    meta = _meta(body)
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{body.get('kind')} {where}{meta.get('name')}"


def _delete_command(body: Mapping[str, Any]) -> str:
    meta = _meta(body)
    kind = str(body.get("kind", "")).lower()
    group = str(body.get("apiVersion", "")).rpartition("/")[0]
    resource = f"{kind}.{group}" if group and "." in group else kind
    namespace = f" -n {meta['namespace']}" if meta.get("namespace") else ""
    return f"kubectl delete{namespace} {resource} {meta.get('name')}"


def _immutable_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    kind = str(new.get("kind", ""))
    for field in IMMUTABLE_FIELDS.get(kind, ()):
        before, after = _dig(old, field), _dig(new, field)
        if before != after:
            return f"{_describe(new)}: {'.'.join(field)} cannot change on a live object ({before!r} → {after!r})"
    if kind == "PersistentVolumeClaim":
        before = _dig(old, ("spec", "resources", "requests", "storage"))
        after = _dig(new, ("spec", "resources", "requests", "storage"))
        if before != after and _bytes(after) < _bytes(before):
            return f"{_describe(new)}: a volume cannot shrink ({before} → {after})"
    return ""


def _dig(body: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _bytes(quantity: Any) -> Decimal:
    try:
        return quantity_value(str(quantity or "0"))
    except ValueError:
        return Decimal(0)
