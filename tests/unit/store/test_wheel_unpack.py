"""Unpacking one wheel (`monotrail.store.wheel`) called in-process: what reaches the entry, what is refused.

The store's tests (test_store.py) go through `ensure_installed` and a local index; these call
`wheel.unpack` on wheels built here, to reach the member reading's own checks.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from installer.sources import WheelFile

from index_fixtures import build_wheel
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
