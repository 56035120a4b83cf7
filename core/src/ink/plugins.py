"""Finding plugins and calling their hooks, one plugin at a time.

Plugins are found through the ``ink`` entry-point group: ``pip install ink-plugin-x``
is all a user does. ``INK_DISABLE_PLUGINS=a,b`` blocks plugins by name;
``INK_LOAD_PLUGINS=a,b`` loads only those; ``INK_TRACE_PLUGINS=1`` logs every hook call.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from ink import capabilities as capabilities_mod
from ink import hookspecs
from ink.capabilities import BUILTIN, CapabilitySpec
from ink.errors import PluginError, UserError, clip

ENTRY_POINT_GROUP = "ink"


@dataclass(frozen=True)
class PluginDist:
    """Where an installed plugin comes from."""

    name: str
    distribution: str
    version: str


class PluginHost:
    """A fresh plugin manager with typed, attributed hook calls.

    Build one per run (and per test): :func:`make_plugin_host`.
    """

    def __init__(
        self,
        pm: pluggy.PluginManager,
        dists: dict[str, PluginDist],
        *,
        trace: bool = False,
        broken: dict[str, PluginError] | None = None,
        capabilities: dict[str, CapabilitySpec] | None = None,
    ) -> None:
        self.pm = pm
        self.capabilities = capabilities if capabilities is not None else {s.name: s for s in BUILTIN}
        """Every defined capability by name, in definition order (built-ins first)."""
        self.dists = dists
        self.trace = trace
        self.broken = broken if broken is not None else {}
        """Installed plugins that failed to load (only with ``keep_broken``): name → why."""

    @property
    def names(self) -> list[str]:
        """Registered plugin names, sorted: the order core processes plugins in."""
        return sorted(name for name, plugin in self.pm.list_name_plugin() if plugin is not None)

    def implements(self, plugin: str, hook: str) -> bool:
        return any(impl.plugin_name == plugin for impl in getattr(self.pm.hook, hook).get_hookimpls())

    def call(self, plugin: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on ``plugin`` alone; a raised exception becomes a :class:`PluginError`.

        Returns None when the plugin does not implement the hook.
        """
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name != plugin:
                continue
            args = {name: kwargs[name] for name in impl.argnames}
            if self.trace:
                sys.stderr.write(f"ink: calling {plugin}.{hook}({', '.join(args)})\n")
            try:
                return impl.function(**args)
            except UserError:
                raise
            except Exception as err:
                raise PluginError(plugin, hook, f"{type(err).__name__}: {err}{_where(err, impl.function)}") from err
        return None


def _where(err: BaseException, function: Any) -> str:
    """' at <file>:<line>' of the deepest frame in the plugin's own package (else the deepest), and the --debug hint."""
    frames = traceback.extract_tb(err.__traceback__)
    module = sys.modules.get(getattr(function, "__module__", ""))
    package = os.path.dirname(getattr(module, "__file__", "") or "") or None
    own = [f for f in frames if package and f.filename.startswith(package)]
    frame = (own or frames)[-1] if frames else None
    at = f" at {os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""
    return f"{at} (run with --debug for the traceback)"


def make_plugin_host(
    *,
    load_entrypoints: bool = True,
    extra: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    keep_broken: bool = False,
    capabilities: Iterable[CapabilitySpec] = (),
) -> PluginHost:
    """Build a fresh plugin host: specs, blocked names, entry points, extras, ``check_pending``.

    Every capability's hook specs (built-in, from ``ink.capabilities`` entry points, and
    ``capabilities``) are added before any plugin registers, so implementations of a
    third-party capability's hooks are checked like core's.

    :param load_entrypoints: Load installed plugins (tests may pass False and use ``extra``).
    :param extra: Plugin objects or modules to register by name, e.g. in tests.
    :param capabilities: Capabilities to define besides the installed ones, e.g. in tests.
    :param keep_broken: Leave out a plugin that fails to load and record it in ``broken``, for the
        commands that only describe what is installed (``ink plugins``, ``ink schema``). A synth
        must fail instead: leaving a service out would remove it from the output.
    """
    broken: dict[str, PluginError] = {}
    environ = os.environ if environ is None else environ
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    specs = capabilities_mod.load(capabilities, broken if keep_broken else None)
    for spec in specs.values():
        if spec.hookspecs is not None and spec.hookspecs is not hookspecs:
            pm.add_hookspecs(spec.hookspecs)
        caller = getattr(pm.hook, spec.provide_hook, None)
        if caller is None or caller.spec is None:
            raise PluginError(
                spec.name,
                capabilities_mod.ENTRY_POINT_GROUP,
                f"capability {spec.name!r} names provide hook {spec.provide_hook}, which its hookspecs do not define",
            )
    dists: dict[str, PluginDist] = {}
    entry_points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    known = sorted({e.name for e in entry_points} if load_entrypoints else set()) + sorted(extra or {})
    for variable in ("INK_DISABLE_PLUGINS", "INK_LOAD_PLUGINS"):
        _check_names(variable, environ.get(variable, ""), known)
    for name in _names(environ.get("INK_DISABLE_PLUGINS", "")):
        pm.set_blocked(name)
    if load_entrypoints:
        allow = _names(environ.get("INK_LOAD_PLUGINS", "")) if "INK_LOAD_PLUGINS" in environ else None
        for entry_point in entry_points:
            if pm.is_blocked(entry_point.name) or pm.get_plugin(entry_point.name) is not None:
                continue
            if allow is not None and entry_point.name not in allow:
                continue
            try:
                try:
                    plugin = entry_point.load()
                except Exception as err:
                    problem = f"cannot import {entry_point.value}: {type(err).__name__}: {err}{_where(err, None)}"
                    raise PluginError(entry_point.name, "load", problem) from err
                _register(pm, plugin, entry_point.name)
                _check_pending(pm)
            except PluginError as err:
                if not keep_broken:
                    raise
                broken.setdefault(entry_point.name, err)  # a broken capability definition says more
                if pm.get_plugin(entry_point.name) is not None:
                    pm.unregister(name=entry_point.name)
                continue
            # dist.name and dist.version would each parse the METADATA file: parse it once.
            metadata = entry_point.dist.metadata if entry_point.dist else None
            name, version = (metadata["Name"], metadata["Version"]) if metadata else ("?", "?")
            dists[entry_point.name] = PluginDist(entry_point.name, name, version)
    for name, plugin in (extra or {}).items():
        if not pm.is_blocked(name):
            _register(pm, plugin, name)
            dists[name] = PluginDist(name, "(registered in-process)", "")
    _check_pending(pm)
    host = PluginHost(pm, dists, trace=bool(environ.get("INK_TRACE_PLUGINS")), broken=broken, capabilities=specs)
    if keep_broken:  # a plugin that cannot even describe itself is broken too
        for name in host.names:
            try:
                host.call(name, "ink_service_info")
            except PluginError as err:
                broken[name] = err
                pm.unregister(name=name)
    return host


def _check_pending(pm: pluggy.PluginManager) -> None:
    try:
        pm.check_pending()  # a misspelt hook name fails here, at load
    except pluggy.PluginValidationError as err:
        raise PluginError(pm.get_name(err.plugin) or "?", "load", str(err)) from err


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as err:  # e.g. an implementation asks for an argument no spec has
        raise PluginError(name, "load", str(err)) from err


def _check_names(variable: str, value: str, known: list[str]) -> None:
    """A misspelt name would silently load (or keep) the wrong set of services: refuse it."""
    for name in _names(value):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(
                f"environment variable {variable}: no installed plugin named {clip(name)!r}{hint}; "
                f"installed: {', '.join(known) or 'none'}; fix the name or unset {variable}"
            )


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
