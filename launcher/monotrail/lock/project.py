"""The project beside a lock that does not say whether the project is a package.

uv.lock and poetry.lock say it (uv: the root's source is `editable = "."` or `virtual = "."`;
poetry: `package-mode`), and their readers decide. A pylock.toml or requirements.txt that does not
list the project itself (`directory = { path = "." }`, `-e .`) leaves it to the pyproject.toml, read
by uv's rule for `tool.uv.package`: `[tool.uv] package` when set, else a package exactly when a
`[build-system]` table is declared; poetry's `package-mode = false` also says "not a package".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Mapping

from monotrail.lock.model import LockedPackage
from monotrail.names import normalize


def editable_project(directory: Path, pyproject: Mapping[str, Any] | None) -> LockedPackage | None:
    """The project at `directory` as an editable package, or None when it is not a package."""
    if pyproject is None or not is_package(directory, pyproject):
        return None
    return LockedPackage(name=project_name(directory, pyproject), version=project_version(pyproject),
                         directory=str(directory), editable=True)


def is_package(directory: Path, pyproject: Mapping[str, Any]) -> bool:
    package = _table(pyproject, "tool", "uv").get("package")
    if isinstance(package, bool):
        return package
    if _table(pyproject, "tool", "poetry").get("package-mode") is False:
        return False
    backend = _table(pyproject, "build-system").get("build-backend")
    if isinstance(backend, str) and backend.startswith("poetry."):
        return poetry_finds_code(directory, pyproject)
    return isinstance(pyproject.get("build-system"), dict)


def poetry_finds_code(directory: Path, pyproject: Mapping[str, Any]) -> bool:
    """poetry-core's rule for a project that lists no `packages`: a package or module named after
    the project, in the directory or in `src/`. Without one, `poetry install` installs the
    dependencies and then fails on the project ("No file/folder found for package"): the
    environment it leaves holds the dependencies only, and so does monotrail's."""
    if _table(pyproject, "tool", "poetry").get("packages"):
        return True
    module = project_name(directory, pyproject).replace("-", "_")
    return any((base / module).is_dir() or (base / f"{module}.py").is_file() for base in (directory, directory / "src"))


def project_name(directory: Path, pyproject: Mapping[str, Any]) -> str:
    """`[project] name`, poetry's name, else the directory's (a setup.py project: the editable
    wheel's own name is what the store uses once it is built)."""
    name = _table(pyproject, "project").get("name") or _table(pyproject, "tool", "poetry").get("name")
    return normalize(name if isinstance(name, str) else directory.name)


def project_version(pyproject: Mapping[str, Any]) -> str:
    version = _table(pyproject, "project").get("version") or _table(pyproject, "tool", "poetry").get("version")
    return str(version) if version else ""


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key)
        data = value if isinstance(value, dict) else {}
    return data
