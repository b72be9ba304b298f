"""Poetry version constraints (`^1.2`, `~1.2`, `>=1,<2 || >3`, `1.2.*`, `*`), read once and
written as PEP 440 specifiers or PEP 508 markers: the one translator of that syntax, used by the
poetry.lock reader and by the interpreter request.

The grammar is poetry-core's (`constraints/version/parser.py`): alternatives separated by `||`
(or `|`), each a list of clauses separated by commas or spaces (a space after an operator does not
separate: `>= 1.0 < 2` is two clauses); a trailing comma is allowed. A clause is `*`/`x`, a caret
`^1.2` (up to the next breaking release), a tilde `~1.2` (the next minor; `~1` the next major),
`~=` (PEP 440's compatible release; poetry also takes `~=1`, meaning `^1`), `1.2.*` / `==1.2.*` /
`!=1.2.*`, or a comparison (`<>` is `!=`, `=` and a bare version are `==`). poetry-core rejects
parentheses; old poetry (poetry-core 1.0) silently read such a constraint as `*`. monotrail reads
parentheses around the whole constraint or around one `||` alternative (what pip's
`name (>=1,<2)` form leaves behind), and refuses them anywhere else.

A version means one of two things, both poetry's:
- a package version: `1.2` is exactly 1.2 (1.2.0), as in poetry-core's parse_constraint and PEP 440.
- a Python version (`python = "..."` on a dependency, `python-versions` in poetry.lock): poetry
  writes it as a marker on `python_version` when it has two parts (`python_version == "3.8"`), and
  `poetry export` hands those markers to pip, so `3.8` is any 3.8.x and `<=3.8` includes 3.8.18.
  (poetry's own environment check reads `3.8` as exactly 3.8.0, which no patched Python meets;
  monotrail follows poetry export.)

Pure and import-light (`re` only): the interpreter stage imports it.
"""

from __future__ import annotations

import re

Clause = tuple[str, str]  # (PEP 440 operator, version), e.g. (">=", "1.2")
Alternatives = tuple[tuple[Clause, ...], ...]  # OR of ANDs; an empty AND accepts any version

_CLAUSE = re.compile(r"(\^|~=|~|===|==|!=|<>|<=|>=|<|>|=)?\s*(v?[0-9][0-9A-Za-z.*+!_-]*|[*xX](?:\.[*xX])*)")
_ANY = re.compile(r"v?[*xX](?:\.[*xX])*")
# A PEP 440 version (public and local parts, any spelling packaging accepts), optionally `.*`.
_VERSION = re.compile(
    r"v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*"
    r"(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?"
    r"(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?"
    r"(?:[-_.]?dev[-_.]?[0-9]*)?"
    r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?"
    r"(?:\.\*)?",
    re.IGNORECASE,
)


class ConstraintError(ValueError):
    """A constraint poetry's grammar does not allow; callers add where it was (file, key)."""


def split(constraint: str) -> list[list[str]]:
    """The `||` alternatives of a constraint, each as its clause texts (`>=1.0`, `^2`)."""
    if not _balanced(constraint):
        raise ConstraintError(f"cannot read the version constraint {constraint!r}: unbalanced parentheses")
    text = _unwrap(constraint.strip())
    if not text:
        raise ConstraintError(f"empty version constraint {constraint!r}")
    alternatives = []
    for alternative in re.split(r"\s*\|\|?\s*", text):
        rest = _unwrap(alternative.strip().rstrip(",").rstrip())
        if "(" in rest or ")" in rest:
            raise ConstraintError(
                f"cannot read the version constraint {constraint!r}: parentheses may only wrap "
                "the whole constraint or one `||` alternative"
            )
        clauses = []
        while rest:
            match = _CLAUSE.match(rest)
            if match is None:
                raise ConstraintError(f"cannot read the version constraint {constraint!r} at {rest!r}")
            clauses.append(re.sub(r"\s+", "", match.group(0)))
            rest = rest[match.end():].lstrip(" ,")
        if not clauses:
            raise ConstraintError(f"cannot read the version constraint {constraint!r}: an empty alternative")
        alternatives.append(clauses)
    return alternatives


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _unwrap(text: str) -> str:
    """Without `(...)` around the whole text (any number of times)."""
    while text.startswith("(") and _closing(text) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _closing(text: str) -> int:
    """Where the parenthesis opening `text` closes; -1 when it does not."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i
    return -1


def clause(text: str, python: bool = False) -> tuple[Clause, ...]:
    """One clause as PEP 440 (operator, version) pairs; () accepts any version.

    `python`: the version is a Python version, compared as poetry's markers compare it (module
    docstring): a two-part version stands for its minor series."""
    if _ANY.fullmatch(text):
        return ()
    match = _CLAUSE.fullmatch(text)
    if match is None:
        raise ConstraintError(f"{text!r} is not a version clause")
    op, version = match.group(1) or "", match.group(2)
    if not _VERSION.fullmatch(version) or (version.endswith(".*") and op not in ("", "=", "==", "!=")):
        raise ConstraintError(f"{text!r} is not a version clause")
    if version.startswith("v"):
        version = version[1:]
    if op == "^":
        parts = _release(version, text)
        index = next((i for i, part in enumerate(parts) if part != 0), len(parts) - 1)
        return ((">=", version), ("<", _bump(parts, index)))
    if op == "~" or (op == "~=" and "." not in version):
        parts = _release(version, text)
        return ((">=", version), ("<", _bump(parts, 0 if len(parts) == 1 else 1)))
    op = {"": "==", "=": "==", "<>": "!="}.get(op, op)
    if python and _minor_only(version):
        return _minor_series(op, version)
    return ((op, version),)


def _minor_only(version: str) -> bool:
    return re.fullmatch(r"[0-9]+\.[0-9]+", version) is not None


def _minor_series(op: str, version: str) -> tuple[Clause, ...]:
    """`python_version OP "X.Y"` as PEP 440 on the full version: what the marker accepts."""
    following = _bump(_release(version, version), 1)
    return {
        "==": (("==", f"{version}.*"),),
        "!=": (("!=", f"{version}.*"),),
        "<=": (("<", following),),
        ">": ((">=", following),),
    }.get(op, ((op, version),))


def _release(version: str, text: str) -> list[int]:
    """The numeric release parts (`1.0.0a1` -> [1, 0, 0]) for caret and tilde bounds."""
    parts: list[int] = []
    for part in version.split("."):
        match = re.match(r"\d+", part)
        if not match:
            break
        parts.append(int(match.group()))
        if match.end() != len(part):
            break
    if not parts:
        raise ConstraintError(f"{text!r} has no version to bound")
    return parts


def _bump(parts: list[int], index: int) -> str:
    bumped = parts[: index + 1]
    bumped[index] += 1
    return ".".join(str(p) for p in bumped + [0] * (len(parts) - index - 1))


def parse(constraint: str, python: bool = False) -> Alternatives | None:
    """The constraint as OR-ed AND-ed PEP 440 clauses; None when it accepts any version."""
    texts = split(constraint)
    try:
        alternatives = tuple(tuple(pair for text in clauses for pair in clause(text, python)) for clauses in texts)
    except ConstraintError as e:
        raise ConstraintError(f"cannot read the version constraint {constraint!r}: {e}") from None
    if any(not clauses for clauses in alternatives):
        return None
    return alternatives


def to_pep440(constraint: str) -> str | None:
    """A package version constraint as PEP 440 (alternatives joined by " || "); None = any."""
    return _render(parse(constraint))


def python_to_pep440(constraint: str) -> str | None:
    """A Python version constraint as PEP 440 on the full version, as poetry's markers mean it
    (`3.8` -> `==3.8.*`, `<=3.8` -> `<3.9`); alternatives joined by " || "; None = any."""
    return _render(parse(constraint, python=True))


def _render(alternatives: Alternatives | None) -> str | None:
    if alternatives is None:
        return None
    return " || ".join(",".join(f"{op}{version}" for op, version in clauses) for clauses in alternatives)


def python_to_marker(constraint: str) -> str | None:
    """A Python version constraint as the marker poetry writes for it: two-part versions compare
    `python_version`, longer ones `python_full_version`; None = any."""
    alternatives = parse(constraint)
    if alternatives is None:
        return None
    rendered = [
        " and ".join(
            f'{"python_full_version" if version.count(".") >= 2 else "python_version"} {op} "{version}"'
            for op, version in clauses
        )
        for clauses in alternatives
    ]
    return rendered[0] if len(rendered) == 1 else " or ".join(f"({r})" for r in rendered)
