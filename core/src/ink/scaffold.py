"""``ink new-plugin NAME``: write a complete plugin package whose tests pass as written.

The package is rendered from ``ink/templates/plugin`` (``string.Template``: ``${name}`` and friends,
so Python braces and f-strings need no escaping) into a temporary folder beside the target, then
renamed into place: a refused or failed run leaves nothing behind.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import tempfile
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from ink.errors import UserError, os_fault

# A DNS-1123 label (the namespace and dist/ folder) that starts with a letter (the settings class name).
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# Namespaces Kubernetes itself uses: a plugin there would mix its objects with the cluster's own.
RESERVED = ("default", "kube-system", "kube-public", "kube-node-lease")
ENTRY_POINT_GROUP = "ink"


def core_range(version: str) -> str:
    """The ink-core range a new plugin depends on: this release's minor series (0.x moves in minors)."""
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def check_name(name: str, parent: Path) -> Path:
    """The new package's folder, or a UserError (exit 2) saying what is wrong with NAME."""
    if not NAME_PATTERN.match(name) or name in RESERVED or name.startswith("kube-"):
        raise UserError(
            f"plugin name {name!r}: use a DNS label (lowercase letters, digits and '-', at most 63, starting with "
            "a letter, not default or kube-*), e.g. ink new-plugin my-service"
        )
    target = parent / name
    if target.exists() or target.is_symlink():
        raise UserError(f"{target}: already exists; choose another NAME or remove the folder")
    if name in {e.name for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}:
        raise UserError(f"plugin name {name!r}: an installed plugin already has it; choose another NAME")
    return target


def substitutions(name: str) -> dict[str, str]:
    words = name.split("-")
    try:
        version = importlib.metadata.version("ink-core")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - ink runs from a source tree
        version = "0.1.0"
    return {
        "name": name,
        "title": " ".join(word.capitalize() for word in words),
        "module": f"ink_plugin_{'_'.join(words)}",
        "function": "_".join(words),
        "settings_class": "".join(word.capitalize() for word in words) + "Settings",
        "env_name": "_".join(words).upper(),
        "core_range": core_range(version),
    }


def new_plugin(name: str, parent: Path) -> Path:
    """Write the package ``ink-plugin-NAME`` into ``parent/NAME``; returns that folder."""
    target = check_name(name, parent)
    values = substitutions(name)
    renames = {"src": f"src/{values['module']}", "tests/test_plugin.py": f"tests/test_{values['function']}.py"}
    template_root = files("ink") / "templates" / "plugin"
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    except FileNotFoundError:
        raise UserError(f"{parent}: folder not found; create it or run ink new-plugin elsewhere") from None
    except OSError as err:
        raise os_fault(parent, err, "create the plugin folder in") from err
    try:
        for relative in _template_files(template_root):
            path = relative.removesuffix(".tmpl")
            for old, new in renames.items():
                if path == old or path.startswith(old + "/"):
                    path = new + path[len(old) :]
            text = Template(_read(template_root, relative)).substitute(values)
            out = staging / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        staging.chmod(0o755 & ~_umask())
        os.rename(staging, target)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise os_fault(target, err, "write") from err
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _template_files(root: Traversable, prefix: str = "") -> list[str]:
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                found += _template_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".tmpl"):
            found.append(prefix + entry.name)
    return found


def _read(root: Traversable, relative: str) -> str:
    node = root
    for part in relative.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
