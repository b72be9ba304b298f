"""Finding a lockfile and reading it into the neutral model (`monotrail.lock`).

One reader module per format (`pylock`, `uv`, `poetry`, `requirements`); this module only finds
the file and dispatches on its name. It stays import-light (no `packaging`, no TOML parser at
import time) because `monotrail run` imports it before it knows whether the warm path applies.
The small helpers the readers share (TOML loading with a file:line error, marker validation,
the pyproject beside a lock) live here too, so that no reader imports another.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from monotrail.errors import LockError
from monotrail.lock import Lock

# Per directory, in this order: the standard format first, then tool-specific ones, then the
# least precise one. `pylock.*.toml` is expanded (sorted) in between.
_LOCK_NAMES_BEFORE = ("pylock.toml",)
_LOCK_NAMES_AFTER = ("uv.lock", "poetry.lock", "requirements.txt", "requirements-frozen.txt")


def find_lock(start: Path) -> Path:
    """The first lockfile in `start` or, failing that, in the nearest parent that has one."""
    start = Path(start).absolute()
    if start.is_file():
        start = start.parent
    searched: List[str] = []
    for directory in (start, *start.parents):
        searched.append(str(directory))
        found = _lock_in(directory)
        if found is not None:
            return found
    raise LockError(
        "no lockfile found; looked for pylock.toml, pylock.*.toml, uv.lock, poetry.lock, "
        "requirements.txt, requirements-frozen.txt in: " + ", ".join(searched),
        hint="create one (`uv lock`, `poetry lock`, `uv export --format pylock.toml`) "
        "or pass the lockfile explicitly",
    )


def _lock_in(directory: Path) -> Optional[Path]:
    candidates = [directory / name for name in _LOCK_NAMES_BEFORE]
    try:
        candidates += sorted(directory.glob("pylock.*.toml"))
    except OSError:
        return None
    candidates += [directory / name for name in _LOCK_NAMES_AFTER]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def sibling_locks(path: Path) -> List[Path]:
    """The other locks in `path`'s directory, in search order (for a lock lacking an extra or group)."""
    path = Path(path).absolute()
    candidates = [path.parent / name for name in _LOCK_NAMES_BEFORE]
    candidates += sorted(path.parent.glob("pylock.*.toml"))
    candidates += [path.parent / name for name in _LOCK_NAMES_AFTER]
    return [candidate for candidate in candidates if candidate != path and candidate.is_file()]


def lock_format(path: Path) -> str:
    """The reader for a file name: `pylock`, `uv`, `poetry`, or `requirements` for anything else."""
    name = Path(path).name
    if name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml")):
        return "pylock"
    if name == "uv.lock":
        return "uv"
    if name == "poetry.lock":
        return "poetry"
    return "requirements"


def read_lock(path: Path) -> Lock:
    """Parse and validate a lockfile of any supported format into a `Lock`."""
    path = Path(path).absolute()
    if not path.is_file():
        raise LockError("lockfile does not exist", where=str(path))
    fmt = lock_format(path)
    if fmt == "pylock":
        from monotrail.lockfiles import pylock

        return pylock.read(path)
    if fmt == "uv":
        from monotrail.lockfiles import uv

        return uv.read(path)
    if fmt == "poetry":
        from monotrail.lockfiles import poetry

        return poetry.read(path)
    from monotrail.lockfiles import requirements

    return requirements.read(path)


# --- helpers shared by the readers -------------------------------------------------------------


def load_toml(path: Path) -> Dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a LockError that names the file and line."""
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise LockError(f"cannot read: {e.strerror or e}", where=str(path)) from e
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise LockError("not valid UTF-8", where=str(path)) from e
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


def read_pyproject(directory: Path) -> Optional[Dict[str, Any]]:
    """The pyproject.toml beside a lock, parsed, or None when there is none."""
    path = Path(directory) / "pyproject.toml"
    if not path.is_file():
        return None
    return load_toml(path)


def check_marker(marker: Optional[str], where: str) -> Optional[str]:
    """Validate a PEP 508 marker at the edge; returns it unchanged ('' becomes None)."""
    if marker is None or not marker.strip():
        return None
    from packaging.markers import InvalidMarker, Marker

    try:
        Marker(marker)
    except InvalidMarker as e:
        raise LockError(f"invalid environment marker {marker!r}: {e}", where=where) from e
    return marker


def normalize(name: str) -> str:
    """PEP 503 normalization, without importing packaging."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_hash(text: str, where: str) -> Tuple[str, str]:
    """`sha256:ab12...` -> ("sha256", "ab12...")."""
    algorithm, sep, digest = text.partition(":")
    if not sep or not algorithm or not digest:
        raise LockError(f"invalid hash {text!r}, expected ALGORITHM:HEXDIGEST", where=where)
    return algorithm.lower(), digest.lower()


def basename(url_or_path: str) -> str:
    """The file name at the end of a URL or path (query and fragment dropped)."""
    cut = re.split(r"[?#]", url_or_path, maxsplit=1)[0]
    return cut.rstrip("/").rsplit("/", 1)[-1]
