"""Core metadata (a wheel's METADATA file) for the resolver, fetched as cheaply as the index allows.

In order, stopping at the first that answers:
1. the metadata cache, `<root>/cache/metadata/<sha256 of the wheel>.METADATA` (a wheel never
   changes, so neither does its metadata: no TTL);
2. the store, when the wheel is already unpacked there (`site-packages/<dist-info>/METADATA`);
3. a local file (find-links directory): read from the zip;
4. `<wheel-url>.metadata` (PEP 658/714): fetched when the page advertises it, and tried anyway
   when the page says nothing, because some indexes serve the file without advertising it; a 404
   costs one round trip, and a host that answered one is not asked for unadvertised files again;
5. HTTP range requests on the wheel: the zip's central directory (its tail) and the METADATA
   member, a few kB of a wheel that may weigh 50 MB;
6. the whole wheel, when the server ignores `Range`.

A caller that installs what it resolves (a PEP 723 script, `--with`, `x`: `whole_below`) has a
small wheel downloaded whole instead, before 4 and 5: one request, as for its `.metadata` file
(on this 2-core machine's mirror a 1.2 MB wheel came in 3 ms after the first byte, against a
TLS handshake of 40-50 ms for each new connection), hash-checked and kept in the downloads
cache as any download, so the install that follows needs no network for it.
"""

from __future__ import annotations

import io
import os
import weakref
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from monotrail.errors import IndexError_
from monotrail.store.index import FileDetails, IndexClient, check_status, redact_url, with_retries
from monotrail.lock.model import Artifact

if TYPE_CHECKING:  # pragma: no cover
    import httpx

TAIL_BYTES = 64 * 1024  # one range request covers the central directory of almost every wheel
# A one-interpreter resolution is installed right after (scripts, --with, x, build requirements):
# wheels up to this size are downloaded whole for their metadata (`whole_below`).
WHOLE_WHEEL_BYTES = 2 * 1024 * 1024


def core_metadata(
    client: IndexClient, name: str, version: str, artifact: Artifact, details: FileDetails, root: Path,
    *, whole_below: int = 0,
) -> bytes:
    """The METADATA bytes of `artifact`, a wheel of `name` `version`. `whole_below`: download a
    wheel whose size the page gives, up to this many bytes, whole (see the module's docstring)."""
    cache = cache_path(root, artifact)
    if cache is not None:
        try:
            return cache.read_bytes()
        except OSError:
            pass
    data = _from_store(root, name, version, artifact) or _from_local(artifact)
    if data is None:
        if client.sources.offline:
            raise IndexError_(
                f"offline and the metadata of {artifact.filename} is not cached",
                hint="run once without --offline to fill the cache",
            )
        if artifact.size is not None and artifact.size <= whole_below and artifact.sha256 and artifact.url:
            data = _from_download(client, artifact, root)
        else:
            data = _from_network(client, artifact, details)
    if cache is not None:
        cache_metadata(cache, data, root)
    return data


def cache_path(root: Path, artifact: Artifact) -> Path | None:
    digest = artifact.sha256
    if not digest:
        return None
    return root / "cache" / "metadata" / digest[:2] / f"{digest}.METADATA"


def _from_store(root: Path, name: str, version: str, artifact: Artifact) -> bytes | None:
    digest = artifact.sha256
    if not digest:
        return None
    lib = root / "store" / name / version / digest[:16] / "site-packages"
    try:
        for entry in os.scandir(lib):
            if entry.name.endswith(".dist-info"):
                return (Path(entry.path) / "METADATA").read_bytes()
    except OSError:
        return None
    return None


def _from_local(artifact: Artifact) -> bytes | None:
    if not artifact.path:
        return None
    try:
        with zipfile.ZipFile(artifact.path) as archive:
            return read_metadata_member(archive, artifact.filename)
    except (OSError, zipfile.BadZipFile) as error:
        raise IndexError_(f"cannot read {artifact.filename}: {error}", where=artifact.path) from None


def _from_download(client: IndexClient, artifact: Artifact, root: Path) -> bytes:
    """The wheel downloaded into `<root>/downloads/` (hash-checked there), its METADATA read."""
    from monotrail.store.download import download

    client.check_url(artifact.url or "")
    path = download(artifact, root, client=client.client)
    try:
        with zipfile.ZipFile(path) as archive:
            return read_metadata_member(archive, artifact.filename)
    except (OSError, zipfile.BadZipFile) as error:
        raise IndexError_(f"cannot read {artifact.filename}: {error}", where=str(path)) from None


# Per index client (one resolution), the hosts that answered 404 for a `.metadata` file their
# page did not advertise: not asked for unadvertised files again. PyPI advertises every file it
# has (PEP 714), and a mirror that serves them unadvertised serves them all; one that does not
# (this machine's, in 2026-11) cost a lost round trip per wheel, ~90 for django-app's lock.
_UNADVERTISED_MISSING: weakref.WeakKeyDictionary[IndexClient, set[str]] = weakref.WeakKeyDictionary()


def _from_network(client: IndexClient, artifact: Artifact, details: FileDetails) -> bytes:
    url = artifact.url or ""
    client.check_url(url)
    host = url.split("/", 3)[2] if url.count("/") >= 3 else url
    missing = _UNADVERTISED_MISSING.setdefault(client, set())
    if details.metadata or (details.metadata is None and host not in missing):
        data = _get_optional(client, url + ".metadata")
        if data is not None:
            return data
        if details.metadata is None:
            missing.add(host)
    return _from_wheel_ranges(client, artifact)


def _get_optional(client: IndexClient, url: str) -> bytes | None:
    def attempt() -> bytes | None:
        response = client.client().get(url)
        check_status(response)
        return response.content if response.status_code == 200 else None

    return with_retries(attempt, url, IndexError_, "fetching the metadata file")


def _from_wheel_ranges(client: IndexClient, artifact: Artifact) -> bytes:
    url = artifact.url or ""
    reader = _RangeReader(client.client(), url)
    try:
        with zipfile.ZipFile(reader) as archive:
            return read_metadata_member(archive, artifact.filename)
    except zipfile.BadZipFile as error:
        raise IndexError_(f"{artifact.filename} is not a valid wheel: {error}", where=redact_url(url)) from None


def read_metadata_member(archive: zipfile.ZipFile, filename: str) -> bytes:
    names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        raise IndexError_(f"{filename} has {len(names)} .dist-info/METADATA files, expected 1")
    return archive.read(names[0])


class _RangeReader(io.RawIOBase):
    """A read-only, seekable view of a remote file, fetched in HTTP ranges on demand.

    The first request asks for the last TAIL_BYTES (`bytes=-N`), which also tells the size; a
    server that ignores Range answers 200 with the whole file, which is then simply kept.
    """

    def __init__(self, client: "httpx.Client", url: str) -> None:
        super().__init__()
        self._client = client
        self._url = url
        self._chunks: dict[int, bytes] = {}  # start offset -> bytes
        self._position = 0
        self._size = self._first_request()

    def _first_request(self) -> int:
        status, content, content_range = self._get(f"bytes=-{TAIL_BYTES}")
        if status == 200:
            self._chunks[0] = content
            return len(content)
        total = int(content_range.rpartition("/")[2])
        self._chunks[total - len(content)] = content
        return total

    def _get(self, byte_range: str) -> tuple[int, bytes, str]:
        def attempt() -> tuple[int, bytes, str]:
            response = self._client.get(self._url, headers={"Range": byte_range, "Accept-Encoding": "identity"})
            check_status(response)
            if response.status_code not in (200, 206):
                raise IndexError_(f"the server answered HTTP {response.status_code}", where=redact_url(self._url))
            return response.status_code, response.content, response.headers.get("Content-Range", "")

        return with_retries(attempt, self._url, IndexError_, "reading the wheel's metadata")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def read(self, size: int = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._position + size, self._size)
        if end <= self._position:
            return b""
        data = self._slice(self._position, end)
        self._position = end
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _slice(self, start: int, end: int) -> bytes:
        for offset, chunk in self._chunks.items():
            if offset <= start and end <= offset + len(chunk):
                return chunk[start - offset : end - offset]
        # A local header, its name and METADATA are read one after the other: one request for all.
        fetch_end = min(max(end, start + TAIL_BYTES), self._size)
        status, content, _ = self._get(f"bytes={start}-{fetch_end - 1}")
        if status == 200:  # Range ignored this time: keep the whole file
            self._chunks = {0: content}
            return content[start:end]
        self._chunks[start] = content
        return content[: end - start]


def cache_metadata(path: Path, data: bytes, root: Path) -> None:
    """Keep METADATA under `<root>/cache/metadata/`; the cache is an optimization, so a failed
    write (a read-only store) is not an error."""
    from monotrail.atomic import write_atomic

    try:
        write_atomic(path, data, temp_dir=root / "tmp")
    except OSError:
        pass
