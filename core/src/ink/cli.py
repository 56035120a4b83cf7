"""The ``ink`` command line.

Exit codes: 0 success; 1 the output failed validation or a plugin failed; 2 a user error
(configuration, files, flags); 3 the environment failed (full disk, read-only file system).
A user error never prints a Python traceback; ``--debug`` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ink import node
from ink.errors import ConfigError, InkError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


def _progress_console() -> Console:
    """Where the progress display goes (stderr); a function so tests can hand in a forced terminal."""
    return err_console


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner naming the synth's phase, on a terminal only: never piped, in CI (CI=...) or with --quiet.

    It is transient (erased when done) and on stderr: stdout and the output files are the same either way.
    """
    console = _progress_console()
    if quiet or os.environ.get("CI") or not console.is_terminal:
        yield lambda phase: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("starting")
        yield lambda phase: bar.update(task, description=phase, refresh=True)


def _json(data: Any) -> None:
    """Every read command's --json: indented, keys sorted, so that a diff of two runs shows only real changes."""
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _environment_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Tab completion of an environment: the [environments.*] tables of the ink.toml in use."""
    from ink.config import find_config, read_toml

    try:
        path = find_config(ctx.params.get("config_path"), os.environ)
        names = sorted(read_toml(path)[0].get("environments", {})) if path else []
    except Exception:  # a completion must never print a traceback into the shell
        return []
    return [name for name in names if name.startswith(incomplete)]


_environment_option = click.option(
    "--environment",
    "-e",
    "environment",
    metavar="NAME",
    default=None,
    shell_complete=_environment_names,
    help="Use [environments.NAME] of ink.toml, laid over the rest (default: $INK_ENVIRONMENT, else none).",
)


def _environment(environment: str | None) -> str:
    """The environment a command uses: --environment, else INK_ENVIRONMENT, else "" (the base)."""
    return environment if environment is not None else os.environ.get("INK_ENVIRONMENT", "")


def _output(out: Path, environment: str | None) -> Path:
    """The output folder of the environment in use: ``<out>-<name>``, or ``out`` for the base."""
    from ink.run import environment_output

    name = _environment(environment)
    return environment_output(out, name) if name else out


_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (keys sorted).")
_quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="No progress display (there is none when stderr is not a terminal or in CI)."
)


def _version() -> str:
    try:
        return importlib.metadata.version("ink-core")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class _Group(click.Group):
    """Reports ink's errors as one line, with the right exit code, and no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationFailed as err:
            for problem in err.problems:
                err_console.print(f"[red]invalid[/red] {escape(problem)}", markup=True)
            err_console.print(f"[bold red]error:[/bold red] {escape(err.message)}", markup=True)
            ctx.exit(err.exit_code)
        except InkError as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            err_console.print(f"[bold red]error:[/bold red] {escape(err.message)}", markup=True)
            ctx.exit(err.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # `ink plugins | head`: the reader has gone, which is not an error of ink's. Point stdout at
            # /dev/null so that the interpreter's final flush does not fail again, and exit as a process
            # killed by SIGPIPE would (128 + 13), with nothing on stderr.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            err_console.print(
                f"[bold red]internal error:[/bold red] {escape(f'{type(err).__name__}: {err}')} "
                "(run with --debug for the traceback, and please report it)",
                markup=True,
            )
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(_version(), prog_name="ink")
@click.option("--debug", is_flag=True, envvar="INK_DEBUG", help="Show Python tracebacks.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """ink: homelab infrastructure as code.

    Reads ink.toml (or the embedded default homelab when there is none) and writes
    validated Kubernetes manifests, one folder per service, for Argo CD to deploy.

    \b
    Examples:
      ink synth                    # ./ink.toml (or the default homelab) into dist/
      ink diff --format markdown   # what would change, for a pull request
      ink --debug plugins          # with tracebacks
      eval "$(ink completion bash)"   # tab completion (also zsh, fish)
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _plugin_names(incomplete: str) -> list[str]:
    """Tab completion of a service name: the installed plugins (entry points only, nothing synthesised)."""
    from ink.plugins import make_plugin_host

    try:
        names = make_plugin_host(keep_broken=True).names
    except Exception:  # a completion must never print a traceback into the shell
        return []
    return sorted(name for name in names if name.startswith(incomplete))


_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Path of ink.toml (default: ./ink.toml, else the embedded default homelab).",
)


@main.command()
@_config_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="Output folder; replaced as a whole, atomically. An environment's is <out>-<name>.",
)
@click.option(
    "--crd-dir",
    "crd_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Extra folder of custom-resource schemas to validate against (repeatable).",
)
@click.option("--no-validate", is_flag=True, help="Skip schema validation (not recommended).")
@click.option(
    "--allow-destructive", is_flag=True, help="Write even when a change would lose data once synced (see `ink diff`)."
)
@click.option(
    "--rekey",
    is_flag=True,
    help="Write even though the output was made with another master key: every generated credential changes.",
)
@_environment_option
@click.option(
    "--all-environments",
    is_flag=True,
    help="The base configuration into --out and each [environments.NAME] into <out>-NAME; all or nothing.",
)
@_quiet_option
def synth(
    config_path: Path | None,
    out: Path,
    crd_dirs: tuple[Path, ...],
    no_validate: bool,
    allow_destructive: bool,
    rekey: bool,
    environment: str | None,
    all_environments: bool,
    quiet: bool,
) -> None:
    """Synthesise every enabled service into the output folder.

    \b
    Examples:
      ink synth
      ink synth --config homelab/ink.toml --out manifests
      ink synth --crd-dir schemas/ --quiet
      ink synth --allow-destructive    # after `ink diff` showed what is lost
      ink synth --environment staging  # [environments.staging] into dist-staging/
      ink synth --all-environments     # dist/ and every dist-<name>/
    """
    # Node starts on the other core while ink loads the configuration and the plugins (ink.node).
    with node.starting():
        from ink import run

        options: dict[str, Any] = {
            "config_path": config_path,
            "out": out,
            "extra_crd_dirs": list(crd_dirs),
            "validate": not no_validate,
            "allow_destructive": allow_destructive,
            "rekey": rekey,
        }
        if all_environments:
            if _environment(environment):
                raise ConfigError(
                    "--all-environments and --environment (or INK_ENVIRONMENT): choose one; unset INK_ENVIRONMENT"
                )
            with _progress(quiet) as progress:
                written = run.synth_environments(**options, progress=progress)
        else:
            target = _output(out, environment)
            with _progress(quiet) as progress:
                written = [(target, run.synth(**options | {"out": target}, environment=environment, progress=progress))]
        for _, result in written:
            # With --all-environments each warning says whose it is; the base's keep their usual form.
            whose = f"(environment {result.environment}) " if result.environment else ""
            for warning in result.warnings:
                err_console.print(f"[yellow]warning:[/yellow] {escape(whose + warning)}", markup=True)
        for target, result in written:
            out_console.print(
                f"[green]wrote[/green] {result.objects} objects for {result.services} services "
                f"to {escape(str(target))}/ ({result.validation})",
                markup=True,
            )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@_config_option
@click.option(
    "--crd-dir",
    "crd_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of custom-resource schemas (repeatable).",
)
@click.option("--kubernetes-version", "-k", default=None, help="Kubernetes minor version, e.g. 1.33.")
@click.option("--strict-crds", is_flag=True, help="Fail on custom resources without a schema.")
@click.option(
    "--server", is_flag=True, help="Server-side dry-run against the kubeconfig's cluster instead (never writes)."
)
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Kubeconfig for --server (default: $KUBECONFIG, else ~/.kube/config).",
)
@click.option("--context", "kube_context", help="Kubeconfig context for --server (default: the current one).")
@_environment_option
def validate(
    paths: tuple[Path, ...],
    config_path: Path | None,
    crd_dirs: tuple[Path, ...],
    kubernetes_version: str | None,
    strict_crds: bool,
    server: bool,
    kubeconfig: Path | None,
    kube_context: str | None,
    environment: str | None,
) -> None:
    """Validate manifests (default: dist/) against Kubernetes and custom-resource schemas.

    With --environment, that environment's output (dist-<name>/) and Kubernetes version. With --server, the
    cluster's API server checks them instead (a dry-run: nothing is written).

    \b
    Examples:
      ink validate
      ink validate dist/vaultwarden --crd-dir schemas/ --strict-crds
      ink validate --kubernetes-version 1.33
      ink validate --server --context homelab
    """
    targets = list(paths) or [_output(Path("dist"), environment)]
    if server:
        _validate_on_server(targets, kubeconfig, kube_context)
        return
    from ink import run

    report = run.validate_paths(
        targets,
        config_path=config_path,
        extra_crd_dirs=list(crd_dirs),
        kubernetes_version=kubernetes_version,
        strict_crds=strict_crds,
        environment=environment,
    )
    for (api_version, kind), count in sorted(report.skipped.items()):
        err_console.print(
            f"[yellow]skipped[/yellow] {count} {api_version} {kind} (no schema; pass --crd-dir)", markup=True
        )
    if not report.ok:
        raise ValidationFailed([str(p) for p in report.problems], context="in the checked manifests")
    out_console.print(f"[green]valid[/green]: {report.checked} objects", markup=True)


def _validate_on_server(paths: list[Path], kubeconfig: Path | None, context: str | None) -> None:
    import os

    from ink import dryrun

    cluster, report = dryrun.validate_on_server(paths, kubeconfig=kubeconfig, context=context, environ=os.environ)
    for outcome in report.unchecked:
        err_console.print(
            f"[yellow]not checked[/yellow] {escape(outcome.object)}: {escape(outcome.unchecked)}", markup=True
        )
    where = f"by the API server of context {cluster.context} ({cluster.server}), dry-run"
    if not report.ok:
        raise ValidationFailed(report.problems, context=f"{where}; nothing was written")
    out_console.print(f"[green]accepted[/green] {where}: {report.checked} objects", markup=True)


@main.command()
@_config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="The output folder to compare with.",
)
@click.option(
    "--against",
    metavar="GIT_REF",
    help="Compare with the output folder as committed at GIT_REF (a commit, branch or tag) instead of on disk.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["plain", "markdown"]),
    default="plain",
    show_default=True,
    help="plain: one change a line; markdown: a pull-request comment, destructive changes first, field by field.",
)
@_environment_option
@_json_option
@_quiet_option
def diff(
    config_path: Path | None,
    out: Path,
    against: str | None,
    form: str,
    environment: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Show what `ink synth` would change in the output, and flag changes that would lose data.

    Secrets and SealedSecrets show only that their encrypted data changed, never values.

    \b
    Examples:
      ink diff
      ink diff --against origin/main --format markdown > comment.md
      ink diff --against HEAD --json | jq '.summary'
      ink diff --out manifests --quiet
      ink diff --environment staging   # [environments.staging] against dist-staging/
    """
    if as_json and form != "plain":
        raise ConfigError("--json and --format markdown: choose one")
    with node.starting():  # as synth does
        from ink import changes, run

        with _progress(quiet) as progress:
            found = run.diff(
                config_path=config_path,
                out=_output(out, environment),
                against=against,
                progress=progress,
                environment=environment,
            )
    if as_json:
        _json(changes.as_json(found))
        return
    if form == "markdown":
        click.echo(changes.markdown(found, title=f"ink diff against {against}" if against else "ink diff"), nl=False)
        return
    colours = {"added": "green", "removed": "red", "changed": "yellow"}
    for change in found:
        colour = "bold red" if change.destructive else colours[change.action]
        out_console.print(f"[{colour}]{escape(str(change))}[/{colour}]", markup=True)
    out_console.print(changes.summary(found))


@main.group()
def secrets() -> None:
    """Generated credentials: list them, rotate one.

    \b
    Examples:
      ink secrets list
      ink secrets rotate vaultwarden/admin-token
    """


@secrets.command("list")
@_config_option
@_environment_option
@_json_option
def secrets_list(config_path: Path | None, environment: str | None, as_json: bool) -> None:
    """Every generated credential id, where it is used and how often it was rotated (never a value).

    \b
    Examples:
      ink secrets list
      ink secrets list --json | jq -r '.[].credential'
    """
    from ink import run

    generated, current = run.rotations(config_path, environment)
    if as_json:
        _json(
            [
                {"credential": credential, "used_in": sorted(places), "rotations": current.get(credential, 0)}
                for credential, places in sorted(generated.items())
            ]
        )
        return
    rows = [(c, "\n".join(places), str(current.get(c, 0))) for c, places in generated.items()]
    out_console.print(_table(("credential", "used in (namespace/secret:key)", "rotations"), rows))


@secrets.command("rotate")
@click.argument("credential")
@_config_option
@_environment_option
def secrets_rotate(credential: str, config_path: Path | None, environment: str | None) -> None:
    """Give CREDENTIAL a new value from the next synth on (recorded in ink.toml's [secrets.rotations]).

    \b
    Examples:
      ink secrets rotate vaultwarden/admin-token
      ink secrets rotate cloudnativepg/vaultwarden --config homelab/ink.toml
      ink secrets rotate vaultwarden/admin-token -e staging   # [environments.staging.secrets.rotations]
    """
    from ink import run

    path, generation = run.rotate(config_path, credential, _environment(environment) or None)
    out_console.print(
        f"[green]rotated[/green] {escape(credential)} (generation {generation}, in {path}); run `ink synth`, commit, "
        "and restart the pods that read it once Argo CD has synced",
        markup=True,
    )


@main.command()
@_config_option
@_environment_option
@_json_option
def plugins(config_path: Path | None, environment: str | None, as_json: bool) -> None:
    """List installed plugins (what each provides and needs), then every capability and who provides it.

    \b
    Examples:
      ink plugins
      ink plugins | grep -w no          # the disabled ones (piped: tab-separated)
      ink plugins --json | jq '.capabilities[] | select(.provided_by == null)'
    """
    from ink import run

    rows, capabilities = run.plugin_tables(config_path, environment)
    headers = ("name", "distribution", "version", "deploys", "provides", "needs", "enabled")
    capability_headers = ("capability", "defined by", "provided by", "needed by")
    if as_json:
        _json(_plugins_json(rows, capabilities))
        return
    if not out_console.is_terminal:  # piped: plain tab-separated rows, nothing cut short
        for row in [headers, *rows, (), capability_headers, *capabilities]:
            click.echo("\t".join(row))
        return
    for table_headers, table_rows in ((headers, rows), (capability_headers, capabilities)):
        out_console.print(_table(table_headers, table_rows))


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    """A table that stays readable at 80 columns: every header whole, long cells folded, never a column squeezed to
    a character or two. On a narrow terminal the box loses its vertical lines and ink shares out the width itself
    (rich's own shrinking can leave a table wider than the terminal when many columns have long headers)."""
    from rich import box

    width = out_console.width
    if width >= 100:
        table = Table(*headers)
        for column in table.columns:
            column.overflow = "fold"
        for row in rows:
            table.add_row(*row)
        return table
    table = Table(*headers, box=box.SIMPLE_HEAVY, show_edge=False, pad_edge=False, collapse_padding=True)
    longest = [max([len(header), *(_longest_line(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    widths = [max(len(header), min(length, 8)) for header, length in zip(headers, longest, strict=True)]
    widths[0] = min(longest[0], 16)  # the row's name (a plugin, a service), whole as long as names are short
    spare = width - 1 - 2 * (len(headers) - 1) - sum(widths)
    # Too wide already (long names): give back from the column furthest above its header's width.
    while spare < 0 and any(w > len(h) for w, h in zip(widths, headers, strict=True)):
        most = max(range(len(headers)), key=lambda i: widths[i] - len(headers[i]))
        widths[most] -= 1
        spare += 1
    # Share out what is left one character at a time to the column that lacks most: deterministic and fair.
    while spare > 0:
        lacking = [longest[i] - widths[i] for i in range(len(headers))]
        most = max(range(len(headers)), key=lambda i: lacking[i])
        if lacking[most] <= 0:
            break
        widths[most] += 1
        spare -= 1
    for column, column_width in zip(table.columns, widths, strict=True):
        column.overflow = "fold"
        column.width = column_width
    for row in rows:
        table.add_row(*row)
    return table


def _longest_line(cell: str) -> int:
    return max((len(line) for line in Text.from_markup(cell).plain.splitlines()), default=0)


def _listed(cell: str) -> list[str]:
    return [] if cell in ("", "-") else cell.split(", ")


def _plugins_json(rows: list[tuple[str, ...]], capabilities: list[tuple[str, ...]]) -> dict[str, Any]:
    """`ink plugins --json`: the two tables, with lists for lists and null for nothing."""
    return {
        "plugins": [
            {
                "name": name,
                "distribution": dist or None,
                "version": version or None,
                "deploys": deploys,
                "provides": _listed(provides),
                "needs": _listed(needs),
                "enabled": enabled == "yes",
            }
            for name, dist, version, deploys, provides, needs, enabled in rows
        ],
        "capabilities": [
            {
                "capability": name,
                "defined_by": defined_by,
                "provided_by": None if provider.startswith("(") or provider == "-" else provider,
                "problem": provider if provider.startswith("(") else None,
                "needed_by": _listed(needed_by),
            }
            for name, defined_by, provider, needed_by in capabilities
        ],
    }


@main.command()
@_config_option
@click.option("--policies", is_flag=True, help="Also every flow and the NetworkPolicies that allow it (synthesises).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--format",
    "picture",
    type=click.Choice(["mermaid", "dot", "svg"]),
    default=None,
    help="Print a picture instead: Mermaid, Graphviz DOT, or SVG (needs Graphviz's dot).",
)
@click.option(
    "--service",
    "services",
    multiple=True,
    metavar="NAME",
    shell_complete=lambda ctx, param, incomplete: _plugin_names(incomplete),
    help="Only the edges of NAME (repeatable).",
)
@_environment_option
def graph(
    config_path: Path | None,
    policies: bool,
    as_json: bool,
    picture: str | None,
    services: tuple[str, ...],
    environment: str | None,
) -> None:
    """The graph's edges (who needs or links to whom); with --policies, how each travels and what is allowed.

    Each edge's transport: tls (verified), tls-unverified, mtls (a mesh enforces it), plain, or no traffic.

    \b
    Examples:
      ink graph --service vaultwarden
      ink graph --format mermaid > graph.mmd
      ink graph --policies --format svg > graph.svg   # with internet, API server and other declared flows
    """
    from ink import pictures, run

    report = run.graph_report(config_path, policies=policies, environment=environment)
    unknown = pictures.unknown_services(report, services)
    if unknown:
        raise ConfigError(
            f"--service {unknown[0]}: no edge has that service; use a name `ink plugins` lists as enabled"
        )
    if picture:
        drawn = pictures.rows(report, services)
        text = pictures.mermaid(drawn) if picture == "mermaid" else pictures.dot(drawn)
        click.echo(pictures.svg(text) if picture == "svg" else text, nl=False)
        return
    if services:
        wanted = set(services)
        report["edges"] = [e for e in report["edges"] if e["source"] in wanted or e["target"] in wanted]
    if as_json:
        _json(report)
        return
    for edge in report["edges"]:
        port = f":{edge['port']}" if edge["port"] else ""
        # How it travels is known once the providers have answered (--policies): tls, mtls, plain...
        transport = f"  ({edge['transport'] or 'no traffic'})" if policies else ""
        click.echo(f"{edge['source']} → {edge['target']}{port}  {edge['kind']} {edge['name']}{transport}")
    if not policies:
        return
    if report.get("meshed"):
        click.echo(f"meshed (mtls between their pods): {', '.join(report['meshed'])}")
    for namespace, why in report.get("not_meshed", {}).items():
        click.echo(f"not meshed: {namespace} ({why})")
    click.echo("")
    for flow in report["flows"]:
        allowed = ", ".join(flow["allowed_by"]) or "no policy: outside ink's namespaces"
        click.echo(f"{flow['source']} → {flow['target']} {' '.join(flow['ports'])}  ({flow['why']})  by {allowed}")
    for line in report["no_traffic"]:
        click.echo(f"no traffic between pods: {line}")
    for problem in report["problems"]:
        err_console.print(f"[yellow]not opened: {escape(problem)}[/yellow]", markup=True)


@main.command()
@_config_option
@click.option("--strict", is_flag=True, help="Exit 1 when a volume or database is not covered by a backup.")
@_environment_option
@_json_option
def backups(config_path: Path | None, strict: bool, environment: str | None, as_json: bool) -> None:
    """List every volume and database, the backup schedule that covers it and its restore drill.

    A drill's last result lives in the cluster (ink cannot read it offline): the column says where.

    \b
    Examples:
      ink backups
      ink backups --strict          # in CI: fail on anything not backed up
      ink backups --json | jq '.[] | select(.covered_by == null)'
    """
    from ink import run

    rows = run.backup_report(config_path, environment=environment)
    if as_json:
        _json([{k: v or None for k, v in dataclasses.asdict(row).items()} for row in rows])
        if strict and any(not row.covered_by for row in rows):
            raise click.exceptions.Exit(1)
        return
    cells = []
    uncovered = 0
    for row in rows:
        covered = row.covered_by or "[bold red]NOT COVERED[/bold red]"
        uncovered += not row.covered_by
        cells.append(
            (
                row.service,
                row.kind,
                escape(row.name),
                covered,
                row.schedule or "-",
                row.retention or "-",
                escape(row.drill) or "-",
            )
        )
    table = _table(("service", "kind", "name", "covered by", "schedule", "retention", "restore drill"), cells)
    out_console.print(table)
    if uncovered:
        err_console.print(f"[yellow]{uncovered} not covered by any backup[/yellow]", markup=True)
        if strict:
            raise click.exceptions.Exit(1)


@main.command()
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: image, tag, digest, pinned, services.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["plain", "mirror"]),
    default="plain",
    show_default=True,
    help="plain: one reference a line; mirror: source=target lines for --registry (oc image mirror --filename).",
)
@click.option("--registry", metavar="HOST[:PORT][/PATH]", help="The mirror registry (with --format mirror).")
@_environment_option
def images(config_path: Path | None, as_json: bool, form: str, registry: str | None, environment: str | None) -> None:
    """Every image ink's objects and the charts deploy, fully qualified, sorted, once each.

    Works without a cluster (it synthesises; nothing is written). See docs/updates.md.

    \b
    Examples:
      ink images
      ink images --json
      ink images --format mirror --registry registry.lan:5000 > mirror.txt
      oc image mirror --filename mirror.txt     # or: while IFS== read -r s t; do crane copy "$s" "$t"; done
    """
    if as_json and form != "plain":
        raise ConfigError("--json and --format mirror: choose one")
    if (form == "mirror") != (registry is not None):
        raise ConfigError(
            "--format mirror needs --registry HOST[:PORT][/PATH] (and --registry needs --format mirror), "
            "e.g. --format mirror --registry registry.lan:5000"
        )
    from ink import images as images_mod
    from ink import run

    if registry is not None:
        images_mod.mirror_prefix(registry)  # a bad --registry fails before the synthesis, not after
    found = run.image_report(config_path, environment=environment)
    if as_json:
        _json(found.as_json())
    elif registry is not None:
        click.echo(found.mirror(registry), nl=False)
    else:
        click.echo(found.plain(), nl=False)
    unpinned = [image.ref for image, _ in found.sorted() if not image.pinned]
    if unpinned:
        listed = escape(", ".join(unpinned))
        err_console.print(f"[yellow]not pinned (no tag, or latest):[/yellow] {listed}", markup=True)


@main.command()
@_config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("docs/plugins"),
    show_default=True,
    help="Folder for the pages.",
)
def docs(config_path: Path | None, out: Path) -> None:
    """Write a reference page per installed plugin (settings from its model, then its README).

    \b
    Examples:
      ink docs
      ink docs --config ink.example.toml --out site/plugins
    """
    from ink import run

    pages = run.plugin_docs(config_path)
    from ink.docgen import write_pages

    write_pages(pages, out)
    out_console.print(f"[green]wrote[/green] {len(pages)} pages to {out}/", markup=True)


@main.command()
def schema() -> None:
    """Print the JSON Schema of ink.toml: core settings plus every installed plugin's table.

    \b
    Examples:
      ink schema > ink.schema.json     # for your editor's TOML language server
    """
    from ink import run

    host = run.make_plugin_host(keep_broken=True)
    for err in host.broken.values():
        err_console.print(f"[yellow]warning:[/yellow] left out of the schema: {escape(str(err))}", markup=True)
    click.echo(json.dumps(run.config_schema(host), indent=2, sort_keys=True))


@main.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(),
    help="Folder to create NAME/ in (default: the current one).",
)
def new_plugin(name: str, parent: Path) -> None:
    """Write a complete plugin package ink-plugin-NAME into NAME/, with tests that pass as written.

    \b
    Examples:
      ink new-plugin mealie
      ink new-plugin mealie --dir plugins
    """
    from ink.scaffold import new_plugin

    target = new_plugin(name, parent)
    next_steps = (
        f"ink-plugin-{name} to {target}/; next: pip install -e '{target}[test]', then pytest there (its README)"
    )
    out_console.print(f"[green]wrote[/green] {escape(next_steps)}", markup=True)


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the tab-completion script for SHELL (click's own; commands, options and choices complete).

    \b
    Examples:
      eval "$(ink completion bash)"                        # in ~/.bashrc
      eval "$(ink completion zsh)"                         # in ~/.zshrc
      ink completion fish > ~/.config/fish/completions/ink.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None  # the three choices are click's built-in shells
    click.echo(completer(main, {}, "ink", "_INK_COMPLETE").source(), nl=False)


def entrypoint() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())
