"""The global store: each locked wheel unpacked once, under `<root>/store/<name>/<version>/<id>/`.

Rules (docs/architecture.md, DESIGN.md "The store"):
- An entry exists only with its marker `monotrail.json`. It is built in `<root>/tmp/<pid>-<hex>/`,
  the marker written last, then renamed into place (same filesystem: atomic).
- One `fcntl.flock` per artifact in `<root>/locks/<sha256>.lock` is held over download + unpack,
  so a second process waits and then finds the entry instead of unpacking it again.
- Entries with a marker are reused without the network; a run with nothing to install touches
  no lock, no temp dir, and imports neither httpx nor installer.
- Temp dirs left by killed installs (owner pid dead, or older than an hour) are removed
  opportunistically when there is something to install.

Work runs in a thread pool (8 workers): lookup, download and unpack of one artifact per task, so
unpacking one wheel overlaps downloading others; zlib and file I/O release the GIL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence

from monotrail import log
from monotrail.errors import StoreError, WheelError
from monotrail.lock import Artifact

if TYPE_CHECKING:  # pragma: no cover
    from monotrail.download import Progress
    from monotrail.index import IndexClient, Sources
    from monotrail.selection import Selected

MARKER = "monotrail.json"
MARKER_FORMAT = 1
WORKERS = 8
STALE_TEMP_SECONDS = 3600.0
_STORE_HINT = "check that MONOTRAIL_ROOT (or the cache directory) is writable and has free space"


@dataclass(frozen=True)
class StoreEntry:
    path: Path  # <root>/store/<name>/<version>/<artifact-id>
    meta: dict  # the parsed marker file

    @property
    def lib(self) -> Path:
        return self.path / "lib"


def normalize_name(name: str) -> str:
    """PEP 503 (the same rule as monotrail.index, kept here so this module stays import-light)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def entry_path(root: Path, name: str, version: str, sha256: str) -> Path:
    return root / "store" / normalize_name(name) / version / sha256.lower()[:16]


def read_entry(path: Path) -> Optional[StoreEntry]:
    """The entry at `path`, or None when its marker is missing or unreadable (not an entry)."""
    try:
        with open(path / MARKER, encoding="utf-8") as file:
            meta = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("version") != MARKER_FORMAT:
        return None
    return StoreEntry(path=path, meta=meta)


def ensure_installed(
    selected: Sequence["Selected"],
    sources: "Sources",
    root: Path,
    progress: bool,
    *,
    tags: Sequence[str] = (),
) -> List[StoreEntry]:
    """A store entry for every selected wheel, same order as `selected`, directory sources skipped.

    `tags` (the interpreter's, best first) are needed only for requirements.txt-style artifacts
    that carry allowed hashes but no filename (`Artifact(filename="")`).
    """
    wheels = [s for s in selected if s.directory is None]
    entries: List[Optional[StoreEntry]] = [_present_entry(root, s) for s in wheels]
    missing = [i for i, entry in enumerate(entries) if entry is None]
    if not missing:
        return [e for e in entries if e is not None]
    started = time.perf_counter()
    remove_stale_temp(root)
    installed = _install_missing([wheels[i] for i in missing], sources, root, progress, tags)
    for i, entry in zip(missing, installed):
        entries[i] = entry
    elapsed = time.perf_counter() - started
    log.debug(f"store: {len(missing)} of {len(wheels)} wheels needed a lookup, download or unpack ({elapsed:.2f} s)")
    return [e for e in entries if e is not None]


def _present_entry(root: Path, selected: "Selected") -> Optional[StoreEntry]:
    """The entry when the lock pins its hash, without any I/O beyond one marker read."""
    artifact = _artifact_of(selected)
    sha256 = artifact.sha256
    if sha256 is None or (not artifact.filename and _sha256_count(artifact) > 1):
        return None  # several allowed hashes: which one is ours needs the tags and the index
    return read_entry(entry_path(root, selected.name, selected.version, sha256))


def _artifact_of(selected: "Selected") -> Artifact:
    if selected.artifact is None:
        raise StoreError(
            f"{selected.name}=={selected.version} has neither a wheel nor a directory",
            hint="this is a bug in lock selection; please report it",
        )
    return selected.artifact


def _sha256_count(artifact: Artifact) -> int:
    return sum(1 for algorithm, _ in artifact.hashes if algorithm == "sha256")


def _install_missing(
    wheels: Sequence["Selected"], sources: "Sources", root: Path, progress: bool, tags: Sequence[str]
) -> List[StoreEntry]:
    from concurrent.futures import ThreadPoolExecutor

    from monotrail.download import Progress
    from monotrail.index import IndexClient

    index = IndexClient(sources, root)
    pool = ThreadPoolExecutor(max_workers=min(WORKERS, len(wheels)), thread_name_prefix="monotrail-store")
    try:
        with Progress(progress) as bar:
            futures = [pool.submit(_install_one, s, index, root, bar, tags) for s in wheels]
            return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on the first error, drop what has not started
        index.close()


def _install_one(
    selected: "Selected", index: "IndexClient", root: Path, bar: "Progress", tags: Sequence[str]
) -> StoreEntry:
    try:
        return _lookup_download_unpack(selected, index, root, bar, tags)
    except OSError as exc:
        raise StoreError(
            f"cannot install {selected.name}=={selected.version}: {exc}", where=str(root), hint=_STORE_HINT
        ) from None


def _lookup_download_unpack(
    selected: "Selected", index: "IndexClient", root: Path, bar: "Progress", tags: Sequence[str]
) -> StoreEntry:
    from monotrail.download import download

    artifact = _resolve(selected, index, root, tags)
    sha256 = artifact.sha256
    if sha256 is None:  # a lock without hashes: the file names its own entry once downloaded
        wheel = download(artifact, root, client=index.client, offline=index.sources.offline, progress=bar)
        sha256 = wheel.name[: -len(".whl")]
    with artifact_lock(root, sha256):
        present = read_entry(entry_path(root, selected.name, selected.version, sha256))
        if present is not None:
            return present  # another process finished it while we waited
        wheel = download(artifact, root, client=index.client, offline=index.sources.offline, progress=bar)
        return _unpack_into_store(selected, artifact.filename, wheel, root)


def _resolve(selected: "Selected", index: "IndexClient", root: Path, tags: Sequence[str]) -> Artifact:
    """Give the artifact a location: the lock's URL/path, else the index by filename or by hashes."""
    from monotrail.download import downloaded_path

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
    return index.find_wheel_for(selected.name, selected.version, allowed, tags, selected.index)


def _unpack_into_store(selected: "Selected", filename: str, wheel: Path, root: Path) -> StoreEntry:
    from monotrail import wheel as wheels

    sha256 = wheel.name[: -len(".whl")]
    _check_project(selected, filename)
    final = entry_path(root, selected.name, selected.version, sha256)
    temp = _new_temp_dir(root)
    try:
        meta = {"version": MARKER_FORMAT, "name": normalize_name(selected.name), "version_": selected.version}
        meta.update(wheels.unpack(wheel, filename, temp))
        meta["sha256"] = sha256
        _write_json(temp / MARKER, meta)
        _move_into_place(temp, final, root)
    except OSError as exc:
        raise StoreError(f"cannot write the store entry: {exc}", where=str(final), hint=_STORE_HINT) from None
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return StoreEntry(path=final, meta=meta)


def _check_project(selected: "Selected", filename: str) -> None:
    if normalize_name(filename.split("-", 1)[0]) != normalize_name(selected.name):
        raise WheelError(
            f"the lock's {selected.name}=={selected.version} points at a wheel of another project",
            where=filename,
            hint="the lock is inconsistent; re-lock",
        )


def _move_into_place(temp: Path, final: Path, root: Path) -> None:
    """Rename; a directory already there without a marker (not an entry) is moved aside first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(temp, final)
        return
    except OSError:
        if not final.exists():
            raise
    os.rename(final, _new_temp_dir(root, create=False))  # garbage for remove_stale_temp
    os.rename(temp, final)


def _write_json(path: Path, data: Dict[str, object]) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1, sort_keys=False)
        file.write("\n")


def _new_temp_dir(root: Path, create: bool = True) -> Path:
    """`<root>/tmp/<pid>-<hex>`: the pid lets a later run tell a dead install's leftovers.

    os.urandom rather than uuid4: `import uuid` cost 1.5 ms on every cold run, even those
    that create no temp dir."""
    temp = root / "tmp" / f"{os.getpid()}-{os.urandom(8).hex()}"
    if create:
        temp.mkdir(parents=True)
    return temp


@contextmanager
def artifact_lock(root: Path, sha256: str) -> Iterator[None]:
    """Exclusive flock on `<root>/locks/<sha256>.lock`; lock files are never deleted (deleting
    one while another process waits on it would let a third lock a different inode)."""
    import fcntl

    path = root / "locks" / f"{sha256.lower()}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
    """Remove `<root>/tmp/<pid>-*` left by dead processes or older than `max_age`; return count.

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

    pid_text = path.name.split("-", 1)[0]
    try:
        if now - path.lstat().st_mtime > max_age:
            return True
    except OSError:
        return False
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    return not psutil.pid_exists(int(pid_text))


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except OSError:
        pass


__all__ = ["StoreEntry", "ensure_installed", "read_entry", "remove_stale_temp"]
