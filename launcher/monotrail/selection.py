"""Selection: which locked packages, and which file of each, serve one target interpreter.

A pure function of the lock, the *target* interpreter's facts (its marker environment and its
wheel tags, never the running Python's) and the requested extras and groups. Flat locks keep each
package whose marker holds; graph locks are walked from their roots along the edges whose markers
hold. Then each package gets the best wheel by the order of `interpreter.tags`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from collections.abc import Iterable, Mapping, Sequence

from monotrail.errors import SelectionError
from monotrail.interpreters.discovery import Interpreter
from monotrail.lock.model import Artifact, Dependency, LazyArtifacts, Lock, LockedPackage
from monotrail.records import Record

if TYPE_CHECKING:
    from packaging.version import Version

    from monotrail import markers


class Selected(Record):
    """One package to install for the target, and where its files come from.

    - `editable` set (artifact None): a local project installed editable (PEP 660) through its own
      build backend (`monotrail.builds.editable`), which turns it into a wheel selection before the store.
    - `directory` set (artifact None): a local project made importable as-is; nothing to download.
    - `artifact` with a `url` or `path`: install exactly that wheel, verified by `artifact.hashes`.
    - `artifact` with a `filename` but no location (poetry.lock names files only): ask `index`
      (None: the `Sources` indexes) for the file of that name; verify it with `artifact.hashes`.
    - `artifact.filename == ""` (requirements.txt names no file): the store lists `name` on
      `index`/`Sources`, keeps the wheels of exactly `version` whose sha256 is among
      `artifact.hashes` (the line's `--hash`es; none listed = any file), and takes the best by
      `tags`, the target's supported tags, best first (`select_wheel` ranks the same way).
      `tags` is set only in this case, so the store needs no interpreter.
    """


    # A record (`monotrail.records`), not a frozen dataclass: making one cost ~0.7 ms of every new
    # environment's run; `replace` is the record's.
    __slots__ = ("name", "version", "artifact", "index", "directory", "tags", "build", "editable", "direct_url")
    name: str  # normalized
    version: str
    artifact: Artifact | None  # the wheel chosen for the target's tags (None for a directory source)
    index: str | None  # index to find `artifact` on when the lock has no URL (None: the default)
    directory: str | None  # path source: made importable as-is (sys.path entry)
    tags: tuple[str, ...]  # default ()
    # A source to build (`monotrail.store.direct`): "git+URL@commit" or the file:// URI of a source tree.
    # artifact and directory are None; the store builds the wheel and names the entry by its hash.
    build: str | None
    # A local project to install editable: its directory (the project itself, workspace members
    # and path dependencies marked editable). artifact, directory and build are None.
    editable: str | None
    # PEP 610 direct_url.json (JSON text) the store writes into the entry's dist-info, as pip and
    # uv write it for a direct reference: set by `monotrail.builds.editable` for an editable wheel.
    direct_url: str | None

    def __init__(self, name: str, version: str, artifact: Artifact | None, index: str | None, directory: str | None,
                 tags: tuple[str, ...] = (), build: str | None = None, editable: str | None = None,
                 direct_url: str | None = None) -> None:
        set_field = object.__setattr__
        set_field(self, "name", name)
        set_field(self, "version", version)
        set_field(self, "artifact", artifact)
        set_field(self, "index", index)
        set_field(self, "directory", directory)
        set_field(self, "tags", tags)
        set_field(self, "build", build)
        set_field(self, "editable", editable)
        set_field(self, "direct_url", direct_url)


def select(
    lock: Lock,
    interpreter: Interpreter,
    extras: Sequence[str],
    groups: Sequence[str],
    no_default_groups: bool = False,
) -> tuple[Selected, ...]:
    """The packages of `lock` to install for `interpreter`, sorted by name."""
    from monotrail.names import normalize as canonicalize_name

    chosen_extras = _check_names(lock, "extra", [canonicalize_name(e) for e in extras], lock.extras)
    chosen_groups = _check_names(lock, "dependency group", [canonicalize_name(g) for g in groups], lock.groups)
    if not no_default_groups:
        chosen_groups = tuple(dict.fromkeys(chosen_groups + tuple(lock.default_groups)))
    _check_python(lock, interpreter)
    env = _Environment(lock, interpreter, chosen_extras, chosen_groups)
    _check_environments(lock, env)
    if lock.roots is None:
        packages = _select_flat(lock, env)
    else:
        packages = _select_graph(lock, env, chosen_extras, chosen_groups)
    if lock.project is not None and all(p.name != lock.project.name for p in packages):
        packages.append(lock.project)
    ranks = {tag: i for i, tag in enumerate(interpreter.tags)}
    platforms = _platforms(interpreter.tags)
    return tuple(_selected(lock, package, interpreter, ranks, platforms)
                 for package in sorted(packages, key=lambda p: p.name))


# --- checks --------------------------------------------------------------------------------------


def _check_names(lock: Lock, kind: str, requested: list[str], defined: Mapping[str, object]) -> tuple[str, ...]:
    unknown = [name for name in requested if name not in defined]
    if unknown:
        listed = ", ".join(sorted(defined)) or "none"
        raise SelectionError(
            f"unknown {kind} {', '.join(repr(u) for u in unknown)}; the lock defines: {listed}",
            where=str(lock.path),
            hint=f"pick a defined {kind}, or add it to the project and relock",
        )
    return tuple(dict.fromkeys(requested))


def _version_string(interpreter: Interpreter) -> str:
    return ".".join(str(part) for part in interpreter.version)


def specifier_contains(specifier: str, version: str) -> bool:
    """PEP 440 specifier test; " || " separates alternatives (poetry unions kept by the readers)."""
    return any(_contains(alternative.strip(), version) for alternative in specifier.split("||"))


def _contains(specifier: str, version: str) -> bool:
    from monotrail import markers

    fast = markers.contains(specifier, version)
    if fast is not None:
        return fast
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(specifier).contains(version, prereleases=True)


def _check_python(lock: Lock, interpreter: Interpreter) -> None:
    if not lock.requires_python:
        return
    version = _version_string(interpreter)
    try:
        ok = specifier_contains(lock.requires_python, version)
    except ValueError as e:  # packaging's InvalidSpecifier, without importing it to catch it
        raise SelectionError(f"invalid requires-python {lock.requires_python!r}: {e}", where=str(lock.path)) from e
    if not ok:
        raise SelectionError(
            f"the lock requires Python {lock.requires_python}, but {interpreter.path} is Python {version}",
            where=f"{lock.path}: requires-python",
            hint="pick an interpreter the lock supports (e.g. `--python`), or relock for this one",
        )


def _check_environments(lock: Lock, env: "_Environment") -> None:
    if not lock.environments:
        return
    if any(env.holds(marker, f"{lock.path}: environments") for marker in lock.environments):
        return
    raise SelectionError(
        f"the lock supports only the environments {list(lock.environments)}, and "
        f"{env.interpreter.path} is none of them",
        where=f"{lock.path}: environments",
        hint="relock for this platform and Python",
    )


# --- markers -------------------------------------------------------------------------------------


class _Environment:
    """Marker evaluation for the target: its environment plus the selected extras and groups.

    `extra == "x"` (core-metadata and poetry style) is tried with each selected extra and with
    ""; `'x' in extras` and `'g' in dependency_groups` (PEP 751) see the whole selection.
    """

    def __init__(self, lock: Lock, interpreter: Interpreter, extras: tuple[str, ...], groups: tuple[str, ...]) -> None:
        self.lock = lock
        self.interpreter = interpreter
        self.extras = extras
        self.base: dict[str, object] = dict(interpreter.markers)
        self.base["extras"] = frozenset(extras)
        self.base["dependency_groups"] = frozenset(groups)
        self._parsed: dict[str, object] = {}
        self._fast: dict[str, markers.Node | None] = {}  # monotrail.markers trees (None: packaging decides)

    def holds(self, marker: str | None, where: str, extra: str | None = None) -> bool:
        """Does `marker` hold? With `extra` None, for any selected extra (or none)."""
        if not marker:
            return True
        candidates: Iterable[str] = ("", *self.extras) if extra is None else (extra,)
        return any(self._evaluate(marker, where, candidate) for candidate in candidates)

    def _evaluate(self, marker: str, where: str, extra: str) -> bool:
        from monotrail import markers

        if marker in self._fast:
            fast = self._fast[marker]
        else:
            fast = self._fast[marker] = markers.parse(marker)
        if fast is not None:
            result = markers.evaluate(fast, {**self.base, "extra": extra})
            if result is not None:
                return result
        from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

        try:
            parsed = self._parsed.get(marker)
            if parsed is None:
                parsed = self._parsed[marker] = Marker(marker)
            return parsed.evaluate({**self.base, "extra": extra}, "lock_file")  # type: ignore[attr-defined,arg-type,unused-ignore]
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as e:
            raise SelectionError(f"cannot evaluate marker {marker!r}: {e}", where=where) from e


# --- flat locks ----------------------------------------------------------------------------------


def _package_where(lock: Lock, package: LockedPackage) -> str:
    return f"{lock.path}: package {package.name} {package.version}".rstrip()


def _select_flat(lock: Lock, env: _Environment) -> list[LockedPackage]:
    chosen: dict[str, LockedPackage] = {}
    for package in lock.packages:
        if not env.holds(package.marker, _package_where(lock, package)):
            continue
        _choose(lock, chosen, package)
    return list(chosen.values())


def _choose(lock: Lock, chosen: dict[str, LockedPackage], package: LockedPackage) -> bool:
    """Record `package`; False if it was already chosen. Two versions of one name is an error."""
    other = chosen.get(package.name)
    if other is None:
        chosen[package.name] = package
        return True
    if other.version != package.version:
        raise SelectionError(
            f"the lock selects two versions of {package.name} for this interpreter: {other.version} and {package.version}",
            where=_package_where(lock, package),
            hint="the lock is inconsistent for this target; relock",
        )
    return False


# --- graph locks ---------------------------------------------------------------------------------


def _select_graph(
    lock: Lock, env: _Environment, extras: tuple[str, ...], groups: tuple[str, ...]
) -> list[LockedPackage]:
    by_name: dict[str, list[LockedPackage]] = {}
    for package in lock.packages:
        by_name.setdefault(package.name, []).append(package)
    # (edge, extra context its marker is evaluated with, who asked: for error messages)
    pending: list[tuple[Dependency, str, str]] = [(dep, "", "the project") for dep in lock.roots or ()]
    for extra in extras:
        pending += [(dep, extra, f"extra {extra!r}") for dep in lock.extras[extra]]
    for group in groups:
        pending += [(dep, "", f"group {group!r}") for dep in lock.groups[group]]
    chosen: dict[str, LockedPackage] = {}
    expanded: set[tuple[str, str, str]] = set()  # (name, version, extra or "")
    while pending:
        dep, extra, parent = pending.pop()
        if not env.holds(dep.marker, f"{lock.path}: {parent} -> {dep.name}", extra=extra):
            continue
        package = _resolve_edge(lock, by_name, dep, parent, env)
        _choose(lock, chosen, package)
        for wanted in ("", *dep.extras):
            key = (package.name, package.version, wanted)
            if key in expanded:
                continue
            expanded.add(key)
            if package is lock.project:  # its own edges are the lock's roots and extras
                edges = (lock.roots or ()) if not wanted else lock.extras.get(wanted, ())
            else:
                edges = package.dependencies if not wanted else package.optional_dependencies.get(wanted, ())
            label = f"{package.name} {package.version}" + (f"[{wanted}]" if wanted else "")
            pending += [(edge, wanted, label) for edge in edges]
    return list(chosen.values())


def _resolve_edge(
    lock: Lock, by_name: Mapping[str, list[LockedPackage]], dep: Dependency, parent: str, env: _Environment
) -> LockedPackage:
    """The locked package an edge means: by version (uv), else specifier (poetry), else python."""
    candidates = by_name.get(dep.name, [])
    if not candidates and lock.project is not None and dep.name == lock.project.name:
        # A dependency that depends on the project itself (pytest -> pluggy in pluggy's own lock):
        # the editable project satisfies it, as in the venv `uv sync` makes.
        return lock.project
    if dep.version is not None:
        candidates = [c for c in candidates if c.version == dep.version or _same_version(c.version, dep.version)]
    elif dep.specifier and len(candidates) > 1:
        candidates = [c for c in candidates if _version_matches(c.version, dep.specifier)] or candidates
    if len(candidates) > 1:
        version = _version_string(env.interpreter)
        candidates = [
            c for c in candidates if not c.requires_python or specifier_contains(c.requires_python, version)
        ] or candidates
    if not candidates:
        wanted = f"{dep.name} {dep.version}" if dep.version else dep.name
        raise SelectionError(
            f"{parent} depends on {wanted}, which the lock does not contain",
            where=str(lock.path),
            hint="the lock is inconsistent; relock",
        )
    if len(candidates) == 1:
        return candidates[0]
    from packaging.version import InvalidVersion, Version

    def key(package: LockedPackage) -> tuple[int, Version]:
        try:
            return (1, Version(package.version))
        except InvalidVersion:
            return (0, Version("0"))

    # Several versions still fit (poetry 1.1 with overlapping constraints): take the newest, as
    # poetry's solver prefers it.
    return max(candidates, key=key)


# A plain release (`2.3.5`): compared without packaging.version, whose import (~10 ms) was the
# only packaging import a uv.lock's selection made (its forks give a name several versions).
_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def _same_version(a: str, b: str) -> bool:
    if _RELEASE.fullmatch(a) and _RELEASE.fullmatch(b):
        return _release(a) == _release(b)
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def _release(version: str) -> tuple[int, ...]:
    """PEP 440 release segment, trailing zeros dropped: `1.0` == `1.0.0`, `01` == `1`."""
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _version_matches(version: str, specifier: str) -> bool:
    from packaging.specifiers import InvalidSpecifier

    try:
        return specifier_contains(specifier, version)
    except InvalidSpecifier:
        return True  # an edge we cannot read narrows nothing; other filters still apply


# --- artifacts -----------------------------------------------------------------------------------


def select_wheel(filenames: Sequence[str], tags: Sequence[str]) -> int | None:
    """Index of the best wheel for `tags` (best first), or None. Ties keep lock order."""
    ranks = {tag: i for i, tag in enumerate(tags)}
    return _best_wheel(filenames, ranks, _platforms(tags))


def _platforms(tags: Sequence[str]) -> frozenset[str]:
    """The platform parts of the target's tags (`cp312-cp312-manylinux_2_17_x86_64` ->
    `manylinux_2_17_x86_64`)."""
    return frozenset(tag.rpartition("-")[2] for tag in tags)


def _best_wheel(filenames: Sequence[str], ranks: Mapping[str, int], platforms: frozenset[str]) -> int | None:
    """`platforms` (`_platforms` of the ranked tags) passes over, by its last name part, a wheel
    for another platform before its tags are spelled out: most of a universal lock's wheels (a
    tag ranks only if its platform is one of the target's, so the answer is the same)."""
    best: tuple[int, int] | None = None
    for i, filename in enumerate(filenames):
        if filename.endswith(".whl") and platforms.isdisjoint(filename[:-4].rpartition("-")[2].lower().split(".")):
            continue
        tags_of_file = wheel_tags(filename)
        if tags_of_file is None:
            continue  # not a wheel we could install anyway
        rank = min((ranks[tag] for tag in tags_of_file if tag in ranks), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, i)
    return best[1] if best is not None else None


# `name-1.2.3-py3-none-any.whl` (optionally with a build tag), with a plain name and release
# version: every wheel of the data-science lock. packaging.utils.parse_wheel_filename accepts all
# of these, and importing it costs ~15 ms; any other name is left to it.
_PLAIN_WHEEL = re.compile(r"[A-Za-z0-9_.]+-[0-9]+(?:\.[0-9]+)*(?:-[0-9][A-Za-z0-9_.]*)?-([^-]+)-([^-]+)-([^-]+)\.whl")


def wheel_tags(filename: str) -> list[str] | None:
    """The wheel's tags as `interpreter-abi-platform` strings (lowercase), None if not a wheel."""
    match = _PLAIN_WHEEL.fullmatch(filename)
    if match is not None:
        pythons, abis, platforms = (part.lower().split(".") for part in match.groups())
        return [f"{p}-{a}-{x}" for p in pythons for a in abis for x in platforms]
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        return [str(tag) for tag in parse_wheel_filename(filename)[3]]
    except InvalidWheelFilename:
        return None


def _selected(lock: Lock, package: LockedPackage, interpreter: Interpreter, ranks: Mapping[str, int],
              platforms: frozenset[str]) -> Selected:
    where = _package_where(lock, package)
    if package.vcs is not None:
        return Selected(package.name, package.version, None, None, None, build=package.vcs)
    if package.directory is not None and package.editable:
        return Selected(package.name, package.version, None, None, None, editable=package.directory)
    if package.directory is not None and package.build:
        from pathlib import Path

        return Selected(package.name, package.version, None, None, None, build=Path(package.directory).as_uri())
    if package.directory is not None:
        return Selected(package.name, package.version, None, package.index, package.directory)
    if not package.wheels and package.sdist is None:
        lookup = Artifact(filename="", hashes=package.hashes)
        return Selected(package.name, package.version, lookup, package.index, None, tags=interpreter.tags)
    wheels = package.wheels  # a big lock's LazyArtifacts: rank by the names, build one Artifact
    names = wheels.filenames() if isinstance(wheels, LazyArtifacts) else [wheel.filename for wheel in wheels]
    best = _best_wheel(names, ranks, platforms)
    if best is None and package.sdist is not None:
        # No wheel fits: the store builds one from the sdist (monotrail.builds.sdist).
        return Selected(package.name, package.version, package.sdist, package.index, None)
    if best is None:
        raise _no_wheel(package, interpreter, where)
    return Selected(package.name, package.version, wheels.one(best) if isinstance(wheels, LazyArtifacts) else wheels[best], package.index, None)


def _no_wheel(package: LockedPackage, interpreter: Interpreter, where: str) -> SelectionError:
    files = [wheel.filename for wheel in package.wheels] + ([package.sdist.filename] if package.sdist else [])
    shown = ", ".join(files[:8]) + (f", ... ({len(files) - 8} more)" if len(files) > 8 else "")
    pythons = sorted({name.split("-")[-3] for name in files if name.endswith(".whl") and name.count("-") >= 4})
    summary = f" (wheels for {', '.join(pythons)})" if pythons else ""
    return SelectionError(
        f"no wheel of {package.name} {package.version} fits {interpreter.path} "
        f"(Python {_version_string(interpreter)}, best tags {', '.join(interpreter.tags[:3])}); "
        f"the lock has{summary}: {shown or 'no files'}, and no sdist to build one from",
        where=where,
        hint="use an interpreter this package has wheels for, or relock with a version that has one",
    )
