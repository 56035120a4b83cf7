"""Fixtures of the cross-package tests: the real API server of the `apiserver` tier."""

from __future__ import annotations

from collections.abc import Iterator

import kubeapi
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
