"""What each CLI command does, as plain functions (the CLI only prints)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ink import cluster, forked, images, node
from ink import synth as synth_mod
from ink import tls as tls_mod
from ink.config import CONFIG_FILE, Config, find_config, load_config
from ink.errors import PluginError, UserError, ValidationFailed, clip, os_fault
from ink.graph import Edge, ResolvedGraph
from ink.images import ImageReport
from ink.models import ClusterRequirements, DatabaseClaim
from ink.netpol import Flow, NetworkPlan
from ink.output import MARKER, check_output_location, read_stamp, to_yaml, write_tree
from ink.plugins import PluginHost, make_plugin_host
from ink.secrets import MasterKey, load_master_key, with_rotations, write_master_key
from ink.settings import InkSettings, PluginSettings

if TYPE_CHECKING:
    # Imported where used: `ink plugins`, `ink graph` and `ink schema` need neither jsonschema, the YAML
    # comparison nor cryptography (docs/performance.md, read-only commands).
    from ink.changes import Change
    from ink.validate import ManifestValidator, ValidationReport

# The marker file's record of the master key that produced the output.
FINGERPRINT_FIELD = "master-key-fingerprint"
# ... and which [environments.<name>] it is (absent for the base configuration).
ENVIRONMENT_FIELD = "environment"

Progress = Callable[[str], None]
"""Told the name of each phase as it starts (the CLI's spinner on a terminal); once a phase, never per object."""


def _quiet(phase: str) -> None:
    """No progress display."""


@dataclass
class SynthResult:
    services: int
    objects: int
    validation: str
    files: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    generated: dict[str, list[str]] = field(default_factory=dict)
    master_key: MasterKey | None = field(default=None, repr=False)
    environment: str | None = None
    """The ``[environments.<name>]`` synthesised, or None for the base configuration."""
    base_key: MasterKey | None = field(default=None, repr=False)
    """The master key before an environment's scope (the same as ``master_key`` for the base)."""
    new_master_key: Path | None = None
    """Where the master key goes if it is new (written only with the output)."""
    kept_files: dict[Path, tuple[bytes, int]] = field(default_factory=dict, repr=False)
    """Files plugins asked to keep (a new development key), written only with the output."""

    @property
    def stamp(self) -> dict[str, str]:
        """What the output's marker records: which master key produced it (a fingerprint, never the key), and
        for an environment its name."""
        stamp = {FINGERPRINT_FIELD: self.master_key.fingerprint} if self.master_key else {}
        if self.environment is not None:
            stamp[ENVIRONMENT_FIELD] = self.environment
        return stamp

    cluster: dict[str, ClusterRequirements] = field(default_factory=dict)
    """Service → what it needs from the cluster outside Kubernetes (see ink.cluster)."""
    network: NetworkPlan | None = field(default=None, repr=False)
    """The flows and the NetworkPolicies that allow them (see ink.netpol)."""
    graph: ResolvedGraph | None = field(default=None, repr=False)
    images: ImageReport | None = field(default=None, repr=False)
    """Every image the output deploys, with the services that deploy it (see ink.images)."""


def synth(
    *,
    config_path: Path | None = None,
    out: Path = Path("dist"),
    extra_crd_dirs: list[Path] | None = None,
    validate: bool = True,
    host: PluginHost | None = None,
    wait: bool = True,
    allow_destructive: bool = False,
    rekey: bool = False,
    progress: Progress = _quiet,
    environment: str | None = None,
) -> SynthResult:
    """Load, plan, synthesise, check and write. ``out`` is replaced only if everything succeeded.

    A refused run writes nothing anywhere: no output, no lock file, no new key.
    """
    check_output_location(out)  # before the work, and again under the lock
    result = build(
        config_path=config_path,
        extra_crd_dirs=extra_crd_dirs,
        validate=validate,
        host=host,
        progress=progress,
        environment=environment,
    )
    progress("write")
    _write(out, result, wait=wait, allow_destructive=allow_destructive, rekey=rekey)
    return result


def synth_environments(
    *,
    config_path: Path | None = None,
    out: Path = Path("dist"),
    extra_crd_dirs: list[Path] | None = None,
    validate: bool = True,
    wait: bool = True,
    allow_destructive: bool = False,
    rekey: bool = False,
    progress: Progress = _quiet,
) -> list[tuple[Path, SynthResult]]:
    """The base configuration into ``out`` and every ``[environments.<name>]`` into ``<out>-<name>``.

    All are built and checked before any is written: a mistake in one environment writes nothing.
    """
    names = load_config(find_config(config_path, os.environ), "").environments
    targets = [(out, ""), *((environment_output(out, name), name) for name in names)]
    for target, _ in targets:
        check_output_location(target)
    results: list[tuple[Path, SynthResult]] = []
    key: tuple[MasterKey, Path | None] | None = None  # one master key for all, even a new one
    kept: dict[Path, tuple[bytes, int]] = {}  # and one development sealing key
    for target, name in targets:
        progress(f"build {name or 'base'}")
        result = build(
            config_path=config_path,
            extra_crd_dirs=extra_crd_dirs,
            validate=validate,
            environment=name,
            master_key=key,
            kept_files=kept,
        )
        assert result.base_key is not None
        key = key or (result.base_key, None)  # a new key is written (and announced) with the first output
        results.append((target, result))
    for target, result in results:
        _refusals(target, target, result, allow_destructive=allow_destructive, rekey=rekey)
    progress("write")
    for target, result in results:
        _write(target, result, wait=wait, allow_destructive=allow_destructive, rekey=rekey)
    return results


def environment_output(out: Path, name: str) -> Path:
    """Where environment ``name`` is written: ``<out>-<name>``, beside the base's output."""
    absolute = Path(os.path.abspath(out))
    if absolute == absolute.parent:
        raise UserError(f"--out {out}: an environment is written to <out>-<name>; give --out a folder name")
    return out.with_name(f"{out.name}-{name}") if out.name else absolute.with_name(f"{absolute.name}-{name}")


def _write(out: Path, result: SynthResult, *, wait: bool, allow_destructive: bool, rekey: bool) -> None:
    def check(current: Path) -> None:
        # Under the output's lock: compare with what is there now, even if another run wrote it meanwhile.
        _refusals(out, current, result, allow_destructive=allow_destructive, rekey=rekey)
        _keep_files(result)  # the key the output is sealed with must exist before the output does

    write_tree(out, result.files, wait=wait, check=check, stamp=result.stamp)
    if result.new_master_key:
        result.warnings.append(
            f"generated a new master key in {result.new_master_key}; back it up: every generated credential "
            "derives from it, and a new key changes them all"
        )
    result.warnings.extend(str(c) for c in result.changes if c.left_behind)


def _refusals(out: Path, current: Path, result: SynthResult, *, allow_destructive: bool, rekey: bool) -> None:
    """Raise if writing ``result`` over ``current`` (``out``, or its copy under the lock) must be refused."""
    _check_environment(out, read_stamp(current), result)
    result.changes = _changes(current, result)
    rekeyed = next((c for c in result.changes if c.path == MARKER), None)
    if rekeyed and not rekey:
        raise UserError(_rekey_refusal(out, result))
    destructive = [c for c in result.changes if c.destructive and c is not rekeyed]
    if destructive and not allow_destructive:
        more = f" (and {len(destructive) - 1} more)" if len(destructive) > 1 else ""
        raise UserError(
            f"{out}: {destructive[0]}{more}; review with `ink diff`, move the data first, then re-run with "
            "--allow-destructive"
        )


def _check_environment(out: Path, stamp: dict[str, str] | None, result: SynthResult) -> None:
    """Refuse to replace one environment's output with another's: its credentials would all change."""
    if stamp is None:
        return
    found, wanted = stamp.get(ENVIRONMENT_FIELD), result.environment
    if found != wanted:

        def name(environment: str | None) -> str:
            return f"environment {environment!r}" if environment else "the base configuration"

        raise UserError(
            f"{out}: holds the output of {name(found)}, not of {name(wanted)}; "
            f"check --environment (and INK_ENVIRONMENT) and --out, or remove {out} first"
        )


def _changes(out: Path, result: SynthResult) -> list[Change]:
    """What writing ``result`` to ``out`` changes, a change of master key first."""
    from ink import changes

    return _compared(changes.read_output(out), read_stamp(out) or {}, result)


def _compared(old: dict[str, str], stamp: dict[str, str], result: SynthResult) -> list[Change]:
    from ink import changes

    found = changes.compare(old, result.files)
    assert result.master_key is not None
    rekeyed = changes.rekey(stamp.get(FINGERPRINT_FIELD), result.master_key.fingerprint)
    return [rekeyed, *found] if rekeyed else found


def _rekey_refusal(out: Path, result: SynthResult) -> str:
    assert result.master_key is not None
    if result.new_master_key:
        what = f"there is no master key at {result.new_master_key}, but {out} was sealed with one"
        restore = f"restore it from your backup to {result.new_master_key} (or set INK_MASTER_KEY)"
    else:
        what = f"{out} was written with another master key than {result.master_key.origin}"
        restore = "restore the key that wrote it"
    return (
        f"{what}; a new key would change every generated credential. Fix: {restore}, or re-run with --rekey "
        "to replace them all on purpose (see `ink diff`)"
    )


def _keep_files(result: SynthResult) -> None:
    if result.new_master_key and result.master_key:
        write_master_key(result.base_key or result.master_key, result.new_master_key)
    from ink import sealing

    for path, (data, mode) in sorted(result.kept_files.items()):
        try:
            sealing.write_key_file(path, data, mode)
        except OSError as err:
            raise os_fault(path, err, "write the new key") from None


def build(
    *,
    config_path: Path | None = None,
    extra_crd_dirs: list[Path] | None = None,
    validate: bool = True,
    host: PluginHost | None = None,
    progress: Progress = _quiet,
    environment: str | None = None,
    master_key: tuple[MasterKey, Path | None] | None = None,
    kept_files: dict[Path, tuple[bytes, int]] | None = None,
) -> SynthResult:
    """Everything ``synth`` does except comparing with and writing the output.

    ``master_key`` (the base key, and where it goes if new) replaces reading it, and ``kept_files`` collects
    the files plugins keep (a new development sealing key), so that the builds of one
    ``ink synth --all-environments`` share even a key created by the first.
    """
    node.start()  # unless `ink synth` has already (ink.node): Node then starts while the plugins load
    progress("load config")
    config = load_config(find_config(config_path, os.environ), environment)
    progress("load plugins")
    host = host or make_plugin_host()
    validator = _validator(config, extra_crd_dirs or []) if validate else None
    progress("declare and provide")
    plan = synth_mod.plan(config, host)
    base_key, created = master_key or _base_master_key(config)
    master_key_used = _scoped(config, base_key)
    progress("build and synth")
    node.wait()  # for the Node runtime `ink synth` started in a thread (ink.node), if it is still starting
    synthesis = synth_mod.synthesise(config, host, master_key_used, plan, kept_files)

    documents = [(m.path, m.body) for m in synthesis.manifests]

    # The objects are validated in a child process, on the other core, while this one renders them as YAML
    # and looks for leaked secrets (ink.forked): the two take about as long.
    def check() -> ValidationReport | None:
        return _validate_all(validator, documents) if validator is not None else None

    with forked.Pending(check, fork=validator is not None) as checked:
        files = {m.path: to_yaml(m.body) for m in synthesis.manifests}
        if (k3s := cluster.k3s_config(plan.cluster)) is not None:
            files[cluster.K3S_CONFIG] = k3s
        origins = {m.path: m.origin for m in synthesis.manifests}
        for value, variable in synthesis.user_values.items():
            for path, how in synth_mod.leaked_values(files, [value]):
                raise UserError(
                    f"{variable}: your secret value also appears {how} in {path}, so ink cannot keep it out of "
                    "the output; use a long random value"
                )
        for path, how in synth_mod.leaked_values(files, synthesis.protected_values):
            raise PluginError(
                *origins[path], f"{path} contains a generated secret {how}; secrets must only reach the output sealed"
            )
        image_report = images.report(((m.folder, m.body) for m in synthesis.manifests), synthesis.declared_images)
        if validator is not None:
            progress("validate")
        report = checked.result()
    summary = "not validated"
    if report is not None:
        if not report.ok:
            # Name who built each invalid object: a schema failure is a plugin's bug, not the user's.
            raise ValidationFailed(
                [f"plugin {origins[p.source][0]!r} ({origins[p.source][1]}): {p}" for p in report.problems]
            )
        summary = _summary(report)
    return SynthResult(
        services=len(plan.services),
        objects=len(synthesis.manifests),
        validation=summary,
        files=files,
        warnings=plan.warnings,
        generated=synthesis.generated,
        master_key=master_key_used,
        base_key=base_key,
        environment=config.environment,
        new_master_key=created,
        kept_files=synthesis.kept_files,
        cluster=plan.cluster,
        network=synthesis.network,
        graph=plan,
        images=image_report,
    )


def rotations(config_path: Path | None, environment: str | None = None) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Every generated credential id with where it is used, and the current rotations."""
    result = build(config_path=config_path, validate=False, environment=environment)
    config = load_config(find_config(config_path, os.environ), environment)
    return result.generated, dict(config.settings.secrets.rotations)


def rotate(config_path: Path | None, credential: str, environment: str | None = None) -> tuple[Path, int]:
    """Raise one credential's generation in ink.toml (created if needed); returns (file, generation).

    In an environment, its own ``[environments.<name>.secrets.rotations]``: the others keep their values.
    """
    import tomlkit

    generated, current = rotations(config_path, environment)
    if credential not in generated:
        hint = difflib.get_close_matches(credential, list(generated), n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UserError(f"no generated credential is named {credential!r}{suggestion}; see `ink secrets list`")
    path = find_config(config_path, os.environ) or Path(CONFIG_FILE)
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    container: Any = document
    if environment is not None:
        container = document.setdefault("environments", tomlkit.table()).setdefault(environment, tomlkit.table())
    table = container.setdefault("secrets", tomlkit.table())
    rotations_table = table.setdefault("rotations", tomlkit.table())
    generation = current.get(credential, 0) + 1
    rotations_table[credential] = generation
    try:
        path.write_text(tomlkit.dumps(document), encoding="utf-8")
    except OSError as err:
        raise os_fault(path, err, "record the rotation") from None
    return path, generation


def diff(
    *,
    config_path: Path | None = None,
    out: Path = Path("dist"),
    host: PluginHost | None = None,
    against: str | None = None,
    progress: Progress = _quiet,
    environment: str | None = None,
) -> list[Change]:
    """What ``ink synth`` would change in ``out``, without writing anything (no key is created either).

    With ``against`` (a git ref), compared with ``out`` as committed there instead of the folder on disk.
    """
    if against is None:
        result = build(config_path=config_path, validate=False, host=host, progress=progress, environment=environment)
        _check_environment(out, read_stamp(out), result)
        return _changes(out, result)
    from ink import changes

    committed, stamp = changes.read_git_output(out, against)  # a bad ref fails before the synthesis
    result = build(config_path=config_path, validate=False, host=host, progress=progress, environment=environment)
    return _compared(committed, stamp, result)


def _master_key(config: Config) -> tuple[MasterKey, Path | None]:
    """The run's master key, and where it must be written if it is new (only ``synth`` writes it)."""
    key, created = _base_master_key(config)
    return _scoped(config, key), created


def _base_master_key(config: Config) -> tuple[MasterKey, Path | None]:
    settings = config.settings.secrets
    explicit = "master_key_file" in settings.model_fields_set
    path = config.resolve(settings.master_key_file)
    key, created = load_master_key(path, environ=dict(config.environ), create=not explicit)
    return key, path if created else None


def _scoped(config: Config, key: MasterKey) -> MasterKey:
    """The key an environment's credentials derive from (the base key itself for the base), with its rotations."""
    if config.environment:
        key = key.for_environment(config.environment)
    return with_rotations(key, config.settings.secrets.rotations)


def _validator(config: Config, extra: list[Path]) -> ManifestValidator:
    from ink.validate import ManifestValidator, SchemaFileError

    dirs = [config.resolve(d) for d in config.settings.validation.crd_dirs] + list(extra)
    for directory in dirs:
        if not directory.is_dir():
            raise UserError(
                f"{directory}: custom-resource schema folder not found; fix validation.crd_dirs or --crd-dir"
            )
    try:
        return ManifestValidator(
            config.settings.kubernetes_version,
            dirs,
            allow_unknown_kinds=not config.settings.validation.strict_custom_resources,
        )
    except SchemaFileError as err:
        raise UserError(_schema_file_problem(err)) from None
    except ValueError as err:
        raise UserError(f"{config.source}: {err}") from None


def _schema_file_problem(err: Exception) -> str:
    return f"{err}; fix or remove the file, or leave its folder out of validation.crd_dirs and --crd-dir"


def _validate_all(validator: ManifestValidator, documents: Iterable[tuple[str, Any]]) -> ValidationReport:
    from ink.validate import SchemaFileError

    try:
        return validator.validate_all(documents)
    except SchemaFileError as err:
        raise UserError(_schema_file_problem(err)) from None


def _summary(report: ValidationReport) -> str:
    skipped = sum(report.skipped.values())
    text = f"{report.checked} validated"
    if skipped:
        kinds = ", ".join(sorted({kind for _, kind in report.skipped}))
        text += f", {skipped} custom resources not checked for lack of a schema ({kinds}; see validation.crd_dirs)"
    return text


def validate_paths(
    paths: list[Path],
    *,
    config_path: Path | None,
    extra_crd_dirs: list[Path],
    kubernetes_version: str | None,
    strict_crds: bool,
    environment: str | None = None,
) -> ValidationReport:
    config = load_config(find_config(config_path, os.environ), environment)
    if kubernetes_version:
        config.settings.kubernetes_version = kubernetes_version
    if strict_crds:
        config.settings.validation.strict_custom_resources = True
    from ink.validate import manifest_documents

    validator = _validator(config, extra_crd_dirs)
    return _validate_all(validator, manifest_documents(paths))


@dataclass(frozen=True)
class BackupRow:
    service: str
    kind: str  # "volume" or "database"
    name: str
    covered_by: str  # provider plugin, or "" when nothing covers it
    schedule: str
    retention: str
    drill: str = ""  # the restore drill's schedule and where its last result is; "" for no drill


def backup_report(
    config_path: Path | None, host: PluginHost | None = None, environment: str | None = None
) -> list[BackupRow]:
    """Every volume ink emits and every database claimed, with the schedule that covers it."""
    config = load_config(find_config(config_path, os.environ), environment)
    host = host or make_plugin_host()
    plan = synth_mod.plan(config, host)
    synthesis = synth_mod.synthesise(config, host, _master_key(config)[0], plan)
    rows: list[BackupRow] = []
    for manifest in synthesis.manifests:
        if manifest.kind != "PersistentVolumeClaim":
            continue
        ctx = plan.services[manifest.folder]
        binding = ctx.bindings.get(f"backup/{manifest.name}")
        exempt = manifest.body["metadata"].get("annotations", {}).get("ink.homelab/backup-exempt")
        if binding is None and exempt:
            rows.append(
                BackupRow(
                    manifest.folder, "volume", f"{manifest.namespace}/{manifest.name}", f"exempt: {exempt}", "", ""
                )
            )
            continue
        rows.append(
            BackupRow(
                manifest.folder,
                "volume",
                f"{manifest.namespace}/{manifest.name}",
                getattr(binding, "provider", ""),
                getattr(binding, "schedule", ""),
                getattr(binding, "ttl", ""),
                _drill(binding),
            )
        )
    for need in plan.needs:
        if isinstance(need, DatabaseClaim):
            database = plan.services[need.owner].bindings.get(need.key)
            schedule = getattr(database, "backup_schedule", "")
            provider = getattr(database, "provider", "") if schedule else ""
            drill = _drill(database) if schedule else ""
            rows.append(BackupRow(need.owner, "database", need.name, provider, schedule, "", drill))
    return sorted(rows, key=lambda r: (r.service, r.kind, r.name))


def image_report(
    config_path: Path | None, host: PluginHost | None = None, environment: str | None = None
) -> ImageReport:
    """Every image the homelab deploys: those in ink's objects and those the plugins declare (``ink_images``)."""
    result = build(config_path=config_path, validate=False, host=host, environment=environment)
    assert result.images is not None
    return result.images


def _drill(binding: object) -> str:
    """A binding's restore drill for `ink backups`: its schedule, and where its last result is."""
    drill = getattr(binding, "drill_schedule", "")
    result = getattr(binding, "drill_result", "")
    return f"{drill}, result in {result}" if drill and result else drill


def plugin_tables(
    config_path: Path | None, environment: str | None = None
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """`ink plugins`' two tables (plugins, capabilities) from one description of the installed plugins.

    Works even when a need has no provider: that is when you look.
    """
    config = load_config(find_config(config_path, os.environ), environment)
    host = make_plugin_host(keep_broken=True)
    services = synth_mod.describe(config, host)
    needs = synth_mod.declare(host, services)
    infos = {name: host.call(name, "ink_service_info") for name in host.names}
    providers: dict[str, list[str]] = {}
    for name, ctx in services.items():
        for capability in ctx.service.provides:
            providers.setdefault(capability, []).append(name)
    disabled = {c: name for name, info in infos.items() if name not in services for c in info.provides}

    def missing(capability: str) -> str:
        """What to say of a capability no enabled plugin provides."""
        name = disabled.get(capability)
        return f"(no provider: {name} is disabled)" if name else "(no provider!)"

    needs_of: dict[str, set[str]] = {}
    needed_by: dict[str, set[str]] = {}
    for need in needs:
        label = need.capability if need.capability in providers else f"{need.capability} {missing(need.capability)}"
        needs_of.setdefault(need.owner, set()).add(label)
        needed_by.setdefault(need.capability, set()).add(need.owner)
    plugins = []
    for name, info in infos.items():
        dist = host.dists.get(name)
        plugins.append(
            (
                name,
                dist.distribution if dist else "",
                dist.version if dist else "",
                f"{info.title} {info.version}",
                ", ".join(info.provides) or "-",
                ", ".join(sorted(needs_of.get(name, ()))) or "-",
                "yes" if name in services else "no",
            )
        )
    for name, err in sorted(host.broken.items()):
        plugins.append((name, "", "", f"BROKEN: {clip(err.problem, 200)}", "-", "-", "no"))
    capabilities = []
    for name, spec in host.capabilities.items():
        provided = providers.get(name, [])
        if not provided:
            provider = missing(name)
        elif len(provided) > 1:
            provider = f"{', '.join(provided)} (only one may be enabled!)"
        else:
            provider = provided[0]
        capabilities.append((name, spec.defined_by, provider, ", ".join(sorted(needed_by.pop(name, ()))) or "-"))
    for name, owners in sorted(needed_by.items()):  # named needs of a capability nothing defines
        capabilities.append((name, "(not defined: no installed package)", "-", ", ".join(sorted(owners))))
    return sorted(plugins), capabilities


def plugin_rows(config_path: Path | None) -> list[tuple[str, ...]]:
    """One row per installed plugin: distribution, version, what it provides and needs, enabled."""
    return plugin_tables(config_path)[0]


def capability_rows(config_path: Path | None) -> list[tuple[str, ...]]:
    """One row per defined capability: who defines it, which enabled plugin provides it, who needs it."""
    return plugin_tables(config_path)[1]


def plugin_docs(config_path: Path | None = None, host: PluginHost | None = None) -> dict[str, str]:
    """docs/plugins/<name>.md for every installed plugin (needs from the embedded default's plan)."""
    from ink.docgen import plugin_pages

    config = load_config(find_config(config_path, os.environ))
    host = host or make_plugin_host()
    services = synth_mod.describe(config, host)
    needs: dict[str, list[str]] = {}
    for need in synth_mod.declare(host, services):
        needs.setdefault(need.owner, [])
        if need.capability not in needs[need.owner]:
            needs[need.owner].append(need.capability)
    return plugin_pages(host, needs)


def config_schema(host: PluginHost | None = None) -> dict[str, Any]:
    """JSON Schema of ink.toml, composed from core's settings and every installed plugin's model."""
    host = host or make_plugin_host(keep_broken=True)
    models: dict[str, type] = {}
    for name in host.names:
        info = host.call(name, "ink_service_info")
        models[name] = info.settings_model or PluginSettings
    pairs = [(InkSettings, "validation"), *((m, "validation") for m in models.values())]
    from pydantic.json_schema import models_json_schema

    refs, top = models_json_schema(pairs, ref_template="#/$defs/{model}")
    defs = top.get("$defs", {})
    root_ref = refs[(InkSettings, "validation")]["$ref"].rsplit("/", 1)[-1]
    root = dict(defs.pop(root_ref))
    properties = dict(root["properties"])
    properties["plugins"] = {
        "type": "object",
        "description": properties["plugins"].get("description", ""),
        "additionalProperties": False,
        "properties": {name: refs[(model, "validation")] for name, model in sorted(models.items())},
    }
    root["properties"] = properties
    root["$defs"] = defs
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["title"] = "ink.toml"
    return root


def graph_report(config_path: Path | None, *, policies: bool = False, environment: str | None = None) -> dict[str, Any]:
    """`ink graph`: the graph's edges; with ``policies``, every flow and the NetworkPolicies that allow it.

    The edges need only the plugins' declarations (no Node); the flows need a synthesis, because policies
    see pod ports, read from the Services the plugins render.
    """
    edges: list[dict[str, Any]]
    if not policies:
        config = load_config(find_config(config_path, os.environ), environment)
        plan = synth_mod.plan(config, make_plugin_host())
        edges = [_edge_row(e) for e in plan.edges]
        return {"edges": edges}
    result = build(config_path=config_path, validate=False, environment=environment)
    assert result.graph is not None and result.network is not None
    network = result.network
    flows = [
        {
            "source": flow.source.text(),
            "target": flow.target.text(),
            "ports": [p.text() for p in flow.ports] or ["all"],
            "why": flow.why,
            "edge": flow.edge,
            "allowed_by": network.allowed_by.get(flow, []),
        }
        for flow in network.flows
    ]
    transports = edge_transports(result.graph, network)
    return {
        "edges": [_edge_row(e, transports[e]) for e in result.graph.edges],
        "meshed": network.meshed,
        "not_meshed": dict(network.mesh.left_out) if network.mesh else {},
        "flows": flows,
        "policies": {ns: [p["metadata"]["name"] for p in items] for ns, items in network.policies.items()},
        "no_traffic": network.no_traffic,
        "problems": network.problems,
    }


def edge_transports(graph: ResolvedGraph, network: NetworkPlan) -> dict[Edge, str | None]:
    """Edge → how its traffic travels: 'mtls', 'tls', 'tls-unverified', 'plain', or None (no traffic).

    None when no flow runs behind the edge; 'mtls' when a mesh carries every flow behind it (the ``Mesh`` network
    rule's plan, ``NetworkPlan.transport``); otherwise the binding says
    (:func:`ink.tls.transport`), and a route's hop, which its binding holds no address of, is plain.
    """
    flows: dict[str, list[Flow]] = {}
    for flow in network.flows:
        if flow.edge:
            flows.setdefault(flow.edge, []).append(flow)
    transports: dict[Edge, str | None] = {}
    for edge in graph.edges:
        key = f"{edge.source}→{edge.target}:{edge.name}"
        behind = flows.get(key, [])
        if not behind:
            transports[edge] = None  # a certificate, a Secret, a backup schedule: nothing between pods
        elif network.transport.get(key) == "mtls":
            transports[edge] = "mtls"
        else:
            # A route's hop (ingress controller → the app's pods) holds no address in its binding: plain HTTP.
            transports[edge] = tls_mod.transport(graph.services[edge.source].bindings.get(edge.name)) or "plain"
    return transports


def _edge_row(edge: Any, transport: str | None = None) -> dict[str, Any]:
    """One edge; ``transport`` is known only once the providers have answered (``--policies``)."""
    return {
        "source": edge.source,
        "target": edge.target,
        "kind": edge.kind,
        "name": edge.name,
        "port": edge.port,
        "transport": transport,
    }
