"""The neutral lock model's records behave as the frozen dataclasses they were: built by keyword or
position, compared and hashed field by field, shown with their fields, immutable, picklable (the
store hands Artifacts to its unpacking processes), and each with its own empty mappings."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from monotrail.lock.model import Artifact, Dependency, Lock, LockedPackage


def test_records_compare_hash_and_show_their_fields() -> None:
    artifact = Artifact("a-1-py3-none-any.whl", "https://x/a.whl", (("sha256", "ab"),), 3)
    assert artifact == Artifact(filename="a-1-py3-none-any.whl", url="https://x/a.whl", hashes=(("sha256", "ab"),), size=3)
    assert artifact != Artifact("a-1-py3-none-any.whl")
    assert hash(artifact) == hash(Artifact("a-1-py3-none-any.whl", "https://x/a.whl", (("sha256", "ab"),), 3))
    assert artifact.sha256 == "ab"
    assert repr(Dependency("b", extras=("x",))) == "Dependency(name='b', marker=None, extras=('x',), version=None, specifier=None)"
    assert {Dependency("b"), Dependency("b")} == {Dependency("b")}
    assert Dependency("b") != ("b", None, (), None, None)
    with pytest.raises(TypeError):  # a dict field: unhashable, as the dataclass was
        hash(LockedPackage("a", "1"))


def test_records_are_immutable() -> None:
    artifact = Artifact("a.whl")
    with pytest.raises(AttributeError):
        artifact.url = "https://x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del artifact.url  # type: ignore[misc]


def test_records_pickle_and_copy() -> None:
    package = LockedPackage("a", "1", wheels=(Artifact("a.whl"),), optional_dependencies={"x": (Dependency("b"),)})
    lock = Lock(Path("/p/uv.lock"), "uv", (package,), roots=(Dependency("a"),), groups={"dev": ()})
    for record in (package, lock, Artifact("a.whl", size=1)):
        assert pickle.loads(pickle.dumps(record)) == record
        assert copy.copy(record) == record


def test_default_mappings_are_not_shared() -> None:
    first, second = LockedPackage("a", "1"), LockedPackage("b", "1")
    assert first.optional_dependencies == {} and first.optional_dependencies is not second.optional_dependencies
    lock, other = Lock(Path("x"), "uv", ()), Lock(Path("y"), "uv", ())
    assert lock.extras == {} == lock.groups and lock.extras is not other.extras
