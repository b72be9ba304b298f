"""Wheel tags of a target interpreter, computed without running packaging inside it.

The reference is `packaging.tags.sys_tags()` run *inside* each target found on this machine (as
the product finds them), with the launcher's own packaging put on the target's path; where that
packaging does not support the target's Python, the platform part is compared with the
launcher's own `packaging.tags.platform_tags()`, which is the same machine's. The PEP 600 / 656
pieces monotrail computes itself (the ELF header, the musl loader) are tested on synthetic files.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import REPO

from monotrail.interpreters import elf
from monotrail.interpreters.discovery import (
    _native_linux_first,
    list_interpreters,
    musl_version,
    platform_tags,
    probe,
    probe_facts,
)

X86_64, I386, ARM = 62, 3, 40


def elf_file(path: Path, *, bits: int = 64, little: bool = True, machine: int = X86_64, flags: int = 0,
             interpreter: str | None = None) -> Path:
    """A minimal ELF file: the header and, with `interpreter`, one PT_INTERP program header."""
    order = "<" if little else ">"
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if little else 2, 1]) + bytes(9)
    header, program, size, entry_size = (("HHIIIIIHHHHHH", "IIIIIIII", 52, 32) if bits == 32 else
                                         ("HHIQQQIHHHHHH", "IIQQQQQQ", 64, 56))
    entries = 1 if interpreter else 0
    data = ident + struct.pack(order + header, 2, machine, 1, 0, size, 0, flags, size, entry_size, entries, 0, 0, 0)
    if interpreter:
        raw = interpreter.encode() + b"\0"
        at = size + entry_size
        fields = (3, at, 0, 0, len(raw), len(raw), 4, 1) if bits == 32 else (3, 4, at, 0, 0, len(raw), len(raw), 1)
        data += struct.pack(order + program, *fields) + raw
    path.write_bytes(data)
    return path


ARMHF = 0x05000000 | 0x00000400


@pytest.mark.parametrize("bits, little, machine, flags, i686, armhf", [
    (64, True, X86_64, 0, False, False),
    (32, True, I386, 0, True, False),
    (32, False, I386, 0, False, False),
    (32, True, ARM, ARMHF, False, True),
    (32, True, ARM, 0x05000000, False, False),  # soft-float EABI5: no armv7l wheels
    (32, True, ARM, 0x04000000 | 0x00000400, False, False),  # an older EABI
    (64, True, ARM, ARMHF, False, False),
])
def test_elf_header_decides_i686_and_armhf(tmp_path: Path, bits, little, machine, flags, i686, armhf) -> None:
    header = elf.read_header(str(elf_file(tmp_path / "python", bits=bits, little=little, machine=machine, flags=flags)))
    assert header is not None and (header.bits, header.little_endian, header.machine) == (bits, little, machine)
    assert (elf.is_i686(header), elf.is_armhf(header)) == (i686, armhf)


@pytest.mark.parametrize("bits, little", [(64, True), (32, True), (64, False), (32, False)])
def test_elf_interpreter_is_read_from_pt_interp(tmp_path: Path, bits: int, little: bool) -> None:
    path = elf_file(tmp_path / "python", bits=bits, little=little, interpreter="/lib/ld-musl-x86_64.so.1")
    header = elf.read_header(str(path))
    assert header is not None and header.interpreter == "/lib/ld-musl-x86_64.so.1"


def test_not_an_elf_file_has_no_header(tmp_path: Path) -> None:
    (tmp_path / "script").write_text("#!/bin/sh\n")
    assert elf.read_header(str(tmp_path / "script")) is None
    assert elf.read_header(str(tmp_path / "missing")) is None
    (tmp_path / "short").write_bytes(b"\x7fELF\x02\x01")
    assert elf.read_header(str(tmp_path / "short")) is None


def fake_loader(directory: Path, banner: str) -> Path:
    loader = directory / "ld-musl-x86_64.so.1"
    loader.write_text(f"#!/bin/sh\nprintf '{banner}' >&2\nexit 1\n")
    loader.chmod(0o755)
    return loader


def linux_facts(**overrides: object) -> dict[str, object]:
    facts: dict[str, object] = {"version": [3, 12, 1, "final", 0], "implementation": "cpython", "py_version_nodot": "312",
                                "platform": "linux-x86_64", "pointer_bits": 64, "libc": ["glibc", "2.35"]}
    facts.update(overrides)
    return facts


def with_native(native: list[str], portable: list[str]) -> list[str]:
    return native + portable if _native_linux_first() else portable + native


def test_musllinux_tags_come_from_the_targets_musl_loader(tmp_path: Path) -> None:
    loader = fake_loader(tmp_path, "musl libc (x86_64)\\nVersion 1.2.4\\nDynamic Program Loader\\n")
    assert musl_version(str(loader)) == (1, 2)
    python = elf_file(tmp_path / "python3.12", interpreter=str(loader))
    tags = list(platform_tags(linux_facts(libc=["", ""]), str(python)))
    assert tags == with_native(["linux_x86_64"], ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"])


def test_a_glibc_loader_or_a_strange_banner_is_no_musl(tmp_path: Path) -> None:
    assert musl_version("/lib64/ld-linux-x86-64.so.2") is None  # not even run
    assert musl_version(str(fake_loader(tmp_path, "musl libc (x86_64)\\nno version here\\n"))) is None
    assert musl_version(str(tmp_path / "ld-musl-missing.so.1")) is None


def test_manylinux_tags_follow_the_targets_glibc_with_legacy_aliases_in_place(tmp_path: Path) -> None:
    python = elf_file(tmp_path / "python3.12")
    tags = list(platform_tags(linux_facts(libc=["glibc", "2.17"]), str(python)))
    aliases = {17: ["manylinux2014_x86_64"], 12: ["manylinux2010_x86_64"], 5: ["manylinux1_x86_64"]}
    portable = [tag for minor in range(17, 4, -1) for tag in [f"manylinux_2_{minor}_x86_64", *aliases.get(minor, [])]]
    assert tags == with_native(["linux_x86_64"], portable)


def test_a_32_bit_build_gets_i686_or_armv7l_wheels_only_when_its_header_says_so(tmp_path: Path) -> None:
    facts = linux_facts(pointer_bits=32, libc=["glibc", "2.17"])
    i686 = elf_file(tmp_path / "python-i686", bits=32, machine=I386)
    assert "manylinux2014_i686" in platform_tags(facts, str(i686))
    x32 = elf_file(tmp_path / "python-x32", bits=32, machine=X86_64)
    assert list(platform_tags(facts, str(x32))) == ["linux_i686"]
    arm = dict(facts, platform="linux-aarch64")
    armhf = elf_file(tmp_path / "python-armhf", bits=32, machine=ARM, flags=ARMHF)
    tags = list(platform_tags(arm, str(armhf)))
    assert tags[:2] == ["linux_armv8l", "linux_armv7l"] or tags[-2:] == ["linux_armv8l", "linux_armv7l"]
    assert "manylinux_2_17_armv8l" in tags and "manylinux2014_armv7l" in tags
    armel = elf_file(tmp_path / "python-armel", bits=32, machine=ARM, flags=0x05000000)
    assert sorted(platform_tags(arm, str(armel))) == ["linux_armv7l", "linux_armv8l"]


def test_tags_equal_packaging_sys_tags_for_the_interpreter_running_the_tests(tmp_path: Path) -> None:
    from packaging import tags

    assert list(probe(sys.executable, tmp_path).tags) == [str(tag) for tag in tags.sys_tags()]


SYS_TAGS = "import json, sys; sys.path.insert(0, sys.argv[1]); import packaging.tags as t; " \
           "print(json.dumps([str(tag) for tag in t.sys_tags()]))"


def _packaging_runs_on(version: str) -> bool:
    from importlib.metadata import metadata

    from packaging.specifiers import SpecifierSet

    return SpecifierSet(metadata("packaging").get("Requires-Python") or "").contains(version, prereleases=True)


def _same_machine(facts: dict[str, object]) -> bool:
    """The target's platform tags are the launcher's own: same platform, pointer size and libc."""
    import platform as host_platform

    host_libc = list(host_platform.libc_ver()) if sys.platform.startswith("linux") else ["", ""]
    try:
        confstr = (os.confstr("CS_GNU_LIBC_VERSION") or "").split()
        host_libc = confstr if len(confstr) == 2 else host_libc
    except (AttributeError, OSError, ValueError):
        pass
    return (facts.get("platform") == sysconfig.get_platform() and facts.get("pointer_bits") == struct.calcsize("P") * 8
            and list(facts.get("libc") or []) == host_libc)  # type: ignore[call-overload]


def test_tags_equal_packaging_sys_tags_inside_every_target_interpreter(tmp_path: Path) -> None:
    """Every supported interpreter this machine has, found as `monotrail python list` finds them."""
    import packaging
    from packaging import tags

    shelf = tmp_path / "host-packaging"  # only packaging, not the rest of the launcher's site-packages
    shelf.mkdir()
    (shelf / "packaging").symlink_to(Path(packaging.__file__).parent, target_is_directory=True)
    targets = {os.path.realpath(found.path): found.path for found in list_interpreters(tmp_path, dict(os.environ))
               if found.interpreter is not None}
    if not targets:
        pytest.skip("SKIPPED LOUDLY: no supported Python interpreter found on PATH, pyenv or uv's directories")
    compared, mismatched = [], []
    for path in sorted(targets.values()):
        interpreter = probe(path, tmp_path)
        if _packaging_runs_on(interpreter.full_version):
            inside = subprocess.run([path, "-I", "-c", SYS_TAGS, str(shelf)], capture_output=True, text=True, check=True)
            ours, reference = list(interpreter.tags), json.loads(inside.stdout)
        elif _same_machine(probe_facts(path, tmp_path)[0]):
            ours, reference = list(platform_tags(probe_facts(path, tmp_path)[0], path)), [*tags.platform_tags()]
        else:
            continue
        compared.append(path)
        if ours != reference:
            mismatched.append(f"{path}: first difference at {next(i for i, pair in enumerate(zip(ours + [''], reference + [''])) if pair[0] != pair[1])}")
    assert compared and not mismatched, mismatched


def test_the_launcher_uses_no_private_module_of_packaging() -> None:
    """`packaging>=25` has no upper bound: only its public API may be relied on."""
    import re

    launcher = REPO / "launcher"
    private = re.compile(r"from\s+packaging(\.\w+)*\s+import\s+_(?!_)|packaging\._(?!_)")  # dunders are public
    uses = [f"{path.name}:{number}" for path in sorted(launcher.rglob("*.py"))
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1) if private.search(line)]
    assert uses == []
