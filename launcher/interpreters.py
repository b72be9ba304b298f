"""Which Python: discovery, probing and the probe cache. (Being filled in.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Tuple


@dataclass(frozen=True)
class Interpreter:
    """Facts about one Python, probed once by a stdlib-only script and cached by path + mtime."""

    path: str  # the real binary (symlinks resolved only as far as needed to not be a pyenv shim)
    mtime: float
    version: Tuple[int, int, int]  # (3, 12, 1)
    implementation: str  # "cpython"
    free_threaded: bool
    markers: Mapping[str, str]  # PEP 508 marker environment of *that* interpreter
    tags: Tuple[str, ...]  # supported wheel tags, best first, "cp312-cp312-manylinux_2_17_x86_64"
    ext_suffixes: Tuple[str, ...]  # importlib.machinery.EXTENSION_SUFFIXES of that interpreter
    stdlib: str  # sysconfig paths["stdlib"]
    platstdlib: str
