"""JSON with comments (JSONC), as editors keep their settings: read it, and set top-level keys in place.

VS Code's `settings.json` and pyright's `pyrightconfig.json` allow `//` and `/* */` comments and
trailing commas. Writing such a file back through `json.dumps` would drop the user's comments and
layout, so `set_members` scans the text once for the spans of the top-level members and changes
only the values it sets (or inserts new members before the closing brace): every other byte stays
as it was. A file that is not JSONC is a `SettingsError` naming the line and column, never rewritten.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from monotrail.errors import SettingsError

__all__ = ["loads", "set_members"]


class _Member(NamedTuple):
    key: str
    key_start: int  # the opening quote of the key
    value_start: int
    value_end: int


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class _Scanner:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def error(self, at: int, message: str) -> SettingsError:
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return SettingsError(f"not JSON with comments: {message}", where=f"{self.source}:{line}:{column}")

    def skip(self, i: int) -> int:
        """Past whitespace and comments."""
        text = self.text
        while i < len(text):
            char = text[i]
            if char in " \t\r\n\ufeff":
                i += 1
            elif text.startswith("//", i):
                end = text.find("\n", i)
                i = len(text) if end < 0 else end + 1
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                if end < 0:
                    raise self.error(i, "unterminated /* comment")
                i = end + 2
            else:
                break
        return i

    def value(self, i: int) -> tuple[Any, int]:
        """The value starting at `i` (after `skip`) and the index just past it."""
        text = self.text
        if i >= len(text):
            raise self.error(i, "a value was expected, the file ended")
        char = text[i]
        if char == "{":
            values, _, end = self.object(i)
            return values, end
        if char == "[":
            return self.array(i)
        if char == '"':
            return self.string(i)
        match = _NUMBER.match(text, i)
        if match:
            return json.loads(match.group()), match.end()
        for word, literal in _LITERALS.items():
            if text.startswith(word, i):
                return literal, i + len(word)
        raise self.error(i, f"a value was expected, found {text[i:i + 10]!r}")

    def string(self, i: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.text, i + 1)  # type: ignore[attr-defined]  # json's own
        except json.JSONDecodeError as error:
            raise self.error(error.pos, error.msg) from None

    def array(self, i: int) -> tuple[list, int]:
        items: list = []
        i = self.skip(i + 1)
        while not self.text.startswith("]", i):
            item, i = self.value(i)
            items.append(item)
            i = self.after_item(i, "]")
        return items, i + 1

    def object(self, i: int) -> tuple[dict, list[_Member], int]:
        """The object at `i`, its members' spans, and the index just past its `}`."""
        values: dict = {}
        members: list[_Member] = []
        i = self.skip(i + 1)
        while not self.text.startswith("}", i):
            if not self.text.startswith('"', i):
                raise self.error(i, "a key in double quotes was expected")
            key_start = i
            key, i = self.string(i)
            i = self.skip(i)
            if not self.text.startswith(":", i):
                raise self.error(i, "':' was expected after the key")
            value_start = self.skip(i + 1)
            values[key], value_end = self.value(value_start)
            members.append(_Member(key, key_start, value_start, value_end))
            i = self.after_item(value_end, "}")
        return values, members, i + 1

    def after_item(self, i: int, closing: str) -> int:
        """Past the ',' after an item (a trailing one too), up to the next item or `closing`."""
        i = self.skip(i)
        if self.text.startswith(",", i):
            return self.skip(i + 1)
        if not self.text.startswith(closing, i):
            raise self.error(i, f"',' or '{closing}' was expected")
        return i

    def document(self) -> tuple[dict, list[_Member], int, int]:
        """The top-level object, its members, and where its braces are; an empty file is `{}`."""
        start = self.skip(0)
        if start == len(self.text):
            return {}, [], -1, -1
        if not self.text.startswith("{", start):
            raise self.error(start, "the settings must be an object ('{' was expected)")
        values, members, end = self.object(start)
        if self.skip(end) != len(self.text):
            raise self.error(self.skip(end), "the text goes on after the closing '}'")
        return values, members, start, end - 1


def loads(text: str, source: str = "<text>") -> dict:
    """The top-level object of a JSONC document (comments and trailing commas allowed)."""
    return _Scanner(text, source).document()[0]


def set_members(text: str, values: Mapping[str, object], source: str = "<text>") -> str:
    """`text` with each top-level key of `values` set: replaced where it is, inserted before the
    closing brace otherwise (indented like the other members), every other byte unchanged."""
    _, members, open_brace, close_brace = _Scanner(text, source).document()
    if open_brace < 0:
        body = ",\n".join(f"    {json.dumps(key)}: {_render(value, '    ')}" for key, value in values.items())
        return text + ("{\n" + body + "\n}\n" if body else "{}\n")
    indent = _indentation(text, members[0].key_start) if members else "    "
    existing = {member.key: member for member in members}
    new = [(key, value) for key, value in values.items() if key not in existing]
    edits: list[tuple[int, int, int, str]] = []  # start, order at the same start, end, new text
    for key, value in values.items():
        if key in existing:
            member = existing[key]
            edits.append((member.value_start, 0, member.value_end,
                          _render(value, _indentation(text, member.key_start))))
    if new:
        insert_at = close_brace
        while insert_at > open_brace + 1 and text[insert_at - 1] in " \t\r\n":
            insert_at -= 1
        block = ",\n".join(f"{indent}{json.dumps(key)}: {_render(value, indent)}" for key, value in new)
        tail = "" if "\n" in text[insert_at:close_brace] else "\n"
        if members and not _has_comma_after(text, members[-1].value_end, close_brace):
            edits.append((members[-1].value_end, 0, members[-1].value_end, ","))
        edits.append((insert_at, 1, insert_at, "\n" + block + tail))
    for start, _, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _has_comma_after(text: str, value_end: int, close_brace: int) -> bool:
    scanner = _Scanner(text, "")
    return text.startswith(",", scanner.skip(value_end)) and scanner.skip(value_end) < close_brace


def _indentation(text: str, at: int) -> str:
    line_start = text.rfind("\n", 0, at) + 1
    prefix = text[line_start:at]
    return prefix if not prefix.strip() else "    "


def _render(value: object, indent: str) -> str:
    """JSON for `value`, nested lines indented under a member that starts with `indent`."""
    return json.dumps(value, indent=4).replace("\n", "\n" + indent)
