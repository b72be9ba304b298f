"""Small values every lock format holds: names, hashes, markers, file names from URLs.

Validated here once, at the edge, so the readers share one definition of each.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional, Tuple

from monotrail.errors import LockError


def check_marker(marker: Optional[str], where: str) -> Optional[str]:
    """Validate a PEP 508 marker at the edge; returns it unchanged ('' becomes None)."""
    if marker is None or not marker.strip():
        return None
    if _parses(marker):
        return marker
    from packaging.markers import InvalidMarker, Marker

    try:
        Marker(marker)
    except InvalidMarker as e:
        raise LockError(f"invalid environment marker {marker!r}: {e}", where=where) from e
    return marker

@lru_cache(maxsize=None)
def _parses(marker: str) -> bool:
    """One parse per distinct marker: uv repeats the same few on hundreds of edges."""
    from monotrail.markers import parse

    return parse(marker) is not None


def normalize(name: str) -> str:
    """PEP 503 normalization, without importing packaging."""
    return re.sub(r"[-_.]+", "-", name).lower()

def split_hash(text: str, where: str) -> Tuple[str, str]:
    """`sha256:ab12...` -> ("sha256", "ab12...")."""
    algorithm, sep, digest = text.partition(":")
    if not sep or not algorithm or not digest:
        raise LockError(f"invalid hash {text!r}, expected ALGORITHM:HEXDIGEST", where=where)
    return algorithm.lower(), digest.lower()

def basename(url_or_path: str) -> str:
    """The file name at the end of a URL or path (query and fragment dropped)."""
    cut = re.split(r"[?#]", url_or_path, maxsplit=1)[0]
    return cut.rstrip("/").rsplit("/", 1)[-1]
