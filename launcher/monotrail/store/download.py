"""Downloads: streamed, hash-checked, retried, cached under `<root>/downloads/<sha256>.whl`.

A file becomes visible under `downloads/` only after its hash matched the lock: it is streamed
into `<root>/tmp/` (same filesystem, so the final `os.replace` is atomic) and renamed when
verified. A wrong hash is never stored. Because the name *is* the hash, a file already present
is reused without the network and needs no re-check.

Local files (`file://` URLs, find-links directories) are copied rather than hardlinked: the copy
is what gets hashed, so a source edited after the check cannot change what the store holds.
Parallelism is the caller's (store.py runs downloads in a thread pool sharing one httpx client).
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.parse
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from monotrail.errors import DownloadError, StoreError
from monotrail.faults import crash_point
from monotrail.store.index import check_status, redact_url, with_retries
from monotrail.lock.model import Artifact

if TYPE_CHECKING:  # pragma: no cover
    import httpx

CHUNK = 1 << 20


class Progress:
    """Byte progress per file with `rich`, or nothing: silent unless stderr is a terminal.

    rich's Progress is thread-safe for `add_task`/`advance`, which the download threads call.
    """

    def __init__(self, enabled: bool) -> None:
        self._rich = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress as RichProgress, TextColumn

            self._rich = RichProgress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                console=Console(stderr=True), transient=True,
            )

    def __enter__(self) -> "Progress":
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._rich is not None:
            self._rich.stop()

    def start(self, description: str, total: int | None) -> Any:  # rich's TaskID, or None
        return None if self._rich is None else self._rich.add_task(description, total=total)

    def advance(self, task: Any, amount: int) -> None:
        if self._rich is not None and task is not None:
            self._rich.advance(task, amount)

    def finish(self, task: Any) -> None:
        if self._rich is not None and task is not None:
            self._rich.remove_task(task)


def downloaded_path(root: Path, sha256: str) -> Path:
    return root / "downloads" / f"{sha256.lower()}.whl"


def download(
    artifact: Artifact,
    root: Path,
    *,
    client: Callable[[], "httpx.Client"] | None = None,
    offline: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Return `<root>/downloads/<sha256>.whl` for `artifact`, fetching it only when absent.

    Every hash the lock gives (sha256, and any other algorithm hashlib knows) is checked; with no
    hash at all the file is accepted and stored under the sha256 it turned out to have.
    `client` is a factory, called only when the network is needed: a run served entirely from
    the download cache never creates a client (or imports httpx).
    """
    expected = artifact.sha256
    if expected and downloaded_path(root, expected).is_file():
        return downloaded_path(root, expected)
    local = _local_source(artifact)
    if local is not None:
        return _store_verified(artifact, root, lambda out, hashers: _copy_local(local, out, hashers), str(local))
    if not artifact.url:
        raise DownloadError(f"no URL or path for {artifact.filename}", hint="look the file up on the index first")
    if offline:
        raise DownloadError(
            f"{artifact.filename} is not in the store or the download cache and --offline forbids fetching it",
            where=redact_url(artifact.url),
            hint="run once without --offline",
        )
    if client is None:
        raise DownloadError(f"no HTTP client to fetch {artifact.filename}")
    url, http = artifact.url, client()
    return _store_verified(artifact, root, lambda out, hashers: _fetch(http, url, artifact, out, hashers, progress), url)


def _local_source(artifact: Artifact) -> Path | None:
    if artifact.path:
        return Path(artifact.path)
    if artifact.url and artifact.url.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(artifact.url).path))
    if artifact.url and "://" not in artifact.url:
        return Path(artifact.url)
    return None


def _hashers(artifact: Artifact) -> dict[str, "hashlib._Hash"]:
    hashers = {"sha256": hashlib.sha256()}
    for algorithm, _ in artifact.hashes:
        if algorithm not in hashers and algorithm in hashlib.algorithms_available:
            hashers[algorithm] = hashlib.new(algorithm)
    return hashers


def _store_verified(
    artifact: Artifact, root: Path, write: Callable[[Path, dict[str, "hashlib._Hash"]], None], source: str
) -> Path:
    """Write into a temp file via `write(out, hashers)`, check the hashes, then rename."""
    temp = root / "tmp" / f"{os.getpid()}-{os.urandom(8).hex()}.part"
    try:
        temp.parent.mkdir(parents=True, exist_ok=True)
        hashers = _hashers(artifact)
        write(temp, hashers)
        _check_hashes(artifact, hashers, source)
        crash_point("download-verified")
        final = downloaded_path(root, hashers["sha256"].hexdigest())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        crash_point("download-renamed")
        return final
    except OSError as exc:
        from monotrail.errors import os_error_text

        text = os_error_text(exc, temp, needed=artifact.size)
        raise StoreError(f"cannot store the download of {artifact.filename}: {text}",
                         hint="free some space or make MONOTRAIL_ROOT writable; nothing was stored") from None
    finally:
        temp.unlink(missing_ok=True)  # after a successful rename, a no-op


def _check_hashes(artifact: Artifact, hashers: dict[str, "hashlib._Hash"], source: str) -> None:
    for algorithm, expected in artifact.hashes:
        hasher = hashers.get(algorithm)
        if hasher is None:
            continue
        actual = hasher.hexdigest()
        if actual != expected.lower():
            raise DownloadError(
                f"hash mismatch for {artifact.filename}: expected {algorithm}:{expected}, got {algorithm}:{actual}",
                where=redact_url(source),
                hint="the file changed since the lock was written, or the lock is wrong: nothing was stored; "
                "re-lock if the new file is trusted",
            )


def _copy_local(source: Path, out: Path, hashers: dict[str, "hashlib._Hash"]) -> None:
    try:
        with open(source, "rb") as src, open(out, "wb") as dst:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                _write(dst, chunk, hashers)
            _finish(dst)
    except FileNotFoundError:
        raise DownloadError("local file does not exist", where=str(source), hint="check the lock's path") from None


def _fetch(
    client: "httpx.Client",
    url: str,
    artifact: Artifact,
    out: Path,
    hashers: dict[str, "hashlib._Hash"],
    progress: Progress | None,
) -> None:
    """Stream with retries; each attempt starts over with fresh hashers and an empty file."""

    def attempt() -> None:
        for name in list(hashers):
            hashers[name] = hashlib.new(name)
        with client.stream("GET", url) as response:
            check_status(response)
            if response.status_code != 200:
                raise DownloadError(
                    f"cannot download {artifact.filename}: HTTP {response.status_code}",
                    where=redact_url(url),
                    hint="the file is gone from the index or the credentials are wrong; re-lock or check access",
                )
            total = _int_or_none(response.headers.get("Content-Length")) or artifact.size
            task = progress.start(_short_name(artifact.filename), total) if progress else None
            try:
                with open(out, "wb") as dst:
                    for chunk in response.iter_bytes(CHUNK):
                        _write(dst, chunk, hashers)
                        if progress:
                            progress.advance(task, len(chunk))
                    _finish(dst)
            finally:
                if progress:
                    progress.finish(task)

    with_retries(attempt, url, DownloadError, f"downloading {artifact.filename}")


def _write(dst: IO[bytes], chunk: bytes, hashers: dict[str, "hashlib._Hash"]) -> None:
    dst.write(chunk)
    crash_point("download-chunk-written")
    for hasher in hashers.values():
        hasher.update(chunk)


def _finish(dst: IO[bytes]) -> None:
    """Flushed, not fsynced: a download that a power loss truncates fails the RECORD check when
    it is unpacked (every member is hashed then), so durability buys no safety here, and an fsync
    per wheel made cold installs wait for the disk (the data-science stack writes ~90 MB)."""
    dst.flush()


def _short_name(filename: str) -> str:
    """`numpy 2.1.3` instead of a 70-character wheel name that would crowd out the bar."""
    return " ".join(filename.split("-")[:2])


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
