"""The few fields of an interpreter's ELF header that decide which Linux wheels it can load.

PEP 600 (manylinux) and PEP 656 (musllinux) are about the *running* interpreter: whether a 32-bit
build is x86 or hard-float ARM, and whether its dynamic loader is glibc's or musl's. monotrail
answers for a target it has not started, so it reads the target binary's header instead: the
class and byte order (`e_ident`), the machine and flags, and the program interpreter
(`PT_INTERP`). The layout is the System V ABI's (gABI, "ELF Header" and "Program Header").
`packaging` reads the same fields in a private module, which is not an API to build on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

EM_386 = 3  # e_machine of 32-bit x86
EM_ARM = 40  # e_machine of 32-bit ARM
EF_ARM_ABIMASK = 0xFF000000  # ARM EABI version bits of e_flags (ARM's "ELF for the Arm Architecture")
EF_ARM_ABI_VER5 = 0x05000000
EF_ARM_ABI_FLOAT_HARD = 0x00000400  # the hard-float procedure call standard
PT_INTERP = 3  # the program header naming the dynamic loader


@dataclass(frozen=True)
class ElfHeader:
    bits: int  # 32 or 64 (EI_CLASS)
    little_endian: bool  # EI_DATA
    machine: int  # e_machine
    flags: int  # e_flags
    interpreter: str | None  # the dynamic loader (PT_INTERP); None for a static binary


def read_header(path: str) -> ElfHeader | None:
    """The header of the ELF file at `path`; None when it is not one or cannot be read."""
    try:
        with open(path, "rb") as file:
            return _parse(file)
    except (OSError, struct.error, ValueError):
        return None


def is_i686(header: ElfHeader | None) -> bool:
    return header is not None and header.bits == 32 and header.little_endian and header.machine == EM_386


def is_armhf(header: ElfHeader | None) -> bool:
    """A 32-bit little-endian ARM EABI5 build using the hard-float ABI (what armv7l wheels need)."""
    return (
        header is not None
        and header.bits == 32
        and header.little_endian
        and header.machine == EM_ARM
        and header.flags & EF_ARM_ABIMASK == EF_ARM_ABI_VER5
        and header.flags & EF_ARM_ABI_FLOAT_HARD == EF_ARM_ABI_FLOAT_HARD
    )


def _parse(file: BinaryIO) -> ElfHeader | None:
    ident = file.read(16)
    if len(ident) < 16 or ident[:4] != b"\x7fELF":
        return None
    bits = {1: 32, 2: 64}.get(ident[4])
    order = {1: "<", 2: ">"}.get(ident[5])
    if bits is None or order is None:
        return None
    # e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum, ...
    layout = order + ("HHIIIIIHHHHHH" if bits == 32 else "HHIQQQIHHHHHH")
    fields = struct.unpack(layout, file.read(struct.calcsize(layout)))
    machine, program_offset, flags, entry_size, entries = fields[1], fields[4], fields[6], fields[8], fields[9]
    interpreter = _interpreter(file, order, bits, program_offset, entry_size, entries)
    return ElfHeader(bits, order == "<", machine, flags, interpreter)


def _interpreter(file: BinaryIO, order: str, bits: int, offset: int, entry_size: int, entries: int) -> str | None:
    """The path in the PT_INTERP program header, if there is one."""
    # 32-bit: p_type, p_offset, p_vaddr, p_paddr, p_filesz, ...; 64-bit: p_type, p_flags, p_offset, ...
    layout = order + ("IIIIIIII" if bits == 32 else "IIQQQQQQ")
    at_offset, at_size = (1, 4) if bits == 32 else (2, 5)
    for index in range(entries):
        file.seek(offset + index * entry_size)
        entry = struct.unpack(layout, file.read(struct.calcsize(layout)))
        if entry[0] == PT_INTERP:
            file.seek(entry[at_offset])
            return file.read(entry[at_size]).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return None
