"""Load ``ink.toml`` and ``INK_*`` variables, and turn every mistake into one clear line.

Messages say what is wrong, where (file and line, or the environment variable) and how
to fix it, e.g.::

    ink.toml:7: plugins.vaultwarden.replica: unknown key; did you mean 'replicas'?
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from ink.errors import ConfigError, PluginError, clip
from ink.models import DNS_LABEL_PATTERN, QUANTITY_PATTERN
from ink.settings import ENV_PREFIX, InkSettings

CONFIG_FILE = "ink.toml"
MAX_CONFIG_BYTES = 1024 * 1024
# INK_* variables that are not settings.
CONTROL_VARIABLES = frozenset(
    {
        "INK_CONFIG",
        "INK_ENVIRONMENT",
        "INK_MASTER_KEY",
        "INK_DISABLE_PLUGINS",
        "INK_LOAD_PLUGINS",
        "INK_TRACE_PLUGINS",
        "INK_DEBUG",
        "INK_NO_FORK",
    }
)


@dataclass
class Config:
    """The validated global settings, and where they came from."""

    settings: InkSettings
    path: Path | None
    """The ``ink.toml`` read, or None for the embedded default."""
    text: str = ""
    environ: Mapping[str, str] = field(default_factory=dict)
    environment: str | None = None
    """The ``[environments.<name>]`` this run synthesises, or None for the base configuration."""
    environments: tuple[str, ...] = ()
    """Every environment ink.toml declares, sorted."""
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    """ink.toml as parsed, with the environment's table laid over it."""
    overlay: dict[str, Any] = field(default_factory=dict, repr=False)
    """The environment's own table (empty for the base)."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "embedded default"

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the directory of ``ink.toml``."""
        return resolve_path(self.base_dir, value)


def resolve_path(base_dir: Path, value: str) -> Path:
    """A path from a setting: '~' expanded, relative to ``base_dir``; a ConfigError if it cannot be."""
    try:
        if "\0" in value:
            raise ValueError("contains a NUL character")
        path = Path(value).expanduser()
    except (RuntimeError, ValueError) as err:
        raise ConfigError(f"path {value!r}: {err}; fix the path in ink.toml") from None
    return path if path.is_absolute() else base_dir / path


def find_config(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """``--config``, else ``INK_CONFIG``, else ``./ink.toml`` if present, else None (embedded default)."""
    if explicit is not None:
        return explicit
    if environ.get("INK_CONFIG"):
        return Path(environ["INK_CONFIG"])
    default = Path(CONFIG_FILE)
    return default if default.exists() else None


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; every problem becomes a ConfigError naming the file."""
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a directory, not a TOML file; pass the path of ink.toml")
        with path.open("rb") as handle:  # read at most the limit: a pipe or /dev/zero has no size
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: more than the {MAX_CONFIG_BYTES} bytes allowed for a configuration; is this really ink.toml?"
            )
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; create it (see ink.example.toml) or leave --config out") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied; make the file readable") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not valid UTF-8 (byte {err.start}); save the file as UTF-8") from None
    try:
        return tomllib.loads(text), text
    except RecursionError:
        raise ConfigError(f"{path}: nests arrays or tables too deeply to read; flatten the structure") from None
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        where = f"{path}:{match.group(1)}:{match.group(2)}" if match else str(path)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "syntax error"
        fix = "remove the control character (is this a binary file?)" if "\\x" in reason else "fix the syntax there"
        raise ConfigError(f"{where}: invalid TOML: {reason[0].lower()}{reason[1:]}; {fix}") from None


def load_config(path: Path | None, environment: str | None = None) -> Config:
    """Read ink.toml and the environment; validate the global settings.

    ``environment`` (else ``INK_ENVIRONMENT``) names an ``[environments.<name>]`` table, laid over the
    rest of the file: its keys win, tables merge key by key, lists are replaced. Plugin tables are
    validated later, by :func:`plugin_settings`, once the plugins are known.
    """
    environ = dict(os.environ)
    data, text = read_toml(path) if path else ({}, "")
    _check_unknown_variables(environ)
    config = Config(settings=InkSettings.model_construct(), path=path, text=text, environ=environ, data=data)
    config.settings = _validated(config, data)
    config.environments = tuple(sorted(config.settings.environments))
    # "" is the base configuration on purpose, whatever INK_ENVIRONMENT says (ink synth --all-environments).
    name = environment if environment is not None else environ.get("INK_ENVIRONMENT", "")
    if name and name not in config.settings.environments:
        where = "--environment" if environment else "environment variable INK_ENVIRONMENT"
        declared = ", ".join(config.environments) or "none"
        hint = _did_you_mean(name, list(config.environments))
        raise ConfigError(
            f"{where}: no environment named {clip(name)!r}{hint} in {config.source} (declared: {declared}); "
            f"fix the name or add an [environments.{clip(name)}] table"
        )
    # Every environment's global keys are checked whichever one runs: a typo in one shows in every run (its
    # plugin tables, once the plugins are known, only when it is synthesised).
    chosen = config
    for other in config.environments:
        laid = _in_environment(config, other)
        if other == name:
            chosen = laid
    return chosen


def _in_environment(base: Config, name: str) -> Config:
    """``base`` with ``[environments.<name>]`` laid over it, validated."""
    overlay = base.settings.environments[name]
    config = replace(base, environment=name, overlay=overlay)
    if "environments" in overlay:
        raise ConfigError(
            f"{_where(config, ('environments',))}: environments.{name}.environments: environments do not nest; "
            f"move [environments.{name}.environments.*] to the top level"
        )
    config.data = _laid_over({key: value for key, value in base.data.items() if key != "environments"}, overlay)
    config.settings = _validated(config, config.data)
    return config


def _validated(config: Config, data: dict[str, Any]) -> InkSettings:
    try:
        return InkSettings(**data)
    except ValidationError as err:
        raise _config_error(config, err, InkSettings) from None
    except SettingsError as err:
        raise _settings_error(config.environ, err) from None


def _laid_over(base: Mapping[str, Any], overlay: Mapping[str, Any], *, plugins: bool = False) -> dict[str, Any]:
    """``overlay`` over ``base``: tables merge key by key, anything else is replaced.

    Under ``plugins`` a table key names a plugin, spelt either way ('sealed-secrets', 'sealed_secrets'):
    the overlay's table merges into the base's, whichever spelling each uses.
    """
    merged = dict(base)
    for key, value in overlay.items():
        target = key
        if plugins:
            target = next((k for k in base if k.replace("_", "-") == key.replace("_", "-")), key)
        if isinstance(value, dict) and isinstance(merged.get(target), dict):
            merged[target] = _laid_over(merged[target], value, plugins=key == "plugins" and not plugins)
        else:
            merged[target] = value
    return merged


def _settings_error(environ: Mapping[str, str], err: SettingsError) -> ConfigError:
    """pydantic-settings could not decode a variable (lists and tables must be JSON)."""
    match = re.search(r'field "(\w+)"', str(err))
    field_name = match.group(1) if match else ""
    prefix = f"{ENV_PREFIX}{field_name.upper()}"
    names = [n for n in sorted(environ) if n.upper() == prefix or n.upper().startswith(prefix + "__")]
    where = f"environment variable {names[0]}" if names else "environment"
    return ConfigError(
        f"{where}: cannot decode the value for {field_name or 'a setting'}; lists and tables must be JSON, "
        'e.g. \'["crds"]\' or \'{"key": "value"}\''
    )


def _check_unknown_variables(environ: Mapping[str, str]) -> None:
    fields = set(InkSettings.model_fields)
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in CONTROL_VARIABLES:
            continue
        if name.upper().startswith("INK_SECRET_"):  # credentials only the user has (ink.secrets.UserSecrets)
            continue
        head = name[len(ENV_PREFIX) :].lower().split("__")[0]
        if head not in fields:
            options = sorted(f"{ENV_PREFIX}{f.upper()}" for f in fields) + sorted(CONTROL_VARIABLES)
            hint = _did_you_mean(name.upper(), options)
            raise ConfigError(f"environment variable {name}: not an ink setting{hint}; unset it or fix the name")


# --- plugin tables ------------------------------------------------------------------------


def plugin_tables(config: Config, installed: list[str]) -> dict[str, dict[str, Any]]:
    """Each plugin's table from ink.toml; an unknown plugin name (in the file or the environment) is an error.

    Environment values are applied later, by :func:`plugin_settings`, which knows the field types.
    """
    file_tables = config.data.get("plugins", {})
    if not isinstance(file_tables, dict):  # InkSettings has checked it; a bare Config (tests) may not be
        file_tables = {}
    env_names = {parts[1] for parts, _, _ in _plugin_variables(config.environ)}
    tables: dict[str, dict[str, Any]] = {}
    spellings: dict[str, str] = {}  # plugin -> the first table key in the file that named it
    for key in [*file_tables, *sorted(env_names)]:
        name = _plugin_name(key, installed)
        if name is None:
            where = _where(config, ("plugins", key))
            left_out = _left_out(config.environ, key)
            if left_out:
                raise ConfigError(f"{where}: plugins.{clip(key.lower())}: {left_out}")
            hint = _did_you_mean(key.lower(), installed)
            listing = ", ".join(installed) or "none"
            shown = clip(key.lower())
            raise ConfigError(
                f"{where}: plugins.{shown}: no installed plugin named {shown!r}{hint} (installed: "
                f"{listing}); fix the name or `pip install ink-plugin-{shown}`"
            )
        table = file_tables.get(key, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(config, ('plugins', key))}: plugins.{key}: expected a table")
        spelling = spellings.setdefault(name, key)
        if key in file_tables and spelling != key:
            # _where treats '-' and '_' alike, so find this spelling's own line.
            header = re.compile(rf"""^\[\s*plugins\s*\.\s*["']?{re.escape(key)}["']?\s*[.\]]""")
            line = next((n for n, text in enumerate(config.text.splitlines(), 1) if header.match(text.strip())), None)
            where = f"{config.path}:{line}" if line else _where(config, ("plugins", key))
            raise ConfigError(
                f"{where}: plugins.{clip(key)}: the same plugin as [plugins.{spelling}]; merge the two tables into one"
            )
        tables.setdefault(name, {}).update(table)
    return tables


def _left_out(environ: Mapping[str, str], key: str) -> str:
    """Why an installed plugin is not loaded (INK_DISABLE_PLUGINS, INK_LOAD_PLUGINS), with the fix; "" if it is not."""
    import importlib.metadata

    from ink.plugins import ENTRY_POINT_GROUP

    name = _plugin_name(key, sorted(e.name for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)))
    if name is None:
        return ""
    disabled = [n.strip() for n in environ.get("INK_DISABLE_PLUGINS", "").split(",")]
    if name in disabled:
        return (
            f"plugin {name!r} is installed but disabled by INK_DISABLE_PLUGINS; remove {name} from that variable, "
            "or remove this table"
        )
    if "INK_LOAD_PLUGINS" in environ:
        return (
            f"plugin {name!r} is installed but not in INK_LOAD_PLUGINS; add {name} to that variable, "
            "or remove this table"
        )
    return ""


def _plugin_name(key: str, installed: list[str]) -> str | None:
    """The installed plugin a table or variable names: 'sealed-secrets', 'sealed_secrets', 'SEALED_SECRETS'."""
    wanted = key.lower().replace("_", "-")
    return next((name for name in installed if name == key or name.replace("_", "-") == wanted), None)


def _plugin_variables(environ: Mapping[str, str]) -> list[tuple[list[str], str, str]]:
    """(parts, variable, value) of every INK_PLUGINS__<NAME>[__<KEY>...] variable; parts keep their case."""
    found = []
    for variable, raw in sorted(environ.items()):
        parts = variable.split("__")
        if len(parts) >= 2 and parts[0].upper() == f"{ENV_PREFIX}PLUGINS" and parts[1]:
            found.append((parts, variable, raw))
    return found


def plugin_settings(config: Config, name: str, table: dict[str, Any], model: type[BaseModel]) -> BaseModel:
    """Validate one ``[plugins.<name>]`` table, with its ``INK_PLUGINS__<NAME>__*`` overrides, by the plugin's model."""
    table = _with_default_tables(_apply_env(config.environ, name, table, model), model)
    try:
        return model.model_validate(table)
    except ValidationError as err:
        own = [e for e in err.errors(include_url=False) if e["loc"] and str(e["loc"][0]) not in table]
        if own:  # the plugin's own default is invalid: its author's bug, not the user's
            where = ".".join(str(part) for part in own[0]["loc"])
            raise PluginError(name, "settings model", f"the default of {where} is invalid: {own[0]['msg']}") from None
        raise _config_error(config, err, model, prefix=("plugins", name)) from None


def _with_default_tables(table: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """A partial nested table (``[plugins.x.resources]``, one key) completes the plugin's default, not the base's."""
    merged = dict(table)
    for key, value in table.items():
        info = model.model_fields.get(key)
        if info is None or not isinstance(value, dict) or info.default_factory is None:
            continue
        try:
            default = info.default_factory()  # type: ignore[call-arg]
        except TypeError:  # a factory that wants the validated data
            continue
        if isinstance(default, BaseModel):
            merged[key] = {**default.model_dump(exclude_unset=False), **value}
    return merged


def _apply_env(
    environ: Mapping[str, str], plugin: str, table: dict[str, Any], model: type[BaseModel]
) -> dict[str, Any]:
    """Overlay the plugin's variables on its table, typed by the model: the environment wins.

    Text fields take the value as it is; other fields decode it as JSON (``"3"`` → 3, ``'["a"]'`` →
    a list), and the model then validates it, so its own message reaches the user. Keys of
    mappings (``ENV__LOG_LEVEL``) keep their case; field names are matched case-insensitively.
    """
    table = json.loads(json.dumps(table))  # deep copy
    for parts, variable, raw in _plugin_variables(environ):
        if _plugin_name(parts[1], [plugin]) is None:
            continue
        if len(parts) == 2:  # the whole table as JSON
            try:
                whole = json.loads(raw)
            except ValueError:
                whole = None
            if not isinstance(whole, dict):
                raise ConfigError(f"environment variable {variable}: expected a JSON table, e.g. '{{\"replicas\": 2}}'")
            table.update(whole)
            continue
        path, annotation = _env_path(model, parts[2:])
        node = table
        for part in path[:-1]:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
        if annotation is None or _is_text(annotation):
            node[path[-1]] = raw
            continue
        try:
            node[path[-1]] = json.loads(raw)
        except ValueError:
            if typing.get_origin(_unwrap_optional(annotation)) in (list, dict):
                example = (
                    '\'["a", "b"]\'' if typing.get_origin(_unwrap_optional(annotation)) is list else '\'{"k": "v"}\''
                )
                key = ".".join(["plugins", plugin, *path])
                raise ConfigError(
                    f"environment variable {variable}: {key}: lists and tables must be JSON, e.g. {example}"
                ) from None
            node[path[-1]] = raw  # the model reports the wrong type, naming the variable
    return table


def _env_path(model: type[BaseModel], parts: list[str]) -> tuple[list[str], Any]:
    """Map variable segments onto the model: field names lower-cased, mapping keys kept as written."""
    path: list[str] = []
    annotation: Any = model
    for part in parts:
        current = _unwrap_optional(annotation)
        if isinstance(current, type) and issubclass(current, BaseModel):
            key = part.lower()
            info = current.model_fields.get(key)
            annotation = info.annotation if info else None
        elif typing.get_origin(current) is dict:
            key = part
            annotation = typing.get_args(current)[1]
        else:
            key, annotation = part.lower(), None
        path.append(key)
    return path, annotation


def _is_text(annotation: Any) -> bool:
    """True for str-like fields (str, constrained str, Literal of strings), optional or not."""
    annotation = _unwrap_optional(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Literal:
        return all(isinstance(v, str) for v in typing.get_args(annotation))
    return annotation is str


def _annotation_at(model: type[BaseModel], path: list[str]) -> Any:
    annotation: Any = model
    for part in path:
        annotation = _unwrap_optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(part)
            if info is None:
                return None
            annotation = info.annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return None
    return annotation


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


# --- error messages -----------------------------------------------------------------------


def _config_error(
    config: Config, err: ValidationError, model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> ConfigError:
    problems = []
    for error in err.errors(include_url=False):
        # A dict key's own error ends its location with "[key]": the key itself is the place.
        loc = prefix + tuple(str(part) for part in error["loc"] if part != "[key]")
        shown = ".".join(_in_file(config, loc))
        problems.append(f"{_where(config, loc)}: {clip(shown)}: {_describe(error, model, loc[len(prefix) :])}")
    return combined(problems)


MAX_PROBLEMS = 5
"""Problems one message reports; beyond, it says how many more (fixing them shows the next)."""


def combined(problems: list[str]) -> ConfigError:
    """One line reporting every problem, up to :data:`MAX_PROBLEMS`: the first as it is, the others after 'also'."""
    shown = [problems[0], *(f"also {p}" for p in problems[1:MAX_PROBLEMS])]
    more = len(problems) - MAX_PROBLEMS
    error = ConfigError("; ".join(shown) + (f" (and {more} more problem{'s' * (more > 1)})" if more > 0 else ""))
    error.problems = problems
    return error


def _describe(error: Any, model: type[BaseModel], loc: tuple[str, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        siblings = _field_names(model, loc[:-1])
        hint = _did_you_mean(loc[-1], siblings)
        valid = f"; valid keys here: {', '.join(siblings)}" if siblings and not hint else ""
        return f"unknown key{hint}{valid}; remove it or fix the spelling" if not hint else f"unknown key{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        message = _PATTERN_HINTS.get(str(error.get("ctx", {}).get("pattern", "")), message)
    given = error.get("input")
    if kind != "missing" and not isinstance(given, dict | list):
        message += f" (got {clip(repr(given))})"
    return message + _TYPE_FIXES.get(kind, "")


# How to write a value of the expected type: pydantic's message says what is wrong, not what is right.
_TYPE_FIXES = {
    "int_parsing": "; write a whole number, e.g. 2",
    "int_type": "; write a whole number, e.g. 2",
    "int_from_float": "; write a whole number, e.g. 2",
    "bool_parsing": "; write true or false",
    "bool_type": "; write true or false",
    "string_type": '; write a quoted string, e.g. "text"',
    "dict_type": '; write a table: [section] with key = value lines, or {"key": "value"} as JSON in a variable',
    "list_type": '; write a list, e.g. ["a", "b"]',
}


_PATTERN_HINTS = {
    QUANTITY_PATTERN: "expected a Kubernetes quantity such as '5Gi', '500Mi' or '250m'",
    DNS_LABEL_PATTERN: "expected a DNS label: lowercase letters, digits and '-', at most 63 characters",
}


def _field_names(model: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    annotation = _annotation_at(model, list(loc)) if loc else model
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(annotation.model_fields)
    return []


def _where(config: Config, loc: tuple[str, ...]) -> str:
    variable = _env_variable(config.environ, loc)
    if variable:
        return f"environment variable {variable}"
    if config.path is None:
        return "settings"
    line = _locate(config.text, _in_file(config, loc))
    return f"{config.path}:{line}" if line else str(config.path)


def _in_file(config: Config, loc: tuple[str, ...]) -> tuple[str, ...]:
    """Where ``loc`` is written in ink.toml: under ``environments.<name>`` when the environment's table sets it."""
    if config.environment and _has_key(config.overlay, loc) and not _env_variable(config.environ, loc):
        return ("environments", config.environment, *loc)
    return loc


def _has_key(table: Mapping[str, Any], loc: tuple[str, ...]) -> bool:
    """Whether ``loc`` (or its first part that is not a table) is set in ``table``; '-' and '_' alike."""
    node: Any = table
    for part in loc:
        if not isinstance(node, Mapping):
            return True
        key = next((k for k in node if str(k).replace("_", "-") == part.replace("_", "-")), None)
        if key is None:
            return False
        node = node[key]
    return True


def _env_variable(environ: Mapping[str, str], loc: tuple[str, ...]) -> str | None:
    """The INK_* variable that set ``loc`` (or a table above it, or a key below it)."""

    def norm(name: str) -> str:
        return name.upper().replace("-", "_")

    for depth in range(len(loc), 0, -1):
        wanted = norm(ENV_PREFIX + "__".join(loc[:depth]))
        for name in sorted(environ):
            if norm(name) == wanted or (depth == len(loc) and norm(name).startswith(wanted + "__")):
                return name
    return None


_TOML_KEY = r'(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)'


def _key_parts(dotted: str) -> tuple[str, ...]:
    """'plugins."sealed-secrets".x' → ('plugins', 'sealed-secrets', 'x'); '-' and '_' compare equal."""
    return tuple(p.strip("\"'").replace("_", "-") for p in re.findall(_TOML_KEY, dotted))


def _locate(text: str, loc: tuple[str, ...]) -> int | None:
    """Best-effort line number of a dotted key in TOML text (tables, dotted and quoted keys)."""
    wanted = tuple(part.replace("_", "-") for part in loc)
    table: tuple[str, ...] = ()
    best: int | None = None
    below: int | None = None  # the first table inside it, e.g. [a.b.c] defining a.b
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[+\s*(.+?)\s*\]+\s*(#.*)?$", stripped)
        if header:
            table = _key_parts(header.group(1))
            if best is None and table == wanted:
                best = number
            elif below is None and table[: len(wanted)] == wanted:
                below = number
            continue
        assign = re.match(rf"^({_TOML_KEY}(?:\s*\.\s*{_TOML_KEY})*)\s*=", stripped)
        if assign:
            full = table + _key_parts(assign.group(1))
            if full == wanted[: len(full)]:
                return number
    return best or below


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
