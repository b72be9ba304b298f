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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, overload
from collections.abc import Iterator, Mapping


@dataclass(frozen=True)
class Artifact:
    """One distribution file (a wheel or an sdist).

    `url` is None when the lock only names the file (poetry.lock 1.1): the index is asked for
    the file of that name. `path` is set for local files (find-links directories, path sources).
    """

    filename: str
    url: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (algorithm, hexdigest) pairs, e.g. ("sha256", "ab12...")
    size: int | None = None
    path: str | None = None

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


@dataclass(frozen=True)
class Dependency:
    """An edge of a graph lock: `name[extras] ; marker`, optionally pinned to a locked version.

    `version` disambiguates when a universal lock holds several versions of one package (uv forks);
    `specifier` (poetry 1.1) narrows the candidates when several versions exist. It is PEP 440; a
    poetry union (`>=1,<1.5 || >1.5`) is kept as PEP 440 alternatives joined by " || ".
    """

    name: str
    marker: str | None = None
    extras: tuple[str, ...] = ()
    version: str | None = None
    specifier: str | None = None


@dataclass(frozen=True)
class LockedPackage:
    """One package a lock pins: where its files come from (wheels, sdist, a directory, a VCS
    commit, or only hashes for the index to match) and, in graph locks, its edges."""

    name: str
    version: str
    marker: str | None = None  # flat locks: install only where this holds (may use extras/dependency_groups)
    requires_python: str | None = None
    wheels: tuple[Artifact, ...] = ()  # or a LazyArtifacts, which behaves as that tuple
    sdist: Artifact | None = None
    index: str | None = None  # the index the files come from (simple API base URL)
    directory: str | None = None  # a path source: a local project directory, made importable as-is
    editable: bool = False
    dependencies: tuple[Dependency, ...] = ()
    optional_dependencies: Mapping[str, tuple[Dependency, ...]] = field(default_factory=dict)
    # Added for requirements.txt and VCS sources (both optional, so older call sites still work):
    # a package with no wheels, sdist, directory or vcs names no file at all (requirements.txt);
    # the store looks it up on the index by name + version and accepts only files with one of
    # these hashes (empty: any file, as pip without --require-hashes).
    hashes: tuple[tuple[str, str], ...] = ()
    vcs: str | None = None  # a VCS source ("git+https://...@<commit>"): built by the store (monotrail.store.direct)
    build: bool = False  # a non-editable directory source: built into a wheel, not made importable as-is


@dataclass(frozen=True)
class Lock:
    """A lockfile of any format, read: its packages and what selection needs besides them (roots
    and the extras' and groups' edges for graph locks, requires-python, environments, indexes)."""

    path: Path
    format: str  # "pylock" | "uv" | "poetry" | "requirements"
    packages: tuple[LockedPackage, ...]
    requires_python: str | None = None
    roots: tuple[Dependency, ...] | None = None  # graph locks: the project's own dependencies
    extras: Mapping[str, tuple[Dependency, ...]] = field(default_factory=dict)  # extra -> deps (flat locks: empty tuples)
    groups: Mapping[str, tuple[Dependency, ...]] = field(default_factory=dict)  # dependency group -> deps
    default_groups: tuple[str, ...] = ()
    index_urls: tuple[str, ...] = ()  # from the lock itself (requirements --index-url, poetry sources)
    find_links: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()  # pylock `environments`: markers of which one must hold
    project_dir: Path | None = None  # the directory of the project the lock is for (beside the lock)
    # The project itself when it is a package: installed editable through its own build backend
    # (PEP 660), as `uv sync` / `poetry install` install it. None when the lock says it is not
    # one (uv `virtual = "."`, poetry `package-mode = false`), or lists it among `packages`.
    project: LockedPackage | None = None
