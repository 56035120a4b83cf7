"""Starting jsii's Node runtime in a thread, so that its start-up overlaps ink's own work.

Loading cdk8s starts a Node process and loads the constructs and cdk8s assemblies into it: about
0.2 s, nearly all of it spent in Node, on the other core. ``ink synth`` and ``ink diff`` start it first
thing and meanwhile import ink, load the configuration and the plugins and run the declare hooks;
the build waits for it (:func:`wait`) before it makes the cdk8s app (docs/performance.md).

Only constructs' and cdk8s's own modules are imported in the thread: jsii itself, which shares
libraries with the rest of ink (attrs, typing_extensions), is imported here first, so that no two
threads import the same module at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import Iterator

from ink.errors import UserError

_started: threading.Thread | None = None


def start() -> None:
    """Begin loading cdk8s in the background; nothing happens if it is loaded or loading already.

    Raises :class:`UserError` when there is no Node to start (jsii would fail with a traceback).
    """
    global _started
    if _started is not None or "cdk8s" in sys.modules:
        return
    command = os.environ.get("JSII_NODE", "node")  # what jsii runs
    if shutil.which(command) is None:
        where = "JSII_NODE names" if "JSII_NODE" in os.environ else "the PATH has"
        raise UserError(
            f"ink builds the manifests with cdk8s, which runs on Node.js, but {where} no {command!r}; "
            "install Node.js 20 or later, or set JSII_NODE to its path"
        )
    # jsii prints an 11-line end-of-life banner under Node 20; users must not see it (as ink.kube does).
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import jsii  # noqa: F401  (here, not in the thread: see the module's docstring)

    _started = threading.Thread(target=_load, name="ink-node-start", daemon=True)
    _started.start()


def _load() -> None:
    # A failure (no node on the PATH, say) is not reported here: the build's own `import cdk8s`, after
    # wait(), tries again and raises it where ink reports errors.
    with contextlib.suppress(Exception):
        import cdk8s  # noqa: F401


def wait() -> None:
    """Block until the background load has finished (at once if none was started)."""
    if _started is not None:
        _started.join()


@contextlib.contextmanager
def starting() -> Iterator[None]:
    """:func:`start` now and :func:`wait` on the way out, even on an error: a process must not exit while
    the thread is half-way through starting Node (jsii would print a traceback)."""
    start()
    try:
        yield
    finally:
        wait()
