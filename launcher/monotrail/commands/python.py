"""`monotrail python list|find|pin|install|uninstall`: which Pythons discovery sees, which one a
request gets, pinning one for a directory, and the Pythons monotrail downloads itself
(`monotrail.store.pythons`).

One function per subcommand, each taking the parsed options and returning an exit code (pipx's
`commands/`); the argument parser lives in `cli.py`. Everything here is the cold path: it may
probe interpreters (through the cache) and read the lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from monotrail.errors import InterpreterNotFound, LockError, MonotrailError, SelectionError
from monotrail.interpreters.discovery import MANAGED_SOURCE, Found, PythonRequest, find_interpreter, list_interpreters
from monotrail import store_root


def list_command(*, show_all: bool, as_json: bool, managed: bool = False) -> int:
    """Every interpreter discovery sees (with `--all`, also the unusable ones and why), the one the
    current directory's project would run marked with `*`; those monotrail downloaded have the
    source `monotrail` (`--managed`: only those)."""
    root = Path(store_root())
    found = list_interpreters(root)
    picked = _project_pick(root)
    rows = [_row(entry, picked) for entry in found if show_all or entry.interpreter is not None]
    if managed:
        rows = [row for row in rows if row["managed"]]
    if as_json:
        sys.stdout.write(json.dumps({"version": 1, "interpreters": rows}, indent=2) + "\n")
        return 0
    for row in rows:
        mark = "*" if row["selected"] else " "
        version = row["version"] or "-"
        problem = f"  ({row['problem']})" if row["problem"] else ""
        sys.stdout.write(f"{mark} {version:<12} {row['implementation'] or '-':<8} {row['source']:<9} {row['path']}{problem}\n")
    if not rows:
        if managed:
            sys.stderr.write("no Python installed by monotrail; install one, e.g. `monotrail python install 3.13`\n")
            return 0
        sys.stderr.write("no Python found; install one, e.g. `monotrail python install 3.13` or `pyenv install 3.12`\n")
        return 1
    return 0


def _row(entry: Found, picked: str | None) -> dict[str, Any]:
    interpreter = entry.interpreter
    version = ""
    if interpreter is not None:
        version = interpreter.full_version + ("t" if interpreter.free_threaded else "")
    return {
        "version": version,
        "implementation": interpreter.implementation if interpreter else None,
        "path": entry.path,
        "source": entry.source,
        "selected": interpreter is not None and interpreter.path == picked,
        "problem": entry.problem,
        "managed": entry.source == MANAGED_SOURCE,
    }


def _project_pick(root: Path) -> str | None:
    """The interpreter `monotrail run` would use here; None when that is an error."""
    try:
        requires_python, _ = _requires_python(Path.cwd())
        return find_interpreter(None, requires_python=requires_python, start_dir=Path.cwd(), root=root).path
    except MonotrailError:
        return None


def find_command(*, request: str | None) -> int:
    """Print the interpreter a request gets (no request: what the current directory would run,
    by MONOTRAIL_PYTHON, `.python-version`, the lock's requires-python). Exit 1 when none."""
    root = Path(store_root())
    cwd = Path.cwd()
    requires_python = None if request else _requires_python(cwd)[0]
    try:
        interpreter = find_interpreter(request, requires_python=requires_python, start_dir=cwd, root=root)
    except InterpreterNotFound as error:
        from monotrail.cli import report

        report(error)
        return 1
    sys.stdout.write(interpreter.path + "\n")
    return 0


def pin_command(*, request: str) -> int:
    """Write `.python-version` in the current directory, once the request resolves to an installed
    Python that the lock's requires-python (if a lock is found) accepts."""
    PythonRequest.parse(request)  # a malformed request is a usage error before any probing
    cwd = Path.cwd()
    requires_python, lock = _requires_python(cwd)
    try:
        interpreter = find_interpreter(request, requires_python=requires_python, start_dir=cwd, root=Path(store_root()))
    except SelectionError as error:
        raise SelectionError(
            f"not pinning {request.strip()!r}: {error.message}",
            where=lock,
            hint=f"pin a version inside {requires_python} (see `monotrail python list`)",
        ) from None
    target = cwd / ".python-version"
    try:
        target.write_text(request.strip() + "\n", encoding="utf-8")
    except OSError as error:
        raise MonotrailError(f"cannot write {target}: {error.strerror or error}",
                             hint="check the directory's permissions") from None
    sys.stderr.write(f"pinned {request.strip()} in {target}: {interpreter.describe()}\n")
    return 0


def _requires_python(start: Path) -> tuple[str | None, str | None]:
    """The requires-python of the lock found from `start` upwards, and the lock's path; (None, None)
    outside a project. A lock that does not parse is reported where it is used (`monotrail run`)."""
    from monotrail.lock import find_lock, read_lock

    try:
        path = find_lock(str(start))
    except LockError:
        return None, None
    try:
        return read_lock(path).requires_python, path
    except MonotrailError:
        return None, path


def install_command(*, requests: list[str], reinstall: bool = False) -> int:
    """Download and install each request's newest python-build-standalone build (PyPy's own for
    `pypy3.X`); no request: what the project asks for (`.python-version`, else requires-python).
    A build already installed is said so and kept (`--reinstall` replaces it), as uv does."""
    from monotrail.store import pythons

    wanted = [pythons.Wanted.parse(text) for text in requests] if requests else pythons.project_requests(Path.cwd())
    downloads = [pythons.best_download(item) for item in wanted]  # every request checked before any download
    for download in dict.fromkeys(downloads):
        if reinstall:
            for item in pythons.installed():
                if item.path.name == download.dir_name(pythons.this_platform()):
                    pythons.uninstall(item)
        item, new = pythons.install(download)
        if not new:
            sys.stderr.write(f"{download.label} is already installed: {item.executable}\n")
    return 0


def uninstall_command(*, requests: list[str]) -> int:
    """Remove the monotrail-installed Pythons each request matches (`3.13`: every 3.13.x)."""
    from monotrail.errors import InterpreterNotFound
    from monotrail.interpreters.discovery import managed_pythons_dir
    from monotrail.store import pythons

    wanted = [pythons.Wanted.parse(text) for text in requests]
    present = pythons.installed()
    for item in wanted:
        matching = [entry for entry in present if pythons.installed_accepts(item, entry)]
        if not matching:
            import os

            raise InterpreterNotFound(
                f"no Python {item.text} installed by monotrail (in {managed_pythons_dir(os.environ)})",
                hint="`monotrail python list --managed` shows them; other Pythons are uninstalled with what installed them")
        for entry in matching:
            pythons.uninstall(entry)
            sys.stderr.write(f"uninstalled {entry.label}: {entry.path}\n")
    return 0
