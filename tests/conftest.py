"""Fixtures of the cross-package tests: the real API server of the `apiserver` tier, and wheels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import kubeapi
import outside
import pytest


@pytest.fixture(scope="session")
def apiserver() -> Iterator[kubeapi.TestAPIServer]:
    """etcd and kube-apiserver, built if needed and started once for the session.

    A failure to build or start fails every test that needs it, loudly: this tier is never skipped.
    """
    failure = ""
    try:
        server = kubeapi.start()
    except Exception as err:
        failure = f"the test API server could not be built or started: {err}"
    if failure:
        pytest.fail(failure, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Wheels of ink-core and the plugins the end-to-end tests install (outside.PACKAGES), built once."""
    return outside.build_wheels(tmp_path_factory.mktemp("wheels"))
