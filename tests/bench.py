"""Benchmark (issue 17 part 1): ink against its floors, its phases, and its scaling. Never asserted in tests.

    nox -s bench                      # 5 rounds; writes build/bench.json and docs/performance.md's table
    nox -s bench -- --runs 3          # fewer rounds
    nox -s bench -- --suite           # also the wall time of `nox -s tests` and of .ci/run (long: opt in)

Every command runs in a fresh process, round-robin over the rounds (drift on a busy machine hits all alike);
we report min and median and ratios of medians. Phases are measured in-process by wrapping ink's module
functions here (run.py is not instrumented): this script re-runs itself as a child with ``--child``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CRDS = ROOT.parent / "shared" / "crds"  # as pyproject's ink_crd_dir: validation of custom resources included
# Bytecode cached (in build/pycache, outside the tree) as for a user, whose pip compiles it at install; the
# warm-up round writes it. Without it each process compiled ink and its imports anew: 0.5-0.7 s a command.
ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "PYTHONDONTWRITEBYTECODE": "",
    "PYTHONPYCACHEPREFIX": str(ROOT / "build" / "pycache"),
}
# The phases are timed in one process, one after the other: validation too, not in ink.forked's child (where
# the parent's timer would see only the wait for it). The cold-process command rows keep the child.
CHILD_ENV = {**ENV, "INK_NO_FORK": "1"}
SIZES = (10, 100, 300)
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin (tests/bench.py rewrites this block) -->", "<!-- bench:end -->"


# --- the child: one cold synth with its phases timed --------------------------------------------------------


class _Timers:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.active: list[str] = []

    def wrap(self, owner: Any, attribute: str, phase: str) -> None:
        """Replace ``owner.attribute`` by a function adding its time to ``phase`` (outermost call only)."""
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if phase in self.active:
                return original(*args, **kwargs)
            self.active.append(phase)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start
                self.active.remove(phase)

        setattr(owner, attribute, timed)


def _node_peak_mib() -> float:
    """The largest peak RSS (VmHWM) of this process's descendants: jsii's two node processes."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    mine, peak = {os.getpid()}, 0.0
    for _ in range(4):
        mine |= {pid for pid, parent in parents.items() if parent in mine}
    for pid in mine - {os.getpid()}:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if found := re.search(r"^VmHWM:\s+(\d+) kB", status, re.M):
            peak = max(peak, int(found[1]) / 1024)
    return peak


def _synthetic(count: int) -> dict[str, object]:
    """``count`` plugins, one service each (a Deployment and its Service), through the real plugin path."""
    from ink.hookspecs import hookimpl
    from ink.models import ServiceInfo

    class Synthetic:
        def __init__(self, name: str) -> None:
            self.name = name

        @hookimpl
        def ink_service_info(self) -> ServiceInfo:
            return ServiceInfo(name=self.name, title=self.name, version="1.0", homepage="https://example.org")

        @hookimpl
        def ink_workloads(self, scope, ctx) -> None:  # type: ignore[no-untyped-def]
            from ink import kube  # not at import: the child times Node's start on its own

            ports = [kube.Port(name="http", number=8080)]
            container = kube.Container(
                name="app",
                image="example.org/app:1",
                ports=ports,
                health=kube.HttpProbe(path="/", port=8080),
                env={"A": "b"},
                mounts=[kube.Scratch(name="tmp", mount_path="/tmp")],
            )
            kube.Workloads(scope, self.name, ctx=ctx, components=[kube.Component(name="app", containers=[container])])

    return {f"s{n:03d}": Synthetic(f"s{n:03d}") for n in range(count)}


def child(directory: Path, services: int) -> None:
    """One synth in this fresh process; prints its phases (seconds), object count and peak memory as JSON."""
    started = time.perf_counter()
    from ink import netpol, output, plugins, run
    from ink import synth as synth_mod

    if services:
        host = plugins.make_plugin_host(environ={"INK_LOAD_PLUGINS": ""}, extra=_synthetic(services))
        config: Path | None = directory / "ink.toml"
        config.write_text("", encoding="utf-8")  # only the synthetic services: no default homelab
    else:
        host, config = plugins.make_plugin_host(), None
    phases = {"import and load plugins": time.perf_counter() - started}
    start = time.perf_counter()
    from ink import kube  # noqa: F401  (synthesise imports it first thing: Node, jsii, cdk8s)

    phases["start Node, load cdk8s"] = time.perf_counter() - start
    timers = _Timers()
    timers.wrap(synth_mod, "plan", "declare (plan)")
    timers.wrap(synth_mod, "synthesise", "synthesise")
    timers.wrap(synth_mod, "_collect", "cdk8s synth (to_json)")
    timers.wrap(netpol, "plan", "network policies")
    timers.wrap(run, "to_yaml", "YAML dump")
    timers.wrap(run, "_validator", "validate")
    timers.wrap(run, "_validate_all", "validate")
    timers.wrap(run, "_changes", "compare with dist/")
    timers.wrap(run, "write_tree", "write")
    call = plugins.PluginHost.call

    def timed_call(self: Any, name: str, hook: str, **kwargs: Any) -> Any:
        # Plugins' own time: what they provide (bindings, secrets) and what they build (their objects).
        phase = "provide (ink_provide_* hooks)" if hook.startswith("ink_provide") else None
        phase = "build (ink_workloads hooks)" if hook == "ink_workloads" else phase
        if phase is None or phase in timers.active:
            return call(self, name, hook, **kwargs)
        timers.active.append(phase)
        start = time.perf_counter()
        try:
            return call(self, name, hook, **kwargs)
        finally:
            timers.seconds[phase] = timers.seconds.get(phase, 0.0) + time.perf_counter() - start
            timers.active.remove(phase)

    plugins.PluginHost.call = timed_call  # type: ignore[method-assign]
    start = time.perf_counter()
    result = run.synth(
        config_path=config, out=directory / "dist", host=host, extra_crd_dirs=[CRDS] if CRDS.is_dir() else []
    )
    total = time.perf_counter() - start
    found = dict(timers.seconds)
    inside = (
        "provide (ink_provide_* hooks)",
        "build (ink_workloads hooks)",
        "cdk8s synth (to_json)",
        "network policies",
    )
    found["synthesise: core's rest"] = found.pop("synthesise") - sum(found.get(k, 0.0) for k in inside)
    found["write"] -= found.get("compare with dist/", 0.0)
    phases.update(found)
    phases["other (build's rest, images, leak check)"] = total - sum(found.values())
    print(
        json.dumps(
            {
                "phases": phases,
                "objects": result.objects,
                "services": result.services,
                "seconds": time.perf_counter() - started,
                "python_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "node_peak_mib": _node_peak_mib(),
                "jsii_loaded": "jsii" in sys.modules,
                "yaml_c": output._Base.__name__.startswith("C"),
            }
        )
    )


def read_only_child(command: str) -> None:
    """Whether ``ink <command>`` imports jsii (which starts Node): run in-process, its output discarded."""
    import contextlib
    import io

    from ink import cli

    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        cli.main([*command.split()], standalone_mode=True)
    print(json.dumps({"jsii_loaded": "jsii" in sys.modules}))


# --- floors ---------------------------------------------------------------------------------------------------

NODE_APP = """
const fs = require("fs");
const path = require("path");
const { App, Chart, ApiObject, YamlOutputType } = require("cdk8s");
const objects = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
// An App per namespace writing into its own folder, as ink writes a folder per service: cdk8s names a file
// <Kind>.<name>.yaml, so one folder for all would overwrite the NetworkPolicies every namespace has.
const apps = {};
objects.forEach((body, n) => {
  const ns = (body.metadata && body.metadata.namespace) || "cluster";
  if (!apps[ns]) {
    const app = new App({ outdir: path.join(process.argv[3], ns), outputFileExtension: ".yaml",
                          yamlOutputType: YamlOutputType.FILE_PER_RESOURCE });
    apps[ns] = [app, new Chart(app, ns, { disableResourceNameHashes: true })];
  }
  new ApiObject(apps[ns][1], `o${n}`, body);
});
Object.values(apps).forEach(([app]) => app.synth());
"""

PLAIN_PYTHON = """
import json, os, sys, yaml
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
objects = json.load(open(sys.argv[1]))
os.makedirs(sys.argv[2], exist_ok=True)
for n, body in enumerate(objects):
    with open(os.path.join(sys.argv[2], f"o{n}.yaml"), "w") as f:
        yaml.dump(body, f, Dumper=Dumper, sort_keys=False)
"""


def node_modules(into: Path) -> Path:
    """cdk8s and constructs for Node, from the jsii tarballs inside their Python wheels (no npm install)."""
    import importlib.util

    for name in ("cdk8s", "constructs"):
        spec = importlib.util.find_spec(name)  # not imported: importing cdk8s would start a jsii kernel here
        assert spec is not None and spec.origin, f"{name} is not installed"
        (tarball,) = Path(spec.origin).parent.glob("_jsii/*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(into / "extract" / name, filter="data")
        shutil.move(into / "extract" / name / "package", into / "node_modules" / name)
    (into / "app.js").write_text(NODE_APP)
    (into / "plain.py").write_text(PLAIN_PYTHON)
    return into


def objects_json(dist: Path, into: Path) -> tuple[Path, int]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    bodies = [
        body
        for path in sorted(dist.rglob("*.yaml"))
        if not path.relative_to(dist).parts[0].startswith("_")
        for body in yaml.load_all(path.read_text(), Loader=loader)
        if body
    ]
    target = into / "objects.json"
    target.write_text(json.dumps(bodies))
    return target, len(bodies)


# --- measuring ------------------------------------------------------------------------------------------------


def _peak_of(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command run once (wait4 gives the peak of that process only)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{command} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def round_robin(commands: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        command()  # one warm-up each: caches, the first master key, dist/ to compare with
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(command())
    return times


def stats(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 4), "median": round(statistics.median(values), 4), "runs": len(values)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--suite", action="store_true", help="also time `nox -s tests` and .ci/run (long)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench.json")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="synthetic services, e.g. 10,100,300")
    parser.add_argument("--render", action="store_true", help="only rewrite the table from --out's results")
    parser.add_argument("--note", default="", help="what else ran on the machine meanwhile, for the table")
    args = parser.parse_args(argv)
    if args.render:
        write_doc(render(json.loads(args.out.read_text())))
        return
    python, ink = sys.executable, str(Path(sys.executable).with_name("ink"))
    script = str(Path(__file__).resolve())
    crd = ["--crd-dir", str(CRDS)] if CRDS.is_dir() else []
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
            "note": args.note,
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": args.runs,
    }
    with tempfile.TemporaryDirectory(prefix="ink-bench-") as tmp:
        work = Path(tmp)
        homelab, phased = work / "homelab", work / "phased"
        homelab.mkdir()
        phased.mkdir()
        subprocess.run([ink, "synth", *crd], cwd=homelab, env=ENV, check=True, capture_output=True)
        objects, count = objects_json(homelab / "dist", work)
        floors = node_modules(work / "floor")
        phase_runs: list[dict[str, Any]] = []

        def phases() -> float:
            start = time.perf_counter()
            done = subprocess.run(
                [python, script, "--child", str(phased)], cwd=phased, env=CHILD_ENV, capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(done.stderr)
            phase_runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            return time.perf_counter() - start

        commands = {
            "ink synth (default, cold process)": lambda: timed([ink, "synth", *crd], homelab),
            "ink synth, phases timed in-process": phases,
            "ink validate dist/": lambda: timed([ink, "validate", *crd, "dist"], homelab),
            "ink --help": lambda: timed([ink, "--help"], homelab),
            "ink plugins": lambda: timed([ink, "plugins"], homelab),
            "ink schema": lambda: timed([ink, "schema"], homelab),
            "floor (a): node + cdk8s JS app, same objects": lambda: timed(
                ["node", "app.js", str(objects), str(work / "node-out")], floors
            ),
            "floor (b): plain Python, same objects as YAML": lambda: timed(
                [python, "plain.py", str(objects), str(work / "py-out")], floors
            ),
            "python -c pass": lambda: timed([python, "-c", "pass"], work),
            "node -e 0": lambda: timed(["node", "-e", "0"], work),
        }
        times = round_robin(commands, args.runs)
        phase_runs = phase_runs[1:]  # without the warm-up
        results["default"] = {
            "objects": count,
            "services": phase_runs[-1]["services"],
            "commands": {k: stats(v) for k, v in times.items()},
            "phases": {k: stats([r["phases"][k] for r in phase_runs]) for k in phase_runs[-1]["phases"]},
            "python_peak_mib": max(r["python_peak_mib"] for r in phase_runs),
            "node_peak_mib": max(r["node_peak_mib"] for r in phase_runs),
            "yaml_c_dumper": phase_runs[-1]["yaml_c"],
        }
        results["starts_node"] = {}
        for command in ("--help", "plugins", "schema"):
            done = subprocess.run(
                [python, script, "--read-only", command],
                cwd=homelab,
                env=ENV,
                capture_output=True,
                text=True,
                check=True,
            )
            results["starts_node"][f"ink {command}"] = json.loads(done.stdout.strip().splitlines()[-1])["jsii_loaded"]
        _, node_mib = _peak_of(["node", str(floors / "app.js"), str(objects), str(work / "node-out")])
        results["default"]["floor_a_node_peak_mib"] = round(node_mib, 1)

        scaling: dict[str, Any] = {}
        for size in map(int, args.sizes.split(",")):
            runs: list[dict[str, Any]] = []
            validate: list[float] = []
            folder = work / f"scale-{size}"
            folder.mkdir()
            for run in range(max(2, args.runs // 2) + 1):
                done = subprocess.run(
                    [python, script, "--child", str(folder), "--services", str(size)],
                    cwd=folder,
                    env=CHILD_ENV,
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    raise SystemExit(done.stderr)
                if run:
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                    validate.append(timed([ink, "validate", "dist"], folder))
            objects_n = runs[-1]["objects"]
            scaling[str(size)] = {
                "objects": objects_n,
                "seconds": stats([r["seconds"] for r in runs]),
                "phases": {k: round(statistics.median(r["phases"][k] for r in runs), 4) for k in runs[-1]["phases"]},
                "ms_per_service": round(1000 * statistics.median(r["seconds"] for r in runs) / size, 2),
                "ms_per_object": round(1000 * statistics.median(r["seconds"] for r in runs) / objects_n, 2),
                "python_peak_mib": round(max(r["python_peak_mib"] for r in runs), 1),
                "node_peak_mib": round(max(r["node_peak_mib"] for r in runs), 1),
                "ink_validate": stats(validate),
            }
        results["scaling"] = scaling
    results["suite"] = suite(args.suite)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = render(results)
    print(table)
    if not args.no_doc:
        write_doc(table)


def write_doc(table: str) -> None:
    text = DOC.read_text()
    before, rest = text.split(BEGIN, 1)
    DOC.write_text(before + BEGIN + "\n" + table + "\n" + END + rest.split(END, 1)[1])


def suite(run_it: bool) -> dict[str, Any]:
    """Wall time of `nox -s tests` and of .ci/run: only with --suite (they take long on a shared machine)."""
    if not run_it:
        return {"measured": False}
    found: dict[str, Any] = {"measured": True}
    nox = ROOT / ".venv" / "bin" / "nox"  # the set-up of common practice: python3 -m venv .venv; pip install nox
    for name, command in (("nox -s tests", [str(nox), "-s", "tests"]), (".ci/run", [str(ROOT / ".ci" / "run")])):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, check=False)
        found[name] = {"seconds": round(time.perf_counter() - start, 1), "exit": done.returncode}
    return found


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:,.0f}"


def render(results: dict[str, Any]) -> str:
    d = results["default"]
    c = d["commands"]
    synth = c["ink synth (default, cold process)"]["median"]
    floor = (
        c["floor (a): node + cdk8s JS app, same objects"]["median"]
        + c["floor (b): plain Python, same objects as YAML"]["median"]
    )
    m = results["machine"]
    lines = [
        f"Measured {results['started']} on {m['cpus']} CPUs ({m['platform']}), Python {m['python']}, node {m['node']};"
        f" {results['runs']} rounds, round-robin. {m['note']}".rstrip(),
        "",
        f"**Embedded default**: {d['services']} services, {d['objects']} objects (custom resources validated against"
        f" ../shared/crds). Ratios are medians against floor (a) + (b) = {_ms(floor)} ms.",
        "",
        "| command | min ms | median ms | x floor (a)+(b) |",
        "|---|---:|---:|---:|",
    ]
    for name, s in c.items():
        lines.append(f"| {name} | {_ms(s['min'])} | {_ms(s['median'])} | {s['median'] / floor:.2f}x |")
    lines += [
        "",
        "**Phases** of the cold synth (in-process timers, medians):",
        "",
        "| phase | median ms | share |",
        "|---|---:|---:|",
    ]
    whole = sum(s["median"] for s in d["phases"].values())
    for name, s in d["phases"].items():
        lines.append(f"| {name} | {_ms(s['median'])} | {100 * s['median'] / whole:.0f} % |")
    starts = ", ".join(
        f"`{k}` {'imports jsii (starts Node)' if v else 'no jsii, no Node'}" for k, v in results["starts_node"].items()
    )
    lines += [
        "",
        f"Peak RSS of the default synth: Python {d['python_peak_mib']:.0f} MiB, Node {d['node_peak_mib']:.0f}"
        f" MiB (floor (a)'s node: {d['floor_a_node_peak_mib']:.0f} MiB). YAML C dumper: {d['yaml_c_dumper']}."
        f" Read-only commands: {starts}.",
        "",
        "**Scaling**: synthetic plugins, one service each (Deployment + Service, and the Namespace and"
        " NetworkPolicies core adds), through the real plugin path, no providers.",
        "",
        "| services | objects | median s | ms / service | ms / object | Python MiB | Node MiB |"
        " ink validate median s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, s in results["scaling"].items():
        lines.append(
            f"| {size} | {s['objects']} | {s['seconds']['median']:.2f} | {s['ms_per_service']:.1f} |"
            f" {s['ms_per_object']:.2f} | {s['python_peak_mib']:.0f} | {s['node_peak_mib']:.0f} |"
            f" {s['ink_validate']['median']:.2f} |"
        )
    phase_names = list(next(iter(results["scaling"].values()))["phases"])
    lines += [
        "",
        "Phases per object (ms; medians) as services grow:",
        "",
        "| phase | " + " | ".join(results["scaling"]) + " |",
        "|---|" + "---:|" * len(results["scaling"]),
    ]
    for name in phase_names:
        cells = [f"{1000 * s['phases'][name] / s['objects']:.2f}" for s in results["scaling"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    s = results["suite"]
    if s.get("measured"):
        lines += [
            "",
            "Test suite: "
            + ", ".join(f"`{k}` {v['seconds']:.0f} s (exit {v['exit']})" for k, v in s.items() if k != "measured"),
        ]
    else:
        lines += ["", "Test suite: not measured in this run (`nox -s bench -- --suite`)."]
    floor_min = (
        c["floor (a): node + cdk8s JS app, same objects"]["min"]
        + c["floor (b): plain Python, same objects as YAML"]["min"]
    )
    ratios = (synth / floor, c["ink synth (default, cold process)"]["min"] / floor_min)
    return "\n".join([*lines, "", *targets(results, ratios)])


def targets(results: dict[str, Any], ratios: tuple[float, float]) -> list[str]:
    """Issue 17's targets, each measured against its bound. The synth's ratio to the floors is given for medians
    and for minimums (on a busy machine the floors' medians swell more than ink's); met only if both are."""
    c = results["default"]["commands"]
    slowest = max(("ink --help", "ink plugins", "ink schema"), key=lambda k: c[k]["median"])
    sizes = results["scaling"]
    first, last = sizes[min(sizes, key=int)], sizes[max(sizes, key=int)]
    growth = max(
        (last["phases"][k] / last["objects"]) / max(first["phases"][k] / first["objects"], 1e-9)
        for k in last["phases"]
        if k not in ("import and load plugins", "start Node, load cdk8s") and first["phases"][k] > 0.01
    )
    memory = last["python_peak_mib"] + last["node_peak_mib"]
    per_1000 = 1000 * last["phases"]["validate"] / last["objects"]  # in-process: without Python's start-up
    rows = [
        (
            "cold synth of the default within 2x of floor (a) + (b), validation included",
            f"{ratios[0]:.1f}x (medians), {ratios[1]:.1f}x (minimums)",
            max(ratios) <= 2,
        ),
        (
            f"read-only commands under 0.3 s (slowest: `{slowest}`)",
            f"{c[slowest]['median']:.2f} s",
            c[slowest]["median"] < 0.3,
        ),
        (
            f"no phase per object growing from {min(sizes, key=int)} to {max(sizes, key=int)} services (largest ratio"
            " of ms per object, fixed start-up excluded)",
            f"{growth:.2f}x",
            growth <= 1.25,
        ),
        (
            f"peak memory under 500 MB at {max(sizes, key=int)} services (Python + Node)",
            f"{memory:.0f} MiB",
            memory * 1.048576 < 500,
        ),
        (
            f"validation of 1,000 objects under 1 s (in-process, {last['objects']} objects, per 1,000)",
            f"{per_1000:.2f} s",
            per_1000 < 1,
        ),
    ]
    suite = results["suite"]
    if suite.get("measured"):
        ci = suite[".ci/run"]["seconds"]
        rows.append(("the whole CI under 30 minutes", f"{ci / 60:.0f} min", ci < 1800))
    else:
        rows.append(("the whole CI under 30 minutes", "not measured (--suite)", None))
    lines = ["**Targets** (issue 17 part 2):", "", "| target | measured | met |", "|---|---:|---|"]
    for what, measured, met in rows:
        lines.append(f"| {what} | {measured} | {'-' if met is None else 'yes' if met else 'no'} |")
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), int(sys.argv[4]) if sys.argv[3:4] == ["--services"] else 0)
    elif sys.argv[1:2] == ["--read-only"]:
        read_only_child(sys.argv[2])
    else:
        main(sys.argv[1:])
