"""The maximal config synthesised with a metrics provider, for the cross-package metrics tests.

The real provider (a plugin that provides ``metrics``) is used when one is installed; otherwise a
``testing.StandIn`` answers every MetricsTarget, so each plugin's targets, alerts and chart values are
what they would be under Prometheus.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from ink import run, testing
from ink.models import Capability, MetricsTarget
from ink.plugins import make_plugin_host

MAXIMAL = (Path(__file__).parent / "configs" / "maximal.toml").read_text()


def installed_metrics_provider() -> str | None:
    host = make_plugin_host(environ={})
    for name in host.names:
        if Capability.METRICS in host.call(name, "ink_service_info").provides:
            return name
    return None


# Plugins the maximal config leaves off because another one takes their place, and the swap that turns them on.
ALTERNATIVES = {
    "external-secrets": "\n[plugins.external-secrets]\nenabled = true\n\n[plugins.sealed-secrets]\nenabled = false\n",
}


@functools.cache
def maximal(alternative: str = "") -> run.SynthResult:
    """The maximal config's synthesis (its files are kept in the result); with ``alternative``, its swap applied."""
    config = MAXIMAL + (ALTERNATIVES[alternative] if alternative else "")
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("INK_")}
    try:
        extra = (
            {} if installed_metrics_provider() else {"monitoring": testing.StandIn("monitoring", Capability.METRICS)}
        )
        with tempfile.TemporaryDirectory(prefix="ink-metrics-") as directory:
            return testing.synth(Path(directory), config, extra=extra)
    finally:
        os.environ.update(hidden)


def targets() -> list[MetricsTarget]:
    """Every MetricsTarget of the maximal config (each answered by the provider)."""
    graph = maximal().graph
    assert graph is not None
    return [need for need in graph.needs if isinstance(need, MetricsTarget)]
