"""The package index: a PEP 691 / PEP 503 simple-API client, find-links, and a page cache.

A lock usually carries each file's URL, so the index is only asked when it does not: poetry.lock
1.1 names files without URLs, requirements.txt pins only `name==version` and allowed hashes. The
answer is a list of `monotrail.lock.model.Artifact`, the same model the lock uses, so the downloader
never knows whether a URL came from a lock, an index page or a find-links directory.

Decisions:
- JSON first (`Accept: application/vnd.pypi.simple.v1+json`, PEP 691), HTML (PEP 503) as the
  fallback the server picks by content negotiation; the content type of the answer decides
  the parser, not what we asked for.
- Pages are cached under `<root>/cache/simple/` as the server sent them, after a one-line
  header (URL, time, content type): writing the parsed list back as JSON cost more CPU than
  parsing it (a cold django-app lock: 0.47 s to write, 0.42 s to parse its 74 pages;
  pydantic-core's lists 15,000 files), and reading either form is one parse. A page whose body
  names a URL with credentials is cached parsed instead, its URLs stripped (format 2). PyPI
  sends no cache headers, so a fixed TTL (10 minutes) applies online; offline any cached page is
  used, however old.
- File URLs are cached without credentials; credentials of the index are added back when the
  file lives on the index's host, and are never printed (`redact_url`).
- httpx is imported inside functions: the warm path imports this module's types at most.
  So are `html.parser`, `hashlib` and `threading` (3 ms, 2.8 ms and 1 ms on import): a run
  whose wheels are all in the store builds `Sources` and never asks an index.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar
from collections.abc import Iterable, Iterator, Mapping, Sequence

from monotrail import __version__
from monotrail.errors import IndexError_, MonotrailError
from monotrail.lock.model import Artifact
from monotrail.names import normalize

if TYPE_CHECKING:  # pragma: no cover
    import httpx

PYPI = "https://pypi.org/simple"
PAGE_TTL_SECONDS = 600.0
RETRY_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5  # doubled after each failed attempt: 0.5 s, 1 s
MAX_RETRY_AFTER_SECONDS = 30.0
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
OFFLINE_HINT = "check your network or proxy, or run with --offline to use only the store and the cache"
_CACHE_FORMAT = 2  # the parsed list (pages whose body names URLs with credentials)
_RAW_FORMAT = 3  # a header line, then the body as the server sent it
T = TypeVar("T")


@dataclass(frozen=True)
class FileDetails:
    """What a simple-API page says about a file beyond its name, URL and hashes (for the resolver).

    `metadata`: the page advertises `<url>.metadata` (PEP 658 `data-dist-info-metadata`, PEP 714
    `core-metadata`); None when it says nothing (the resolver then tries the URL anyway).
    """

    requires_python: str | None = None
    yanked: bool = False  # PEP 592
    metadata: bool | None = None


NO_DETAILS = FileDetails()


@dataclass(frozen=True)
class Sources:
    """Where files come from: indexes (the first is the primary) and find-links locations."""

    index_urls: tuple[str, ...] = (PYPI,)
    find_links: tuple[str, ...] = ()
    offline: bool = False


def sources_from_env(
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (),
    offline: bool = False,
    lock_index_urls: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Sources:
    """Build `Sources` from the CLI, the lock and the environment, in that order of precedence.

    PIP_INDEX_URL / UV_INDEX_URL / PIP_EXTRA_INDEX_URL are honoured only when the command line
    named no index at all: a user who types `--index-url` means exactly that index, and pip
    configuration lying around in the environment must not add another one behind their back.
    """
    env = os.environ if environ is None else environ
    cli_gave_index = bool(index_url) or bool(extra_index_urls)
    extras: list[str] = list(extra_index_urls)
    primary = index_url or (lock_index_urls[0] if lock_index_urls else None)
    extras.extend(lock_index_urls[1:])
    if not cli_gave_index:
        primary = primary or env.get("PIP_INDEX_URL") or env.get("UV_INDEX_URL")
        extras.extend(env.get("PIP_EXTRA_INDEX_URL", "").split())
    urls = [primary or PYPI] + extras
    return Sources(index_urls=_unique(u.rstrip("/") for u in urls), find_links=tuple(find_links), offline=offline)


def redact_url(url: str) -> str:
    """`https://user:secret@host/x` -> `https://user:****@host/x`; a bare token becomes `****`."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, sep, _ = userinfo.partition(":")
    safe = f"{user}:****" if sep else "****"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{safe}@{host}"))




# ---------------------------------------------------------------------------------------------
# HTTP with retries (shared with monotrail.store.download)


class RetryableStatus(Exception):
    """A 5xx or 429 answer: worth another attempt, after Retry-After if the server sent one."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def check_status(response: "httpx.Response") -> None:
    """Raise `RetryableStatus` for answers that may succeed on retry; leave the rest to the caller."""
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableStatus(response.status_code, _retry_after(response.headers.get("Retry-After")))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None  # an HTTP-date: rare on package indexes, the exponential backoff will do


def with_retries(attempt: Callable[[], T], url: str, error: type[MonotrailError], what: str) -> T:
    """Run `attempt` up to RETRY_ATTEMPTS times on timeouts, connection errors, 5xx and 429.

    `error` is the MonotrailError subclass raised at the end, its message naming the redacted
    URL and the last cause, and hinting at --offline for network failures. A certificate that
    does not verify is not a passing failure: once the whole trust store has been tried
    (`monotrail.store.tls`), it is reported at once.
    """
    import httpx

    from monotrail.store.tls import retry_after_widening, verification_failed

    delay = BACKOFF_SECONDS
    for number in range(1, RETRY_ATTEMPTS + 1):
        try:
            return retry_after_widening(attempt)
        except RetryableStatus as exc:
            cause, wait = f"the server answered HTTP {exc.status}", exc.retry_after
        except httpx.TimeoutException:
            cause, wait = "the request timed out", None
        except httpx.TransportError as exc:
            cause, wait = f"cannot connect ({type(exc).__name__}: {_redact_text(str(exc))})", None
            if verification_failed(exc):  # the whole trust store said no: asking again changes nothing
                raise error(f"{what} failed: {cause}", where=redact_url(url),
                            hint="if a proxy or a private index uses its own CA, add it to the system's "
                                 "certificates or name its file in SSL_CERT_FILE") from None
        if number == RETRY_ATTEMPTS:
            break
        time.sleep(delay if wait is None else wait)
        delay *= 2
    raise error(
        f"{what} failed after {RETRY_ATTEMPTS} attempts: {cause}",
        where=redact_url(url),
        hint=OFFLINE_HINT,
    )


def _redact_text(text: str) -> str:
    return re.sub(r"(//)[^/@\s]+@", r"\1****@", text)


def http_timeout() -> float:
    """Seconds without a byte before a request counts as stalled: MONOTRAIL_HTTP_TIMEOUT, else 30."""
    try:
        return max(float(os.environ.get("MONOTRAIL_HTTP_TIMEOUT", "")), 0.05)
    except ValueError:
        return 30.0


def make_client() -> "httpx.Client":
    """One client per run, shared by threads: connection reuse matters for many small files.

    httpx 0.28 reads no ~/.netrc unless asked (`NetRCAuth`): credentials come only from the index
    URL, travel in the Authorization header, and are never printed (`redact_url`). What it trusts:
    `monotrail.store.tls`."""
    import httpx

    from monotrail.store.tls import ssl_context

    timeout = http_timeout()
    return httpx.Client(
        verify=ssl_context(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        headers={"User-Agent": f"monotrail/{__version__}"},
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
    )


# ---------------------------------------------------------------------------------------------
# Page parsing


def parse_html_entries(text: str, page_url: str) -> list[tuple[Artifact, FileDetails]]:
    """PEP 503: the filename is the URL's last path segment, the hash sits in the fragment; with
    each file's PEP 503/592/658 data attributes."""
    parser = _anchor_parser()
    parser.feed(text)
    base = urllib.parse.urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for anchor in parser.anchors:
        url, _, fragment = urllib.parse.urljoin(base, anchor["href"] or "").partition("#")
        filename = urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path))
        if filename:
            details = FileDetails(
                requires_python=anchor.get("data-requires-python") or None,
                yanked="data-yanked" in anchor,
                metadata=_advertised(anchor),
            )
            files.append((Artifact(filename=filename, url=url, hashes=_fragment_hashes(fragment)), details))
    return files


def _advertised(anchor: Mapping[str, str | None]) -> bool | None:
    """PEP 658/714: absent says nothing; present (bare, `true` or a hash) means `<url>.metadata` exists."""
    for attribute in ("data-core-metadata", "data-dist-info-metadata"):
        if attribute in anchor:
            return (anchor[attribute] or "true").lower() != "false"
    return None


def _anchor_parser():
    """An HTMLParser collecting `<a href>` with their PEP 503 data attributes, honouring `<base href>`."""
    from html.parser import HTMLParser

    class AnchorParser(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.base: str | None = None
            self.anchors: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            attributes = dict(attrs)
            if tag == "base" and self.base is None and attributes.get("href"):
                self.base = attributes["href"]
            elif tag == "a" and attributes.get("href"):
                self.anchors.append(attributes)

    return AnchorParser()


def _fragment_hashes(fragment: str) -> tuple[tuple[str, str], ...]:
    import hashlib

    algorithm, sep, digest = fragment.partition("=")
    if sep and algorithm in hashlib.algorithms_guaranteed and digest:
        return ((algorithm, digest.lower()),)
    return ()


def parse_json_entries(data: Mapping, page_url: str) -> list[tuple[Artifact, FileDetails]]:
    """PEP 691: `files[].url` may be relative to the page; `size` exists from API 1.1 on; with each
    file's requires-python, yanked flag and metadata advertisement.

    Runs once per file of every page a resolution reads (pydantic-core's lists 15,000): the one
    hash most files have is taken without sorting, and the few distinct `FileDetails` of a page
    are made once each (frozen dataclasses are slow to build); 64 -> 35 ms for that page here."""
    files = []
    details_of: dict[tuple[str | None, bool, bool | None], FileDetails] = {}
    for entry in data.get("files", ()):
        url = entry["url"]
        # urljoin costs ~20 us; botocore's page lists 5000+ files, nearly all with absolute URLs
        url = (url if url.startswith(("https://", "http://")) else urllib.parse.urljoin(page_url, url)).partition("#")[0]
        given = entry.get("hashes") or {}
        if len(given) == 1:
            [(algorithm, digest)] = given.items()
            hashes: tuple[tuple[str, str], ...] = ((str(algorithm), str(digest).lower()),)
        else:
            hashes = tuple(sorted((str(k), str(v).lower()) for k, v in given.items()))
        size = entry.get("size")
        if not isinstance(size, int):
            size = None
        metadata = entry.get("core-metadata", entry.get("data-dist-info-metadata"))
        key = (entry.get("requires-python") or None, bool(entry.get("yanked")), None if metadata is None else bool(metadata))
        details = details_of.get(key)
        if details is None:
            details = details_of[key] = FileDetails(*key)
        files.append((Artifact(entry["filename"], url, hashes, size), details))
    return files


def parse_response_entries(content: bytes, content_type: str, page_url: str) -> list[tuple[Artifact, FileDetails]]:
    """Dispatch on what the server sent (it may ignore our Accept header and send HTML)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/html", "application/vnd.pypi.simple.v1+html", ""):
        return parse_html_entries(content.decode("utf-8", errors="replace"), page_url)
    if kind == "application/vnd.pypi.simple.v1+json":
        try:
            return parse_json_entries(json.loads(content), page_url)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexError_(
                f"malformed PEP 691 JSON page ({type(exc).__name__}: {exc})",
                where=redact_url(page_url),
                hint="the index is broken or not a simple API; try another --index-url",
            ) from None
    raise IndexError_(
        f"unexpected content type {kind!r} for a simple-API page",
        where=redact_url(page_url),
        hint="is this URL a PEP 503/691 simple index (it usually ends in /simple)?",
    )


# ---------------------------------------------------------------------------------------------
# The index client


class IndexClient:
    """Lookups against the indexes and find-links of one run, with the on-disk page cache.

    One instance per `ensure_installed` call; pages fetched during the run are also kept in
    memory so several lookups of one project read the cache file once.
    """

    def __init__(self, sources: Sources, root: Path, client: "httpx.Client" | None = None) -> None:
        self.sources = sources
        self.root = root
        self._client = client
        self._owns_client = client is None
        import threading

        self._client_lock = threading.Lock()
        self._pages: dict[tuple[str, str], list[Artifact]] = {}
        self._fetched: set = set()  # pages fetched from the network by this process
        self._details: dict[tuple[str, str], FileDetails] = {}  # (page URL, filename) -> details

    def details(self, page_url: str, filename: str) -> FileDetails:
        """What the page said about a file (requires-python, yanked, metadata); see `index_files`."""
        return self._details.get((page_url, filename), NO_DETAILS)

    def index_files(self, name: str, refresh: bool = False) -> list[tuple[str, Artifact, FileDetails]]:
        """Every file of a project as (index URL, file, details): the resolver's view.

        Find-links files come with index URL "" and no details.
        """
        project = normalize(name)
        found: list[tuple[str, Artifact, FileDetails]] = []
        for index_url in self.sources.index_urls:
            page_url = f"{index_url}/{project}/"
            for artifact in self._index_page(index_url, project, refresh):
                found.append((index_url, artifact, self.details(page_url, artifact.filename)))
        for location in self.sources.find_links:
            found.extend(
                ("", f, NO_DETAILS) for f in self._find_links(location, refresh) if _project_of(f.filename) == project
            )
        return found

    def client(self) -> "httpx.Client":
        """The shared httpx client, created on first need (download threads call this too)."""
        with self._client_lock:
            if self._client is None:
                self._client = make_client()
            return self._client

    def check_url(self, url: str) -> None:
        """HTTPS only, unless this host was given explicitly as an http:// index or find-links
        location, or is the loopback interface (nothing on the wire to tamper with)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or parts.hostname in ("localhost", "127.0.0.1", "::1"):
            return
        for location in (*self.sources.index_urls, *self.sources.find_links):
            given = urllib.parse.urlsplit(location)
            if given.scheme == "http" and given.hostname == parts.hostname:
                return
        raise IndexError_(
            "refusing to download over plain http",
            where=redact_url(url),
            hint="use an https URL, or name the index explicitly as http:// with --index-url if you trust the network",
        )

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def project_files(self, name: str, index: str | None = None, refresh: bool = False) -> list[Artifact]:
        """Every file of a project: the given index (else all configured ones), then find-links.

        `refresh`: refetch pages that came from the disk cache (not those fetched by this process).
        """
        indexes = (index.rstrip("/"),) if index else self.sources.index_urls
        files: list[Artifact] = []
        for index_url in indexes:
            files.extend(self._index_page(index_url, normalize(name), refresh))
        for location in self.sources.find_links:
            files.extend(
                f for f in self._find_links(location, refresh) if _project_of(f.filename) == normalize(name)
            )
        return files

    def find_file(self, name: str, filename: str, index: str | None = None) -> Artifact:
        """The file a lock names without a URL (poetry.lock 1.1), found by project and filename."""
        for candidates in self._candidate_lists(name, index):
            for candidate in candidates:
                if candidate.filename == filename:
                    return candidate
        raise IndexError_(
            f"{filename} is not listed for {name}",
            where=self._where(index),
            hint="the file may have been deleted from the index; re-lock, or add a --find-links location that has it",
        )

    def find_pinned_file(
        self,
        name: str,
        version: str,
        allowed_hashes: Iterable[str],
        tags: Sequence[str],
        index: str | None = None,
    ) -> Artifact:
        """The file to install for a pin that names no file (requirements.txt, `install name==v`):
        the best-tag wheel of `name==version` whose sha256 is allowed, else its sdist, which the
        store builds (as pip and uv do when no wheel fits).

        `tags` are the interpreter's tags, best first; `allowed_hashes` are sha256 hex digests
        (a `sha256:` prefix is accepted). Files whose hash the index does not state are hashed
        only when they are local (find-links directories). No allowed hashes means any file of
        that version, as pip without hash-checking mode (`pip freeze`, `pip-compile` without
        `--generate-hashes`): whether a hashless pin is acceptable at all is the lock reader's
        decision (`lockfiles.requirements`: one hashed line turns hash-checking on for all).
        """
        from packaging.version import InvalidVersion, Version

        allowed = {h.split(":", 1)[-1].lower() for h in allowed_hashes}
        rank = {tag: number for number, tag in enumerate(tags)}
        try:
            wanted = Version(version)
        except InvalidVersion:
            wanted = None
        candidates: list[Artifact] = []
        for candidates in self._candidate_lists(name, index):
            best = self._best_allowed(candidates, wanted, rank, allowed)
            if best is not None:
                return best[1]
            sdist = _allowed_sdist(candidates, name, wanted, allowed)
            if sdist is not None:
                return sdist
        if not candidates:
            raise IndexError_(
                f"{name} is not on the index",
                where=self._where(index),
                hint="check the package name in the lock, the index URL, or add --find-links",
            )
        if allowed:
            raise IndexError_(
                f"neither a wheel of {name}=={version} for this interpreter nor its sdist has an allowed hash",
                where=self._where(index),
                hint=f"the interpreter's best tags are {', '.join(tags[:3]) or '(none)'}; "
                "re-lock with hashes for this platform",
            )
        raise IndexError_(
            f"{name}=={version} has neither a wheel for this interpreter nor an sdist",
            where=self._where(index),
            hint=f"the interpreter's best tags are {', '.join(tags[:3]) or '(none)'}; "
            "pin a version that has a wheel for it",
        )

    @staticmethod
    def _best_allowed(candidates, wanted, rank, allowed) -> tuple[int, Artifact] | None:
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        best: tuple[int, Artifact] | None = None
        for candidate in candidates:
            try:
                _, file_version, _, file_tags = parse_wheel_filename(candidate.filename)
            except InvalidWheelFilename:
                continue  # sdists and junk
            if wanted is not None and file_version != wanted:
                continue
            score = min((rank[str(tag)] for tag in file_tags if str(tag) in rank), default=None)
            if score is None or (best is not None and score >= best[0]):
                continue
            digest = _sha256_of(candidate) if allowed else None
            if not allowed or digest in allowed:
                best = (score, _with_sha256(candidate, digest))
        return best

    def _candidate_lists(self, name: str, index: str | None) -> Iterator[list[Artifact]]:
        """Files from find-links first (local beats remote), then the index pages; if the caller
        found nothing there and a page came from the cache, once more from freshly fetched pages.

        A cached page younger than the TTL is trusted, but a lock bumped to a release published
        since must not fail on it: a miss costs one refetch, a hit costs nothing.
        """
        yield sorted(self.project_files(name, index), key=lambda a: a.path is None)
        if not self.sources.offline:
            yield sorted(self.project_files(name, index, refresh=True), key=lambda a: a.path is None)

    def _where(self, index: str | None) -> str:
        places = [index] if index else list(self.sources.index_urls)
        return ", ".join(redact_url(p) for p in places + list(self.sources.find_links))

    # -- pages ------------------------------------------------------------------------------

    def _index_page(self, index_url: str, project: str, refresh: bool = False) -> list[Artifact]:
        page_url = f"{index_url}/{project}/"
        files = self._cached_or_fetched(page_url, project, missing_ok=True, refresh=refresh)
        return [_with_credentials(f, index_url) for f in files]

    def _find_links(self, location: str, refresh: bool = False) -> list[Artifact]:
        if "://" not in location or location.startswith("file://"):
            return _directory_files(_local_path(location))
        files = self._cached_or_fetched(location, "_find_links", missing_ok=False, refresh=refresh)
        return [_with_credentials(f, location) for f in files]

    def _cached_or_fetched(self, url: str, key: str, missing_ok: bool, refresh: bool = False) -> list[Artifact]:
        memo_key = (url, key)
        if memo_key in self._pages and (memo_key in self._fetched or not refresh):
            return self._pages[memo_key]
        cache_file = _cache_file(self.root, url, key)
        cached = _read_cache(cache_file)
        fresh = cached is not None and time.time() - cached[0] < PAGE_TTL_SECONDS and not refresh
        if cached is not None and (fresh or self.sources.offline):
            files = self._keep_details(url, cached[1])
        elif self.sources.offline:
            raise IndexError_(
                f"offline and no cached index page for {key if key != '_find_links' else url}",
                where=redact_url(url),
                hint="run once without --offline to fill the cache",
            )
        else:
            try:
                entries, raw = self._fetch(url, missing_ok)
            except IndexError_:
                if cached is None:
                    raise
                files = self._keep_details(url, cached[1])  # an expired page beats no page when the network is flaky
            else:
                _write_cache(cache_file, url, entries, raw)
                files = self._keep_details(url, entries)
                self._fetched.add(memo_key)
        self._pages[memo_key] = files
        return files

    def _keep_details(self, url: str, entries: list[tuple[Artifact, FileDetails]]) -> list[Artifact]:
        for artifact, details in entries:
            if details is not NO_DETAILS:
                self._details[(url, artifact.filename)] = details
        return [artifact for artifact, _ in entries]

    def _fetch(self, url: str, missing_ok: bool) -> tuple[list[tuple[Artifact, FileDetails]], tuple[bytes, str, str]]:
        """GET a page: its files, and (body, content type, page URL) for the cache; a 404 on an
        index means "not on this index" (other indexes may have it)."""

        def attempt() -> tuple[list[tuple[Artifact, FileDetails]], tuple[bytes, str, str]]:
            response = self.client().get(url, headers={"Accept": ACCEPT})
            check_status(response)
            if response.status_code == 404 and missing_ok:
                return [], (b"", "", url)
            if response.status_code != 200:
                raise IndexError_(
                    f"the index answered HTTP {response.status_code}",
                    where=redact_url(url),
                    hint="check the index URL and its credentials",
                )
            page_url = _strip_credentials(str(response.url))
            content_type = response.headers.get("content-type", "")
            return parse_response_entries(response.content, content_type, page_url), (response.content, content_type, page_url)

        return with_retries(attempt, url, IndexError_, "fetching the index page")


# ---------------------------------------------------------------------------------------------
# Helpers


def find_pinned_file(
    name: str,
    version: str,
    allowed_hashes: Iterable[str],
    tags: Sequence[str],
    *,
    sources: Sources,
    root: Path,
    index: str | None = None,
) -> Artifact:
    """Module-level form of `IndexClient.find_pinned_file` for callers without a client."""
    client = IndexClient(sources, root)
    try:
        return client.find_pinned_file(name, version, allowed_hashes, tags, index)
    finally:
        client.close()


def _allowed_sdist(candidates: Sequence[Artifact], name: str, wanted, allowed) -> Artifact | None:
    """The sdist of exactly `wanted` (a packaging Version) whose sha256 is allowed (any when
    `allowed` is empty), preferring `.tar.gz`; None when there is none."""
    from monotrail.lock.values import SDIST_SUFFIXES, file_name_version

    found: list[tuple[int, Artifact, str | None]] = []
    for candidate in candidates:
        if candidate.filename.endswith(".whl"):
            continue
        parsed = file_name_version(candidate.filename)
        if parsed is None or parsed[0] != normalize(name):
            continue
        if wanted is not None and parsed[1] != wanted:
            continue
        digest = _sha256_of(candidate) if allowed else None
        if allowed and digest not in allowed:
            continue
        suffix = next(i for i, s in enumerate(SDIST_SUFFIXES) if candidate.filename.endswith(s))
        found.append((suffix, candidate, digest))
    if not found:
        return None
    _, best, digest = min(found, key=lambda item: item[0])
    return _with_sha256(best, digest)


@functools.lru_cache(maxsize=8192)
def _project_of(filename: str) -> str | None:
    """The normalized project name of a wheel or sdist filename, None for anything else
    (packaging's `parse_wheel_filename` / `parse_sdist_filename` through
    `lock.values.file_name_version`). Cached: every project's lookup filters every find-links
    file, and packaging takes ~11 us a name (0.5 us for the split it replaced)."""
    from monotrail.lock.values import file_name_version

    if not filename.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")):
        return None
    parsed = file_name_version(filename)
    return parsed[0] if parsed is not None else None


def _directory_files(directory: Path) -> list[Artifact]:
    if not directory.is_dir():
        raise IndexError_(
            "find-links directory does not exist",
            where=str(directory),
            hint="pass an existing directory or a URL to --find-links",
        )
    return [
        Artifact(filename=entry.name, url=entry.resolve().as_uri(), path=str(entry.resolve()))
        for entry in sorted(directory.iterdir())
        if entry.is_file() and _project_of(entry.name) is not None
    ]


def _local_path(location: str) -> Path:
    if location.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(location).path))
    return Path(location).expanduser()


def _sha256_of(artifact: Artifact) -> str | None:
    if artifact.sha256:
        return artifact.sha256.lower()
    if artifact.path:
        return file_sha256(Path(artifact.path))
    return None


def _with_sha256(artifact: Artifact, digest: str | None = None) -> Artifact:
    """`artifact` with its sha256 among its hashes; `digest`: already computed (a local file's)."""
    if artifact.sha256:
        return artifact
    digest = digest or _sha256_of(artifact)
    if digest is None:
        return artifact
    return Artifact(artifact.filename, artifact.url, artifact.hashes + (("sha256", digest),), artifact.size, artifact.path)


def file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _strip_credentials(url: str) -> str:
    if "@" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _with_credentials(artifact: Artifact, index_url: str) -> Artifact:
    """Private indexes serve files from their own host: they need the index's credentials too."""
    index_parts = urllib.parse.urlsplit(index_url)
    if "@" not in index_parts.netloc or not artifact.url:
        return artifact
    userinfo, _, host = index_parts.netloc.rpartition("@")
    parts = urllib.parse.urlsplit(artifact.url)
    if parts.netloc != host:
        return artifact
    url = urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))
    return Artifact(artifact.filename, url, artifact.hashes, artifact.size, artifact.path)


def _cache_file(root: Path, url: str, key: str) -> Path:
    """One file per (page URL, project); the URL is hashed with its credentials stripped."""
    import hashlib

    url_hash = hashlib.sha256(_strip_credentials(url).encode()).hexdigest()[:16]
    return root / "cache" / "simple" / url_hash / f"{key}.json"


def _read_cache(path: Path) -> tuple[float, list[tuple[Artifact, FileDetails]]] | None:
    try:
        with open(path, "rb") as file:
            head = file.readline()
            header = json.loads(head)
            if header.get("format") == _RAW_FORMAT:
                body = file.read()
                files = [] if header.get("missing") else parse_response_entries(body, header["content_type"], header["page_url"])
                return float(header["fetched"]), files
            data = header  # format 2 is one line
        if data.get("format") != _CACHE_FORMAT:
            return None
        files = [
            (Artifact(f[0], f[1], tuple(tuple(h) for h in f[2]), f[3]), FileDetails(*f[4]) if len(f) > 4 else NO_DETAILS)
            for f in data["files"]
        ]
        return float(data["fetched"]), files
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, MonotrailError):
        return None  # a missing or torn cache file is just a miss


_CREDENTIALS_IN_URL = re.compile(rb"://[^/\s\"'<>@]*@")


def _write_cache(path: Path, url: str, files: list[tuple[Artifact, FileDetails]],
                 raw: tuple[bytes, str, str] | None = None) -> None:
    """Written via a temp file + rename so a concurrent reader never sees half a page: the body
    as the server sent it after a header line (`_RAW_FORMAT`), or, when the body names a URL with
    credentials, the parsed list with the credentials stripped."""
    from monotrail.atomic import write_atomic
    from monotrail.faults import crash_point

    if raw is not None and _CREDENTIALS_IN_URL.search(raw[0]) is None:
        body, content_type, page_url = raw
        header = {"format": _RAW_FORMAT, "missing": not files and not body, "url": _strip_credentials(url),
                  "fetched": time.time(), "content_type": content_type, "page_url": _strip_credentials(page_url)}
        text: str | bytes = json.dumps(header, separators=(",", ":")).encode() + b"\n" + body
    else:
        data = {
            "format": _CACHE_FORMAT,
            "url": _strip_credentials(url),
            "fetched": time.time(),
            "files": [
                [f.filename, f.url and _strip_credentials(f.url), [list(h) for h in f.hashes], f.size]
                + ([] if d is NO_DETAILS else [[d.requires_python, d.yanked, d.metadata]])
                for f, d in files
            ],
        }
        text = json.dumps(data, separators=(",", ":"))
    try:
        # The temp file in <root>/tmp (same filesystem), named by pid: what a killed run leaves, gc removes.
        write_atomic(path, text, temp_dir=root_tmp(path), before_rename=lambda: crash_point("index-page-temp-written"))
    except OSError:
        pass  # the cache is an optimization; a read-only cache dir must not fail the run


def root_tmp(cache_file: Path) -> Path:
    """`<root>/tmp` for `<root>/cache/simple/<hash>/<key>.json`."""
    return cache_file.parents[3] / "tmp"


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


__all__ = [
    "PYPI",
    "IndexClient",
    "Sources",
    "find_pinned_file",
    "make_client",
    "redact_url",
    "sources_from_env",
    "with_retries",
]
