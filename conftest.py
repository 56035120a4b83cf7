"""Shared pytest set-up for every package's tests (core, plugins, cross-package)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
# Custom-resource schemas live beside the repository (../shared/crds): data we validate against,
# deliberately not copied into the project. CRD_SCHEMA_DIR points elsewhere.
CRD_DIR = Path(os.environ.get("CRD_SCHEMA_DIR", REPO.parent / "shared" / "crds"))


@pytest.fixture(autouse=True)
def _clean_ink_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own INK_* variables."""
    for name in list(os.environ):
        if name.upper().startswith("INK_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    if not (CRD_DIR / "postgresql.cnpg.io").is_dir():
        pytest.fail(f"custom-resource schemas not found in {CRD_DIR}; set CRD_SCHEMA_DIR to the shared/crds folder")
    return CRD_DIR
