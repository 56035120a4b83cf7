"""Issue 10's "done means", end to end and outside the repository: one outside package defines a new
capability (``queue``) and provides it, a second consumes it by name and links to the first's endpoint,
and both sides appear in ``dist/``.

The two packages are the worked example of docs/writing-plugins.md (section 10), taken from the page
as it is: the test writes them into a temporary folder, installs them next to wheels of ink-core,
sealed-secrets (the Secrets) and argocd (the deploy waves) in a fresh venv, and runs the installed
``ink``. plugin-hooks.md and wiring.md quote the same code; the first tests check that they do.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from outside import ROOT, Venv, blocks, files_of, run, section, venv

DOCS = ROOT / "docs"
EXAMPLE = section((DOCS / "writing-plugins.md").read_text(encoding="utf-8"), "10. A capability of your own")
FILES = files_of(EXAMPLE)
PROVIDER, CONSUMER = "ink-plugin-nats", "ink-plugin-tasks"
DOMAIN = 'domain = "home.example.org"\n'
CONFIG = DOMAIN + '\n[plugins.argocd]\nrepo_url = "https://git.example.org/homelab.git"\n'
NATS_OFF = CONFIG + "\n[plugins.nats]\nenabled = false\n"
# Where the other pages explain capabilities and links, with excerpts of the same example.
QUOTING = {
    "plugin-hooks.md": ["Defining a capability", "`ink_endpoints(ctx)`", "`ink_links(ctx)`"],
    "wiring.md": ["7. Capabilities", "8. Links between services"],
}


# --- the docs: one example, quoted alike everywhere -------------------------------------------


def test_the_worked_example_is_two_complete_packages() -> None:
    assert sorted(FILES) == [
        "nats/pyproject.toml",
        "nats/src/ink_plugin_nats/__init__.py",
        "nats/src/ink_plugin_nats/capability.py",
        "tasks/pyproject.toml",
        "tasks/src/ink_plugin_tasks/__init__.py",
        "tasks/tests/test_tasks.py",
    ]
    consumer = "".join(text for path, text in FILES.items() if path.startswith("tasks/"))
    assert "ink_plugin_nats" not in consumer and PROVIDER not in consumer  # by name only, no dependency


@pytest.mark.parametrize(
    ("page", "heading"), [(page, heading) for page, headings in QUOTING.items() for heading in headings]
)
def test_the_other_pages_quote_the_worked_example_verbatim(page: str, heading: str) -> None:
    """A block whose first line is "# <file of the example>" must be a run of that file's lines, as written.

    Other blocks (an example from this repository, such as smtp) are left alone, but each section
    quotes the worked example at least once.
    """
    quoted = 0
    for block in blocks(section((DOCS / page).read_text(encoding="utf-8"), heading), "python", "toml"):
        first, _, rest = block.partition("\n")
        path = first.removeprefix("# ")
        if not path.startswith(("nats/", "tasks/")):
            continue
        assert path in FILES, f"{page} § {heading}: {path} is not a file of the example ({sorted(FILES)})"
        assert rest.strip() and f"\n{rest}\n" in f"\n{FILES[path]}", f"{page}: not in {path} as written:\n{rest}"
        quoted += 1
    assert quoted, f"{page} § {heading}: no block quotes the worked example"


# --- the packages, installed from outside ---------------------------------------------------


def write_packages(folder: Path, *prefixes: str) -> list[Path]:
    """The example's packages under ``folder`` (those whose folder is in ``prefixes``); their folders."""
    for path, text in FILES.items():
        if path.split("/")[0] in prefixes:
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text, encoding="utf-8")
    return [folder / prefix for prefix in prefixes]


def synth(
    env: Venv, work: Path, config: str, crd_dir: Path, *, name: str = "ink", out: str = "dist", expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """``ink synth`` of ``config`` (written to ``<name>.toml``) into ``out``, as a user runs it."""
    (work / f"{name}.toml").write_text(config, encoding="utf-8")
    args = ("synth", "--config", f"{name}.toml", "--out", out, "--crd-dir", crd_dir)
    return run(env.ink, *args, cwd=work, env=env.env, expect=expect)


@pytest.fixture(scope="module")
def homelab(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path], crd_dir: Path) -> tuple[Venv, Path]:
    """core, sealed-secrets, argocd, nats and tasks in a fresh venv outside the repository; dist/ synthesised."""
    root = tmp_path_factory.mktemp("outside")
    assert not root.resolve().is_relative_to(ROOT)
    work = root / "work"
    work.mkdir()
    packages = write_packages(root / "src", "nats", "tasks")
    env = venv(root / "venv", *(wheels[n] for n in ("ink-core", "ink-plugin-sealed-secrets", "ink-plugin-argocd")))
    env.install(*packages)  # built and installed like any package from an index
    env.env["CRD_SCHEMA_DIR"] = str(crd_dir)  # for the consumer's own tests
    synth(env, work, CONFIG, crd_dir)
    return env, work


def load(work: Path, path: str) -> dict:
    return yaml.safe_load((work / "dist" / path).read_text(encoding="utf-8"))


def container(work: Path, service: str) -> dict:
    (found,) = load(work, f"{service}/deployment-{service}.yaml")["spec"]["template"]["spec"]["containers"]
    return found


def env_of(work: Path, service: str) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(work, service)["env"]}


@pytest.mark.slow
def test_the_provider_runs_its_server_with_its_own_secret(homelab: tuple[Venv, Path]) -> None:
    _, work = homelab
    server = container(work, "nats")
    assert server["image"] == "docker.io/library/nats:2.14.5-alpine3.22"
    assert server["args"] == ["--auth", "$(NATS_TOKEN)", "--http_port", "8222"]
    assert env_of(work, "nats")["NATS_TOKEN"] == {"secretKeyRef": {"name": "nats-token", "key": "token"}}
    assert server["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "monitoring", "scheme": "HTTP"}
    assert server["securityContext"]["runAsNonRoot"] is True
    assert server["resources"]["limits"]["memory"] and server["resources"]["requests"]["memory"]
    ports = load(work, "nats/service-nats.yaml")["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in ports] == [("client", 4222), ("monitoring", 8222)]
    assert load(work, "nats/sealedsecret-nats-token.yaml")["metadata"]["namespace"] == "nats"


@pytest.mark.slow
def test_the_consumer_gets_the_binding_its_secret_and_the_link(homelab: tuple[Venv, Path]) -> None:
    env, work = homelab
    assert env_of(work, "tasks") == {
        "QUEUE_URL": "nats://nats.nats.svc:4222",
        "QUEUE_SUBJECT": "tasks.tasks",
        # The binding's Secret, made in the consumer's own namespace by the secrets provider.
        "QUEUE_TOKEN": {"secretKeyRef": {"name": "tasks-queue", "key": "token"}},
        "QUEUE_STATS_URL": "http://nats.nats.svc:8222",  # ctx.link("stats"): the nats-monitoring endpoint
        "WHOAMI_PORT_NUMBER": "8080",
    }
    secret = load(work, "tasks/sealedsecret-tasks-queue.yaml")
    assert secret["metadata"]["namespace"] == "tasks"
    assert set(secret["spec"]["encryptedData"]) == {"token"}
    # One GeneratedSecret id on both sides: the server's Secret and the client's hold one value.
    listed = run(env.ink, "secrets", "list", cwd=work, env=env.env).stdout
    assert "nats/token" in listed and "nats/nats-token:token" in listed and "tasks/tasks-queue:token" in listed


@pytest.mark.slow
def test_the_consumer_deploys_after_the_provider(homelab: tuple[Venv, Path]) -> None:
    _, work = homelab

    def wave(service: str) -> int:
        application = load(work, f"argocd/application-{service}.yaml")
        return int(application["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    assert wave("sealed-secrets") < wave("nats") < wave("tasks")


@pytest.mark.slow
def test_ink_plugins_lists_the_capability_its_definer_and_provider(homelab: tuple[Venv, Path]) -> None:
    env, work = homelab
    listed = run(env.ink, "plugins", cwd=work, env=env.env).stdout.splitlines()
    assert "queue\tink-plugin-nats\tnats\ttasks" in listed
    assert "nats\tink-plugin-nats\t0.1.0\tNATS 2.14.5\tqueue\tsecrets\tyes" in listed
    assert "tasks\tink-plugin-tasks\t0.1.0\tTasks 1.0.0\t-\tqueue\tyes" in listed


@pytest.mark.slow
def test_ink_validate_passes_on_the_output(homelab: tuple[Venv, Path], crd_dir: Path) -> None:
    env, work = homelab
    checked = run(env.ink, "validate", "dist", "--crd-dir", crd_dir, "--strict-crds", cwd=work, env=env.env)
    count = sum(1 for path in (work / "dist").rglob("*.yaml"))
    assert checked.stdout.strip() == f"valid: {count} objects"


@pytest.mark.slow
def test_a_disabled_provider_stops_the_run_naming_both_ends(homelab: tuple[Venv, Path], crd_dir: Path) -> None:
    env, work = homelab
    refused = synth(env, work, NATS_OFF, crd_dir, name="nats-off", out="dist-off", expect=2)
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: tasks needs queue (queue/tasks) but no enabled plugin provides it;")
    assert "(nats is installed but disabled: [plugins.nats] enabled = true)" in refused.stderr
    assert not (work / "dist-off").exists()


@pytest.mark.slow
def test_the_consumer_without_the_provider_installed_stops_the_run(
    tmp_path: Path, wheels: dict[str, Path], crd_dir: Path
) -> None:
    (consumer,) = write_packages(tmp_path / "src", "tasks")
    env = venv(tmp_path / "venv", wheels["ink-core"], wheels["ink-plugin-sealed-secrets"], consumer)
    refused = synth(env, tmp_path, DOMAIN, crd_dir, expect=2)
    assert refused.stderr.startswith("error: tasks needs queue (queue/tasks) but no installed package defines it;")
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert not (tmp_path / "dist").exists()


@pytest.mark.slow
def test_the_consumers_own_tests_pass_with_the_installed_fixtures(homelab: tuple[Venv, Path]) -> None:
    env, work = homelab
    tasks = work.parent / "src" / "tasks"
    env.install(f"{tasks}[test]")
    tests = run(env.python, "-m", "pytest", "-p", "no:cacheprovider", cwd=tasks, env=env.env)
    assert "4 passed" in tests.stdout, tests.stdout
