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


def test_every_records_init_takes_its_fields_in_slot_order() -> None:
    """Pickling, copying, replace, repr and equality go by `__slots__`; construction by position
    must agree with it (as a dataclass's fields and its __init__ did)."""
    import inspect

    import monotrail.environment.spec
    import monotrail.interpreters.discovery
    import monotrail.selection
    import monotrail.store.entries  # noqa: F401  (the records' modules)
    from monotrail.records import Record

    records = Record.__subclasses__()
    assert len(records) >= 10
    for record in records:
        parameters = list(inspect.signature(record.__init__).parameters)[1:]
        assert tuple(parameters) == record.__slots__, record
