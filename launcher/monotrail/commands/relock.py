"""`monotrail lock` with nothing changed, answered before the lock command's modules are imported.

Re-locking an unchanged project is most of what `monotrail lock` does (a git hook, a Makefile, an
editor task), and uv answers it in ~20 ms; the full check (`monotrail.commands.lock`: argparse, the
pyproject's TOML, the targets, the index client, then `[tool.monotrail] inputs`) cost ~30 ms on top
of the interpreter's start, half of it imports (dataclasses, json, argparse). This module needs
`os` alone: it hashes what the command was made from (the command line, `+VERSION`, the bytes of
the nearest pyproject.toml, the variables that choose the index, monotrail's version) with the
lock as that command left it (mtime and size), and compares with the memo the last such command
wrote in the store, `<root>/cache/lock-commands/<hash of the lock's path>`. The memo lives in the
store so that the lock's bytes depend on its inputs only. Any miss goes the long way.
"""

from __future__ import annotations

import os

from monotrail import __version__, store_root
from monotrail import sha256_hex

# What `monotrail.store.index.sources_from_env` reads from the environment (a test keeps them in step).
INDEX_VARIABLES = ("PIP_INDEX_URL", "UV_INDEX_URL", "PIP_EXTRA_INDEX_URL")
_RESOLVE_ANYWAY = ("-U", "--upgrade", "--refresh", "--script", "-h", "--help")


def up_to_date(args: list[str], python: str | None) -> str | None:
    """The lock this exact command found up to date or wrote last time, if nothing changed since."""
    if any(arg in _RESOLVE_ANYWAY or arg.startswith("--script=") for arg in args):
        return None
    directory = os.path.realpath(os.getcwd())  # as find_project resolves it: the memo names the same files
    while not os.path.isfile(os.path.join(directory, "pyproject.toml")):
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    lock = os.path.join(directory, "pylock.toml")
    memo = _memo(args, python, os.path.join(directory, "pyproject.toml"), lock)
    if memo is None:
        return None
    try:
        with open(memo[0], encoding="utf-8") as file:
            return lock if file.read() == memo[1] else None
    except OSError:
        return None


def remember(args: list[str], python: str | None, pyproject: str, lock: str) -> None:
    """Write the memo of a command that left `lock` up to date (written or found so)."""
    memo = _memo(args, python, pyproject, lock)
    if memo is None:
        return
    from monotrail.atomic import write_atomic
    from monotrail.log import debug

    try:
        write_atomic(memo[0], memo[1])
    except OSError as error:  # a read-only store: the next re-lock goes the long way
        debug(f"cannot remember the lock command in {memo[0]}: {error}")


def _memo(args: list[str], python: str | None, pyproject: str, lock: str) -> tuple[str, str] | None:
    """(the memo's path, what it holds when the command's inputs and the lock are unchanged)."""
    try:
        with open(pyproject, "rb") as file:
            text = file.read()
        state = os.stat(lock)
    except OSError:
        return None
    parts = [__version__, python or "", pyproject, *(os.environ.get(n, "\0") for n in INDEX_VARIABLES),
             str(state.st_mtime_ns), str(state.st_size), str(len(args)), *args]
    digest = sha256_hex("\0".join(parts).encode("utf-8", "surrogateescape") + b"\0" + text)
    name = sha256_hex(os.path.abspath(lock).encode("utf-8", "surrogateescape"))[:32]
    return os.path.join(store_root(), "cache", "lock-commands", name), digest
