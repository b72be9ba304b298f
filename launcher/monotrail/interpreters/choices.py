"""The interpreter a version request picked, kept with the state of everything that decided it.

`find_interpreter` answers a version request (`3.12`, `>=3.10`, none at all) by surveying every
Python discovery sees: ~20 directories listed, a dozen candidates' probe records read and
requires-python parsed, 5-10 ms of a second project's first run. The answer is a function of
the request, the lock's requires-python, where discovery looks (PATH, PYENV_ROOT, HOME, ...:
`SearchDirs`), what those directories hold, and the candidate files themselves. So the choice is
kept under a key of the first three, with the state (inode, mtime, size, or absence) of every
directory the survey lists, the `pyvenv.cfg` files that would make a directory a venv's, and
every candidate file; a later run with the same key uses it only when each of those states is
unchanged (one stat each), and surveys again otherwise.

A Python installed later shows up as a new name in a directory that was listed (pyenv's
`versions/`, uv's Python directory, a PATH directory, monotrail's own `pythons/`), which changes
that directory's mtime, or as a directory on PATH that did not exist: either is a miss, so a
newly installed newer patch is picked as the survey would pick it. (Nothing is kept while a
watched path changed in the last two seconds, so a coarse mtime cannot hide a change.) A binary replaced in place
changes its own stat. The one change not seen is a file rewritten in place keeping its inode,
mtime and size, which the probe cache (keyed by mtime and size) does not see either.

    <root>/interpreters/choices/<key>   text: a header line, the interpreter's path, its source
                                        ("pyenv", "PATH", ...), then `STATE<TAB>PATH` per watched path

Stdlib only, no json (a second project's copied environment, `monotrail.environment.clone`,
reads it before anything heavy is imported). A torn, foreign or unreadable file is a miss;
writing is best effort, and skipped for a path with a newline.
"""

from __future__ import annotations

import os

from monotrail import __version__, sha256_hex

__all__ = ["choice_key", "path_state", "read_choice", "remember_choice", "watch_states"]

FORMAT = 2
HEADER = f"monotrail interpreter choice {FORMAT}"
SETTLE_NS = 2_000_000_000  # see remember_choice




def choice_key(parts: list[object]) -> str:
    """The key of one question: `parts` are the request's text, the requires-python and the
    search directories; monotrail's version and this file's format are added."""
    text = "\0".join(repr(part) for part in (FORMAT, __version__, *parts))
    return sha256_hex(text.encode("utf-8", "surrogateescape"))[:32]


def path_state(path: str) -> str:
    """What a change of `path` changes: inode, mtime, size and mode of what it points to, or `-`."""
    try:
        info = os.stat(path)
    except OSError:
        return "-"
    return f"{info.st_ino}:{info.st_mtime_ns}:{info.st_size}:{info.st_mode}"


def watch_states(paths: list[str]) -> list[list[str]]:
    """[path, state] for each distinct path, in order."""
    return [[path, path_state(path)] for path in dict.fromkeys(paths)]


def _file(root: str, key: str) -> str:
    return os.path.join(root, "interpreters", "choices", key)


def read_choice(root: str, key: str) -> tuple[str, str] | None:
    """(path, source) of the interpreter chosen before for `key`, if nothing it watched changed."""
    try:
        with open(_file(root, key), encoding="utf-8", errors="surrogateescape") as file:
            header, path, source, *watched = file.read().split("\n")
    except (OSError, ValueError):
        return None
    if header != HEADER or watched[-1:] != [""]:  # the last line ends with a newline: not torn
        return None
    for line in watched[:-1]:
        state, tab, watched_path = line.partition("\t")
        if not tab or path_state(watched_path) != state:
            return None
    return path, source


def remember_choice(root: str, key: str, path: str, source: str, watched: list[list[str]]) -> None:
    """Keep the choice; `watched` must be taken before the survey that chose it, so a change
    during the survey makes the record stale rather than wrong.

    Not kept while anything watched changed within the last two seconds: a file system's
    timestamps may be as coarse as a clock tick, so a Python installed in the same tick as the
    state was taken would leave the directory's mtime as recorded (the warm entry's rule too)."""
    import time

    from monotrail.atomic import write_atomic

    settled = time.time_ns() - SETTLE_NS
    if any(state != "-" and int(state.split(":")[1]) > settled for _, state in watched):
        return
    lines = [HEADER, path, source, *(f"{state}\t{watched_path}" for watched_path, state in watched)]
    if any("\n" in line for line in lines):
        return
    try:
        write_atomic(_file(root, key), ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"), mode=0o600)
    except OSError:
        pass  # a cache: a read-only store only costs the survey next time
