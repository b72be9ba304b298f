"""The global store: each locked wheel unpacked once, under `<root>/store/<name>/<version>/<id>/`.

Rules (docs/architecture.md, DESIGN.md "The store"):
- An entry exists only with its marker `monotrail.json`. It is built in `<root>/tmp/<pid>-<hex>/`,
  the marker written last, then renamed into place (same filesystem: atomic).
- One `fcntl.flock` per artifact in `<root>/locks/<sha256>.lock` is held over download + unpack,
  so a second process waits and then finds the entry instead of unpacking it again.
- Entries with a marker are reused without the network; a run with nothing to install takes no
  artifact lock, makes no temp dir, and imports neither httpx nor installer.
- Temp dirs left by killed installs (owner pid dead, or older than an hour) are removed
  opportunistically when there is something to install, and by `monotrail store gc`.
- An entry is usable only if its marker parses and `site-packages/<dist-info>/RECORD` exists: an entry
  deleted or damaged by hand is reinstalled with a one-line warning (docs/architecture.md, "The
  store's invariants and faults").
- Every write happens with a umask of at least 022 (nothing in the store is world-writable), and
  the marker and the renamed directory are fsynced: after a crash an entry is whole or absent.
- `<root>/locks/gc.lock`: cold runs hold it shared from the first store lookup until their
  environment is written; `monotrail store gc|clean|verify --repair` hold it exclusively.

Work runs in a thread pool (16 workers), biggest wheel first: lookup, download and unpack of one artifact per task, so
unpacking one wheel overlaps downloading others; inflating, hashing and file I/O release the GIL.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from collections.abc import Iterator, Sequence

from monotrail import log
from monotrail.atomic import fsync_directory
from monotrail.errors import StoreError, os_error_text
from monotrail.faults import crash_point
from monotrail.lock.model import Artifact
from monotrail.names import normalize
from monotrail.records import Record

if TYPE_CHECKING:  # pragma: no cover
    from monotrail.store.download import Progress
    from monotrail.store.index import IndexClient, Sources
    from monotrail.selection import Selected
    from monotrail.store.direct import DirectRef

MARKER = "monotrail.json"
# 2: purelib and platlib in `site-packages/` (1: `lib/`). An entry of another format is not read;
# the next run that needs it reinstalls it in place.
MARKER_FORMAT = 2
LIB = "site-packages"
WORKERS = 16  # threads: each downloads one wheel, then unpacks it or waits for an unpack thread
# Wheels at least this big are unpacked by the unpack threads, one per core (small ones, and every
# test wheel, in the thread that downloaded them): at most one big unpack per core at a time.
# Threads, not processes (as until issue 13's second round): since members are inflated by
# ISA-L, hashed and written with the GIL released, the per-member Python work that holds it is
# ~15% of an unpack, and two spawned worker processes (~0.09 s of CPU each to start and import,
# plus multiprocessing's resource tracker, and 0.05-0.15 s to stop and reap before the exec)
# cost more than they bought: data-science cold, 5 interleaved series, CPU 2.48-2.69 -> 2.21-2.58 s.
# The price, not measured here (2 cores): the GIL-held ~15% bounds threads at ~4-5x on many cores
# (Amdahl), where processes kept scaling; one huge wheel (torch's ~2 GB) on 8+ cores may unpack
# slower than it did with processes.
# MONOTRAIL_PROCESS_UNPACK_MIN_BYTES overrides the threshold (0: every wheel; tests use it; the
# name is from the processes).
PROCESS_UNPACK_MIN_BYTES = 4 * 1024 * 1024
# Wheels at least this big are unpacked by all unpack threads at once, each writing a run of
# its members (`wheel.split_members`): the biggest wheel's unpack is the end of a cold install.
# MONOTRAIL_SPLIT_UNPACK_MIN_BYTES overrides it (0: every wheel that goes to the unpack threads).
SPLIT_UNPACK_MIN_BYTES = 16 * 1024 * 1024
STALE_TEMP_SECONDS = 3600.0
_STORE_HINT = "check that MONOTRAIL_ROOT (or the cache directory) is writable and has free space"


class Builder(Protocol):
    """What the store (and the resolver) cannot download but must build: wheels of sdists and of
    source trees (git, directories). The builds stage implements it (`monotrail.builds.builder`)
    and the command that starts the work passes it in: the store never imports a later stage."""

    def sdist_wheel(self, sdist: Path, artifact: Artifact, interpreter: Any, sources: Any, root: Path,
                    building: tuple[str, ...] = ()) -> Path: ...

    def source_wheel(self, ref: "DirectRef", name: str, interpreter: Any, sources: Any, root: Path,
                     building: tuple[str, ...] = ()) -> Path: ...


class Pinned(Protocol):
    """What an entry is unpacked for: a `Selected`, or `store verify --repair`'s name and version
    read back from a marker (a `direct_url` attribute, when present, is recorded too)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...


class StoreEntry(Record):
    """One unpacked wheel in the store, as its marker (`monotrail.json`, written last) describes it.
    A record (`monotrail.records`), not a frozen dataclass: making one cost ~0.7 ms of every new
    environment's run."""

    __slots__ = ("path", "meta")
    path: Path  # <root>/store/<name>/<version>/<artifact-id>
    meta: dict  # the parsed marker file

    def __init__(self, path: Path, meta: dict) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "meta", meta)

    @property
    def lib(self) -> Path:
        return self.path / LIB




def entry_path(root: Path, name: str, version: str, sha256: str) -> Path:
    return root / "store" / normalize(name) / version / sha256.lower()[:16]


def built_entry_id(sdist_sha256: str, wheel_filename: str) -> str:
    """The id of an entry unpacked from a wheel built from an sdist: the sdist's hash (the one the
    lock names) and the built wheel's tags, `<sha256[:16]>-cp38-cp38-linux_x86_64`. A build is for
    the interpreter that made it (an extension module's is), so one sdist may have several entries,
    one per tag set; a pure-Python build (`py3-none-any`) is one entry every Python uses. As uv's
    built-wheel cache, keyed by the sdist, whose wheels' tags are checked against the target."""
    tags = "-".join(wheel_filename[: -len(".whl")].split("-")[-3:]).lower()
    return f"{sdist_sha256.lower()[:16]}-{tags}"


def is_sdist(filename: str) -> bool:
    """A locked file the store builds rather than unpacks (its name is not a wheel's)."""
    return bool(filename) and not filename.endswith(".whl")


def read_marker(path: Path) -> StoreEntry | None:
    """The entry at `path` as its marker describes it, or None when the marker is missing or
    unreadable (not an entry). Says nothing about the files: see `read_entry`."""
    try:
        with open(path / MARKER, encoding="utf-8") as file:
            meta = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("version") != MARKER_FORMAT or not isinstance(meta.get("dist_info"), str):
        return None
    return StoreEntry(path=path, meta=meta)


def read_entry(path: Path) -> StoreEntry | None:
    """The usable entry at `path`: a marker, and `site-packages/<dist-info>/RECORD` (the file the
    warm paths check too, so a deleted entry or site-packages is noticed before the program
    imports)."""
    entry = read_marker(path)
    if entry is None or not os.path.isfile(record_path(entry)):
        return None
    return entry


def record_path(entry: StoreEntry) -> str:
    return os.path.join(entry.path, LIB, entry.meta["dist_info"], "RECORD")


def damage(path: Path) -> str | None:
    """Why the directory at `path` is not a usable entry (None if it is one or does not exist)."""
    if not os.path.isdir(path):
        return None
    entry = read_marker(path)
    if entry is None:
        if _marker_format(path) not in (None, MARKER_FORMAT):
            return f"it was written by another monotrail (store format {_marker_format(path)}, this one reads {MARKER_FORMAT})"
        return f"its marker {MARKER} is missing or unreadable"
    if not os.path.isdir(path / LIB):
        return f"its {LIB}/ directory is missing"
    if not os.path.isfile(record_path(entry)):
        return f"{LIB}/{entry.meta['dist_info']}/RECORD is missing"
    return None


def _marker_format(path: Path) -> object | None:
    """The format version a marker states, if it is a JSON object at all."""
    try:
        with open(path / MARKER, encoding="utf-8") as file:
            meta = json.load(file)
    except (OSError, ValueError):
        return None
    return meta.get("version") if isinstance(meta, dict) else None


@contextmanager
def gc_lock(root: Path, shared: bool) -> Iterator[None]:
    """`<root>/locks/gc.lock`: shared for a cold run, exclusive for gc, clean and repair."""
    import fcntl

    descriptor = _open_lock_file(root / "locks" / "gc.lock")
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("monotrail: waiting for `monotrail store gc` (or another store command) to finish")
            fcntl.flock(descriptor, mode)
        yield
    finally:
        os.close(descriptor)


def _open_lock_file(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(os_error_text(exc, path), where=str(path), hint=_STORE_HINT) from None


@contextmanager
def private_umask() -> Iterator[None]:
    """Nothing the store writes is group- or world-writable, whatever the user's umask."""
    old = os.umask(0o022)
    os.umask(old | 0o022)
    try:
        yield
    finally:
        os.umask(old)


def ensure_installed(
    selected: Sequence["Selected"],
    sources: "Sources",
    root: Path,
    progress: bool,
    *,
    tags: Sequence[str] = (),
    interpreter: object = None,
    building: tuple[str, ...] = (),
    builder: Builder | None = None,
) -> list[StoreEntry]:
    """A store entry for every selected wheel, same order as `selected`, directory sources skipped.

    `tags` (the interpreter's, best first) are needed only for requirements.txt-style artifacts
    that carry allowed hashes but no filename (`Artifact(filename="")`). `building`: the sdist
    builds these are the build requirements of (see `monotrail.builds.sdist`). `builder`: for sdists
    and source trees, which only a caller that may build passes.
    """
    wheels = [s for s in selected if s.directory is None]
    tags = tuple(tags) or tuple(getattr(interpreter, "tags", None) or ())  # an sdist's builds must fit them
    entries: list[StoreEntry | None] = [_present_entry(root, s, tags) for s in wheels]
    missing = [i for i, entry in enumerate(entries) if entry is None]
    if not missing:
        return [e for e in entries if e is not None]
    started = time.perf_counter()
    for i in missing:
        _warn_if_damaged(root, wheels[i])
    remove_stale_temp(root)
    with private_umask():
        installed = _install_missing([wheels[i] for i in missing], sources, root, progress, tags, interpreter, building, builder)
    for i, entry in zip(missing, installed):
        entries[i] = entry
    elapsed = time.perf_counter() - started
    log.debug(f"store: {len(missing)} of {len(wheels)} wheels needed a lookup, download or unpack ({elapsed:.2f} s)")
    return [e for e in entries if e is not None]


def stored_entries(selected: Sequence["Selected"], root: Path, tags: Sequence[str]) -> list[StoreEntry] | None:
    """The entries of every selected wheel (directory sources skipped) when all are stored, found
    as `ensure_installed` finds them first (one marker read each, no index); None when any is
    not. The cold path asks this before it configures an index it would not use."""
    entries = [_present_entry(root, item, tuple(tags)) for item in selected if item.directory is None]
    return None if any(entry is None for entry in entries) else [entry for entry in entries if entry is not None]


def _present_entry(root: Path, selected: "Selected", tags: Sequence[str] = ()) -> StoreEntry | None:
    """The entry when the lock pins its hash, without any I/O beyond one marker read (an sdist's:
    one listing and a marker read per build of it)."""
    if getattr(selected, "build", None):
        return None  # a source to build: the built wheel's cache decides (cheap when it is there)
    artifact = _artifact_of(selected)
    sha256 = artifact.sha256
    if sha256 is None:
        return None
    if not artifact.filename:
        allowed = {digest.lower() for algorithm, digest in artifact.hashes if algorithm == "sha256"}
        return _stored_fitting(root, selected, allowed, selected.tags)
    if is_sdist(artifact.filename):
        return _stored_fitting(root, selected, {sha256.lower()}, tags)
    return _usable(read_entry(entry_path(root, selected.name, selected.version, sha256)), selected)


def _stored_fitting(root: Path, selected: "Selected", allowed: set[str], tags: Sequence[str]) -> StoreEntry | None:
    """The best-tagged stored entry of the selection's name and version whose artifact has an
    allowed sha256 and whose wheel fits the target's `tags` (best first).

    For a pin that names no file but allowed hashes (requirements.txt `--hash`), one listing of
    `<root>/store/<name>/<version>/` instead of an index request per package: the entry ids start
    with the hashes' first 16 hex digits, and the marker states the full sha256 and the wheel's
    file name. Like pip and uv, which keep an installed distribution that satisfies a pin rather
    than look for a better-tagged file of the same version, a stored entry that fits is used even
    when the index may have a file with better tags: only a pin with no fitting stored entry asks
    the index (`IndexClient.find_pinned_file`).

    For an sdist (the only hash allowed: the sdist's), its builds (`built_entry_id`): the build
    made for another interpreter (`cp38-cp38-...` for 3.12) does not fit and is not used.
    """
    from monotrail.selection import wheel_tags

    ids = {digest[:16] for digest in allowed}
    ranks = {tag: number for number, tag in enumerate(tags)}
    try:
        names = os.listdir(root / "store" / normalize(selected.name) / selected.version)
    except OSError:
        return None
    best: tuple[int, StoreEntry] | None = None
    for name in names:
        if name[:16] not in ids:
            continue
        entry = _usable(read_entry(root / "store" / normalize(selected.name) / selected.version / name), selected)
        if entry is None or str(entry.meta.get("sha256", "")).lower() not in allowed:
            continue
        rank = min((ranks[tag] for tag in wheel_tags(str(entry.meta.get("wheel", ""))) or () if tag in ranks), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, entry)
    return best[1] if best is not None else None


def _usable(entry: StoreEntry | None, selected: Pinned) -> StoreEntry | None:
    """`entry`, unless the selection wants a direct_url.json (PEP 610) the entry does not have
    (an entry written before monotrail wrote them: unpacked again in place)."""
    wanted = getattr(selected, "direct_url", None)
    if entry is None or wanted is None or entry.meta.get("direct_url") == json.loads(wanted):
        return entry
    return None


def _warn_if_damaged(root: Path, selected: "Selected") -> None:
    if getattr(selected, "build", None):
        return
    sha256 = _artifact_of(selected).sha256
    if sha256 is None:
        return
    path = entry_path(root, selected.name, selected.version, sha256)
    problem = damage(path)
    if problem is not None and _marker_format(path) not in (None, MARKER_FORMAT):
        log.debug(f"store: reinstalling {selected.name}=={selected.version}: {problem}")  # an upgrade's expected work
    elif problem is not None:
        log.info(f"warning: the store entry of {selected.name}=={selected.version} is damaged ({problem}); reinstalling it")


def _artifact_of(selected: "Selected") -> Artifact:
    if selected.artifact is None:
        raise StoreError(
            f"{selected.name}=={selected.version} has neither a wheel nor a directory",
            hint="this is a bug in lock selection; please report it",
        )
    return selected.artifact


def _install_missing(
    wheels: Sequence["Selected"], sources: "Sources", root: Path, progress: bool, tags: Sequence[str],
    interpreter: object = None, building: tuple[str, ...] = (), builder: Builder | None = None,
) -> list[StoreEntry]:
    from concurrent.futures import ThreadPoolExecutor

    from monotrail.store.download import Progress
    from monotrail.store.index import IndexClient

    index = IndexClient(sources, root)
    # Biggest first: the unpacking of the biggest wheel (scipy's 35 MB of data-science's 88) is
    # the end of a cold install; started last, as the lock's alphabetical order has it, it waited
    # for a free thread and then for an unpack thread behind the smaller ones.
    sizes = [_size_of(selected) for selected in wheels]
    order = sorted(range(len(wheels)), key=lambda i: -sizes[i])
    pool = ThreadPoolExecutor(max_workers=min(WORKERS, len(wheels)), thread_name_prefix="monotrail-store")
    try:
        with Progress(progress) as bar:
            futures = {i: pool.submit(_install_one, wheels[i], index, root, bar, tags, interpreter, building, builder)
                       for i in order}
            # Import the unpacker here, while the downloads are in flight, not in the first
            # thread whose download ends, with every other thread queued on the import lock;
            # but once the HTTP client exists (made here, or waited for from the thread that
            # began it): the unpacker's imports (installer, email: ~40 ms holding the GIL) made
            # while the first thread imported httpx held up the first request by as much.
            if any(_fetches(item, index, root) for item in wheels):
                index.client()
            from monotrail.store import wheel  # noqa: F401

            return [futures[i].result() for i in range(len(wheels))]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on the first error, drop what has not started
        index.close()
        _unpackers.shutdown()


def _fetches(selected: "Selected", index: "IndexClient", root: Path) -> bool:
    """Whether installing `selected` likely takes the HTTP client: a wheel or sdist with an
    http(s) URL, or none (an index lookup), that the download cache does not hold; not a local
    file, a source to build, or anything under --offline."""
    from monotrail.store.download import downloaded_path

    artifact = getattr(selected, "artifact", None)
    if artifact is None or getattr(selected, "build", None) or artifact.path or index.sources.offline:
        return False
    if artifact.url and not artifact.url.startswith(("https://", "http://")):
        return False
    return not (artifact.sha256 and downloaded_path(root, artifact.sha256).is_file())


def _size_of(selected: "Selected") -> int:
    """The artifact's size as the lock states it (uv.lock and pylock.toml do), else 0."""
    artifact = getattr(selected, "artifact", None)
    return getattr(artifact, "size", None) or 0


def _install_one(
    selected: "Selected", index: "IndexClient", root: Path, bar: "Progress", tags: Sequence[str],
    interpreter: object = None, building: tuple[str, ...] = (), builder: Builder | None = None,
) -> StoreEntry:
    try:
        return _lookup_download_unpack(selected, index, root, bar, tags, interpreter, building, builder)
    except OSError as exc:
        raise StoreError(
            f"cannot install {selected.name}=={selected.version}: {os_error_text(exc, root)}", hint=_STORE_HINT
        ) from None


def _lookup_download_unpack(
    selected: "Selected", index: "IndexClient", root: Path, bar: "Progress", tags: Sequence[str],
    interpreter: object = None, building: tuple[str, ...] = (), builder: Builder | None = None,
) -> StoreEntry:
    from monotrail.store.download import download

    if getattr(selected, "build", None):
        return _build_source_into_store(selected, index, root, interpreter, building, builder)
    artifact = _resolve(selected, index, root, tags)
    if artifact.url and not artifact.path:
        index.check_url(artifact.url)
    sha256 = artifact.sha256
    if sha256 is None:  # a lock without hashes: the file names its own entry once downloaded
        wheel = download(artifact, root, client=index.client, offline=index.sources.offline, progress=bar)
        sha256 = wheel.name[: -len(".whl")]
    with artifact_lock(root, sha256):
        crash_point("store-lock-held")
        if is_sdist(artifact.filename):
            present = _stored_fitting(root, selected, {sha256.lower()}, tags)
        else:
            present = _usable(read_entry(entry_path(root, selected.name, selected.version, sha256)), selected)
        if present is not None:
            return present  # another process finished it while we waited
        wheel = download(artifact, root, client=index.client, offline=index.sources.offline, progress=bar)
        if is_sdist(artifact.filename):
            return _build_into_store(selected, artifact, wheel, index, root, interpreter, building, builder)
        return unpack_into_store(selected, artifact.filename, wheel, root)


def _build_into_store(selected: "Selected", artifact: Artifact, sdist: Path, index: "IndexClient", root: Path,
                      interpreter: object, building: tuple[str, ...] = (), builder: Builder | None = None) -> StoreEntry:
    """An sdist: build its wheel for `interpreter` (cached in `<root>/built/<sdist sha256>/`), then
    unpack it under the sdist's hash and the wheel's tags (`built_entry_id`), so the next run of
    an interpreter the build fits finds the entry without building, and one it does not fit builds
    its own. The caller holds the sdist's artifact lock."""
    if interpreter is None or builder is None:
        raise StoreError(f"{artifact.filename} is an sdist and no interpreter or builder was given to build it",
                         hint="this is a bug in the caller: pass the interpreter and a builder to ensure_installed")
    built = builder.sdist_wheel(sdist, artifact, interpreter, index.sources, root, building)
    _check_build_fits(built, artifact.filename, interpreter)
    return unpack_build_into_store(selected, built, sdist.name[: -len(".whl")], root)


def _check_build_fits(built: Path, sdist_name: str, interpreter: object) -> None:
    """A wheel built for the target must be installable by it, as uv refuses one ("The built
    wheel ... is not compatible with the current Python"): the backend may tag it for another
    interpreter or platform, and storing it would leave the next run no build it can use."""
    from monotrail.selection import wheel_tags

    supported = set(getattr(interpreter, "tags", None) or ())
    if supported and not supported.intersection(wheel_tags(built.name) or ()):
        describe = getattr(interpreter, "describe", None)
        target = describe() if callable(describe) else "the target interpreter"
        raise StoreError(f"{sdist_name} built {built.name}, which is not compatible with {target}",
                         hint="the package's build backend tagged its wheel for another Python or platform; "
                              "lock a wheel that fits this interpreter, or run another Python")


def unpack_build_into_store(selected: Pinned, built: Path, sdist_sha256: str, root: Path,
                            replace: bool = False, entry_id: str | None = None) -> StoreEntry:
    """Unpack `built`, a wheel built from the sdist `sdist_sha256`, as its entry `built_entry_id`
    (the marker's sha256 is the sdist's: the hash the lock names). The caller holds the sdist's
    artifact lock; a usable entry already there (the same tags built by another interpreter whose
    lookup did not see it fit) is kept, unless `replace`. `store verify --repair` replaces a
    damaged entry in place, under its own `entry_id` (an older monotrail's: the sdist's hash alone)."""
    final = entry_path(root, selected.name, selected.version, sdist_sha256).parent / (
        entry_id or built_entry_id(sdist_sha256, built.name))
    present = None if replace else _usable(read_entry(final), selected)
    if present is not None:
        return present
    return _unpack_copy(selected, built, sdist_sha256.lower(), root, entry_id=final.name)


def _unpack_copy(selected: Pinned, wheel: Path, sha256: str, root: Path, entry_id: str | None = None) -> StoreEntry:
    """Unpack a built `wheel` from a copy named `<sha256>.whl` in a temp dir of the store, as
    `unpack_into_store` takes it; the copy is removed afterwards."""
    import shutil

    staging = new_temp_dir(root)
    try:
        staged = staging / f"{sha256}.whl"
        shutil.copyfile(wheel, staged)
        return unpack_into_store(selected, wheel.name, staged, root, entry_id=entry_id)
    finally:
        _rmtree(staging)


def _build_source_into_store(selected: "Selected", index: "IndexClient", root: Path, interpreter: object,
                             building: tuple[str, ...] = (), builder: Builder | None = None) -> StoreEntry:
    """A git or source-tree reference: its wheel (built once, cached by commit or tree hash),
    unpacked under the built wheel's own hash and version."""
    from monotrail.store import direct
    from monotrail.store.index import file_sha256

    if interpreter is None or builder is None:
        raise StoreError(f"{selected.name} must be built from source and no interpreter or builder was given to build it",
                         hint="this is a bug in the caller: pass the interpreter and a builder to ensure_installed")
    ref = direct.from_locked(selected.build, None) if not str(selected.build).startswith("file:") else \
        direct.parse(str(selected.build))
    if ref is None:
        raise StoreError(f"{selected.name}: no source to build", hint="this is a bug in lock selection; please report it")
    if ref.kind == "git" and ref.commit is None:  # direct_url.json names the commit
        ref = direct.resolve_git(ref, root, offline=index.sources.offline)
    wheel = builder.source_wheel(ref, selected.name, interpreter, index.sources, root, building)
    sha256 = file_sha256(wheel)
    built = selected.replace(version=direct.wheel_version(wheel), direct_url=direct.direct_url(ref))
    with artifact_lock(root, sha256):
        present = _usable(read_entry(entry_path(root, built.name, built.version, sha256)), built)
        if present is not None:
            return present
        return _unpack_copy(built, wheel, sha256, root)


def _resolve(selected: "Selected", index: "IndexClient", root: Path, tags: Sequence[str]) -> Artifact:
    """Give the artifact a location: the lock's URL/path, else the index by filename or by hashes."""
    from monotrail.store.download import downloaded_path

    artifact = _artifact_of(selected)
    if artifact.url or artifact.path:
        return artifact
    if artifact.filename and artifact.sha256 and downloaded_path(root, artifact.sha256).is_file():
        return artifact  # the download cache has it: no lookup needed
    if artifact.filename:
        found = index.find_file(selected.name, artifact.filename, selected.index)
        # The lock's hashes are the authority; the index's serve only when the lock has none.
        return Artifact(artifact.filename, found.url, artifact.hashes or found.hashes, found.size, found.path)
    if not tags:
        raise StoreError(
            f"{selected.name}=={selected.version} names no file, and no interpreter tags were given to choose one",
            hint="this is a bug in the caller: pass the interpreter's tags to ensure_installed",
        )
    allowed = [digest for algorithm, digest in artifact.hashes if algorithm == "sha256"]
    return index.find_pinned_file(selected.name, selected.version, allowed, tags, selected.index)


def unpack_into_store(selected: Pinned, filename: str, wheel: Path, root: Path, entry_id: str | None = None) -> StoreEntry:
    """Unpack `wheel` (named `<sha256>.whl`; `filename` is its real name) as the entry of that
    hash, or of `entry_id` (a build of an sdist: `built_entry_id`)."""
    from monotrail.store import wheel as wheels

    sha256 = wheel.name[: -len(".whl")]
    _check_project(selected, filename)
    final = entry_path(root, selected.name, selected.version, sha256)
    if entry_id is not None:
        final = final.parent / entry_id
    temp = None
    try:
        temp = new_temp_dir(root)
        crash_point("store-temp-created")
        meta = {"version": MARKER_FORMAT, "name": normalize(selected.name), "version_": selected.version}
        direct_url = getattr(selected, "direct_url", None)
        added = {"direct_url.json": direct_url.encode("utf-8")} if direct_url else {}
        meta.update(_unpackers.unpack(wheel, filename, temp, (selected.name, selected.version), added))
        meta["sha256"] = sha256
        if direct_url:
            meta["direct_url"] = json.loads(direct_url)
        crash_point("store-before-marker")
        _write_json(temp / MARKER, meta)
        crash_point("store-marker-written")
        _move_into_place(temp, final, root)
        crash_point("store-renamed")
    except OSError as exc:
        text = os_error_text(exc, final, needed=wheels.unpacked_size(wheel))
        raise StoreError(f"cannot write the store entry of {selected.name}=={selected.version}: {text}", hint=_STORE_HINT) from None
    finally:
        if temp is not None and temp.exists():
            _rmtree(temp)
    log.debug(f"store: unpacked {filename} into {final}")
    return StoreEntry(path=final, meta=meta)


class _Unpackers:
    """Threads for big wheels, one per core, started on first need and shared by the store threads."""

    def __init__(self) -> None:
        # threading.Lock itself: threading is not imported on every cold run for this one lock
        from _thread import allocate_lock

        self._lock = allocate_lock()
        self._pool: Any | None = None  # a ThreadPoolExecutor, made on the first big wheel

    def unpack(self, wheel: Path, filename: str, target: Path, expected: tuple[str, str],
               metadata: dict[str, bytes]) -> dict[str, object]:
        from monotrail.store import wheel as wheels

        cores = os.cpu_count() or 1
        size = wheel.stat().st_size
        if cores < 2 or size < _process_unpack_min_bytes():
            return wheels.unpack(wheel, filename, target, expected, metadata)
        pool = self._threads(cores)
        if size < _split_min_bytes():
            return pool.submit(wheels.unpack, wheel, filename, target, expected, metadata).result()
        from concurrent.futures import wait

        runs = wheels.split_members(wheel, cores)
        others = [pool.submit(wheels.unpack_members, wheel, filename, target, run) for run in runs[1:]]
        main = pool.submit(wheels.unpack, wheel, filename, target, expected, metadata, frozenset().union(*runs[1:]))
        wait([main, *others])  # every part done (or failed) before the caller may remove `target`
        return wheels.finish_split(target, main.result(), [part.result() for part in others])

    def _threads(self, cores: int):
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(cores, thread_name_prefix="monotrail-unpack")
            return self._pool

    def shutdown(self) -> None:
        """Stop the unpack threads (no process is started: the program the launcher execs next
        inherits no child of ours)."""
        with self._lock:
            if self._pool is None:
                return
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _split_min_bytes() -> int:
    value = os.environ.get("MONOTRAIL_SPLIT_UNPACK_MIN_BYTES", "")
    return int(value) if value.isdigit() else SPLIT_UNPACK_MIN_BYTES


def _process_unpack_min_bytes() -> int:
    value = os.environ.get("MONOTRAIL_PROCESS_UNPACK_MIN_BYTES", "")
    return int(value) if value.isdigit() else PROCESS_UNPACK_MIN_BYTES


_unpackers = _Unpackers()


def _check_project(selected: Pinned, filename: str) -> None:
    """The wheel's file name must state the selected name and (when the lock gives one) version,
    whatever the lock says about its files: a poetry.lock 1.1 that handed idna 3.4 the files of
    2.10 was installed as 3.4. `wheel.unpack` checks the same of its METADATA."""
    from monotrail.store.wheel import check_name_version, name_version

    name, version = name_version(filename)
    check_name_version(selected.name, selected.version, name, version, filename)


def _move_into_place(temp: Path, final: Path, root: Path) -> None:
    """Rename; a directory already there that is not a usable entry is moved aside first (we hold
    the artifact's lock, so nobody else is writing it) and removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(temp, final)
    except OSError:
        if not final.exists():
            raise
        aside = new_temp_dir(root, create=False)
        os.rename(final, aside)
        crash_point("store-moved-aside")
        os.rename(temp, final)
        _rmtree(aside)
    fsync_directory(final.parent)


def _write_json(path: Path, data: dict[str, object]) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1, sort_keys=False)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())


def new_temp_dir(root: Path, create: bool = True) -> Path:
    """`<root>/tmp/<pid>-<hex>`: the pid lets a later run tell a dead install's leftovers.

    os.urandom rather than uuid4: `import uuid` cost 1.5 ms on every cold run, even those
    that create no temp dir."""
    temp = root / "tmp" / f"{os.getpid()}-{os.urandom(8).hex()}"
    if create:
        temp.mkdir(parents=True, mode=0o755)
    return temp


@contextmanager
def artifact_lock(root: Path, sha256: str) -> Iterator[None]:
    """Exclusive flock on `<root>/locks/<sha256>.lock`; lock files are never deleted (deleting
    one while another process waits on it would let a third lock a different inode)."""
    import fcntl

    descriptor = _open_lock_file(root / "locks" / f"{sha256.lower()}.lock")
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.debug(f"store: waiting for another process installing {sha256[:16]}")
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def remove_stale_temp(root: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Remove `<root>/tmp/[env-]<pid>-*` left by dead processes or older than `max_age`; return count.

    Best effort: a failure to remove garbage must never fail an install.
    """
    temp_root = root / "tmp"
    try:
        children = list(temp_root.iterdir())
    except OSError:
        return 0
    removed = 0
    now = time.time()
    for child in children:
        if _is_stale(child, now, max_age):
            _remove(child)
            removed += 1
    return removed


def _is_stale(path: Path, now: float, max_age: float) -> bool:
    import psutil

    pid_text = owner_pid(path.name)
    try:
        if now - path.lstat().st_mtime > max_age:
            return True
    except OSError:
        return False
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    return not psutil.pid_exists(int(pid_text))


def owner_pid(name: str) -> str:
    """`1234-ab12.part`, `env-1234-xyz`: the pid part of a temp name (may be "" or not a number)."""
    parts = name.split("-", 2)
    return parts[1] if parts[0] == "env" and len(parts) > 1 else parts[0]


def _rmtree(path: Path) -> None:
    """shutil.rmtree, ignoring errors; shutil (with bz2 and lzma) imported only when a tree is
    removed: the path where every entry is already stored never does."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            _rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass


__all__ = ["Builder", "StoreEntry", "damage", "ensure_installed", "gc_lock", "read_entry", "read_marker", "remove_stale_temp"]
