"""The neutral lock model: what every lockfile format is parsed into.

Readers in `monotrail.lock` validate at the edge and build these frozen objects; nothing
downstream knows which format a lock came from. Names are PEP 503-normalized everywhere.

Two shapes of lock exist and the model keeps both without pretending they are one:
- flat locks (pylock.toml, requirements.txt, poetry.lock 2.1+): every package carries the marker
  under which it is installed; selection keeps each package whose marker holds. `roots` is None.
- graph locks (uv.lock, poetry.lock 1.x and 2.0): packages carry their dependency edges; selection walks
  from `roots` (plus the chosen extras and groups), evaluating each edge's marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Callable, overload
from collections.abc import Iterator, Mapping

from monotrail.records import Record


# Records (`monotrail.records`), not frozen dataclasses: nothing uses the dataclass functions on them,
# and making each dataclass cost ~0.7 ms of every new environment's run.
_set = object.__setattr__  # how a record's __init__ sets its fields


class Artifact(Record):
    """One distribution file (a wheel or an sdist).

    `url` is None when the lock only names the file (poetry.lock 1.1): the index is asked for
    the file of that name. `path` is set for local files (find-links directories, path sources).
    """

    __slots__ = ("filename", "url", "hashes", "size", "path")
    filename: str
    url: str | None
    hashes: tuple[tuple[str, str], ...]  # (algorithm, hexdigest) pairs, e.g. ("sha256", "ab12...")
    size: int | None
    path: str | None

    def __init__(self, filename: str, url: str | None = None, hashes: tuple[tuple[str, str], ...] = (),
                 size: int | None = None, path: str | None = None) -> None:
        _set(self, "filename", filename)
        _set(self, "url", url)
        _set(self, "hashes", hashes)
        _set(self, "size", size)
        _set(self, "path", path)

    @property
    def sha256(self) -> str | None:
        for algorithm, digest in self.hashes:
            if algorithm == "sha256":
                return digest
        return None


class LazyArtifacts(Sequence):
    """A tuple of Artifacts built on first use; compares equal to the same tuple.

    For readers of big universal locks: the data-science uv.lock lists 1716 wheels for every
    platform, and building their Artifacts took 4-8 ms of a cold run whose selection looks at
    the wheels of 17 packages only. The reader validates the entries before it hands out the
    builder, so building later raises nothing.

    `filenames` and `one`, when the reader gives them, answer the file names and one Artifact
    without building the others: selection ranks a package's wheels by their names and keeps
    one (the 17 packages selected there list ~600 wheels, built for nothing before).
    """

    __slots__ = ("_build", "_items", "_filenames", "_one")

    def __init__(self, build: Callable[[], tuple[Artifact, ...]], filenames: Callable[[], tuple[str, ...]] | None = None,
                 one: Callable[[int], Artifact] | None = None) -> None:
        self._build: Callable[[], tuple[Artifact, ...]] | None = build
        self._items: tuple[Artifact, ...] = ()
        self._filenames = filenames
        self._one = one

    def filenames(self) -> tuple[str, ...]:
        """`tuple(a.filename for a in self)`, without building the Artifacts when the reader can."""
        if self._build is not None and self._filenames is not None:
            return self._filenames()
        return tuple(artifact.filename for artifact in self._tuple())

    def one(self, index: int) -> Artifact:
        """`self[index]` (an equal Artifact), without building the others when the reader can."""
        if self._build is not None and self._one is not None:
            return self._one(index)
        return self._tuple()[index]

    def _tuple(self) -> tuple[Artifact, ...]:
        if self._build is not None:
            self._items, self._build = tuple(self._build()), None
        return self._items

    @overload
    def __getitem__(self, index: int) -> Artifact: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Artifact, ...]: ...
    def __getitem__(self, index: int | slice) -> Artifact | tuple[Artifact, ...]:
        return self._tuple()[index]

    def __len__(self) -> int:  # `not package.wheels` counts the names, builds nothing
        return len(self.filenames())

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self._tuple())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyArtifacts):
            other = other._tuple()
        return self._tuple() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._tuple())

    def __repr__(self) -> str:
        return repr(self._tuple())


class Dependency(Record):
    """An edge of a graph lock: `name[extras] ; marker`, optionally pinned to a locked version.

    `version` disambiguates when a universal lock holds several versions of one package (uv forks);
    `specifier` (poetry 1.1) narrows the candidates when several versions exist. It is PEP 440; a
    poetry union (`>=1,<1.5 || >1.5`) is kept as PEP 440 alternatives joined by " || ".
    """

    __slots__ = ("name", "marker", "extras", "version", "specifier")
    name: str
    marker: str | None
    extras: tuple[str, ...]
    version: str | None
    specifier: str | None

    def __init__(self, name: str, marker: str | None = None, extras: tuple[str, ...] = (), version: str | None = None,
                 specifier: str | None = None) -> None:
        _set(self, "name", name)
        _set(self, "marker", marker)
        _set(self, "extras", extras)
        _set(self, "version", version)
        _set(self, "specifier", specifier)


class LockedPackage(Record):
    """One package a lock pins: where its files come from (wheels, sdist, a directory, a VCS
    commit, or only hashes for the index to match) and, in graph locks, its edges."""

    __slots__ = ("name", "version", "marker", "requires_python", "wheels", "sdist", "index", "directory", "editable",
                 "dependencies", "optional_dependencies", "hashes", "vcs", "build")
    name: str
    version: str
    marker: str | None  # flat locks: install only where this holds (may use extras/dependency_groups)
    requires_python: str | None
    wheels: tuple[Artifact, ...]  # or a LazyArtifacts, which behaves as that tuple
    sdist: Artifact | None
    index: str | None  # the index the files come from (simple API base URL)
    directory: str | None  # a path source: a local project directory, made importable as-is
    editable: bool
    dependencies: tuple[Dependency, ...]
    optional_dependencies: Mapping[str, tuple[Dependency, ...]]  # default: a new empty dict
    # Added for requirements.txt and VCS sources (both optional, so older call sites still work):
    # a package with no wheels, sdist, directory or vcs names no file at all (requirements.txt);
    # the store looks it up on the index by name + version and accepts only files with one of
    # these hashes (empty: any file, as pip without --require-hashes).
    hashes: tuple[tuple[str, str], ...]
    vcs: str | None  # a VCS source ("git+https://...@<commit>"): built by the store (monotrail.store.direct)
    build: bool  # a non-editable directory source: built into a wheel, not made importable as-is

    def __init__(self, name: str, version: str, marker: str | None = None, requires_python: str | None = None,
                 wheels: tuple[Artifact, ...] = (), sdist: Artifact | None = None, index: str | None = None,
                 directory: str | None = None, editable: bool = False, dependencies: tuple[Dependency, ...] = (),
                 optional_dependencies: Mapping[str, tuple[Dependency, ...]] | None = None,
                 hashes: tuple[tuple[str, str], ...] = (), vcs: str | None = None, build: bool = False) -> None:
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "marker", marker)
        _set(self, "requires_python", requires_python)
        _set(self, "wheels", wheels)
        _set(self, "sdist", sdist)
        _set(self, "index", index)
        _set(self, "directory", directory)
        _set(self, "editable", editable)
        _set(self, "dependencies", dependencies)
        _set(self, "optional_dependencies", {} if optional_dependencies is None else optional_dependencies)
        _set(self, "hashes", hashes)
        _set(self, "vcs", vcs)
        _set(self, "build", build)


class Lock(Record):
    """A lockfile of any format, read: its packages and what selection needs besides them (roots
    and the extras' and groups' edges for graph locks, requires-python, environments, indexes)."""

    __slots__ = ("path", "format", "packages", "requires_python", "roots", "extras", "groups", "default_groups",
                 "index_urls", "find_links", "environments", "project_dir", "project")
    path: Path
    format: str  # "pylock" | "uv" | "poetry" | "requirements"
    packages: tuple[LockedPackage, ...]
    requires_python: str | None
    roots: tuple[Dependency, ...] | None  # graph locks: the project's own dependencies
    extras: Mapping[str, tuple[Dependency, ...]]  # extra -> deps (flat locks: empty tuples); default: a new empty dict
    groups: Mapping[str, tuple[Dependency, ...]]  # dependency group -> deps; default: a new empty dict
    default_groups: tuple[str, ...]
    index_urls: tuple[str, ...]  # from the lock itself (requirements --index-url, poetry sources)
    find_links: tuple[str, ...]
    environments: tuple[str, ...]  # pylock `environments`: markers of which one must hold
    project_dir: Path | None  # the directory of the project the lock is for (beside the lock)
    # The project itself when it is a package: installed editable through its own build backend
    # (PEP 660), as `uv sync` / `poetry install` install it. None when the lock says it is not
    # one (uv `virtual = "."`, poetry `package-mode = false`), or lists it among `packages`.
    project: LockedPackage | None

    def __init__(self, path: Path, format: str, packages: tuple[LockedPackage, ...], requires_python: str | None = None,
                 roots: tuple[Dependency, ...] | None = None, extras: Mapping[str, tuple[Dependency, ...]] | None = None,
                 groups: Mapping[str, tuple[Dependency, ...]] | None = None, default_groups: tuple[str, ...] = (),
                 index_urls: tuple[str, ...] = (), find_links: tuple[str, ...] = (), environments: tuple[str, ...] = (),
                 project_dir: Path | None = None, project: LockedPackage | None = None) -> None:
        _set(self, "path", path)
        _set(self, "format", format)
        _set(self, "packages", packages)
        _set(self, "requires_python", requires_python)
        _set(self, "roots", roots)
        _set(self, "extras", {} if extras is None else extras)
        _set(self, "groups", {} if groups is None else groups)
        _set(self, "default_groups", default_groups)
        _set(self, "index_urls", index_urls)
        _set(self, "find_links", find_links)
        _set(self, "environments", environments)
        _set(self, "project_dir", project_dir)
        _set(self, "project", project)
