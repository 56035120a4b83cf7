"""A pure function computed in a forked child process, on the other core, while the caller goes on.

``ink synth`` validates every object (a third of a second for the default homelab, all of it Python
holding the GIL, so a thread would not help) while it renders the same objects as YAML: two cores,
half the wait (docs/performance.md). The child shares nothing back but the pickled result.

Whatever goes wrong in the child (an exception, a result that does not pickle, the child killed) is
not reported from there: the caller's process then computes the function itself, so an error is raised
where and as it would have been without the child, with its own traceback. Where ``os.fork`` does not
exist, or ``INK_NO_FORK`` is set, the function simply runs in the caller's process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """``compute()`` started in a child; :meth:`result` waits for it. Use it as a context manager, so that
    a child whose result is no longer wanted (the caller raised meanwhile) is stopped and reaped."""

    def __init__(self, compute: Callable[[], T], *, fork: bool = True) -> None:
        self._compute = compute
        self._pid = 0
        self._read = -1
        if not fork or not hasattr(os, "fork") or os.environ.get("INK_NO_FORK"):
            return
        read, write = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a process with threads (jsii's pipe reader) may deadlock the
            # child; the child takes no lock those threads use: it runs compute() and writes one pipe.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns, never runs the parent's exit handlers (jsii's among them)
            os.close(read)
            code = 1
            with contextlib.suppress(BaseException):
                payload = pickle.dumps(compute(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
                code = 0
            os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> T:
        """The child's result; computed here instead when the child could not deliver one."""
        if not self._pid:
            return self._compute()
        with os.fdopen(self._read, "rb") as pipe:
            self._read = -1
            payload = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        if payload and os.waitstatus_to_exitcode(status) == 0:
            value: T = pickle.loads(payload)
            return value
        return self._compute()

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
