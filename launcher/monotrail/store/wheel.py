"""Unpack one verified wheel into a store directory with `pypa/installer`, and describe it.

The store entry layout (docs/architecture.md) is a scheme dictionary of its own: purelib and
platlib -> `site-packages/` (so installed code has `site-packages` in its path, as heuristics
such as streamlit's and debuggers' "just my code" expect), scripts -> `bin/` (bytes as in the
wheel, `#!python` shebangs untouched: each environment writes its own copies), data -> `data/`,
headers -> `include/`. installer's
`install()` walks the wheel; `_StoreDestination` writes; entry-point scripts are *not* generated
here (they depend on the interpreter, which a store entry does not), only recorded in the marker.

Hostile wheels are rejected before a single byte is written: members with `..`, absolute or
drive-letter paths, backslashes, NUL, duplicates, symlinks, a `.dist-info` whose name does not
match the filename, archives whose declared sizes make a zip bomb (`MAX_UNPACKED_BYTES` in all,
or a member over `BOMB_MIN_BYTES` inflating more than `BOMB_RATIO` times), and RECORD entries
missing or without hashes (installer's
`validate_record(validate_contents=False)`). File *contents* are verified against RECORD while
they are written, in the same decompression pass (`_VerifiedWheel.get_contents`); a mismatch
raises `WheelError` and the caller throws the temp directory away, so nothing reaches `store/`.

Why one pass: `validate_record(validate_contents=True)` followed by `install()` inflates every
member twice. Measured on numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64 (16 MB wheel, ~55 MB
unpacked; Python 3.12, 2 shared vCPUs, best/median of 9 interleaved runs, bench in the report):
plain `zipfile.extractall` 0.66/0.82 s (verifies nothing), installer with the separate validation
pass 1.08/1.20 s, installer with this single verifying pass 0.79/0.93 s. At ~1.2x a bare
extraction, installer's scheme handling and RECORD semantics are worth keeping.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import os
import posixpath
import re
import shutil
import stat
import zipfile
import zlib
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, cast
from collections.abc import Iterable, Iterator, Sequence

from installer import install
from installer.exceptions import InstallerError
from installer.destinations import WheelDestination
from installer.records import RecordEntry
from installer.sources import WheelFile
from installer.utils import Scheme, parse_wheel_filename

from monotrail.errors import WheelError
from monotrail.faults import crash_point

try:  # ISA-L's inflate: zlib's output at ~1.8x its speed (data-science's 286 MB: 0.49 vs 0.88 s of CPU)
    from isal import isal_zlib as _isal
except ImportError:  # no isal wheel for this platform: zlib
    _isal = None  # type: ignore[assignment]
_decompressobj = _isal.decompressobj if _isal is not None else zlib.decompressobj
_crc32 = _isal.crc32 if _isal is not None else zlib.crc32
# What a broken deflate stream raises (isal's IsalError is not a zlib.error).
# (isal's stub types it as an instance.)
_INFLATE_ERRORS = (zlib.error, cast("type[Exception]", _isal.error)) if _isal is not None else (zlib.error,)

MARKER = "monotrail.json"
LIB = "site-packages"  # purelib and platlib of a store entry
SCHEME_DIRS = {"purelib": LIB, "platlib": LIB, "scripts": "bin", "data": "data", "headers": "include"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_EXTENSION = re.compile(r"^([^.]+)(\..*)?\.(so|pyd)$")
# Real wheels stay far below these: the largest on PyPI unpack to a few GB (CUDA libraries) and
# compress machine code 2-5x, text 10-30x. zipfile never inflates a member past its declared
# size, so checking the declared sizes up front bounds what unpacking can write.
MAX_UNPACKED_BYTES = 16 << 30
BOMB_MIN_BYTES = 64 << 20
BOMB_RATIO = 200


def unpack(wheel_path: Path, filename: str, target: Path, expected: tuple[str, str] | None = None,
           metadata: dict[str, bytes] | None = None, skip: frozenset = frozenset()) -> dict[str, object]:
    """Unpack `wheel_path` (whose real name is `filename`) into `target`; return marker fields.

    `target` must be an empty directory private to the caller (a temp dir renamed into the
    store afterwards). `expected`: the (name, version) selected from the lock, which METADATA
    must state (an empty version: the lock does not say). `metadata`: files the installer adds
    to the dist-info (PEP 610 `direct_url.json`), listed in RECORD as installer lists INSTALLER.
    The returned dict holds `wheel`, `top_level`, `dist_info`, `pth`, `entry_points` and
    `data_scripts`; the store adds name, version and sha256.

    `skip`: members (of `split_members`) that other threads write with `unpack_members` at the
    same time; RECORD is then not written but its rows returned as `records`, for `finish_split`
    to write once every part is done.
    """
    try:
        with zipfile.ZipFile(wheel_path) as archive, _opened(archive, filename, wheel_path, check=True) as source:
            crash_point("wheel-members-checked")
            source.skip = skip
            _require_metadata(source, filename)
            if expected is not None:
                _check_metadata(source, filename, expected)
            _validate_record(source, filename)
            # Before installing: installer's `install()` parses the file too, and its errors
            # (configparser's, an assert) are not installer's own exceptions.
            entry_points = parse_entry_points(_read_optional(source, "entry_points.txt"), filename)
            # A wheel that ships one of these keeps its own (no two writes of one path).
            added = {name: data for name, data in (metadata or {}).items() if name not in source.dist_info_filenames}
            destination = _install(source, target, filename, added, defer_record=bool(skip))
            dist_info = source.dist_info_dir
    except _NOT_A_ZIP as exc:
        raise WheelError(f"not a valid zip archive: {exc}", where=filename, hint=_REDOWNLOAD) from None
    if skip:
        return {"wheel": filename, "dist_info": dist_info, "entry_points": entry_points,
                "records": destination.deferred, "record_file": destination.record_file}
    return describe(target, filename, dist_info, entry_points)


def describe(target: Path, filename: str, dist_info: str, entry_points: dict) -> dict[str, object]:
    """The marker's fields that list what an unpacked entry holds."""
    return {
        "wheel": filename,
        "top_level": top_level_names(target / LIB),
        "dist_info": dist_info,
        "pth": sorted(p.name for p in (target / LIB).glob("*.pth") if p.is_file()),
        "entry_points": entry_points,
        "data_scripts": sorted(p.name for p in (target / "bin").iterdir() if p.is_file()) if (target / "bin").is_dir() else [],
    }


_REDOWNLOAD = "the wheel is corrupt or was built wrongly; report it to the package's maintainers"


def unpacked_size(wheel_path: Path) -> int | None:
    """The bytes unpacking `wheel_path` writes (declared sizes), for a disk-full message."""
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, ValueError):
        return None


def check_members(archive: zipfile.ZipFile, filename: str) -> None:
    """Refuse archives whose member names could write outside the target, or whose sizes are a
    zip bomb, before any write."""
    seen = set()
    total = 0
    for info in archive.infolist():
        name = info.filename
        problem = _member_problem(name, info)
        if problem is None and name in seen:
            problem = "appears twice in the archive"
        if problem:
            _refuse(f"member {name!r} {problem}", filename)
        seen.add(name)
        total += info.file_size
        if info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
            _refuse(f"member {name!r} would inflate {info.compress_size} bytes to {info.file_size} (a zip bomb)", filename)
    if total > MAX_UNPACKED_BYTES:
        _refuse(f"it would unpack to {total} bytes (limit {MAX_UNPACKED_BYTES}; a zip bomb)", filename)


def _refuse(problem: str, filename: str) -> None:
    raise WheelError(
        f"refusing to unpack: {problem}", where=filename, hint="the wheel is malformed or hostile; nothing was installed"
    )


def _member_problem(name: str, info: zipfile.ZipInfo) -> str | None:
    if name.startswith("/") or _DRIVE.match(name):
        return "is an absolute path"
    if "\\" in name or "\x00" in name:
        return "contains a backslash or NUL"
    if ".." in name.split("/"):
        return "contains '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symlink"
    return None


@contextmanager
def _opened(archive: zipfile.ZipFile, filename: str, path: Path, check: bool) -> Iterator[_VerifiedWheel]:
    """The wheel as installer's source, after `check_members` (when `check`) and the dist-info
    check; its descriptor for reading members is closed on the way out."""
    if check:
        check_members(archive, filename)
    try:
        source = _VerifiedWheel(archive, filename, path)
        source.dist_info_dir  # noqa: B018 - installer checks "exactly one, named like the file" here
    except ValueError as exc:
        raise WheelError(str(exc), where=filename, hint=_REDOWNLOAD) from None
    try:
        yield source
    finally:
        source.close()


def _require_metadata(source: _VerifiedWheel, filename: str) -> None:
    """PEP 427: METADATA, WHEEL and RECORD are mandatory; without METADATA the installed
    distribution would be invisible to importlib.metadata."""
    missing = [name for name in ("METADATA", "WHEEL", "RECORD") if name not in source.dist_info_filenames]
    if missing:
        raise WheelError(f"{source.dist_info_dir} lacks {', '.join(missing)}", where=filename, hint=_REDOWNLOAD)


def _check_metadata(source: _VerifiedWheel, filename: str, expected: tuple[str, str]) -> None:
    """METADATA's Name and Version must be what the lock selected: the file name is only a name."""
    from email.parser import HeaderParser

    headers = HeaderParser().parsestr(source.read_dist_info("METADATA"))
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise WheelError(f"{source.dist_info_dir}/METADATA lacks Name or Version", where=filename, hint=_REDOWNLOAD)
    check_name_version(expected[0], expected[1], str(name), str(version), f"{filename} ({source.dist_info_dir}/METADATA)")


def name_version(filename: str) -> tuple[str, str]:
    """The name and version a wheel's file name states, as written there (installer's
    `parse_wheel_filename`: the same split installer's `WheelFile` makes); one `WheelError` for a
    name that is not NAME-VERSION(-BUILD)-PY-ABI-PLATFORM.whl."""
    try:
        parsed = parse_wheel_filename(filename)
    except ValueError as exc:
        raise WheelError(str(exc), where=filename, hint="wheel filenames are NAME-VERSION(-BUILD)-PY-ABI-PLATFORM.whl") from None
    return parsed.distribution, parsed.version


def check_name_version(selected_name: str, selected_version: str, name: str, version: str, what: str) -> None:
    """Refuse a wheel that is not the selected package: one line naming both, whatever the lock says.

    Names compare PEP 503-normalized, versions PEP 440-normalized (`1.0` is `1.0.0`); an empty
    `selected_version` (a direct reference whose version the lock does not state) checks the name only."""
    from monotrail.lock.values import same_version
    from monotrail.names import normalize

    if normalize(name) == normalize(selected_name) and (not selected_version or same_version(version, selected_version)):
        return
    raise WheelError(
        f"the lock selects {normalize(selected_name)} {selected_version or '(any version)'}, "
        f"but this wheel is {normalize(name)} {version}",
        where=what,
        hint="the lock names the wrong file for this package; re-lock, and report it if it happens again",
    )


def _validate_record(source: _VerifiedWheel, filename: str) -> None:
    try:
        source.validate_record(validate_contents=False)
    except ValueError as exc:
        issues = getattr(exc, "issues", [str(exc)])
        raise WheelError(f"RECORD does not match the archive: {'; '.join(issues[:3])}", where=filename, hint=_REDOWNLOAD) from None


def _read_optional(source: _VerifiedWheel, name: str) -> str | None:
    if name not in source.dist_info_filenames:
        return None
    return source.read_dist_info(name)


def _install(source: _VerifiedWheel, target: Path, filename: str, metadata: dict[str, bytes],
             defer_record: bool = False) -> _StoreDestination:
    destination = _StoreDestination(target, source, defer_record)
    try:
        install(source, destination, {"INSTALLER": b"monotrail\n", **metadata})
    except (InstallerError, ValueError, KeyError) as exc:
        raise WheelError(f"cannot install: {exc}", where=filename, hint=_REDOWNLOAD) from None
    return destination


# --- one big wheel over several threads -----------------------------------------------------
# A big wheel's unpack is CPU work (inflate, hash, one file creation per member) that one thread
# does on one core: scipy's (35 MB, ~1,400 files) was the last ~2 s of a cold data-science
# install while the other core idled. Its plain package files are split into runs of about equal
# compressed size; other threads (once processes: `store.entries` says why no longer) write all
# runs but the first (`unpack_members`), each checked against RECORD as `unpack` checks, while
# `unpack` does the rest: every check of the archive, the first run, dist-info, `.data`. The
# store thread waits for all of them, then writes RECORD (`finish_split`). Any failure discards
# the whole temp directory, as for an unpack in one part.


def split_members(wheel_path: Path, parts: int) -> list[frozenset]:
    """The wheel's plain package members (not dist-info, `.data` or bytecode) in `parts` runs
    of about equal compressed size, in archive order; the first run is `unpack`'s own."""
    with zipfile.ZipFile(wheel_path) as archive:
        members = [info for info in archive.infolist() if _splittable(info.filename)]
    total = sum(info.compress_size for info in members) or 1
    runs: list[set] = [set() for _ in range(parts)]
    done = 0
    for info in members:
        runs[min(parts - 1, done * parts // total)].add(info.filename)
        done += info.compress_size
    return [frozenset(run) for run in runs]


def _splittable(name: str) -> bool:
    top, _, rest = name.partition("/")
    if not rest or name.endswith("/") or top.endswith((".dist-info", ".data")):
        return False  # top-level files stay with `unpack` too: it lists them for the marker
    return "__pycache__" not in name.split("/")[:-1]


def unpack_members(wheel_path: Path, filename: str, target: Path, members: frozenset) -> list[tuple[str, str, str]]:
    """Write `members` (of `split_members`) under `target/site-packages/`, each checked against
    the wheel's RECORD while written; return their RECORD rows. Runs beside `unpack` of the same
    wheel into the same (private, fresh) `target`."""
    try:
        with zipfile.ZipFile(wheel_path) as archive, _opened(archive, filename, wheel_path, check=True) as source:
            try:
                rows = source.records
            except ValueError as exc:
                raise WheelError(f"unreadable RECORD: {exc}", where=filename, hint=_REDOWNLOAD) from None
            destination = _StoreDestination(target, source)
            written = []
            for info in archive.infolist():
                if info.filename not in members:
                    continue
                row = rows.get(info.filename)
                if row is None or not row[1]:
                    raise WheelError(f"{info.filename} is not in RECORD with a hash", where=filename, hint=_REDOWNLOAD)
                record = RecordEntry.from_elements(*row)
                member = source.member(info, record)
                source.current = record
                destination.write_file("purelib", info.filename, member, _is_executable(info))  # type: ignore[arg-type]
                if not member.matches(record):
                    raise WheelError(f"{record.path} does not match its RECORD hash/size", where=filename,
                                     hint="the wheel is corrupt or was tampered with; nothing was installed")
                written.append(row)
    except _NOT_A_ZIP as exc:
        raise WheelError(f"not a valid zip archive: {exc}", where=filename, hint=_REDOWNLOAD) from None
    return written


def finish_split(target: Path, main: dict[str, object], others: Sequence[Sequence[tuple[str, str, str]]]) -> dict[str, object]:
    """RECORD of every part (sorted by path, as `construct_record_file` writes it), then the
    marker fields of the whole entry."""
    from installer.utils import construct_record_file

    rows = [*main["records"], *(row for part in others for row in part)]  # type: ignore[misc]
    records = [(Scheme("purelib"), RecordEntry.from_elements(*row)) for row in rows]
    record_path = target / LIB / str(main["record_file"])
    crash_point("wheel-before-record")
    with construct_record_file(records) as stream, open(record_path, "wb") as out:
        shutil.copyfileobj(stream, out)
    return describe(target, str(main["wheel"]), str(main["dist_info"]), main["entry_points"])  # type: ignore[arg-type]


class _VerifiedWheel(WheelFile):
    """A `WheelFile` whose name comes from the caller (downloads are named by hash) and whose
    `get_contents` checks each member against RECORD as the destination reads it."""

    def __init__(self, archive: zipfile.ZipFile, filename: str, path: Path | None = None) -> None:
        name_version(filename)
        self._members = _Members(archive, path if path is not None else Path(str(archive.filename)))
        # WheelFile parses name and version from `archive.filename`, which for a download is
        # `<sha256>.whl`; zipfile only uses the attribute in messages once the archive is open.
        archive.filename = filename
        super().__init__(archive)
        self.filename = filename
        self.current: RecordEntry | None = None  # the member being written, for the destination
        self.skip: frozenset = frozenset()  # members another thread writes (`split_members`)

    def close(self) -> None:
        self._members.close()

    @cached_property
    def records(self) -> dict[str, tuple[str, str, str]]:
        """RECORD's rows by path, parsed once (installer's parser; ValueError if unreadable)."""
        from installer.records import parse_record_file

        return {row[0]: row for row in parse_record_file(self.read_dist_info("RECORD").splitlines())}

    def member(self, info: zipfile.ZipInfo, record: RecordEntry) -> _Member:
        """The member's bytes, inflated as they are written and hashed for `record`'s check."""
        return _Member(self._members.chunks(info), record.hash_.name if record.hash_ else None)

    @cached_property
    def dist_info_filenames(self) -> list[str]:
        """installer's list, computed once: its property runs `posixpath.commonpath` over every
        member on each access, and `install()` and `unpack` access it several times per wheel
        (~0.1 s of CPU for data-science's 6,200 members). The same members: a name under
        `<dist-info>/` is in by a prefix test, and only a name that merely contains the dist-info
        name (`./x.dist-info/...`) takes installer's commonpath test."""
        base = self.dist_info_dir
        prefix = base + "/"
        return [
            name[len(prefix):]
            for name in self._zipfile.namelist()
            if name[-1:] != "/"
            and (name.startswith(prefix) or (base in name and base == posixpath.commonpath([name, base])))
        ]

    def get_contents(self) -> Iterator[tuple[tuple[str, str, str], BinaryIO, bool]]:
        """installer's walk of the members (RECORD's row, or an empty one for a member RECORD
        lacks, which `validate_record` refused already), with the members read by `_Members`."""
        records = self.records
        for info in self._zipfile.infolist():
            name = info.filename
            if name[-1:] == "/":
                continue  # a directory entry
            if "__pycache__" in name.split("/")[:-1]:
                continue  # bytecode of whoever built the wheel; installer >= 0.8 skips it too
            if name in self.skip:
                continue
            elements = records.get(name, (name, "", ""))
            record = RecordEntry.from_elements(*elements)
            member = self.member(info, record)
            self.current = record
            yield elements, member, _is_executable(info)  # type: ignore[misc]
            if record.hash_ is not None and not member.matches(record):
                raise WheelError(
                    f"{record.path} does not match its RECORD hash/size",
                    where=self.filename,
                    hint="the wheel is corrupt or was tampered with; nothing was installed",
                )


def _is_executable(info: zipfile.ZipInfo) -> bool:
    """installer's (and pip's) test: a regular file with any x bit."""
    mode = info.external_attr >> 16
    return bool(mode and stat.S_ISREG(mode) and mode & 0o111)


# --- reading members --------------------------------------------------------------------------
# zipfile's member streams (a ZipExtFile per member: a seek and a read per chunk through a
# shared-file wrapper, zlib's inflate, buffered copies) and zlib's inflate were about half of
# the unpack's CPU. A member is read here by `pread` (its local header and, for most members,
# its data in one call), inflated by ISA-L where python-isal is installed (zlib otherwise: the
# same bytes), and written by `os.write`. zipfile still reads the central directory, and what it
# checks while reading a member is checked here too: the local header's signature and name, the
# CRC-32, the declared size as a bound on the output (zip bombs: a member is never inflated past
# it, however its stream is made); and one check newer zipfiles make: no member's data runs into
# the next member (overlapping members, a zip-bomb shape). Members that only zipfile reads
# (encrypted, compression methods other than stored and deflate) go through zipfile, as before.

_READ = 1 << 20  # compressed bytes read at once
_OUT = 8 << 20  # inflated bytes made at once: what a big member holds in memory
_HEADER = 30  # a local file header, without its name and extra field
_HEADER_SLACK = 512  # read with the header, so that a small member's data usually comes along
_NOT_A_ZIP = (zipfile.BadZipFile, *_INFLATE_ERRORS, EOFError, UnicodeDecodeError, NotImplementedError)


class _Members:
    """The members' bytes, read from the wheel file by offset (zipfile's central directory gives
    them), checked and inflated."""

    def __init__(self, archive: zipfile.ZipFile, path: Path) -> None:
        self._archive = archive
        self._path = path
        self._descriptor: int | None = None
        self._ends: dict[str, int] | None = None

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's bytes, in pieces of at most `_OUT`; raises zipfile's errors (and EOFError,
        an inflate error) for a member that is not what the central directory says."""
        if info.flag_bits & 0x61 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return self._through_zipfile(info)  # encrypted (0x01), patch data (0x20), strong encryption (0x40)
        return self._read(info)

    def _through_zipfile(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        with self._archive.open(info) as stream:
            while chunk := stream.read(_READ):
                yield chunk

    def _read(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        if self._descriptor is None:
            self._descriptor = os.open(self._path, os.O_RDONLY)
        descriptor = self._descriptor
        first = min(info.compress_size, _READ)
        head = os.pread(descriptor, _HEADER + _HEADER_SLACK + first, info.header_offset)
        if len(head) < _HEADER:
            raise zipfile.BadZipFile("Truncated file header")
        if head[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("Bad magic number for file header")
        flags = int.from_bytes(head[6:8], "little")
        name_length = int.from_bytes(head[26:28], "little")
        start = _HEADER + name_length + int.from_bytes(head[28:30], "little")
        name = head[_HEADER:_HEADER + name_length]
        if len(name) < name_length:
            name = os.pread(descriptor, name_length, info.header_offset + _HEADER)
        encoding = "utf-8" if flags & 0x800 else (getattr(self._archive, "metadata_encoding", None) or "cp437")
        if name.decode(encoding) != info.orig_filename:
            raise zipfile.BadZipFile(f"File name in directory {info.orig_filename!r} and header {name!r} differ.")
        offset = info.header_offset + start
        if offset + info.compress_size > self._end(info):
            raise zipfile.BadZipFile(f"Overlapped entries: {info.orig_filename!r} (possible zip bomb)")
        data = head[start:start + first] if len(head) >= start + first else os.pread(descriptor, first, offset)
        compressed = self._compressed(descriptor, data, offset, info.compress_size)
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise zipfile.BadZipFile(f"stored member {info.orig_filename!r} declares two sizes")
            return _checked(compressed, info)
        return _checked(_inflated(compressed, info), info)

    @staticmethod
    def _compressed(descriptor: int, data: bytes, offset: int, size: int) -> Iterator[bytes]:
        done = 0
        while True:
            if len(data) == 0 and done < size:
                raise EOFError(f"the archive ends inside a member ({done} of {size} bytes)")
            done += len(data)
            yield data
            if done >= size:
                return
            data = os.pread(descriptor, min(_READ, size - done), offset + done)

    def _end(self, info: zipfile.ZipInfo) -> int:
        """Where the member's data must end: at the next member's local header (or the central
        directory)."""
        if self._ends is None:
            members = sorted(self._archive.infolist(), key=lambda item: item.header_offset)
            limit = getattr(self._archive, "start_dir", None)
            if limit is None:
                limit = os.fstat(self._descriptor).st_size  # type: ignore[arg-type]
            self._ends = {this.filename: following.header_offset for this, following in zip(members, members[1:])}
            self._ends[members[-1].filename] = limit
        return self._ends[info.filename]


def _inflated(compressed: Iterator[bytes], info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The raw deflate stream inflated, never past `info.file_size` (one byte more says the
    archive lies about it: refused)."""
    inflater = _decompressobj(-15)
    left = info.file_size
    for data in compressed:
        while data and not inflater.eof:
            out = inflater.decompress(data, min(left, _OUT) + 1)
            tail = inflater.unconsumed_tail
            if not out and len(tail) >= len(data):
                raise zipfile.BadZipFile(f"{info.orig_filename!r}: inflating made no progress")
            data = tail
            left -= len(out)
            if left < 0:
                raise zipfile.BadZipFile(f"{info.orig_filename!r} inflates past its declared size {info.file_size}")
            if out:
                yield out
        if inflater.eof:
            return
    out = inflater.flush()  # the input is all given: what the inflater holds is at most its window
    left -= len(out)
    if left < 0:
        raise zipfile.BadZipFile(f"{info.orig_filename!r} inflates past its declared size {info.file_size}")
    if out:
        yield out


def _checked(chunks: Iterator[bytes], info: zipfile.ZipInfo) -> Iterator[bytes]:
    """`chunks`, then zipfile's checks at the end of a member: the declared size, the CRC-32."""
    crc = 0
    size = 0
    for chunk in chunks:
        crc = _crc32(chunk, crc)
        size += len(chunk)
        yield chunk
    if size != info.file_size:
        raise EOFError(f"{info.orig_filename!r} ends after {size} of its {info.file_size} bytes")
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.orig_filename!r}")


class _Member:
    """One member's bytes as the destination writes them, hashed on the way for RECORD's check;
    `matches` reads whatever was not written (a member installer skips) before comparing."""

    def __init__(self, chunks: Iterator[bytes], algorithm: str | None) -> None:
        self._chunks = chunks
        self._hasher = hashlib.new(algorithm) if algorithm else None
        self._pending = b""  # read but not returned by `read(n)`
        self.size = 0

    def _next(self) -> bytes:
        chunk = next(self._chunks, b"")
        if self._hasher is not None:
            self._hasher.update(chunk)
        self.size += len(chunk)
        return chunk

    def write_to(self, descriptor: int) -> int:
        """Write the rest into `descriptor`; return the bytes written."""
        written = _write_all(descriptor, self._pending)
        self._pending = b""
        while chunk := self._next():
            written += _write_all(descriptor, chunk)
        return written

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            chunk = self._next()
            if not chunk:
                break
            self._pending += chunk
        if size < 0:
            size = len(self._pending)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def matches(self, record: RecordEntry) -> bool:
        while self._next():
            pass
        if record.size is not None and record.size != self.size:
            return False
        if record.hash_ is None or self._hasher is None:
            return True
        value = base64.urlsafe_b64encode(self._hasher.digest()).decode("ascii").rstrip("=")
        return value == record.hash_.value


def _write_all(descriptor: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]
    return len(data)


class _StoreDestination(WheelDestination):
    """installer `WheelDestination` for a store entry. RECORD is rewritten relative to `site-packages/`
    with the source's (verified) hashes, so each member is hashed once."""

    def __init__(self, target: Path, source: _VerifiedWheel, defer_record: bool = False) -> None:
        self.target = target
        self.source = source
        self.defer_record = defer_record  # keep RECORD's rows in `deferred` for `finish_split`
        self.deferred: list[tuple[str, str, str]] = []
        self.record_file = ""
        self._base = os.path.abspath(target)
        self._made: set = set()
        self._written = 0

    def write_script(self, name: str, module: str, attr: str, section: str) -> RecordEntry:
        return RecordEntry("", None, None)  # recorded in the marker, written per environment

    def write_file(self, scheme: str, path: str | "os.PathLike[str]", stream: BinaryIO, is_executable: bool) -> RecordEntry:
        destination = self._destination(scheme, str(path))
        parent = os.path.dirname(destination)
        if parent not in self._made:
            os.makedirs(parent, mode=0o755, exist_ok=True)
            if destination.endswith(".py") and scheme in ("purelib", "platlib"):
                # Made now with 0o755: CPython would create it at first import with the program's
                # umask, possibly world-writable, in a store every project shares.
                os.makedirs(os.path.join(parent, "__pycache__"), mode=0o755, exist_ok=True)
            self._made.add(parent)
        # O_EXCL|O_NOFOLLOW: never write through a name that already exists, link or not.
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            if self._written == 1:
                crash_point("wheel-mid-unpack")
            if isinstance(stream, _Member):
                size = stream.write_to(descriptor)
            else:  # what installer adds (INSTALLER, direct_url.json)
                size = _write_all(descriptor, stream.read())
        finally:
            os.close(descriptor)
        self._written += 1
        if is_executable:
            os.chmod(destination, 0o755)
        return RecordEntry(self._relative_to_lib(scheme, str(path)), self._hash_of(scheme, str(path), destination), size)

    def _hash_of(self, scheme: str, path: str, destination: str):  # -> Hash | None
        """The member's verified RECORD hash; files installer adds itself (INSTALLER, direct_url.json)
        are hashed."""
        source_record = self.source.current
        if source_record is not None and (
            source_record.path == path or source_record.path.endswith(f".data/{scheme}/{path}")
        ):
            return source_record.hash_
        from installer.records import Hash

        with open(destination, "rb") as file:
            digest = hashlib.sha256(file.read()).digest()
        return Hash("sha256", base64.urlsafe_b64encode(digest).decode("ascii").rstrip("="))

    def _destination(self, scheme: str, path: str) -> str:
        """A lexical containment check suffices: `check_members` refused `..`, absolute names and
        symlinks, and the target is a fresh directory, so no component can redirect a write
        (and `Path.resolve` per member cost a third of numpy's unpack time)."""
        if scheme not in SCHEME_DIRS:
            raise WheelError(f"unknown install scheme {scheme!r} for {path}", where=self.source.filename)
        destination = os.path.normpath(os.path.join(self._base, SCHEME_DIRS[scheme], path))
        if not destination.startswith(self._base + os.sep):
            raise WheelError(f"refusing to write {path!r} outside the store entry", where=self.source.filename)
        return destination

    @staticmethod
    def _relative_to_lib(scheme: str, path: str) -> str:
        directory = SCHEME_DIRS[scheme]
        return path if directory == LIB else posixpath.join("..", directory, path)

    def finalize_installation(self, scheme: str, record_file_path: str, records: Iterable[tuple[str, RecordEntry]]) -> None:
        """RECORD by installer's `construct_record_file` (sorted by path, as installer's own
        destination writes it); the script rows `write_script` returned empty are left out."""
        from installer.utils import construct_record_file

        kept = [(Scheme(name), record) for name, record in records if record.path]
        if self.defer_record:
            self.record_file = record_file_path
            self.deferred = [record.to_row() for _, record in kept]
            return
        record_path = self.target / LIB / record_file_path
        record_path.parent.mkdir(parents=True, exist_ok=True)
        crash_point("wheel-before-record")
        with construct_record_file(kept) as stream, open(record_path, "wb") as out:
            shutil.copyfileobj(stream, out)


def top_level_names(lib: Path) -> list[str]:
    """Importable names directly in `site-packages/` (packages, namespace portions, modules,
    extensions): every name `import_module` finds there, identifier or not. mypyc puts a package's
    compiled code in `<hash>__mypyc.<ext-suffix>`, which the package's modules import by name."""
    if not lib.is_dir():
        return []
    names = set()
    for entry in lib.iterdir():
        name = _importable_name(entry)
        if name is not None:
            names.add(name)
    return sorted(names)


def _importable_name(entry: Path) -> str | None:
    """A top-level module name has no dot (`numpy.libs`, `x.dist-info` and `.hidden` are not
    modules); Python's path finder finds any other name, identifier or not."""
    if entry.is_dir():
        return None if entry.name == "__pycache__" or "." in entry.name else entry.name
    if entry.suffix in (".py", ".pyc"):
        stem = entry.name[: -len(entry.suffix)]
        return stem if stem and "." not in stem else None
    match = _EXTENSION.match(entry.name)
    return match.group(1) if match else None


def parse_entry_points(text: str | None, filename: str = "") -> dict[str, dict[str, str]]:
    """console_scripts and gui_scripts of entry_points.txt as {group: {name: "module:attr"}}, by
    installer's `parse_entrypoints` (the parser its `install()` generates scripts from; extras
    are dropped, as every launcher ignores them)."""
    from installer.utils import parse_entrypoints

    result: dict[str, dict[str, str]] = {"console_scripts": {}, "gui_scripts": {}}
    if not text:
        return result
    try:
        for name, module, attr, section in parse_entrypoints(text):
            result[f"{section}_scripts"][name] = f"{module}:{attr}"
    except configparser.Error as exc:
        raise WheelError(f"unreadable entry_points.txt: {' '.join(str(exc).split())}", where=filename or None,
                         hint=_REDOWNLOAD) from None
    except (AssertionError, AttributeError):  # installer asserts that a value is `module:attr`
        raise WheelError("unreadable entry_points.txt: a console or GUI script is not `name = module:attr`",
                         where=filename or None, hint=_REDOWNLOAD) from None
    return result
