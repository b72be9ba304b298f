"""`Record`: what `@dataclass(frozen=True)` gave the records of a new environment's path, written once.

Making a dataclass compiles its methods with exec (~0.8 ms each here), and the dataclasses module
imports inspect, ast, dis and tokenize (~7 ms): together about 15 ms of every run that writes a new
environment, for ten records whose users need none of the dataclass functions but `replace`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Record"]


class Record:
    """A frozen record. A subclass names its fields in `__slots__` and sets each in its `__init__`
    (positional or keyword, in field order) with `object.__setattr__`; it then has the fields'
    repr, equality with its own class field by field, the hash of its fields (a TypeError when one
    is a dict, as a frozen dataclass), no assignment or deletion, pickling and copying through its
    `__init__`, and `replace` (`dataclasses.replace`)."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def replace(self, **changes: Any) -> Any:
        """A copy with `changes` (field name -> value), as `dataclasses.replace` makes one."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no field {sorted(unknown)[0]!r}")
        return type(self)(**{name: changes.get(name, getattr(self, name)) for name in self.__slots__})

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # pickle and copy (the store's unpacking processes)
        return type(self), self._values()
