"""The package root (`monotrail/__init__.py`): what every stage and the warm path use."""

from __future__ import annotations

import hashlib
import sys

import monotrail


def test_sha256_hex_is_hashlibs_digest() -> None:
    for data in (b"", b"abc", bytes(range(256)) * 1000):
        assert monotrail.sha256_hex(data) == hashlib.sha256(data).hexdigest()


class _Recorder:
    """A meta path finder that only notes which modules the import system looked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)
        return None


def test_new_sha256_looks_its_module_up_once_per_process() -> None:
    """A failed import is not kept in sys.modules: without a remembered constructor, every call
    on 3.9-3.11 (no `_sha2`) searched the import path for `_sha2` again."""
    monotrail.new_sha256()
    recorder = _Recorder()
    sys.meta_path.insert(0, recorder)
    try:
        for _ in range(3):
            digest = monotrail.new_sha256()
            digest.update(b"abc")
            assert digest.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    finally:
        sys.meta_path.remove(recorder)
    assert recorder.names == []
