"""Benchmark: wall time and peak memory of a cold `ink synth` of the embedded default.

Run with `nox -s bench` (not part of the tests: timings are measured, never asserted).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ink.hookspecs import hookimpl

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


COMPONENTS = 20  # Deployments (each with its Service) in the construct comparison


class _Many:
    """A test plugin building COMPONENTS equal web components with the workload vocabulary."""

    @hookimpl
    def ink_service_info(self):  # type: ignore[no-untyped-def]
        from ink.models import ServiceInfo

        return ServiceInfo(name="many", title="Many", version="1.0", homepage="https://example.org")

    @hookimpl
    def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
        from ink import kube

        ports = [kube.Port(name="http", number=8080)]
        components = [
            kube.Component(name=f"c{n}", containers=[kube.Container(
                name="app", image="example.org/app:1", ports=ports, health=kube.HttpProbe(path="/", port=8080),
                env={"A": "b"}, mounts=[kube.Scratch(name="tmp", mount_path="/tmp")])])
            for n in range(COMPONENTS)
        ]  # fmt: skip
        kube.Workloads(scope, "many", ctx=ctx, components=components)


def construct_cost(runs: int) -> dict[str, float]:
    """In-process synth time per object of COMPONENTS Deployments and Services (the jsii runtime warm)."""
    from ink import testing

    times, objects = [], 0
    for run in range(runs + 1):  # the first run warms the jsii runtime
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            result = testing.synth(Path(directory), plugins=[], extra={"many": _Many()}, validate=False)
            if run:
                times.append(time.perf_counter() - start)
            objects = len(result.files) - 1  # without the Namespace
    return {"Workloads_ms_per_object_min": round(1000 * min(times) / objects, 2)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ink = Path(sys.executable).with_name("ink")
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        subprocess.run([ink, "synth", "--out", "dist"], cwd=directory, env=env, check=True, capture_output=True)
        for _ in range(RUNS):
            start, before = time.perf_counter(), _children_cpu()
            subprocess.run([ink, "synth", "--out", "dist"], cwd=directory, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
            cpu.append(_children_cpu() - before)
        objects = sum(1 for p in Path(directory, "dist").rglob("*.yaml"))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "runs": RUNS,
                "objects": objects,
                "seconds_min": round(min(times), 3),
                "seconds_median": round(statistics.median(times), 3),
                # What a new construct must not make worse: the cost of one more object.
                "ms_per_object_median": round(1000 * statistics.median(times) / objects, 1),
                # CPU seconds of ink and the Node process it waited for: steadier than wall time on a busy machine.
                "cpu_seconds_median": round(statistics.median(cpu), 3),
                "peak_rss_mib_largest_child": round(peak_mib, 1),
                **construct_cost(RUNS),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
