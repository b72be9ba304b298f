"""What a one-interpreter resolution fetches before it starts: the root projects' index pages,
and the wheel the resolver will most likely take where that needs no interpreter to know.

A PEP 723 script's first run (and `--with`, `x`) finds and probes its interpreter (a subprocess)
and imports the resolver (packaging, resolvelib) before resolving; the network waits either way,
so these fetches run in threads meanwhile and are handed to `monotrail.resolve.resolver.resolve`.
Light on purpose: importing this module costs the index client only (httpx, packaging and the
downloader are imported by the threads). A guess is never an answer: the resolver reads pages
through the client's memo, finds a downloaded wheel in the hash-checked downloads cache, and
fetches again whatever failed here, reporting its own errors.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from collections.abc import Mapping, Sequence

from monotrail.names import normalize
from monotrail.resolve.metadata import WHOLE_WHEEL_BYTES
from monotrail.store.index import IndexClient, Sources

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class EarlyFetch:
    """The client and the fetches started for a resolution that follows (`start`)."""

    def __init__(self, sources: Sources, root: Path) -> None:
        self.client = IndexClient(sources, root)
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="monotrail-early")
        self.futures: dict[str, Future] = {}  # normalized project name -> its fetch

    def abandon(self) -> None:
        """No resolution follows (the lock was up to date, or finding the interpreter failed):
        what was started is left to finish or fail unseen; nothing waits for it."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def start(requirements: Mapping[str, Sequence[str]], sources: Sources, root: Path, refresh: bool = False) -> EarlyFetch:
    """Start fetching for each root requirement, named by its leading name only (a wrong guess
    costs a request, never an answer); `name @ URL` requirements are left out."""
    early = EarlyFetch(sources, root)
    for texts in requirements.values():
        for text in texts:
            found = _NAME.match(text)
            if found is None or "@" in text:
                continue
            name = normalize(found.group(1))
            if name not in early.futures:
                early.futures[name] = early.pool.submit(_fetch, early.client, root, name, text, refresh)
    return early


def _fetch(client: IndexClient, root: Path, name: str, text: str, refresh: bool) -> None:
    """The page of `name`, and the newest version the requirement admits when its one wheel is
    pure Python (`py3-none-any`) and small (the resolution downloads it whole anyway:
    `WHOLE_WHEEL_BYTES`). Not when the store has a version of the project (the resolver prefers
    it). The resolver waits for this before reading the page (`Provider._load_versions`)."""
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version

    files = client.index_files(name, refresh=refresh)  # first: the request waits on the network
    if os.path.isdir(root / "store" / name):
        return
    specifier = Requirement(text).specifier
    newest: tuple[Version, list] | None = None
    for _, artifact, details in files:
        split = split_filename(artifact.filename)
        if details.yanked or split is None or not artifact.filename.endswith(".whl"):
            continue
        try:
            version = Version(split[1])
        except InvalidVersion:
            continue
        if not specifier.contains(version) or newest is not None and version < newest[0]:
            continue
        if newest is None or version > newest[0]:
            newest = (version, [])
        newest[1].append(artifact)
    if newest is None or len(newest[1]) != 1:
        return
    wheel = newest[1][0]
    pure = wheel.filename.endswith(("-py3-none-any.whl", "-py2.py3-none-any.whl"))
    if pure and wheel.sha256 and wheel.url and wheel.size is not None and wheel.size <= WHOLE_WHEEL_BYTES:
        from monotrail.store.download import download  # by now usually imported by the resolver

        client.check_url(wheel.url)
        download(wheel, root, client=client.client)


def split_filename(filename: str) -> tuple[str, str] | None:
    """(project, version) of a wheel or sdist file name, by splitting only; None for junk.

    Kept hand-written: the resolver runs it on every file of a project's index page, and
    packaging's `parse_wheel_filename` (which also parses the version and the tags) took 16.6 ms
    for 3000 numpy-like wheel names against 0.9 ms for this split (Python 3.12, 2 shared vCPUs);
    the versions are parsed once per distinct string afterwards."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return (parts[0], parts[1]) if len(parts) in (5, 6) else None
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            project, _, version = filename[: -len(suffix)].rpartition("-")
            return (project, version) if project else None
    return None
