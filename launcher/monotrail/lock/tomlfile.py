"""Reading the TOML files of locks and projects, with errors that name the file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from monotrail.errors import LockError


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a LockError that names the file and line."""
    return parse_toml(read_toml_text(path), path)


def read_toml_text(path: Path) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise LockError(f"cannot read: {e.strerror or e}", where=str(path)) from e
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LockError("not valid UTF-8", where=str(path)) from e


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """`text` (read from `path`) parsed; a syntax error names the file and line."""
    # tomli first, on every Python: its wheels are compiled with mypyc, and it parses the
    # data-science uv.lock (590 kB) in 19 ms where the stdlib's pure-Python tomllib takes 71 ms.
    try:
        import tomli as tomllib
    except ImportError:
        import tomllib  # type: ignore[no-redef, import-not-found, unused-ignore]
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _toml_error(path, e) from e

def _toml_error(path: Path, error: Exception) -> LockError:
    # tomllib puts the position only into the message ("... (at line 3, column 7)") before 3.14.
    message = str(error)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    where = str(path)
    if match:
        where = f"{path}:{match.group(1)}:{match.group(2)}"
        message = message[: match.start()].rstrip()
    return LockError(f"invalid TOML: {message}", where=where, hint="the file is corrupt; fix or regenerate it")

def read_pyproject(directory: Path) -> dict[str, Any] | None:
    """The pyproject.toml beside a lock, parsed, or None when there is none."""
    path = Path(directory) / "pyproject.toml"
    if not path.is_file():
        return None
    return load_toml(path)
