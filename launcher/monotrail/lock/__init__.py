"""The lock stage: finding a lockfile and reading it into the neutral model (`monotrail.lock.model`).

One reader module per format (`pylock`, `uv`, `poetry`, `requirements`, sharing `project`,
`tomlfile`, `values`), PEP 723 blocks in `script_block`; this package's own module only finds the
file and dispatches on its name (it is the package's `__init__` so that the warm path imports one
module here, not two). `find_lock` runs on the warm path of `monotrail run`, so this
module imports only `os` at import time and works on `str` paths: `pathlib`, `re`, `typing` and
`dataclasses` each cost a warm run more than everything else the launcher does.
"""

from __future__ import annotations

import os

from monotrail.errors import LockError

# Per directory, in this order: the standard format first, then tool-specific ones, then the
# least precise one. `pylock.*.toml` is expanded (sorted) in between.
_LOCK_NAMES_BEFORE = ("pylock.toml",)
_LOCK_NAMES_AFTER = ("uv.lock", "poetry.lock", "requirements.txt", "requirements-frozen.txt")


def find_lock(start: str) -> str:
    """The first lockfile in `start` or, failing that, in the nearest parent that has one."""
    directory = os.path.abspath(start)
    if os.path.isfile(directory):
        directory = os.path.dirname(directory)
    searched = []
    while True:
        searched.append(directory)
        candidates = _locks_in(directory)
        if candidates:
            return candidates[0]
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    raise LockError(
        "no lockfile found; looked for pylock.toml, pylock.*.toml, uv.lock, poetry.lock, "
        "requirements.txt, requirements-frozen.txt in: " + ", ".join(searched),
        hint="create one (`uv lock`, `poetry lock`, `uv export --format pylock.toml`) "
        "or pass the lockfile explicitly with --lock",
    )


def search_checks(start: str, found: str | None) -> list:
    """What the sh front door (shims/monotrail) tests to know that `find_lock(start)` still
    returns `found` (None: no lock anywhere up), without listing a directory: in each directory
    the search went through, every lock name that comes before `found` is absent.

    Lines of a warm entry (`write_warm_entry` in monotrail.environment): `!PATH` nothing exists at
    PATH (`[ -e ]`: a directory named `uv.lock` does not count for `_locks_in`, but such a thing
    only sends runs to the launcher); `*DIR<TAB>NAME` no file `DIR/pylock.*.toml` sorts before
    NAME (any, when NAME is empty; a glob, the one readdir of the check); `DIR` where a lock
    name is something else than a file or nothing (the directory's mtime, as before). A file
    created in the project directory (an editor's save, a program's output) changes none of them.
    """
    directory = os.path.abspath(start)
    if os.path.isfile(directory):
        directory = os.path.dirname(directory)
    found_dir, found_name = os.path.split(found) if found is not None else (None, "")
    checks: list[str] = []
    while True:
        last = directory == found_dir
        before = _ordered_names(found_name) if last else (*_LOCK_NAMES_BEFORE, "*", *_LOCK_NAMES_AFTER)
        for name in before:
            path = os.path.join(directory, name)
            if name == "*":
                checks.append(f"*{directory}\t{found_name if last and found_name.startswith('pylock.') else ''}")
            elif not os.path.exists(path):
                checks.append("!" + path)
            elif directory not in checks:
                checks.append(directory)
        parent = os.path.dirname(directory)
        if last or parent == directory:
            return checks
        directory = parent


def _ordered_names(name: str) -> tuple:
    """The names `_locks_in` would try before `name` in its directory (`*`: the pylock.*.toml
    files, which `search_checks` tests by sorting)."""
    if name in _LOCK_NAMES_BEFORE:
        return _LOCK_NAMES_BEFORE[: _LOCK_NAMES_BEFORE.index(name)]
    if name in _LOCK_NAMES_AFTER:
        return (*_LOCK_NAMES_BEFORE, "*", *_LOCK_NAMES_AFTER[: _LOCK_NAMES_AFTER.index(name)])
    return (*_LOCK_NAMES_BEFORE, "*")


def sibling_locks(path: str) -> list:
    """The other locks in `path`'s directory, in search order (for a lock lacking an extra or group)."""
    path = os.path.abspath(path)
    return [candidate for candidate in _locks_in(os.path.dirname(path)) if candidate != path]


def _locks_in(directory: str) -> list:
    """Every lock in one directory, in search order."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    present = set(names)
    ordered = [name for name in _LOCK_NAMES_BEFORE if name in present]
    ordered += sorted(name for name in names if name.startswith("pylock.") and name.endswith(".toml") and name != "pylock.toml")
    ordered += [name for name in _LOCK_NAMES_AFTER if name in present]
    return [os.path.join(directory, name) for name in ordered if os.path.isfile(os.path.join(directory, name))]


def lock_format(path) -> str:
    """The reader for a file name: `pylock`, `uv`, `poetry`, or `requirements` for anything else."""
    name = os.path.basename(os.fspath(path))
    if name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml")):
        return "pylock"
    if name.endswith(".py.lock"):  # `monotrail lock --script tool.py` writes tool.py.lock, pylock format
        return "pylock"
    if name == "uv.lock":
        return "uv"
    if name == "poetry.lock":
        return "poetry"
    return "requirements"


def read_lock(path, root=None):
    """Parse and validate a lockfile of any supported format into a `monotrail.lock.model.Lock`.

    `root`: the store whose `cache/parsed/` may keep the parsed form of a big lock by its
    content (uv.lock: `monotrail.lock.uv`), for the cold path of `run`; None parses every time."""
    from pathlib import Path

    path = Path(path).absolute()
    if not path.is_file():
        raise LockError("lockfile does not exist", where=str(path))
    fmt = lock_format(path)
    if fmt == "pylock":
        from monotrail.lock import pylock

        return pylock.read(path)
    if fmt == "uv":
        from monotrail.lock import uv

        return uv.read(path, None if root is None else str(root))
    if fmt == "poetry":
        from monotrail.lock import poetry

        return poetry.read(path)
    from monotrail.lock import requirements

    return requirements.read(path)
