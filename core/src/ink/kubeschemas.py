"""Where the strict Kubernetes schemas bundled with ``kubernetes-validate`` are, and which versions they cover.

Apart from :mod:`ink.validate` so that checking ``kubernetes_version`` in the settings does not import the
validator (jsonschema): ``ink plugins`` and ``ink schema`` read the settings and never validate.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path


@cache
def schema_root() -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")  # locate the data without importing the package
    if spec is None or spec.origin is None:
        raise ImportError("kubernetes-validate is not installed")
    return Path(spec.origin).parent / "kubernetes-json-schema"


def supported_kubernetes_versions() -> list[str]:
    """Kubernetes minor versions with bundled strict schemas, oldest first."""
    found = [re.fullmatch(r"v(\d+)\.(\d+)\.0-local-strict", p.name) for p in schema_root().iterdir()]
    return [f"{a}.{b}" for a, b in sorted((int(m[1]), int(m[2])) for m in found if m)]
