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

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def main() -> None:
    ink = Path(sys.executable).with_name("ink")
    times = []
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        subprocess.run([ink, "synth", "--out", "dist"], cwd=directory, env=env, check=True, capture_output=True)
        for _ in range(RUNS):
            start = time.perf_counter()
            subprocess.run([ink, "synth", "--out", "dist"], cwd=directory, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        objects = sum(1 for p in Path(directory, "dist").rglob("*.yaml"))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "runs": RUNS,
                "objects": objects,
                "seconds_min": round(min(times), 3),
                "seconds_median": round(statistics.median(times), 3),
                "peak_rss_mib_largest_child": round(peak_mib, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
