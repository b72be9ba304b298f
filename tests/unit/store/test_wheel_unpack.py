"""Unpacking one wheel (`monotrail.store.wheel`) called in-process: what reaches the entry, what is refused.

The store's tests (test_store.py) go through `ensure_installed` and a local index; these call
`wheel.unpack` on wheels built here, to reach the member reading's own checks.
"""

from __future__ import annotations

import io
import os
import random
import zipfile
import zlib
from pathlib import Path

import pytest
from installer.sources import WheelFile

from index_fixtures import build_wheel
from monotrail.errors import WheelError
from monotrail.store import wheel as wheels


def test_dist_info_filenames_are_installers_list(tmp_path: Path) -> None:
    """Computed once with a prefix test, the list is the one installer's commonpath test gives,
    odd names included (a dot component, a directory entry, a sibling with a longer name)."""
    built = build_wheel(tmp_path, "pkg", "1.0", {"pkg/__init__.py": "", "pkg-1.0.dist-infox/y": "",
                                                 "sub/pkg-1.0.dist-info/z": "", "pkg-1.0.dist-info/licenses/L": ""})
    with zipfile.ZipFile(built, "a") as archive:
        archive.writestr("./pkg-1.0.dist-info/dotted", "")
        archive.writestr("pkg-1.0.dist-info/empty/", "")
    with zipfile.ZipFile(built) as archive:
        ours = wheels._VerifiedWheel(archive, built.name).dist_info_filenames
        theirs = WheelFile(archive).dist_info_filenames
    assert ours == theirs and "licenses/L" in ours and "RECORD" in ours


# --- reading members: ISA-L or zlib, and zipfile's checks kept ---------------------------------


@pytest.fixture(params=["isal", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Unpack with ISA-L's inflate (the default where python-isal is installed) or zlib's (the
    fallback where it has no wheel)."""
    if request.param == "isal":
        isal_zlib = pytest.importorskip("isal.isal_zlib", reason="python-isal is not installed (a dependency of monotrail)")
        monkeypatch.setattr(wheels, "_decompressobj", isal_zlib.decompressobj)
        monkeypatch.setattr(wheels, "_crc32", isal_zlib.crc32)
    else:
        monkeypatch.setattr(wheels, "_decompressobj", zlib.decompressobj)
        monkeypatch.setattr(wheels, "_crc32", zlib.crc32)
    return request.param


def _members() -> dict[str, bytes]:
    """Members of every shape the reader handles: empty, small, bigger than one read of
    compressed bytes (incompressible), inflating to more than one piece of output."""
    noise = random.Random(7).randbytes(3 << 20)
    return {"pkg/__init__.py": b"", "pkg/small.py": b"X = 1\n" * 50, "pkg/noise.bin": noise,
            "pkg/zeros.bin": b"\0" * (20 << 20), "pkg/text.txt": b"".join(b"line %d\n" % i for i in range(200_000))}


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
            for p in sorted(path.rglob("*"))}


def _restored(built: Path, stored: set[str] = frozenset(), methods: dict[str, int] | None = None) -> Path:
    """`built` written again with the named members stored (not deflated) or compressed by
    another method."""
    with zipfile.ZipFile(built) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(built, "w") as archive:
        for info, data in members:
            info.compress_type = zipfile.ZIP_STORED if info.filename in stored else (methods or {}).get(
                info.filename, zipfile.ZIP_DEFLATED)
            archive.writestr(info, data)
    return built


def test_every_member_is_unpacked_as_zipfile_reads_it(tmp_path: Path, inflater: str) -> None:
    built = _restored(build_wheel(tmp_path, "pkg", "1.0", {**_members(), "pkg/stored.py": "S = 1\n",
                                                           "pkg/bz.py": "B = 2\n" * 100}, executables=("pkg/small.py",)),
                      stored={"pkg/stored.py"}, methods={"pkg/bz.py": zipfile.ZIP_BZIP2})
    target = tmp_path / "entry"
    target.mkdir()
    wheels.unpack(built, built.name, target)
    with zipfile.ZipFile(built) as archive:
        for name in ("pkg/__init__.py", "pkg/small.py", "pkg/noise.bin", "pkg/zeros.bin", "pkg/text.txt", "pkg/stored.py", "pkg/bz.py"):
            assert (target / "site-packages" / name).read_bytes() == archive.read(name), name
    assert os.access(target / "site-packages" / "pkg" / "small.py", os.X_OK)


def test_isal_and_zlib_give_the_same_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isal_zlib = pytest.importorskip("isal.isal_zlib", reason="python-isal is not installed (a dependency of monotrail)")
    built = build_wheel(tmp_path, "pkg", "1.0", _members(), executables=("pkg/small.py",))
    entries = []
    for module in (isal_zlib, zlib):
        monkeypatch.setattr(wheels, "_decompressobj", module.decompressobj)
        monkeypatch.setattr(wheels, "_crc32", module.crc32)
        target = tmp_path / module.__name__
        target.mkdir()
        entries.append((wheels.unpack(built, built.name, target), _tree(target)))
    assert entries[0] == entries[1]


def _patch(built: Path, name: str, **fields: int) -> None:
    """Overwrite fixed-size fields of `name`'s local header and central directory record in place
    (`crc`, `size`: the uncompressed size, `compressed`: the compressed size)."""
    data = bytearray(built.read_bytes())
    with zipfile.ZipFile(built) as archive:
        info = archive.getinfo(name)
    central = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02"))
    while data[central + 46: central + 46 + len(name)] != name.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    for header, offsets in ((info.header_offset, {"crc": 14, "compressed": 18, "size": 22}),
                            (central, {"crc": 16, "compressed": 20, "size": 24})):
        for field, value in fields.items():
            data[header + offsets[field]: header + offsets[field] + 4] = value.to_bytes(4, "little")
    built.write_bytes(bytes(data))


def _unpack_refused(built: Path, tmp_path: Path, message: str) -> None:
    target = tmp_path / "entry"
    target.mkdir()
    with pytest.raises(WheelError, match=message):
        wheels.unpack(built, built.name, target)


def test_a_corrupt_member_is_refused(tmp_path: Path, inflater: str) -> None:
    built = build_wheel(tmp_path, "pkg", "1.0", {"pkg/text.txt": b"".join(b"line %d\n" % i for i in range(20_000))})
    with zipfile.ZipFile(built) as archive:
        info = archive.getinfo("pkg/text.txt")
    data = bytearray(built.read_bytes())
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle: middle + 8] = bytes(255 - byte for byte in data[middle: middle + 8])
    built.write_bytes(bytes(data))
    _unpack_refused(built, tmp_path, "not a valid zip archive")


def test_a_member_inflating_past_its_declared_size_is_refused(tmp_path: Path, inflater: str) -> None:
    """A zip bomb's shape: the sizes (checked before unpacking) say 1,000 bytes, the stream holds
    10 MB. zipfile stopped at the declared size, so with the CRC and RECORD of those 1,000 bytes
    the wheel was unpacked; a lying archive is refused."""
    declared = b"\0" * 1000
    built = build_wheel(tmp_path, "pkg", "1.0", {"pkg/bomb.bin": declared})
    with zipfile.ZipFile(built) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(built, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, b"\0" * 10_000_000 if info.filename == "pkg/bomb.bin" else data)
    _patch(built, "pkg/bomb.bin", size=len(declared), crc=zlib.crc32(declared))
    _unpack_refused(built, tmp_path, "inflates past its declared size")


def test_a_member_whose_data_runs_into_the_next_is_refused(tmp_path: Path, inflater: str) -> None:
    """Overlapping members (a zip-bomb shape; refused by newer zipfiles too): the central
    directory's compressed size takes the first member's data into the next member's header."""
    built = build_wheel(tmp_path, "pkg", "1.0", {"pkg/a.py": "A = 1\n" * 100, "pkg/b.py": "B = 2\n"})
    with zipfile.ZipFile(built) as archive:
        info = archive.getinfo("pkg/a.py")
    _patch(built, "pkg/a.py", compressed=info.compress_size + 40)
    _unpack_refused(built, tmp_path, "Overlapped entries: 'pkg/a.py'")


def test_a_local_header_naming_another_file_is_refused(tmp_path: Path, inflater: str) -> None:
    built = build_wheel(tmp_path, "pkg", "1.0", {"pkg/a.py": "A = 1\n"})
    with zipfile.ZipFile(built) as archive:
        offset = archive.getinfo("pkg/a.py").header_offset
    data = bytearray(built.read_bytes())
    data[offset + 30: offset + 30 + len("pkg/a.py")] = b"pkg/z.py"
    built.write_bytes(bytes(data))
    _unpack_refused(built, tmp_path, "File name in directory 'pkg/a.py' and header b'pkg/z.py' differ")


class _Unseekable(io.RawIOBase):
    """A write-only file zipfile cannot seek in: it then puts each member's sizes in a data
    descriptor after its data, as streaming zip writers do."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def test_data_descriptors_and_zip64_headers_are_read(tmp_path: Path, inflater: str) -> None:
    """Members whose local header has no sizes (a data descriptor follows the data: flag bit 3)
    or a ZIP64 extra field: their sizes come from the central directory."""
    built = build_wheel(tmp_path, "pkg", "1.0", {"pkg/a.py": "A = 1\n" * 1000, "pkg/b.bin": b"\1\2" * 70_000})
    with zipfile.ZipFile(built) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    rewritten = tmp_path / "rewritten" / built.name
    rewritten.parent.mkdir()
    stream = _Unseekable(rewritten)
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            with archive.open(info, "w", force_zip64=info.filename == "pkg/b.bin") as member:
                member.write(data)
    stream.close()
    with zipfile.ZipFile(rewritten) as archive:
        assert all(info.flag_bits & 0x08 for info in archive.infolist())
    target = tmp_path / "entry"
    target.mkdir()
    wheels.unpack(rewritten, rewritten.name, target)
    assert (target / "site-packages" / "pkg" / "b.bin").read_bytes() == b"\1\2" * 70_000
    assert (target / "site-packages" / "pkg" / "a.py").read_text() == "A = 1\n" * 1000
