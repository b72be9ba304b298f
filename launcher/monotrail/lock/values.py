"""Small values every lock format holds: names, hashes, markers, file names from URLs.

Validated here once, at the edge, so the readers share one definition of each.
"""

from __future__ import annotations

from functools import lru_cache

from monotrail.errors import LockError
from monotrail.names import normalize


def check_marker(marker: str | None, where: str) -> str | None:
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


def split_hash(text: str, where: str) -> tuple[str, str]:
    """`sha256:ab12...` -> ("sha256", "ab12...")."""
    algorithm, sep, digest = text.partition(":")
    if not sep or not algorithm or not digest:
        raise LockError(f"invalid hash {text!r}, expected ALGORITHM:HEXDIGEST", where=where)
    return algorithm.lower(), digest.lower()


def basename(url_or_path: str) -> str:
    """The file name at the end of a URL or path (query and fragment dropped)."""
    cut = url_or_path.split("?", 1)[0].split("#", 1)[0]  # (str methods: a wheels list has 600 of them)
    return cut.rstrip("/").rsplit("/", 1)[-1]


# Sdist suffixes, in order of preference: `.tar.gz` is the PEP 625 format, the others older
# uploads that `monotrail.builds.sdist` still unpacks (zip, or whatever tarfile opens).
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


def file_name_version(filename: str):  # -> tuple[str, packaging.version.Version] | None
    """(normalized name, Version) a wheel or sdist file name states; None when it is neither.

    Wheels by `packaging.utils.parse_wheel_filename`, `.tar.gz`/`.zip` sdists by
    `parse_sdist_filename`; older sdist suffixes are named the same way (`name-version.suffix`)."""
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return normalize(name), version
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return normalize(name), version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    suffix = next((s for s in SDIST_SUFFIXES if filename.endswith(s)), None)
    stem, sep, text = filename[: -len(suffix)].rpartition("-") if suffix else ("", "", "")
    if not sep or not stem:
        return None
    try:
        return normalize(stem), Version(text)
    except InvalidVersion:
        return None


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality (`1.0` == `1.0.0`, `1.0A1` == `1.0a1`); plain string equality for
    versions PEP 440 cannot read."""
    if a == b:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a.strip().lower() == b.strip().lower()
