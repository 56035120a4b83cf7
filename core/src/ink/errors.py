"""Errors ink reports to its user, and how the CLI maps them to exit codes.

``UserError`` (exit 2) is a mistake in the user's input: config, files, flags.
``PluginError`` (exit 1) is a bug in a plugin; it names the plugin and the hook.
``ValidationFailed`` (exit 1) means the synthesised output did not validate.
``EnvironmentFault`` (exit 3) is the machine failing ink: a full disk, a read-only file system.
Every message is one line: what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import errno

MAX_ECHO = 80
"""How much of a value the user gave ink echoes back in a message."""


def clip(value: object, limit: int = MAX_ECHO) -> str:
    """``value`` as text, cut to ``limit`` characters: a 900 KB domain must not become a 900 KB line."""
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


class InkError(Exception):
    """Base class of every error the CLI reports without a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(InkError):
    """The user's input is wrong (config, files, flags). Exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """``ink.toml`` or an ``INK_*`` variable is invalid."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.problems = [message]
        """Each problem on its own (a message may report several)."""


class ResolutionError(UserError):
    """The enabled plugins do not fit together (missing or duplicate provider)."""


class SecretsError(UserError):
    """The master key or the sealing certificate is missing or unusable."""


class EnvironmentFault(InkError):
    """The machine, not the input, failed: a full disk, a read-only file system. Exit code 3."""

    exit_code = 3


def os_fault(path: object, err: OSError, doing: str) -> EnvironmentFault:
    """One line for an OSError while writing: what, where, and the fix its errno suggests."""
    fixes = {
        errno.ENOSPC: "free some disk space and re-run",
        errno.EDQUOT: "free some of your disk quota and re-run",
        errno.EROFS: "the file system is read-only: remount it writable or choose a folder on another one",
        errno.EACCES: "make the folder writable for you, or choose another one",
        errno.EPERM: "make the folder writable for you, or choose another one",
    }
    fix = fixes.get(err.errno or 0, "fix the cause and re-run")
    return EnvironmentFault(f"{path}: cannot {doing} ({err.strerror or err}); {fix}")


class PluginError(InkError):
    """A plugin raised or returned something its hook does not allow."""

    exit_code = 1

    def __init__(self, plugin: str, hook: str, problem: str) -> None:
        super().__init__(f"plugin {plugin!r} failed in hook {hook}: {problem}")
        self.plugin = plugin
        self.hook = hook
        self.problem = problem


class ValidationFailed(InkError):
    """The synthesised manifests failed schema validation. Exit code 1."""

    exit_code = 1

    def __init__(self, problems: list[str], context: str = "in the synthesised output; nothing was written") -> None:
        count = len(problems)
        super().__init__(f"{count} validation problem{'s' if count != 1 else ''} {context}")
        self.problems = problems
