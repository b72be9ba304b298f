"""Selections already made, kept by the lock's content: a lock is read and selected once.

A second project with the same lock (another checkout, a worktree, a copy), or a run whose
environment was removed (`store gc`, a changed `.python-version` and back), needs the same
packages as the first: the cold path then skips reading the lock (tomli on a 1-3 MB uv.lock,
`packaging.pylock`'s validation of a pylock.toml, `packaging.requirements` on every line of a
requirements.txt) and the selection, and goes straight to the store.

    <root>/cache/selections/<lock key>/lock.json       what the cold path needs of the lock before
                                                       it has an interpreter (requires-python) and
                                                       for the store (index URLs)
    <root>/cache/selections/<lock key>/<choice>.json   the selected packages for one request
                                                       (extras, groups) and one interpreter

The lock key hashes the lock's bytes, what the readers read of the pyproject.toml beside it
(poetry's extras and groups and every format's "is the project a package" live there:
`monotrail.lock.pyproject_view`; a comment, the description or another tool's table are not
read, so editing them keeps the key), the reader the file name picks, and this monotrail's
version: a changed byte of the lock, or of what is read of the pyproject, is another key, never
a stale answer. `choice` hashes the request and the interpreter's facts selection reads (its
marker environment, wheel tags and version), not its path, so a pyenv upgrade of the same
3.12.x or a second interpreter with the same facts shares it.

Only what those bytes alone decide is kept. A lock whose reading looks at other files (a
requirements file's `-r`/`-c` includes, find-links directories, the project itself installed
editable, a poetry project whose "is it a package" depends on which directories exist) is not
written here, nor is a selection with local paths (path, editable or directory sources, local
files): those are read and selected on every cold run, as before. Writes are atomic; a torn or
foreign file is a miss.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from monotrail import __version__
from monotrail.environment.spec import EnvironmentSpec
from monotrail import sha256_hex
from monotrail.interpreters.discovery import Interpreter
from monotrail.lock.model import Artifact, Lock
from monotrail.selection import Selected

__all__ = ["LockFacts", "cached_facts", "cached_selection", "facts_of", "keepable", "remember"]

FORMAT = 1
# requirements-file options that read another file: the result is not the lock's bytes alone
_INCLUDES = re.compile(rb"^\s*(-r|-c|--requirement|--constraint)(\s|=|$)", re.MULTILINE)


class LockFacts:
    """What the cold path needs of a lock besides its selection. (A plain class: making a
    dataclass costs ~0.8 ms here, on the path of every new environment.)"""

    __slots__ = ("path", "key", "requires_python", "index_urls", "find_links")

    def __init__(self, path: Path, key: str, requires_python: str | None, index_urls: tuple[str, ...],
                 find_links: tuple[str, ...]) -> None:
        self.path = path
        self.key = key  # the lock key ("" when the lock cannot be kept)
        self.requires_python = requires_python
        self.index_urls = index_urls
        self.find_links = find_links


def lock_key(root: Path, lock_path: Path) -> str:
    """The lock's digest as the environment key has it (`file_digest`: remembered in this
    process, so the lock is hashed once per run, with the builtin sha256: no OpenSSL import), and
    what the readers read of the pyproject beside it (`monotrail.environment.clone.pyproject_key`:
    a comment or `[tool.ruff]` edited, or a copy of the project, still finds the selection)."""
    from monotrail.environment import file_digest
    from monotrail.environment.clone import pyproject_key
    from monotrail.lock import lock_format

    parts = [str(FORMAT), __version__, lock_format(lock_path), file_digest(str(lock_path)),
             pyproject_key(str(root), str(lock_path.parent))]
    return sha256_hex("\0".join(parts).encode("utf-8", "surrogateescape"))[:32]


def cached_facts(root: Path, lock_path: Path) -> LockFacts | None:
    key = lock_key(root, lock_path)
    data = _read(root / "cache" / "selections" / key / "lock.json")
    if data is None:
        return None
    try:
        return LockFacts(lock_path, key, data["requires_python"], tuple(data["index_urls"]), ())
    except (KeyError, TypeError):
        return None


def facts_of(root: Path, lock: Lock, lock_path: Path) -> LockFacts:
    """The facts of a lock just read; its key is "" when its reading depended on more than the
    bytes the key hashes (see the module's docstring), so nothing of it is kept."""
    keep = lock.path == lock_path.absolute() and _bytes_decide(lock)
    return LockFacts(lock.path, lock_key(root, lock_path) if keep else "", lock.requires_python, tuple(lock.index_urls),
                     tuple(lock.find_links))


def cached_selection(root: Path, facts: LockFacts, spec: EnvironmentSpec, interpreter: Interpreter) -> tuple[Selected, ...] | None:
    if not facts.key:
        return None
    data = _read(_choice_path(root, facts.key, spec, interpreter))
    if data is None:
        return None
    try:
        return tuple(_selected(item, interpreter) for item in data["selected"])
    except (KeyError, TypeError, ValueError):
        return None


def keepable(facts: LockFacts, selected: Sequence[Selected]) -> bool:
    """Whether the lock's bytes alone decided this selection (see the module's docstring)."""
    return bool(facts.key) and not any(_local(item) for item in selected)


def remember(root: Path, facts: LockFacts, spec: EnvironmentSpec, interpreter: Interpreter,
             selected: Sequence[Selected]) -> None:
    """Keep the lock's facts and this selection, when the lock's bytes alone decided them."""
    if not keepable(facts, selected):
        return
    directory = root / "cache" / "selections" / facts.key
    lock_data = {"format": FORMAT, "requires_python": facts.requires_python, "index_urls": list(facts.index_urls)}
    choice = {"format": FORMAT, "selected": [_item(item, interpreter) for item in selected]}
    _write(root, directory / "lock.json", lock_data)
    _write(root, _choice_path(root, facts.key, spec, interpreter), choice)


# --- what the key may stand for ------------------------------------------------------------------


def _bytes_decide(lock: Lock) -> bool:
    """Did reading `lock` look only at its bytes and its pyproject's?"""
    if lock.project is not None or lock.find_links:
        return False
    if lock.format == "requirements" and _includes(lock.path):
        return False
    if lock.format in ("poetry", "pylock", "requirements"):
        return not _asks_poetry_for_code(lock.format, lock.path.parent)
    return True


def _includes(path: Path) -> bool:
    try:
        return _INCLUDES.search(path.read_bytes()) is not None
    except OSError:
        return True


def _asks_poetry_for_code(lock_format: str, directory: Path) -> bool:
    """Whether "is the project a package" looked for its code on disk (`poetry_finds_code` in
    `monotrail.lock.project`), which a key of bytes cannot see: the poetry reader asks for every
    project not in `package-mode = false`, the pylock and requirements readers for a project
    with poetry's build backend that `[tool.uv] package` does not decide."""
    from monotrail.lock.tomlfile import read_pyproject

    pyproject = read_pyproject(directory)
    if pyproject is None:
        return False
    tool = _table(pyproject, "tool")
    if _table(tool, "poetry").get("package-mode") is False:
        return False
    if lock_format == "poetry":
        return True
    backend = _table(pyproject, "build-system").get("build-backend")
    return isinstance(backend, str) and backend.startswith("poetry.") and not isinstance(_table(tool, "uv").get("package"), bool)


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _local(item: Selected) -> bool:
    """A selection naming something on this disk: valid only where the lock is."""
    if item.directory is not None or item.editable is not None or item.build is not None:
        return True
    artifact = item.artifact
    return artifact is not None and (artifact.path is not None or (artifact.url or "").startswith("file:"))


# --- files ---------------------------------------------------------------------------------------


def _choice_path(root: Path, key: str, spec: EnvironmentSpec, interpreter: Interpreter) -> Path:
    request = [sorted(spec.extras), spec.all_extras, sorted(spec.groups), spec.no_default_groups]
    facts = [sorted(interpreter.markers.items()), list(interpreter.tags), list(interpreter.version)]
    digest = sha256_hex(json.dumps([request, facts], separators=(",", ":")).encode())[:32]
    return root / "cache" / "selections" / key / f"{digest}.json"


def _item(item: Selected, interpreter: Interpreter) -> dict[str, Any]:
    artifact = item.artifact
    return {
        "name": item.name, "version": item.version, "index": item.index, "direct_url": item.direct_url,
        # requirements.txt pins carry the interpreter's tags (`Selected.tags`): the choice's key has them
        "tags": bool(item.tags),
        "artifact": None if artifact is None else [artifact.filename, artifact.url, [list(h) for h in artifact.hashes],
                                                   artifact.size],
    }


def _selected(data: dict[str, Any], interpreter: Interpreter) -> Selected:
    artifact = data["artifact"]
    return Selected(
        str(data["name"]), str(data["version"]),
        None if artifact is None else Artifact(artifact[0], artifact[1], tuple((str(a), str(h)) for a, h in artifact[2]),
                                               artifact[3]),
        data["index"], None,
        tags=tuple(interpreter.tags) if data["tags"] else (),
        direct_url=data["direct_url"],
    )


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _write(root: Path, path: Path, data: dict[str, Any]) -> None:
    from monotrail.atomic import write_atomic

    try:
        write_atomic(path, json.dumps(data, separators=(",", ":")), temp_dir=root / "tmp")
    except OSError:
        pass  # a cache: a read-only or full disk must not fail the run
