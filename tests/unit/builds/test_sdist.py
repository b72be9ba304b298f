"""`monotrail.builds.sdist` in-process: how deep builds may nest (an sdist whose build needs another sdist
built). The builds themselves run end to end in tests/e2e/test_scripts.py and test_lock_shapes.py."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_builds_nest_two_levels_deep_per_chain(tmp_path: Path) -> None:
    from monotrail.builds.sdist import BuildError, cached_or_built

    def build(cache: Path, work: Path) -> Path:
        return work

    assert cached_or_built(tmp_path / "b", "b-1.tar.gz", tmp_path, build, ("a-1.tar.gz",)).parent == tmp_path / "tmp"
    with pytest.raises(BuildError, match="several levels deep \\(a-1.tar.gz -> b-1.tar.gz -> c-1.tar.gz\\)"):
        cached_or_built(tmp_path / "c", "c-1.tar.gz", tmp_path, build, ("a-1.tar.gz", "b-1.tar.gz"))
