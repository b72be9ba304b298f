"""PEP 503 name normalization, the one every stage uses.

`packaging.utils.canonicalize_name` gives the same result, but importing packaging costs the
lock readers ~15 ms they otherwise never pay.
"""

from __future__ import annotations

import re

__all__ = ["normalize"]

_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """`Foo.Bar_baz` -> `foo-bar-baz` (PEP 503)."""
    return _SEPARATORS.sub("-", name).lower()
