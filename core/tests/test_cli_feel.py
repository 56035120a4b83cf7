"""The command line's feel: --json on read commands, examples in every --help, completion, progress, 80 columns."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from ink import cli as cli_mod
from ink import testing
from ink.cli import main

PLUGINS = ["cloudnativepg", "sealed-secrets", "vaultwarden"]
CLI_DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def documented(command: str, keys: set[str]) -> None:
    """Every JSON key of ``command`` is named on its row of docs/cli.md's JSON table."""
    row = next(line for line in CLI_DOCS.read_text().splitlines() if line.startswith(f"| `{command} --json`"))
    missing = sorted(key for key in keys if not re.search(rf"\b{key}\b", row))
    assert not missing, f"docs/cli.md does not document {command} --json keys {missing}"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    testing.prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    return tmp_path


def parsed(result: Result) -> object:
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert result.stdout == json.dumps(data, indent=2, sort_keys=True) + "\n"  # stable: sorted keys
    return data


def test_plugins_json(project: Path) -> None:
    data = parsed(cli("plugins", "--json"))
    assert isinstance(data, dict) and set(data) == {"plugins", "capabilities"}
    vaultwarden = next(p for p in data["plugins"] if p["name"] == "vaultwarden")
    assert vaultwarden["distribution"] == "ink-plugin-vaultwarden"
    assert vaultwarden["enabled"] is True and vaultwarden["provides"] == []
    assert "database" in vaultwarden["needs"]
    database = next(c for c in data["capabilities"] if c["capability"] == "database")
    assert database == {
        "capability": "database",
        "defined_by": "ink-core",
        "provided_by": "cloudnativepg",
        "problem": None,
        "needed_by": ["vaultwarden"],
    }
    documented("ink plugins", {*data, *data["plugins"][0], *data["capabilities"][0]})
    s3 = next(c for c in data["capabilities"] if c["capability"] == "s3")
    assert s3["provided_by"] is None and s3["problem"].startswith("(no provider")


def test_backups_json(project: Path) -> None:
    data = parsed(cli("backups", "--json"))
    assert isinstance(data, list)
    volume = next(r for r in data if r["kind"] == "volume")
    assert volume == {
        "service": "vaultwarden",
        "kind": "volume",
        "name": "vaultwarden/vaultwarden-data",
        "covered_by": None,
        "schedule": None,
        "retention": None,
        "drill": None,
    }
    documented("ink backups", set(volume))
    assert cli("backups", "--json", "--strict").exit_code == 1  # nothing backs it up here


def test_secrets_list_json_holds_no_value(project: Path) -> None:
    data = parsed(cli("secrets", "list", "--json"))
    assert data == [
        {
            "credential": "cloudnativepg/postgres-ha/vaultwarden/password",
            "rotations": 0,
            "used_in": [
                "cloudnativepg/postgres-ha-role-vaultwarden:password",
                "vaultwarden/vaultwarden-db:password",
                "vaultwarden/vaultwarden-db:uri",
            ],
        }
    ]
    documented("ink secrets list", set(data[0]))
    # The whole listing is above: ids and places, so no value can hide in it.


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(prefix, group)]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command))
    return found


def examples(command: click.Command) -> list[str]:
    help_text = command.help or ""
    block = help_text.partition("Examples:")[2]
    return [line.strip() for line in block.splitlines() if line.strip()]


def options_of(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")} | {"--help"}


def example_problems(path: tuple[str, ...], command: click.Command, root: click.Group = main) -> list[str]:
    """Why ``command``'s Examples block is wrong: absent, an option the command lacks, none that runs it."""
    lines = examples(command)
    if not lines:
        return [f"`ink {' '.join(path)} --help` has no Examples block"]
    problems = []
    runs_it = False
    for line in lines:
        if not line.startswith("ink") and "ink " not in line:
            continue  # a follow-up command (oc image mirror ...)
        # The ink command line only: up to a pipe, a redirection, a comment or the end of $(...).
        invocation = re.split(r"\s[|>#]|\)", line[line.index("ink") :])[0]
        current: click.Command = root
        walked: list[str] = []
        for word in shlex.split(invocation)[1:]:
            if word.startswith("-"):
                if word.split("=")[0] not in options_of(current):
                    problems.append(f"{line!r}: {word} is not an option of `ink {' '.join(walked)}`")
            elif isinstance(current, click.Group) and word in current.commands:
                current = current.commands[word]
                walked.append(word)
        # A group's examples may show its subcommands.
        runs_it = runs_it or tuple(walked[: len(path)]) == path
    if not runs_it:
        problems.append(f"no example of `ink {' '.join(path)}` runs that command")
    return problems


@pytest.mark.parametrize(("path", "command"), commands(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_examples_naming_real_options(path: tuple[str, ...], command: click.Command) -> None:
    assert example_problems(path, command) == []


def test_the_examples_check_catches_mistakes() -> None:
    @click.group()
    def fake() -> None:
        """Fake."""

    @fake.command()
    @click.option("--real")
    def one(real: str) -> None:
        """One.

        \b
        Examples:
          ink one --real x --made-up
        """

    @fake.command()
    def two() -> None:
        """Two, without examples."""

    assert example_problems(("one",), one, fake) == [
        "'ink one --real x --made-up': --made-up is not an option of `ink one`"
    ]
    assert example_problems(("two",), two, fake) == ["`ink two --help` has no Examples block"]
    assert example_problems((), fake, fake) == ["`ink  --help` has no Examples block"]


@pytest.mark.parametrize(
    ("shell", "function"),
    [("bash", "_ink_completion()"), ("zsh", "_ink_completion()"), ("fish", "function _ink_completion")],
)
def test_completion_script(shell: str, function: str) -> None:
    result = cli("completion", shell)
    assert result.exit_code == 0, result.output
    assert function in result.stdout
    assert "_INK_COMPLETE" in result.stdout


def test_completion_completes_commands_and_choices() -> None:
    # What the bash script asks ink when you type `ink di<TAB>` and `ink diff --format <TAB>`.
    words = CliRunner().invoke(
        main, [], env={"_INK_COMPLETE": "bash_complete", "COMP_WORDS": "ink di", "COMP_CWORD": "1"}, prog_name="ink"
    )
    assert "plain,diff" in words.stdout.splitlines()
    choices = CliRunner().invoke(
        main,
        [],
        env={"_INK_COMPLETE": "bash_complete", "COMP_WORDS": "ink diff --format ", "COMP_CWORD": "3"},
        prog_name="ink",
    )
    assert {"plain,markdown", "plain,plain"} <= set(choices.stdout.splitlines())


def test_completion_completes_service_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INK_LOAD_PLUGINS", ",".join(PLUGINS))
    env = {"_INK_COMPLETE": "bash_complete", "COMP_WORDS": "ink graph --service vault", "COMP_CWORD": "3"}
    names = CliRunner().invoke(main, [], env=env, prog_name="ink")
    assert names.stdout.splitlines() == ["plain,vaultwarden"]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


PHASES = ("load config", "load plugins", "declare and provide", "build and synth", "write")


def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(cli_mod, "_progress_console", lambda: console)
    return screen


def test_progress_names_each_phase_on_a_terminal_only(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    piped = cli("synth", "--no-validate", "--out", "piped")
    assert piped.exit_code == 0, piped.output
    for phase in PHASES:
        assert phase not in piped.stderr
    screen = terminal(monkeypatch)
    shown = cli("synth", "--no-validate", "--out", "shown")
    assert shown.exit_code == 0, shown.output
    for phase in PHASES:
        assert phase in screen.getvalue()
    assert shown.stdout == piped.stdout.replace("piped/", "shown/")
    assert tree(project / "shown") == tree(project / "piped")


@pytest.mark.parametrize(("flag", "env"), [(["--quiet"], {}), ([], {"CI": "true"})])
def test_no_progress_when_quiet_or_in_ci(
    project: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str], env: dict[str, str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    screen = terminal(monkeypatch)
    result = cli("diff", *flag, env=env)
    assert result.exit_code == 0, result.output
    assert screen.getvalue() == ""


def test_diff_shows_progress_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    screen = terminal(monkeypatch)
    assert cli("diff").exit_code == 0
    assert "declare and provide" in screen.getvalue()


HEADERS = {
    ("plugins",): [
        ("name", "distribution", "version", "deploys", "provides", "needs", "enabled"),
        ("capability", "defined by", "provided by", "needed by"),
    ],
    ("backups",): [("service", "kind", "name", "covered by", "schedule", "retention", "restore drill")],
    ("secrets", "list"): [("credential", "used in (namespace/secret:key)", "rotations")],
}


@pytest.mark.parametrize("command", list(HEADERS), ids=" ".join)
def test_tables_stay_readable_at_80_columns(
    project: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli_mod, "out_console", Console(file=screen, force_terminal=True, width=80, color_system=None))
    result = cli(*command)
    assert result.exit_code == 0, result.output
    lines = screen.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    for headers in HEADERS[command]:
        header_line = next(line for line in lines if line.startswith(headers[0]))
        cells = re.split(r"\s{2,}", header_line.strip())
        assert tuple(cells) == headers  # every header whole, on one line
        # No column squeezed to a character or two: each is at least as wide as its header.
        rule = lines[lines.index(header_line) + 1]
        assert set(rule.strip()) <= {"━", " "}
    body = "\n".join(lines)
    assert "vaultwarden" in body


def test_tables_keep_their_look_on_a_wide_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli_mod, "out_console", Console(file=screen, force_terminal=True, width=200, color_system=None))
    assert cli("secrets", "list").exit_code == 0
    assert screen.getvalue().startswith("┏")


def test_a_table_of_long_names_still_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    # The embedded default's services (kube-prometheus-stack...) are longer than the three test plugins.
    screen = io.StringIO()
    monkeypatch.setattr(cli_mod, "out_console", Console(file=screen, width=80, color_system=None))
    headers = HEADERS[("backups",)][0]
    row = ("kube-prometheus-stack", "database", "monitoring/prometheus-db", "cloudnativepg", "0 2 * * *", "720h", "-")
    cli_mod.out_console.print(cli_mod._table(headers, [row]))
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert tuple(re.split(r"\s{2,}", lines[0].strip())) == headers
    assert len(lines) < 8, "\n".join(lines)  # folded, not a column of single characters
