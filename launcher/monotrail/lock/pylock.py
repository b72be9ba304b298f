"""PEP 751 `pylock.toml` (and `pylock.<name>.toml`): a flat lock.

Validation is `packaging.pylock`'s (packaging >= 25), so the key paths in its errors
(`packages[3].wheels[0].hashes`) reach the user unchanged. Every package keeps its marker, which
may test `'x' in extras` and `'dev' in dependency_groups` (PEP 751 lock-file markers); the
lock-level `extras`, `dependency-groups` and `default-groups` become `Lock.extras`/`groups`/
`default_groups` with empty dependency tuples, because a flat lock carries no edges. Relative
`path`s are resolved against the lock's directory here, so nothing downstream needs to know where
the lock was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Mapping

from monotrail.errors import LockError
from monotrail.lock.model import Artifact, Lock, LockedPackage
from monotrail.lock.tomlfile import load_toml
from monotrail.lock.values import basename


def read(path: Path) -> Lock:
    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    data = load_toml(path)
    version = data.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        # Checked first: packaging validates the other keys before the version, and a file of an
        # unknown version must say so rather than report a key the new version may have dropped.
        raise LockError(
            f"unsupported lock-version {version!r}",
            where=f"{path}: lock-version",
            hint="monotrail reads pylock.toml lock-version 1.x",
        )
    try:
        pylock = Pylock.from_dict(data)
    except PylockUnsupportedVersionError as e:
        raise LockError(
            f"unsupported lock-version {data.get('lock-version')!r}: {e.message}",
            where=f"{path}: lock-version",
            hint="monotrail reads pylock.toml lock-version 1.x",
        ) from e
    except PylockValidationError as e:
        where = f"{path}: {e.context}" if e.context else str(path)
        raise LockError(f"invalid pylock.toml: {e.message}", where=where) from e
    base = _base(path, data)
    packages = tuple(_package(package, base, f"{path}: packages[{i}]") for i, package in enumerate(pylock.packages))
    return Lock(
        path=path,
        format="pylock",
        packages=packages,
        requires_python=str(pylock.requires_python) if pylock.requires_python is not None else None,
        extras={extra: () for extra in pylock.extras or ()},
        groups={group: () for group in pylock.dependency_groups or ()},
        default_groups=tuple(pylock.default_groups or ()),
        environments=tuple(str(marker) for marker in pylock.environments or ()),
        project_dir=base if (base / "pyproject.toml").is_file() else None,
        project=_project(path, base, packages),
    )


def _base(path: Path, data: Mapping[str, Any]) -> Path:
    """The directory the lock is for: its own, or the `[tool.monotrail] project` of a lock that
    monotrail keeps in its store for a project it cannot write (`monotrail.commands.lock`), whose
    relative paths are then relative to that project as they would be beside it."""
    tool = data.get("tool")
    ours = tool.get("monotrail") if isinstance(tool, dict) else None
    project = ours.get("project") if isinstance(ours, dict) else None
    return Path(project) if isinstance(project, str) and Path(project).is_absolute() else path.parent


def _project(path: Path, base: Path, packages: tuple[LockedPackage, ...]) -> LockedPackage | None:
    """The project beside a `pylock.toml` (at `base`) that does not list it (monotrail's own locks,
    `uv export --no-emit-project`), when its pyproject makes it a package. A script's lock
    (`tool.py.lock`) is the script's alone."""
    from monotrail.lock.project import editable_project
    from monotrail.lock.tomlfile import read_pyproject

    base = base.resolve()
    if path.name.endswith(".py.lock") or any(p.directory and Path(p.directory) == base for p in packages):
        return None
    return editable_project(base, read_pyproject(base))


def _package(package: Any, base: Path, where: str) -> LockedPackage:
    """One `[[packages]]` entry; exactly one kind of source is set (PEP 751 guarantees it)."""
    if package.version is None and package.directory is None and package.vcs is None:
        raise LockError("a package from an index or archive must have a version", where=where)
    wheels = tuple(_file(wheel, base) for wheel in package.wheels or ())
    sdist = _file(package.sdist, base) if package.sdist is not None else None
    directory: str | None = None
    editable = False
    vcs: str | None = None
    if package.archive is not None:
        archive = _archive(package.archive, base)
        if archive.filename.endswith(".whl"):
            wheels = (archive,)
        else:
            sdist = archive
    if package.directory is not None:
        target = _local(base, package.directory.path)
        if package.directory.subdirectory:
            target = str(Path(target) / package.directory.subdirectory)
        # The lock's own project is installed editable even when exported as `editable = false`:
        # a wheel built once would go stale under a warm run, which never looks at the sources.
        directory = target
        editable = bool(package.directory.editable) or Path(target) == base.resolve()
    if package.vcs is not None:
        location = package.vcs.url or Path(_local(base, package.vcs.path)).as_uri()
        vcs = f"{package.vcs.type}+{location}@{package.vcs.commit_id}"
        if package.vcs.subdirectory:
            vcs += f"#subdirectory={package.vcs.subdirectory}"
    return LockedPackage(
        name=str(package.name),
        version=str(package.version) if package.version is not None else "",  # directory/vcs: unversioned
        marker=str(package.marker) if package.marker is not None else None,
        requires_python=str(package.requires_python) if package.requires_python is not None else None,
        wheels=wheels,
        sdist=sdist,
        index=package.index,
        directory=directory,
        editable=editable,
        vcs=vcs,
        # A non-editable source tree is built into a wheel (PEP 751: installers build it).
        build=directory is not None and not editable,
    )


def _hashes(hashes: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((algorithm.lower(), digest.lower()) for algorithm, digest in hashes.items())


def _local(base: Path, path: str) -> str:
    return str((base / path).resolve()) if not Path(path).is_absolute() else path


def _file(entry: Any, base: Path) -> Artifact:
    """A `[[packages.wheels]]` or `[packages.sdist]` entry (the same shape in PEP 751)."""
    return Artifact(
        filename=entry.filename,
        url=entry.url,
        hashes=_hashes(entry.hashes),
        size=entry.size,
        path=_local(base, entry.path) if entry.path else None,
    )


def _archive(archive: Any, base: Path) -> Artifact:
    return Artifact(
        filename=basename(archive.url or archive.path or ""),
        url=archive.url,
        hashes=_hashes(archive.hashes),
        size=archive.size,
        path=_local(base, archive.path) if archive.path else None,
    )
