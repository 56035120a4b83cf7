"""ink.forked: a function computed in a forked child, and every way that can go wrong handled in the parent."""

from __future__ import annotations

import os
import time

import pytest

from ink.forked import Pending


def test_the_result_comes_from_a_child_process() -> None:
    with Pending(os.getpid) as pending:
        assert pending.result() != os.getpid()


def test_an_error_in_the_child_is_raised_by_computing_again_here() -> None:
    parent, calls = os.getpid(), []

    def compute() -> int:
        calls.append(os.getpid())  # only the parent's call is seen here: the child's list is its own copy
        raise ValueError(f"failed in {'the parent' if os.getpid() == parent else 'the child'}")

    with Pending(compute) as pending, pytest.raises(ValueError, match="failed in the parent"):
        pending.result()
    assert calls == [parent]


def test_a_result_that_does_not_pickle_is_computed_here() -> None:
    parent = os.getpid()
    with Pending(lambda: lambda: os.getpid() == parent) as pending:  # a lambda does not pickle
        assert pending.result()()


def test_a_large_result_is_read_whole() -> None:
    with Pending(lambda: list(range(200_000))) as pending:  # far beyond a pipe's buffer
        assert pending.result() == list(range(200_000))


def test_leaving_without_the_result_stops_and_reaps_the_child() -> None:
    with Pending(lambda: time.sleep(30)) as pending:
        pid = pending._pid
        assert pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


@pytest.mark.parametrize("how", ["fork=False", "INK_NO_FORK"])
def test_without_a_fork_it_runs_here(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "INK_NO_FORK":
        monkeypatch.setenv("INK_NO_FORK", "1")
    with Pending(os.getpid, fork=how != "fork=False") as pending:
        assert not pending._pid
        assert pending.result() == os.getpid()
