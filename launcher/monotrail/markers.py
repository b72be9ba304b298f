"""PEP 508 markers and PEP 440 specifiers in the shapes locks write, without importing packaging.

`import packaging.markers` costs ~25 ms (packaging 26 compiles its tokenizer's regexes and pulls
in `packaging.tags`, `logging` and `subprocess`), more than the rest of a cold run with every
wheel already in the store. uv and pip write markers as `and`/`or`/parentheses over
`VARIABLE OP 'literal'`, and requires-python as `>=3.9`-style clauses; those are read and
evaluated here, with packaging's exact semantics for them. Anything else (`~=`, `in`, a literal
on the left, a version that is not plain digits and dots, a variable missing from the
environment) answers None, and the caller asks packaging, so no answer ever differs from it.
"""

from __future__ import annotations

import re
from typing import Union
from collections.abc import Mapping
from monotrail.names import normalize

# A variable compared to a literal; a parsed marker is a tree of these, and/or lists.
Compare = tuple[str, str, str]  # (variable, operator, literal)
Node = Union[Compare, tuple[str, list]]  # ("and" | "or", [nodes])

_TOKEN = re.compile(r"\s*(?:(\()|(\))|(and|or)\b|([a-z_]+)\s*(==|!=|<=|>=|<|>)\s*(?:'([^']*)'|\"([^\"]*)\"))")
_VERSION_VARIABLES = {"python_version", "python_full_version"}
_STRING_VARIABLES = {
    "os_name", "sys_platform", "platform_machine", "platform_system",
    "platform_python_implementation", "implementation_name", "extra",
}
_PLAIN_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_PLAIN_CLAUSE = re.compile(r"\s*(==|!=|<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*")
_MAYBE_VERSION = re.compile(r"\s*[vV]?[0-9]")  # a literal packaging might compare as a version


def parse(marker: str) -> Node | None:
    """The marker as a tree, or None when it is not in the shapes this module handles."""
    tokens: list = []  # (variable, operator, literal) comparisons and the words between them
    position = 0
    text = marker.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        position = match.end()
        opening, closing, logical, variable, operator, single, double = match.groups()
        if variable is not None:
            literal = single if single is not None else double
            if not _handled(variable, operator, literal):
                return None
            tokens.append((variable, operator, literal))
        else:
            tokens.append(opening or closing or logical)
    tree, rest = _parse_or(tokens, 0)
    return tree if tree is not None and rest == len(tokens) else None


def _handled(variable: str, operator: str, literal: str) -> bool:
    if variable in _VERSION_VARIABLES:
        return _PLAIN_CLAUSE.fullmatch(operator + literal) is not None and (
            not literal.endswith(".*") or operator in ("==", "!=")
        )
    # packaging compares only the four version variables as versions; these are plain strings.
    return variable in _STRING_VARIABLES and operator in ("==", "!=")


def _parse_or(tokens: list, i: int) -> tuple[Node | None, int]:
    return _parse_logical(tokens, i, "or", _parse_and)


def _parse_and(tokens: list, i: int) -> tuple[Node | None, int]:
    return _parse_logical(tokens, i, "and", _parse_atom)


def _parse_logical(tokens: list, i: int, word: str, inner) -> tuple[Node | None, int]:
    first, i = inner(tokens, i)
    items = [first]
    while first is not None and i < len(tokens) and tokens[i] == word:
        item, i = inner(tokens, i + 1)
        if item is None:
            return None, i
        items.append(item)
    return (first if len(items) == 1 else (word, items)), i


def _parse_atom(tokens: list, i: int) -> tuple[Node | None, int]:
    if i >= len(tokens):
        return None, i
    token = tokens[i]
    if token == "(":
        inner, i = _parse_or(tokens, i + 1)
        if inner is None or i >= len(tokens) or tokens[i] != ")":
            return None, i
        return inner, i + 1
    if isinstance(token, tuple):
        return token, i + 1
    return None, i


def evaluate(node: Node, environment: Mapping[str, object]) -> bool | None:
    """Does the parsed marker hold? None when packaging must decide (an unusual value)."""
    if isinstance(node[1], list):
        results = [evaluate(item, environment) for item in node[1]]
        if None in results:
            return None
        return all(results) if node[0] == "and" else any(results)
    variable, operator, literal = node
    value = environment.get(variable)
    if not isinstance(value, str):
        return None
    if variable in _VERSION_VARIABLES:
        return contains(operator + literal, value)
    if variable == "extra":
        value, literal = normalize(value), normalize(literal)
    elif _MAYBE_VERSION.match(literal):
        return None
    return (value == literal) == (operator == "==")


def contains(specifier: str, version: str) -> bool | None:
    """PEP 440 `specifier` (comma-separated clauses) contains `version` (prereleases allowed);
    None unless both are plain release numbers, where packaging's rules reduce to comparing
    zero-padded tuples (and prefixes for `==X.*` / `!=X.*`)."""
    if _PLAIN_VERSION.fullmatch(version) is None:
        return None
    have = tuple(int(part) for part in version.split("."))
    for clause in specifier.split(","):
        match = _PLAIN_CLAUSE.fullmatch(clause)
        if match is None:
            return None
        operator, wanted_text, wildcard = match.groups()
        wanted = tuple(int(part) for part in wanted_text.split("."))
        if wildcard:
            if operator not in ("==", "!="):
                return None
            padded = (have + (0,) * len(wanted))[: len(wanted)]
            if (padded == wanted) != (operator == "=="):
                return False
        elif not _compare(have, operator, wanted):
            return False
    return True


def _compare(have: tuple[int, ...], operator: str, wanted: tuple[int, ...]) -> bool:
    width = max(len(have), len(wanted))
    a, b = have + (0,) * (width - len(have)), wanted + (0,) * (width - len(wanted))
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]

