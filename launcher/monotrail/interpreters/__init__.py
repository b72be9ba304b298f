"""Which Python: this package's own module reads `.python-version`, the file pyenv and uv use to
pin a project's Python; `discovery` finds and probes interpreters (`_probe.py` runs inside each
candidate), `elf` reads the facts a binary states.

Reading `.python-version` is the package's `__init__` because the warm path reads it on every
run to build the environment key, and must not pay for importing the rest of interpreter
discovery (nor pathlib: paths are `str`), nor for a second module.
"""

from __future__ import annotations

import os


def read_python_version_file(start_dir) -> tuple[str, str] | None:
    """The first non-comment line of the nearest `.python-version` in start_dir or its parents.

    Warm path: the launcher builds its cache key from this, so it only touches `os`.
    An empty or comment-only file is skipped, as pyenv skips it.
    """
    directory = os.path.abspath(os.fspath(start_dir))
    while True:
        candidate = os.path.join(directory, ".python-version")
        value = _first_line(candidate)
        if value is not None:
            return value, candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def python_version_checks(start_dir) -> list:
    """What the sh front door (shims/monotrail) tests to know that `read_python_version_file`
    still finds what it found: `!PATH` for each `.python-version` the search passed that does
    not exist, the file's own path (its mtime) for the one found and for any it skipped (empty,
    comment-only, a directory). See `monotrail.lock.search_checks` for the lines."""
    directory = os.path.abspath(os.fspath(start_dir))
    checks = []
    while True:
        candidate = os.path.join(directory, ".python-version")
        if _first_line(candidate) is not None:
            checks.append(candidate)
            return checks
        checks.append(candidate if os.path.exists(candidate) else "!" + candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            return checks
        directory = parent


def python_request(cli: str | None, start_dir, environ=None) -> tuple[str | None, str, str | None]:
    """The Python request that wins, as (text, source, .python-version file or None).

    The one precedence (as uv's: the command line, then the environment, then the pin file):
    `+3.8` / `-p` > MONOTRAIL_PYTHON > the nearest `.python-version` > none (source "default":
    the newest Python fitting the lock's requires-python). The warm path keys environments by it,
    discovery resolves it, and neither can disagree with the other.
    """
    if cli:
        return cli, "command line", None
    environ = os.environ if environ is None else environ
    from_env = environ.get("MONOTRAIL_PYTHON")
    if from_env:
        return from_env, "MONOTRAIL_PYTHON", None
    found = read_python_version_file(start_dir)
    if found is not None:
        return found[0], ".python-version", found[1]
    return None, "default", None


def _first_line(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                line = line.strip()
                if line and not line.startswith("#"):
                    return line
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return None
    return None


def line_number(path: str, value: str) -> int:
    """The 1-based line of `path` whose stripped text is `value` (for error messages); 1 if none."""
    try:
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if line.strip() == value:
                    return number
    except (OSError, UnicodeDecodeError):
        pass
    return 1
