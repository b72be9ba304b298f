"""Resolving requirements against the index for one target interpreter, with `resolvelib`.

Not universal: every marker is evaluated for the target (its marker environment and wheel tags,
never the running Python's). A multi-target lock resolves once per target (`resolve_targets`,
targets described by `monotrail.resolve.targets`, no interpreter needed) and merges the results
(`monotrail.resolve.merge`); the targets share the fetches (`Shared`) and, where a target answers
every target-dependent question as an earlier one did, its pins (`Trace`). The shapes follow
pip's provider:
- an identifier is a project name, or `name[extra1,extra2]` for a requirement with extras; the
  candidate of `name[x]` depends on `name==V` itself, so both always agree on the version;
- a candidate is one version with a wheel for the target's tags, not yanked (PEP 592), whose
  requires-python admits the target; Requires-Python found only in the metadata becomes a
  dependency on the pseudo-project `<python>`, which has no candidate when it does not hold;
- candidates come newest first, but versions already in the store come before all others
  (unless `upgrade`), so a new script costs no download;
- pre-releases only when asked (`prereleases`) or when a specifier names one, as PEP 440 says.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar
from collections.abc import Iterable, Mapping, Sequence

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from monotrail.store.entries import Builder
from monotrail.errors import IndexError_, ResolutionError
from monotrail.store.index import FileDetails, IndexClient, Sources, redact_url
from monotrail.interpreters.discovery import Interpreter
from monotrail.lock.model import Artifact
from monotrail.resolve.early import EarlyFetch, split_filename
from monotrail.resolve.metadata import WHOLE_WHEEL_BYTES

if TYPE_CHECKING:  # pragma: no cover - imported where a direct reference is parsed: its urllib.request costs ~13 ms
    from monotrail.store.direct import DirectRef

PYTHON = "<python>"
ROOT = ""  # the label of the main requirements; extras and groups have their own


@dataclass(frozen=True)
class Req:
    name: str  # normalized; PYTHON for a Requires-Python
    extras: frozenset[str]
    specifier: SpecifierSet
    text: str  # as written, for messages
    parent: str | None = None  # "b 1.0" or None for a root requirement
    direct: DirectRef | None = None  # `name @ URL` (root requirements only)
    marker: Marker | None = None  # a root requirement's own marker (`backport ; python_version < "3.11"`)

    @property
    def key(self) -> str:
        return self.name if not self.extras else f"{self.name}[{','.join(sorted(self.extras))}]"


@dataclass(frozen=True)
class Candidate:
    name: str
    version: Version
    extras: frozenset[str]
    wheel: Artifact  # the best wheel for the target (metadata is read from it)
    details: FileDetails
    index: str  # "" for find-links
    direct: DirectRef | None = None  # built (or downloaded) from a direct reference

    @property
    def key(self) -> str:
        return self.name if not self.extras else f"{self.name}[{','.join(sorted(self.extras))}]"


@dataclass(frozen=True)
class ResolvedPackage:
    name: str
    version: str
    wheels: tuple[Artifact, ...]  # every wheel of that version the target can install, by name
    sdist: Artifact | None
    requires_python: str | None
    index: str | None
    labels: frozenset[str]  # ROOT, "extra:x", "group:g": which requirement sets reach it
    direct: DirectRef | None = None  # a direct reference: the lock writes vcs/directory/archive
    targets: str | None = None  # a multi-target lock: the marker of the targets this entry is for (None: all)


@dataclass(frozen=True)
class Resolution:
    packages: tuple[ResolvedPackage, ...]  # sorted by name


@dataclass
class Trace:
    """The target-dependent answers a provider gave during one resolution: marker evaluations
    (by the marker object, which all targets share through `Shared.dependencies`), Python
    specifiers, and what each version's files offer. resolvelib asks nothing else that depends on
    the target, so a target answering all of these alike resolves to the same pins
    (`Provider.agrees`); most targets of a lock do, and cost a check instead of a resolution."""

    markers: dict[tuple[int, str], tuple[Marker, bool]] = field(default_factory=dict)  # (id(marker), extra) ->
    pythons: dict[str, tuple[SpecifierSet, bool]] = field(default_factory=dict)  # str(specifier) ->
    files: dict[tuple[str, Version], tuple[bool, bool, bool]] = field(default_factory=dict)  # Provider.files_answer
    result: object = None  # resolvelib's result (mapping, graph) when the resolution succeeded


class _TargetVersions(Mapping):
    """A project's versions (shared by the targets) with this target's `_Version` of each, made
    when first looked at: botocore has thousands of versions, and a resolution looks at a few."""

    __slots__ = ("_grouped", "_made")

    def __init__(self, grouped: Mapping[Version, list]) -> None:
        self._grouped = grouped
        self._made: dict[Version, _Version] = {}

    def __getitem__(self, version: Version) -> _Version:
        info = self._made.get(version)
        if info is None:
            files = self._grouped[version]
            info = self._made[version] = _Version()
            info.files = files
        return info

    def __iter__(self):
        return iter(self._grouped)

    def __len__(self) -> int:
        return len(self._grouped)

    def __contains__(self, version: object) -> bool:
        return version in self._grouped


class _Version:
    """The files of one version, grouped cheaply (file names split, not parsed); tags and
    requires-python are looked at only for the versions the resolver reaches (`Provider.wheels`):
    botocore lists thousands of files, and parsing each name's tags took most of a resolution."""

    __slots__ = ("files", "wheels", "sdists", "requires_python")

    def __init__(self) -> None:
        self.files: list[tuple[str, Artifact, FileDetails]] = []
        self.wheels: list[tuple[int, Artifact, FileDetails, str]] | None = None  # (rank, file, details, index)
        self.sdists: list[tuple[Artifact, str]] = []
        self.requires_python: str | None = None  # set when it excludes the target


T = TypeVar("T")


class Shared:
    """What the resolutions of one lock's targets share: the index client, the fetch pool, the
    index pages grouped by version, the dependencies of each version and the direct references'
    candidates. Nearly all of a resolution's cost is fetching, and only the wheel chosen per
    target differs; a version's dependencies are read from one of its wheels and taken for all its
    wheels, as uv and pip assume too (markers carry what differs by platform)."""

    def __init__(self, client: IndexClient, refresh: bool = False) -> None:
        self.client = client
        self.refresh = refresh
        self.pool = ThreadPoolExecutor(max_workers=16)
        self._lock = threading.Lock()
        self._done: dict[tuple[str, object], Future] = {}
        self.dependencies: dict[tuple[str, Version], tuple[tuple[Requirement, ...], str | None]] = {}
        # Metadata a prefetch is fetching now: the resolver waits for it rather than fetching the
        # same file again, and fetches it itself when the prefetch failed (a prefetch's failure is
        # never the resolver's answer).
        self.prefetching: dict[tuple[str, Version], Future] = {}
        self.early: dict[str, Future] = {}  # root projects' fetches started before resolving (monotrail.resolve.early)

    def once(self, kind: str, key: object, compute: Callable[[], T]) -> T:
        """`compute()` run by the first thread that asks for (kind, key); the others wait for its
        result (or its exception). The first caller computes inline, so a pool thread that waits
        here never waits on a task queued behind it."""
        with self._lock:
            future = self._done.get((kind, key))
            owner = future is None
            if future is None:
                future = self._done[(kind, key)] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as error:  # noqa: BLE001 - handed to every waiter, raised there
                future.set_exception(error)
        return future.result()

    def claim(self, key: tuple[str, Version]) -> tuple[Future, bool]:
        """The future of a prefetch of `key`'s metadata, and whether the caller is to fetch it."""
        with self._lock:
            running = self.prefetching.get(key)
            if running is not None:
                return running, False
            running = self.prefetching[key] = Future()
            return running, True

    def started(self, kind: str, key: object) -> bool:
        with self._lock:
            return (kind, key) in self._done

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def parse_requirement(text: str, where: str, parent: str | None = None, base: Path | None = None) -> Req:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise ResolutionError(f"invalid requirement {text!r}: {error}", where=where) from None
    direct = None
    if requirement.url:
        from monotrail.store import direct as directs

        direct = directs.parse(requirement.url, base, where)
    return Req(canonicalize_name(requirement.name), frozenset(canonicalize_name(e) for e in requirement.extras),
               requirement.specifier, text, parent, direct, requirement.marker)


class Provider(AbstractProvider):
    def __init__(
        self,
        client: IndexClient,
        interpreter: Interpreter,
        root: Path,
        *,
        prereleases: bool = False,
        upgrade: bool = False,
        refresh: bool = False,
        building: tuple[str, ...] = (),
        builder: Builder | None = None,
        shared: Shared | None = None,
        build_interpreter: Callable[[], Interpreter] | None = None,
        whole_below: int = 0,
    ) -> None:
        self.client = client
        self.whole_below = whole_below  # wheels downloaded whole for their metadata (see WHOLE_WHEEL_BYTES)
        self.interpreter = interpreter
        self.shared = shared if shared is not None else Shared(client, refresh)
        self._owns_shared = shared is None
        # Sdists and source trees are built by a real interpreter: the target's own when it is
        # one, else (a target described by `monotrail.resolve.targets`) the one the caller found.
        self.build_interpreter = build_interpreter or (lambda: interpreter)
        self.root = root
        self.building = building  # the sdist builds whose build requirements this resolves (monotrail.builds.sdist)
        self.builder = builder  # builds sdists and source trees for their metadata (the caller's)
        self.prereleases = prereleases
        self.upgrade = upgrade
        self.refresh = refresh
        self.python_version = Version(interpreter.full_version or interpreter.python_version)
        self.ranks = {tag: number for number, tag in enumerate(interpreter.tags)}
        self.environment = dict(interpreter.markers)
        self._versions: dict[str, _TargetVersions] = {}
        self._submitted: set = set()
        self._prefetch_lock = threading.Lock()
        self._fits: dict[str, bool] = {}
        self.direct: dict[str, DirectRef] = {}  # name -> the root requirement's direct reference
        # Every answer of this provider that depends on the target, by question (see `Trace`).
        self.trace = Trace()

    def close(self) -> None:
        if self._owns_shared:
            self.shared.close()

    # --- resolvelib's interface ---------------------------------------------------------------

    def identify(self, requirement_or_candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes):
        causes = {info.requirement.name for info in backtrack_causes}
        pinned = False
        for info in information[identifier]:
            pinned = pinned or any(spec.operator in ("==", "===") and "*" not in spec.version for spec in info.requirement.specifier)
        return (identifier != PYTHON, identifier.split("[")[0] not in causes, not pinned, identifier)

    def find_matches(self, identifier, requirements, incompatibilities):
        requirements = list(requirements[identifier])
        if identifier == PYTHON:
            if all(self._python_holds(r.specifier) for r in requirements):
                return [Candidate(PYTHON, self.python_version, frozenset(), Artifact(""), FileDetails(), "")]
            return []
        name = identifier.split("[")[0]
        extras = frozenset(identifier[len(name) + 1 : -1].split(",")) if "[" in identifier else frozenset()
        if name in self.direct:
            candidate = self._direct_candidate(name, extras)
            if all(self.is_satisfied_by(r, candidate) for r in requirements):
                return [candidate]
            return []
        excluded = {candidate.version for candidate in incompatibilities[identifier]}
        allow_pre = self.prereleases or any(r.specifier.prereleases for r in requirements)
        ordered = self.shared.once("ordered", name, lambda: self._ordered(name))

        def matches():  # lazily: resolvelib mostly takes the first
            for version in ordered:
                if version in excluded or not all(r.specifier.contains(version, prereleases=allow_pre) for r in requirements):
                    continue
                if self.files_answer(name, version, record=True)[0]:
                    yield self._candidate(name, version, extras)
                elif self.versions(name)[version].sdists:  # built on demand (monotrail.builds.sdist)
                    artifact, index = self.versions(name)[version].sdists[0]
                    yield Candidate(name, version, extras, artifact, FileDetails(), index)

        return matches

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if candidate.name == PYTHON:
            return self._python_holds(requirement.specifier)
        if requirement.direct is not None and (candidate.direct is None or not _same_source(requirement.direct, candidate.direct)):
            return False
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def _direct_candidate(self, name: str, extras: frozenset[str]) -> Candidate:
        """The one candidate of a `name @ URL` requirement: its wheel built or downloaded now (the
        metadata is in it), the git revision resolved to a commit."""
        from dataclasses import replace

        found = self.shared.once("direct", name, lambda: self._new_direct_candidate(name))
        return replace(found, extras=extras)

    def _new_direct_candidate(self, name: str) -> Candidate:
        ref = self.direct[name]
        wheel, ref = self._direct_wheel(name, ref)
        from monotrail.store.index import file_sha256

        split = _wheel_name_version(wheel.name)
        if split is None or canonicalize_name(split[0]) != name:
            raise ResolutionError(f"{name} @ {ref.requirement_url()} is a distribution of {split[0] if split else wheel.name!r}, not of {name!r}",
                                  hint="fix the name before '@'")
        artifact = Artifact(wheel.name, None, (("sha256", file_sha256(wheel)),), wheel.stat().st_size, str(wheel))
        return Candidate(name, Version(split[1]), frozenset(), artifact, FileDetails(), "", ref)

    def _direct_wheel(self, name: str, ref: DirectRef) -> tuple[Path, DirectRef]:
        from monotrail.store import direct

        sources = self.client.sources
        if ref.kind == "git":
            ref = direct.resolve_git(ref, self.root, offline=sources.offline)
            return self._builder().source_wheel(ref, name, self.build_interpreter(), sources, self.root, self.building), ref
        if ref.kind == "directory":
            return self._builder().source_wheel(ref, name, self.build_interpreter(), sources, self.root, self.building), ref
        from monotrail.store.download import download

        artifact = Artifact(ref.filename, None if ref.path else ref.url, ref.hashes, None, ref.path)
        if artifact.url:
            self.client.check_url(artifact.url)
        path = download(artifact, self.root, client=self.client.client, offline=sources.offline)
        if not ref.hashes:  # `download` hashed it and named it so: <root>/downloads/<sha256>.whl
            from dataclasses import replace

            ref = replace(ref, hashes=(("sha256", path.stem),))
        if ref.filename.endswith(".whl"):
            import shutil

            named = self.root / "cache" / "direct" / path.name[:16] / ref.filename  # the file name carries tags and version
            if not named.is_file():
                named.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, named)
            return named, ref
        artifact = Artifact(ref.filename, ref.url, ref.hashes)
        return self._builder().sdist_wheel(path, artifact, self.build_interpreter(), sources, self.root, self.building), ref

    def _builder(self) -> Builder:
        if self.builder is None:
            raise ResolutionError("a requirement must be built from source and no builder was given",
                                  hint="this is a bug in the caller: pass builder= to resolve()")
        return self.builder

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate.name == PYTHON:
            return []
        parent = f"{candidate.name} {candidate.version}"
        requirements, requires_python = self.dependencies(candidate)
        found: list[Req] = []
        if candidate.extras:
            found.append(Req(candidate.name, frozenset(), SpecifierSet(f"=={candidate.version}"), f"{candidate.name}=={candidate.version}", parent))
        for requirement in requirements:
            if not self._wanted(requirement, candidate.extras):
                continue
            found.append(Req(canonicalize_name(requirement.name), frozenset(canonicalize_name(e) for e in requirement.extras),
                             requirement.specifier, str(requirement), parent))
        if requires_python and candidate.details.requires_python is None:
            found.append(Req(PYTHON, frozenset(), SpecifierSet(requires_python), f"Python {requires_python}", parent))
        self.prefetch((r.name, r.specifier, r.extras) for r in found if r.name != PYTHON)
        return found

    # --- data ---------------------------------------------------------------------------------

    def versions(self, name: str) -> Mapping[Version, _Version]:
        """The project's versions, each with this target's view of its files (computed lazily)."""
        found = self._versions.get(name)
        if found is None:
            found = self._versions[name] = _TargetVersions(self.shared.once("versions", name, lambda: self._load_versions(name)))
        return found

    def _load_versions(self, name: str) -> dict[Version, list]:
        early = self.shared.early.get(name)
        if early is not None:
            early.exception()  # wait for it: the page is then in the client's memo, the wheel in the downloads
            # (a failure is met again below, or when the wheel is downloaded)
        try:
            files = self.client.index_files(name, refresh=self.refresh)
        except IndexError_:
            if not self.client.sources.offline:
                raise
            files = []
        return self._group(name, files)

    def _group(self, name: str, files) -> dict[Version, list]:
        """The index's files of `name` by version: the same for every target."""
        if not files and self.client.sources.offline:
            files = self._store_files(name)
        if not files:
            where = ", ".join(redact_url(u) for u in (*self.client.sources.index_urls, *self.client.sources.find_links))
            close = _close_names(name, self._known_names(name))
            raise ResolutionError(
                f"package {name!r} was not found on the index" + (" cache or in the store (offline)" if self.client.sources.offline else "")
                + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
                where=where,
                hint="check the name's spelling" if not self.client.sources.offline else "run once without --offline to fill the cache",
            )
        versions: dict[Version, list] = {}
        parsed: dict[str, Version | None] = {}
        names: dict[str, bool] = {}
        for entry in files:
            if entry[2].yanked:
                continue
            split = split_filename(entry[1].filename)
            if split is None:
                continue
            project, raw = split
            if project not in names:
                names[project] = canonicalize_name(project) == name
            if not names[project]:
                continue
            if raw not in parsed:
                try:
                    parsed[raw] = Version(raw)
                except ValueError:
                    parsed[raw] = None
            version = parsed[raw]
            if version is not None:
                versions.setdefault(version, []).append(entry)
        return versions

    def _known_names(self, missing: str) -> set:
        """Project names that are cheap to know: the pages in the index cache (not empty ones),
        the store's projects and what this resolution has seen."""
        names = {name for name, versions in self._versions.items() if versions}
        for page in (self.root / "cache" / "simple").glob("*/*.json"):
            if page.stem == "_find_links" or page.stem == missing:
                continue
            try:
                with open(page, "rb") as file:
                    if b'"missing":true' in file.readline(4096):
                        continue  # a cached 404: the index does not have it either (monotrail.store.index)
                    file.seek(max(page.stat().st_size - 16, 0))
                    if b"[]}" in file.read().replace(b" ", b""):
                        continue  # the same in the parsed form of the cache
            except OSError:
                continue
            names.add(page.stem)
        try:
            names.update(os.listdir(self.root / "store"))
        except OSError:
            pass
        names.discard(missing)
        return names

    def wheels(self, name: str, version: Version) -> list[tuple[int, Artifact, FileDetails, str]]:
        """The version's wheels for the target, best tag first; sdists and requires-python noted."""
        info = self.versions(name)[version]
        if info.wheels is not None:
            return info.wheels
        wheels = []
        for index, artifact, details in info.files:
            if details.requires_python and not self._python_fits(details.requires_python):
                info.requires_python = details.requires_python
                continue
            if not artifact.filename.endswith(".whl"):
                info.sdists.append((artifact, index))
                continue
            tags = _wheel_tags(artifact.filename)
            rank = min((self.ranks[tag] for tag in tags if tag in self.ranks), default=None)
            if rank is not None:
                wheels.append((rank, artifact, details, index))
        wheels.sort(key=lambda item: (item[0], item[1].filename))
        info.wheels = wheels
        return wheels

    def _python_fits(self, requires_python: str) -> bool:
        fits = self._fits.get(requires_python)
        if fits is None:
            fits = self._fits[requires_python] = _python_fits(requires_python, self.python_version)
        return fits

    def _store_files(self, name: str) -> list[tuple[str, Artifact, FileDetails]]:
        """Offline without a cached page: the wheels unpacked in the store are the only versions."""
        import json

        found = []
        base = self.root / "store" / name
        for marker in sorted(base.glob("*/*/monotrail.json")):
            try:
                data = json.loads(marker.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            download = self.root / "downloads" / f"{data['sha256']}.whl"
            artifact = Artifact(data["wheel"], None, (("sha256", data["sha256"]),), None, str(download))
            found.append(("", artifact, FileDetails()))
        return found

    def _ordered(self, name: str) -> list[Version]:
        """The versions in the order candidates are tried (the same for every target, and for
        every round of one resolution: sorted once)."""
        stored = set() if self.upgrade else self._stored_versions(name)
        newest_first = sorted(self.shared.once("versions", name, lambda: self._load_versions(name)), reverse=True)
        if not stored:  # as on every cold lock: no `str()` of botocore's thousands of versions
            return newest_first
        return [v for v in newest_first if str(v) in stored] + [v for v in newest_first if str(v) not in stored]

    def _stored_versions(self, name: str) -> set:
        # One listing of the store for all names: a listdir releases the GIL, and getting it back
        # from the fetch threads cost ~5 ms (the switch interval) per project.
        if name not in self.shared.once("stored", None, lambda: self._stored_names()):
            return set()
        try:
            return set(os.listdir(self.root / "store" / name))
        except OSError:
            return set()

    def _stored_names(self) -> set:
        try:
            return set(os.listdir(self.root / "store"))
        except OSError:
            return set()

    def _candidate(self, name: str, version: Version, extras: frozenset[str]) -> Candidate:
        _, wheel, details, index = self.wheels(name, version)[0]
        return Candidate(name, version, extras, wheel, details, index)

    def dependencies(self, candidate: Candidate) -> tuple[tuple[Requirement, ...], str | None]:
        key = (candidate.name, candidate.version)
        found = self.shared.dependencies.get(key)
        if found is None:
            found = self.shared.once("dependencies", key, lambda: self._fetched_dependencies(candidate))
            self.shared.dependencies[key] = found
        return found

    def _fetched_dependencies(self, candidate: Candidate) -> tuple[tuple[Requirement, ...], str | None]:
        """The candidate's metadata, read once: when a prefetch is fetching it, its answer (or,
        when the prefetch failed, a fetch of the resolver's own, whose failure is the error)."""
        running, owner = (None, False) if candidate.direct is not None else self.shared.claim((candidate.name, candidate.version))
        if running is not None and not owner:
            if running.exception() is None:
                return running.result()
            running = None
        try:
            found = _parse_metadata(self._metadata(candidate), candidate.wheel.filename)
        except BaseException as error:  # noqa: BLE001 - a waiting prefetch gets it, the resolver raises it
            if running is not None:
                running.set_exception(error)
            raise
        if running is not None:
            running.set_result(found)
        return found

    def _metadata(self, candidate: Candidate) -> bytes:
        from monotrail.resolve.metadata import core_metadata

        if not candidate.wheel.filename.endswith(".whl"):
            return self._sdist_metadata(candidate)

        return core_metadata(self.client, candidate.name, str(candidate.version), candidate.wheel, candidate.details, self.root,
                             whole_below=self.whole_below)

    def _sdist_metadata(self, candidate: Candidate) -> bytes:
        """METADATA of the wheel built from the sdist (cached by the sdist's hash, as the wheel is)."""
        from monotrail.store.download import download
        from monotrail.resolve.metadata import cache_metadata, cache_path, read_metadata_member

        cache = cache_path(self.root, candidate.wheel)
        if cache is not None and cache.is_file():
            return cache.read_bytes()
        if candidate.wheel.url and not candidate.wheel.path:
            self.client.check_url(candidate.wheel.url)
        sdist = download(candidate.wheel, self.root, client=self.client.client, offline=self.client.sources.offline)
        wheel = self._builder().sdist_wheel(sdist, candidate.wheel, self.build_interpreter(), self.client.sources, self.root,
                                            self.building)
        import zipfile

        with zipfile.ZipFile(wheel) as archive:
            data = read_metadata_member(archive, wheel.name)
        if cache is not None:
            cache_metadata(cache, data, self.root)
        return data

    def prefetch(self, wanted: Iterable[tuple[str, SpecifierSet, frozenset[str]]]) -> None:
        """Fetch the pages (and the metadata of the version the resolver will most likely pick) of
        coming projects in parallel: resolvelib asks for one project at a time, the network
        answers many at once. `wanted`: (name, specifier, extras) of requirements on them."""
        with self._prefetch_lock:
            for name, specifier, extras in wanted:
                # A project an earlier target fetched needs no walk: its page and its likely
                # version's metadata are there, and its children are prefetched when reached.
                if name in self._versions or name in self._submitted or name in self.direct or self.shared.started("versions", name):
                    continue
                self._submitted.add(name)
                self.shared.pool.submit(self._prefetch_one, name, specifier, extras)

    def _prefetch_one(self, name: str, specifier: SpecifierSet, extras: frozenset[str]) -> None:
        try:
            grouped = self.shared.once("versions", name, lambda: self._load_versions(name))
            ordered = self.shared.once("ordered", name, lambda: self._ordered(name))
            allow_pre = self.prereleases or bool(specifier.prereleases)
            # The version `find_matches` will most likely try first: the first in the resolver's
            # order that the specifier admits and that has a wheel for the target (one with only
            # an sdist is built when the resolver gets there: nothing to fetch ahead).
            for version in ordered:
                if not specifier.contains(version, prereleases=allow_pre):
                    continue
                chosen = self._best_of(grouped[version])
                if chosen is not None:
                    self._prefetch_walk(name, version, chosen, extras)
                    return
                if any(not artifact.filename.endswith(".whl") for _, artifact, _ in grouped[version]):
                    return
        except Exception:  # a prefetch is a guess; the resolver asks again and reports properly
            pass

    def _prefetch_walk(self, name: str, version: Version, wheel: tuple[Artifact, FileDetails], extras: frozenset[str]) -> None:
        requirements = self._prefetch_metadata((name, version), wheel)
        # Walk on: these dependencies are what the resolver will most likely ask for next, so
        # the whole graph is fetched in parallel, not level by level; an extra's own
        # dependencies too (`celery[redis]` reaches redis).
        self.prefetch((canonicalize_name(r.name), r.specifier, frozenset(canonicalize_name(e) for e in r.extras))
                      for r in requirements
                      if self._wanted(r, frozenset(), record=False) or extras and self._wanted(r, extras, record=False))

    def _prefetch_metadata(self, key: tuple[str, Version], wheel: tuple[Artifact, FileDetails]) -> tuple[Requirement, ...]:
        """The dependencies of `key`'s version read from `wheel`, fetched once: a resolver that
        reaches the version meanwhile waits for this fetch (`Shared.prefetching`)."""
        found = self.shared.dependencies.get(key)
        if found is not None:
            return found[0]
        running, owner = self.shared.claim(key)
        if not owner:
            return running.result()[0]
        try:
            from monotrail.resolve.metadata import core_metadata

            data = core_metadata(self.client, key[0], str(key[1]), wheel[0], wheel[1], self.root, whole_below=self.whole_below)
            found = self.shared.dependencies.setdefault(key, _parse_metadata(data, wheel[0].filename))
        except BaseException as error:  # noqa: BLE001 - the waiters fetch again themselves
            running.set_exception(error)
            raise
        running.set_result(found)
        return found[0]

    def _best_of(self, files: list) -> tuple[Artifact, FileDetails] | None:
        best = None
        for _, artifact, details in files:
            if not artifact.filename.endswith(".whl"):
                continue
            if details.requires_python and not self._python_fits(details.requires_python):
                continue
            rank = min((self.ranks[tag] for tag in _wheel_tags(artifact.filename) if tag in self.ranks), default=None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, artifact, details)
        return None if best is None else (best[1], best[2])

    def _wanted(self, requirement: Requirement, extras: frozenset[str], record: bool = True) -> bool:
        """Base candidates take dependencies whose marker holds without an extra; `name[x]`
        candidates take those that hold only with one of their extras."""
        if requirement.marker is None:
            return not extras
        base = self.holds(requirement.marker, "", record)
        if not extras:
            return base
        return not base and any(self.holds(requirement.marker, extra, record) for extra in sorted(extras))

    # --- the answers that depend on the target (recorded: `Trace`) --------------------------------

    def holds(self, marker: Marker, extra: str, record: bool = True) -> bool:
        # resolvelib asks for a candidate's dependencies again on every backtrack: each marker is
        # evaluated once per target (the trace keeps the marker, so its id is not reused).
        known = self.trace.markers.get((id(marker), extra))
        if known is not None and known[0] is marker:
            return known[1]
        answer = _evaluate(marker, self.environment, extra)
        if record:
            self.trace.markers[(id(marker), extra)] = (marker, answer)
        return answer

    def _python_holds(self, specifier: SpecifierSet) -> bool:
        answer = specifier.contains(self.python_version, prereleases=True)
        self.trace.pythons[str(specifier)] = (specifier, answer)
        return answer

    def files_answer(self, name: str, version: Version, record: bool = False) -> tuple[bool, bool, bool]:
        """What the resolver learns of a version's files for this target: a wheel fits, an sdist
        is admitted, the best wheel's page gave its requires-python."""
        wheels = self.wheels(name, version)
        answer = (bool(wheels), bool(self.versions(name)[version].sdists),
                  bool(wheels) and wheels[0][2].requires_python is not None)
        if record:
            self.trace.files[(name, version)] = answer
        return answer

    def agrees(self, trace: Trace) -> bool:
        """Would this target answer every question of `trace` as it was answered? Then the
        resolver, which is deterministic, takes the same path here and ends with the same pins."""
        return (all(_evaluate(marker, self.environment, extra) == answer for (_, extra), (marker, answer) in trace.markers.items())
                and all(specifier.contains(self.python_version, prereleases=True) == answer
                        for specifier, answer in trace.pythons.values())
                and all(self.files_answer(name, version) == answer for (name, version), answer in trace.files.items()))

    def candidate_like(self, other: Candidate) -> Candidate:
        """This target's candidate for the version `other` pins (its own best wheel)."""
        if other.direct is not None or other.name == PYTHON:
            return other
        if self.wheels(other.name, other.version):
            return self._candidate(other.name, other.version, other.extras)
        artifact, index = self.versions(other.name)[other.version].sdists[0]
        return Candidate(other.name, other.version, other.extras, artifact, FileDetails(), index)

    def why_empty(self, name: str, requirements: Sequence[Req]) -> str:
        try:
            versions = self.versions(name)
        except Exception:
            return ""
        allow_pre = self.prereleases or any(r.specifier.prereleases for r in requirements)
        fitting = [v for v in versions if all(r.specifier.contains(v, prereleases=allow_pre) for r in requirements)]
        if not fitting:
            shown = ", ".join(str(v) for v in sorted(versions)[-8:])
            return f"available versions: {shown}"
        for version in sorted(fitting, reverse=True):
            self.wheels(name, version)
            info = versions[version]
            if info.requires_python and not info.wheels:
                return f"{name} {version} requires Python {info.requires_python}, the target is {self.python_version}"
            if info.sdists and not info.wheels:
                return f"{name} {version} has no wheel for this interpreter (best tag {self.interpreter.tags[0]}) and building from sdist is not supported yet"
        return f"no wheel of {name} for this interpreter (best tag {self.interpreter.tags[0]})"


def _close_names(name: str, known: Iterable[str]) -> list[str]:
    """Up to two known names close to `name` (difflib), compared without separators too, so
    `typing_extension` finds `typing-extensions` and `pyyaml` finds `py-yaml`."""
    import difflib

    folded: dict[str, str] = {}
    for known_name in sorted(known):
        folded.setdefault(known_name.replace("-", ""), known_name)
    target = name.replace("-", "")
    if target in folded:
        return [folded[target]]
    matches = difflib.get_close_matches(target, list(folded), n=2, cutoff=0.8)
    return [folded[match] for match in matches]


def _same_source(a: DirectRef, b: DirectRef) -> bool:
    return (a.kind, a.url, a.path, a.revision, a.subdirectory) == (b.kind, b.url, b.path, b.revision, b.subdirectory)


def _evaluate(marker: Marker, environment: Mapping[str, str], extra: str) -> bool:
    return marker.evaluate({**environment, "extra": extra})


def _python_fits(requires_python: str, version: Version) -> bool:
    try:
        return SpecifierSet(requires_python).contains(version, prereleases=True)
    except Exception:  # an invalid requires-python on the index: as pip, ignore it
        return True


def _wheel_name_version(filename: str) -> tuple[str, str] | None:
    """(project, version) as a wheel's file name writes them (installer's `parse_wheel_filename`);
    None when it is not a wheel name."""
    from installer.utils import parse_wheel_filename

    try:
        parsed = parse_wheel_filename(filename)
    except ValueError:
        return None
    return parsed.distribution, parsed.version


def _wheel_tags(filename: str) -> list[str]:
    from monotrail.selection import wheel_tags as tags

    return tags(filename) or []


def _parse_metadata(data: bytes, filename: str) -> tuple[tuple[Requirement, ...], str | None]:
    from email.parser import BytesParser

    message = BytesParser().parsebytes(data, headersonly=True)
    requirements = []
    for line in message.get_all("Requires-Dist") or ():
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement:
            continue  # as pip: a broken dependency line of an old release is skipped
    return tuple(requirements), (message.get("Requires-Python") or "").strip() or None


class _Reporter(BaseReporter):
    pass


def resolve(
    requirements: Mapping[str, Sequence[str]],
    interpreter: Interpreter,
    sources: Sources,
    root: Path,
    *,
    where: str,
    prereleases: bool = False,
    upgrade: bool = False,
    refresh: bool = False,
    base: Path | None = None,
    building: tuple[str, ...] = (),
    builder: Builder | None = None,
    early: EarlyFetch | None = None,
) -> Resolution:
    """Resolve requirement sets (label -> PEP 508 strings; ROOT, "extra:x", "group:g") together.

    Each resolved package carries the labels whose requirements reach it, so the lock can say
    "only with extra x" without resolving twice. `base`: what relative paths of `name @ ./dir`
    requirements are relative to (default: the current directory). `building`: the sdist builds
    whose build requirements these are (`monotrail.builds.sdist` limits how deep builds nest).
    `builder`: builds sdists and source trees whose metadata the resolution needs. `early`: the
    fetches `monotrail.resolve.early.start` began for these requirements (same sources and root).
    """
    roots = _roots(requirements, where, base)
    client = early.client if early is not None else IndexClient(sources, root)
    shared = Shared(client, refresh)
    if early is not None:
        shared.early = early.futures
    try:
        provider = Provider(client, interpreter, root, prereleases=prereleases, upgrade=upgrade, refresh=refresh,
                            building=building, builder=builder, shared=shared, whole_below=WHOLE_WHEEL_BYTES)
        return _resolve_with(provider, roots, where)
    finally:
        shared.close()
        if early is not None:
            early.abandon()  # what the resolution did not need is not waited for
        client.close()


def resolve_targets(
    requirements: Mapping[str, Sequence[str]],
    targets: Sequence[Interpreter],
    sources: Sources,
    root: Path,
    *,
    where: str,
    build_interpreter: Callable[[], Interpreter],
    prereleases: bool = False,
    upgrade: bool = False,
    refresh: bool = False,
    base: Path | None = None,
    builder: Builder | None = None,
) -> list[Resolution]:
    """`resolve` once per target (an `Interpreter` that may be described rather than probed:
    `monotrail.resolve.targets`), sharing the fetches (`Shared`) and the resolutions (`Trace`).
    The results are in the order of `targets`. A target that cannot be resolved while others can is a
    `ResolutionError` naming it; when every target fails alike, the error is the resolver's own.
    `build_interpreter`: a real Python for the sdists and source trees whose metadata is needed."""
    roots = _roots(requirements, where, base)
    client = IndexClient(sources, root)
    shared = Shared(client, refresh)
    traces: list[Trace] = []  # of the targets resolved so far, in the order they finished

    def one(target: Interpreter) -> Resolution:
        provider = Provider(client, target, root, prereleases=prereleases, upgrade=upgrade, refresh=refresh,
                            builder=builder, shared=shared, build_interpreter=build_interpreter)
        resolution = _resolve_with(provider, roots, where, list(traces))
        if provider.trace.result is not None:
            traces.append(provider.trace)
        return resolution

    # One target after the other: the first fetches nearly everything (the shared pool fetches
    # pages and metadata side by side, ahead of the resolver), and each next one is mostly a
    # check against the traces of those before it (`Trace`). Resolving targets in threads at the
    # same time was slower (resolvelib is pure Python, one core at a time under the GIL) and let
    # fewer targets find a trace: 13 of 15 resolved in full for django-app instead of 8.
    outcomes: list[tuple[BaseException | None, Resolution | None]] = []
    try:
        for target in targets:
            try:
                outcomes.append((None, one(target)))
            except Exception as failure:  # noqa: BLE001 - all targets' failures are weighed below
                outcomes.append((failure, None))
    finally:
        shared.close()
        client.close()
    failures = [(target, error) for target, (error, _) in zip(targets, outcomes) if error is not None]
    if not failures:
        return [resolution for _, resolution in outcomes if resolution is not None]
    target, error = failures[0]
    if not isinstance(error, ResolutionError) or len({str(e) for _, e in failures}) == 1 and len(failures) == len(targets):
        raise error
    failed = ", ".join(t.path.strip("<>") for t, _ in failures)
    raise ResolutionError(f"cannot lock for {target.path.strip('<>')}: {error.message}", where=error.where,
                          hint=f"{len(targets) - len(failures)} of {len(targets)} targets resolve (failing: {failed}); "
                               f"lock only the others with --python 3.X / --platform NAME, or {error.hint or 'relax the requirement'}")


def _roots(requirements: Mapping[str, Sequence[str]], where: str, base: Path | None) -> dict[str, list[Req]]:
    return {label: [parse_requirement(text, where, base=base) for text in texts] for label, texts in requirements.items()}


def _resolve_with(provider: Provider, roots: Mapping[str, Sequence[Req]], where: str,
                  traces: Sequence[Trace] = ()) -> Resolution:
    """Resolve for the provider's target, or take the pins of an earlier target's `Trace` that
    this target answers alike (`traces`); the provider's own trace is kept on success."""
    # The project's own markers are the target's to decide, as its dependencies' are.
    roots = {label: [r for r in reqs if r.marker is None or provider.holds(r.marker, "")] for label, reqs in roots.items()}
    for trace in traces:
        if trace.result is not None and provider.agrees(trace):
            earlier = trace.result
            mapping = {key: provider.candidate_like(candidate) for key, candidate in earlier.mapping.items()}  # type: ignore[attr-defined]
            return _resolution(_Pins(mapping, earlier.graph), roots, provider)  # type: ignore[attr-defined]
    for req in (r for reqs in roots.values() for r in reqs):
        if req.direct is None:
            continue
        other = provider.direct.setdefault(req.name, req.direct)
        if not _same_source(other, req.direct):
            raise ResolutionError(f"conflicting direct references for {req.name}: {other.requirement_url()} and "
                                  f"{req.direct.requirement_url()}", where=where)
    try:
        provider.prefetch((req.name, req.specifier, req.extras) for reqs in roots.values() for req in reqs
                          if req.name not in provider.direct)
        try:
            result = Resolver(provider, _Reporter()).resolve([r for reqs in roots.values() for r in reqs], max_rounds=20000)
        except ResolutionImpossible as error:
            raise _conflict(error, provider) from None
        except ResolutionTooDeep:
            raise ResolutionError("resolution took too many rounds", hint="pin some of the requirements more tightly") from None
        provider.trace.result = result
        return _resolution(result, roots, provider)
    finally:
        provider.close()


def _conflict(error: ResolutionImpossible, provider: Provider) -> ResolutionError:
    """pip's explanation: each requirement on the project that cannot be met, and who asked."""
    causes = list(error.causes)
    names = sorted({cause.requirement.name for cause in causes})
    lines = []
    for cause in causes:
        who = cause.parent.name + " " + str(cause.parent.version) if cause.parent is not None else "the project"
        if cause.parent is not None and cause.parent.name == PYTHON:
            who = "the project"
        what = cause.requirement.text
        if cause.requirement.name == PYTHON:
            what = f"Python {cause.requirement.specifier}"
        lines.append(f"{who} requires {what}")
    lines = list(dict.fromkeys(lines))
    if len(names) == 1:
        name = names[0]
        why = provider.why_empty(name, [cause.requirement for cause in causes]) if name != PYTHON else ""
        if name == PYTHON:
            why = f"the target is Python {provider.python_version}"
        return ResolutionError(
            f"no version of {name if name != PYTHON else 'Python'} satisfies: {'; '.join(lines)}" + (f" ({why})" if why else ""),
            hint="relax the requirement" if "available" in why else None,
        )
    return ResolutionError(
        f"conflicting requirements on {', '.join(n if n != PYTHON else 'Python' for n in names)}: " + "; ".join(lines),
        hint="the conflict is caused by the requirements above; loosen one of them",
    )


@dataclass(frozen=True)
class _Pins:
    """resolvelib's result, as `_resolution` reads it."""

    mapping: Mapping[str, Candidate]
    graph: object


def _resolution(result, roots: Mapping[str, Sequence[Req]], provider: Provider) -> Resolution:
    labels: dict[str, set] = {}
    for label, reqs in roots.items():
        seen: set = set()
        stack = [req.key for req in reqs]
        while stack:
            key = stack.pop()
            if key in seen or key not in result.mapping:
                continue
            seen.add(key)
            labels.setdefault(key.split("[")[0], set()).add(label)
            stack.extend(result.graph.iter_children(key))
    packages = []
    for candidate in result.mapping.values():
        if candidate.name == PYTHON or candidate.extras:
            continue
        if candidate.direct is not None:
            _, requires_python = provider.dependencies(candidate)
            packages.append(ResolvedPackage(
                name=candidate.name, version=str(candidate.version), wheels=(), sdist=None,
                requires_python=requires_python, index=None,
                labels=frozenset(labels.get(candidate.name, {ROOT})), direct=candidate.direct,
            ))
            continue
        info = provider.versions(candidate.name)[candidate.version]
        wheels = tuple(sorted((item[1] for item in provider.wheels(candidate.name, candidate.version)), key=lambda a: a.filename))
        if not wheels and candidate.wheel.filename and not candidate.wheel.filename.endswith(".whl"):
            info.sdists[:] = [(candidate.wheel, candidate.index)]
        sdist = info.sdists[0][0] if info.sdists else None
        _, requires_python = provider.dependencies(candidate)
        packages.append(ResolvedPackage(
            name=candidate.name,
            version=str(candidate.version),
            wheels=wheels,
            sdist=sdist,
            requires_python=candidate.details.requires_python or requires_python,
            index=candidate.index or None,
            labels=frozenset(labels.get(candidate.name, {ROOT})),
        ))
    return Resolution(tuple(sorted(packages, key=lambda p: p.name)))
