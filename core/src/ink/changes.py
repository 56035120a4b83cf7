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

import difflib
import io
import os
import subprocess
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ink.cluster import NOT_MANIFESTS
from ink.errors import UserError
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
class FieldChange:
    """One field of a changed object: ``spec.template.spec.containers[app].image``, before and after.

    ``before``/``after`` are None when the field was added/removed; a Secret's data is never shown (``hidden``).
    """

    path: str
    before: str | None = None
    after: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class Change:
    path: str
    action: str  # "added", "removed", "changed"
    destructive: str = ""  # why this change would lose data, if it would
    left_behind: str = ""  # how to delete a kept object deliberately
    fields: tuple[FieldChange, ...] = ()  # what changed inside a changed object (for `ink diff`'s detail)

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
    # Only folders that lose a file need it: a first synth (nothing old) parses nothing here.
    losing = {path.split("/")[0] for path in old.keys() - new.keys()}
    added_kinds: dict[tuple[str, str], list[str]] = {}
    for path in sorted(p for p in new.keys() - old.keys() if p.split("/")[0] in losing):
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
            changes.append(Change(path, "changed", destructive=destructive, fields=field_changes(before, after)))
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


# Kinds whose data is a credential: a diff says the data changed, never what it was or is.
SECRET_KINDS = frozenset({"Secret", "SealedSecret"})
SECRET_FIELDS = frozenset({"data", "stringData", "encryptedData"})


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Every leaf that differs between two bodies, in path order; list items with a ``name`` are keyed by it."""
    found: list[FieldChange] = []
    secret = old.get("kind") in SECRET_KINDS or new.get("kind") in SECRET_KINDS
    _walk(old, new, "", found, secret)
    return tuple(found)


_MISSING = object()


def _walk(old: Any, new: Any, path: str, found: list[FieldChange], secret: bool) -> None:
    if old == new:
        return
    if secret and _secret_field(path):
        # The encrypted (or encoded) values stay out of the diff: only that the data changed.
        found.append(FieldChange(path, hidden=True))
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), child, found, secret)
        return
    if isinstance(old, list) and isinstance(new, list):
        named_old, named_new = _by_name(old), _by_name(new)
        if named_old is not None and named_new is not None:
            for name in sorted(named_old.keys() | named_new.keys()):
                child = f"{path}[{name}]"
                _walk(named_old.get(name, _MISSING), named_new.get(name, _MISSING), child, found, secret)
            return
        if len(old) == len(new):
            for index, (before, after) in enumerate(zip(old, new, strict=True)):
                _walk(before, after, f"{path}[{index}]", found, secret)
            return
        # Items came or went (a namespace in a list, a policy rule): name those, not the whole list twice.
        found += [FieldChange(f"{path}[{i}]", _show(item), None) for i, item in enumerate(old) if item not in new]
        found += [FieldChange(f"{path}[{i}]", None, _show(item)) for i, item in enumerate(new) if item not in old]
        return
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        found += _line_changes(path, old, new)
        return
    found.append(FieldChange(path, _show(old), _show(new)))


# A changed script or embedded file lists at most this many changed stretches of lines.
MAX_LINE_CHANGES = 10


def _line_changes(path: str, old: str, new: str) -> list[FieldChange]:
    """A multi-line value (a script, an embedded config file) by the lines that changed, numbered as in ``new``."""
    before, after = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    stretches = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    found = [
        FieldChange(f"{path} (line {j1 + 1})", "\n".join(before[i1:i2]) or None, "\n".join(after[j1:j2]) or None)
        for _, i1, i2, j1, j2 in stretches[:MAX_LINE_CHANGES]
    ]
    if len(stretches) > MAX_LINE_CHANGES:
        found.append(FieldChange(f"{path} (and {len(stretches) - MAX_LINE_CHANGES} more changed stretches)"))
    return found


def _secret_field(path: str) -> bool:
    top = path.split(".")[0].split("[")[0]
    parts = path.split(".")
    # Secret: data/stringData at the top; SealedSecret: spec.encryptedData (and its template's data).
    return (
        top in SECRET_FIELDS
        or (len(parts) >= 2 and parts[0] == "spec" and parts[1] in SECRET_FIELDS)
        or (path.startswith("spec.template.") and len(parts) >= 3 and parts[2] in SECRET_FIELDS)
    )


def _by_name(items: list[Any]) -> dict[str, Any] | None:
    """A list of mappings each with a unique ``name`` (containers, ports, volumes), keyed by it; else None."""
    if not items or not all(isinstance(i, Mapping) and isinstance(i.get("name"), str) for i in items):
        return None
    named = {i["name"]: i for i in items}
    return named if len(named) == len(items) else None


def _show(value: Any) -> str | None:
    if value is _MISSING:
        return None
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


# A value longer than this is cut in the middle in Markdown (images, long command lines stay recognisable).
MAX_VALUE = 80


def summary(found: list[Change]) -> str:
    """The plain diff's last line (kept as it is: scripts grep it)."""
    destructive = sum(1 for c in found if c.destructive)
    return f"{len(found)} changes, {destructive} destructive" if found else "no changes"


def as_json(found: list[Change]) -> dict[str, Any]:
    """`ink diff --json`: ``changes`` (in the plain form's order) and ``summary`` counts."""
    return {
        "changes": [
            {
                "path": c.path,
                "action": c.action,
                "service": _service_of(c),
                "destructive": c.destructive or None,
                "left_behind": c.left_behind or None,
                "fields": [
                    {
                        "path": f.path,
                        "before": None if f.hidden else f.before,
                        "after": None if f.hidden else f.after,
                        "hidden": f.hidden,
                    }
                    for f in c.fields
                ],
            }
            for c in found
        ],
        "summary": {
            "changes": len(found),
            "destructive": sum(1 for c in found if c.destructive),
            **{action: sum(1 for c in found if c.action == action) for action in ("added", "removed", "changed")},
        },
    }


def _service_of(change: Change) -> str | None:
    """The service folder a change is in; None for the marker and for changes across services."""
    folder, sep, _ = change.path.partition("/")
    return folder if sep else None


def markdown(found: list[Change], title: str = "ink diff") -> str:
    """A pull-request comment: a summary line, destructive changes first, then objects by service folder."""
    if not found:
        return f"### {title}\n\nNo changes.\n"
    counts = {a: sum(1 for c in found if c.action == a) for a in ("added", "removed", "changed")}
    destructive = [c for c in found if c.destructive]
    parts = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    lines = [f"### {title}", "", f"**{len(found)} changes** ({parts}), **{len(destructive)} destructive**", ""]
    if destructive:
        lines += ["> [!WARNING]", "> **Destructive: data would be lost once Argo CD syncs these**", ">"]
        lines += [f"> - {c.action} `{c.path}`: {c.destructive}" for c in destructive]
        lines.append("")
    left = [c for c in found if c.left_behind]
    if left:
        lines += ["> [!NOTE]", "> **Left in the cluster** (Argo CD keeps them; delete deliberately)", ">"]
        lines += [f"> - `{c.path}`: `{c.left_behind}`" for c in left]
        lines.append("")
    by_service: dict[str, list[Change]] = {}
    for change in found:
        if _service_of(change) is not None:
            by_service.setdefault(str(_service_of(change)), []).append(change)
    for service in sorted(by_service):
        lines += [f"#### {service}", ""]
        for action in ("added", "removed", "changed"):
            for change in (c for c in by_service[service] if c.action == action):
                name = change.path.partition("/")[2]
                flag = " **(destructive)**" if change.destructive else ""
                lines.append(f"- {action} `{name}`{flag}")
                lines += [f"  - {_field_line(f)}" for f in change.fields]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _field_line(field: FieldChange) -> str:
    if field.hidden:
        return f"`{field.path}`: encrypted data changed (values not shown)"
    if field.before is None and field.after is None:
        return f"`{field.path}`"
    if field.before is None:
        return f"`{field.path}`: added {_value(field.after)}"
    if field.after is None:
        return f"`{field.path}`: removed (was {_value(field.before)})"
    return f"`{field.path}`: {_value(field.before)} → {_value(field.after)}"


def _value(text: str | None) -> str:
    text = " ".join(str(text).split())  # one line: a multi-line script or certificate stays in its bullet
    if len(text) > MAX_VALUE:
        keep = (MAX_VALUE - 1) // 2
        text = f"{text[:keep]}…{text[-keep:]} ({len(text)} chars)"
    text = text.replace("`", "'")  # a backtick would end the code span
    return f"`{text}`" if text else '`""`'


def read_git_output(out: Path, ref: str) -> tuple[dict[str, str], dict[str, str]]:
    """The output folder ``out`` as committed at ``ref`` in the git repository holding it: (files, marker stamp).

    Read with ``git archive`` (one process, whatever the size), never from the work tree.
    """
    where = Path(os.path.abspath(out))
    while not where.is_dir() and where != where.parent:  # dist/ may be absent from the work tree
        where = where.parent
    top = _git(where, "rev-parse", "--show-toplevel")
    if top is None:
        raise UserError(f"--against {ref}: {where} is not in a git repository; run it inside the one holding {out}")
    if _git(where, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is None:
        raise UserError(f"--against {ref}: no such commit, branch or tag in {top.strip()}; check `git log`")
    root = Path(top.strip())
    relative = Path(os.path.abspath(out)).resolve().relative_to(root.resolve()).as_posix()
    prefix = "" if relative == "." else f"{relative}/"
    # Paths are the repository's (git archive reads them relative to the folder it runs in).
    archive = _git(root, "archive", "--format=tar", ref, f"{prefix}{MARKER}", binary=True)
    if archive is None:
        raise UserError(
            f"--against {ref}: {prefix or './'} holds no ink output ({MARKER}) at {ref}; "
            "commit the output of `ink synth` first, or pass the folder with --out"
        )
    archive = _git(root, "archive", "--format=tar", ref, prefix or ".", binary=True) or b""
    files: dict[str, str] = {}
    stamp: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            name = member.name.removeprefix(prefix)
            data = tar.extractfile(member)
            text = data.read().decode("utf-8", errors="replace") if data else ""
            if name == MARKER:
                fields = (line.partition(": ") for line in text.splitlines()[1:])
                stamp = {key.strip(): value.strip() for key, sep, value in fields if sep}
            elif name.endswith(".yaml"):
                files[name] = text
    return files, stamp


def _git(where: Path, *args: str, binary: bool = False) -> Any:
    """Stdout of ``git -C where args`` (bytes with ``binary``), None when git fails or is not installed."""
    try:
        done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, check=False)
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return done.stdout if binary else done.stdout.decode("utf-8", errors="replace")
