"""`monotrail.records.Record`: `replace` as `dataclasses.replace` (the other behaviours: lock/test_model.py)."""

from __future__ import annotations

import pytest

from monotrail.lock.model import Artifact


def test_replace_makes_a_changed_copy() -> None:
    artifact = Artifact("a.whl", "https://x/a.whl", (("sha256", "ab"),))
    changed = artifact.replace(url=None, size=3)
    assert changed == Artifact("a.whl", None, (("sha256", "ab"),), 3)
    assert artifact.url == "https://x/a.whl"


def test_replace_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="no field 'sha'"):
        Artifact("a.whl").replace(sha="ab")
