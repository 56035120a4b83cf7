"""Reading what the user points ink at: regular files of bounded size, YAML of bounded expansion.

A path in a setting can name anything: ``/dev/zero`` (endless), a FIFO (an ``open`` that never
returns), a ten-line YAML "billion laughs" (aliases that expand to 10⁹ nodes). Every file ink reads
besides ``ink.toml`` itself goes through :func:`read_bounded`, every YAML through :func:`load_yaml_all`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 16 * 1024 * 1024
# Expanded nodes of one YAML document, aliases counted as often as they are used: ink's largest
# output object has a few thousand; a "billion laughs" has 10⁹.
MAX_YAML_NODES = 1_000_000
MAX_YAML_DEPTH = 200
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class BoundedReadError(ValueError):
    """The file is not a regular file, or too large, or its YAML expands too far. The message says which."""


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; :class:`BoundedReadError` otherwise.

    OSError (missing, unreadable) is left to the caller, which knows what the file is for.
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BoundedReadError(f"is {_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise BoundedReadError(f"is larger than the {limit} bytes ink reads")
    return b"".join(chunks)


def read_text_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """:func:`read_bounded` decoded as UTF-8 (UnicodeDecodeError left to the caller)."""
    return read_bounded(path, limit).decode("utf-8")


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_all(text: str) -> Iterator[Any]:
    """``yaml.safe_load_all`` that refuses a document expanding beyond :data:`MAX_YAML_NODES` nodes or nesting
    deeper than :data:`MAX_YAML_DEPTH` (BoundedReadError), before building it."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            _check_expansion(node)
            yield loader.construct_document(node)
    except RecursionError:
        raise BoundedReadError(f"nests deeper than the {MAX_YAML_DEPTH} levels ink reads") from None
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Count nodes as if every alias were copied out, without copying (a shared node is counted once per use)."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk: (node, depth, children done).
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    active: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        if depth > MAX_YAML_DEPTH:
            raise BoundedReadError(f"nests deeper than the {MAX_YAML_DEPTH} levels ink reads")
        children = _children(node)
        if done:
            active.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_YAML_NODES:
                raise BoundedReadError(
                    f"expands to more than {MAX_YAML_NODES} nodes through aliases (a 'billion laughs'?); "
                    "write the document out without aliases"
                )
            continue
        if id(node) in sizes:
            continue
        if id(node) in active:
            raise BoundedReadError("contains an alias to itself (a recursive document)")
        active.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
