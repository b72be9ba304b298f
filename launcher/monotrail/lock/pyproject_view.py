"""What the lock readers read of the pyproject.toml beside a lock, as one digest.

The selections kept by a lock's content and the environments copied from one of the same recipe
(`monotrail.environment.selections`, `monotrail.environment.clone`) must miss whenever the
pyproject could change what a lock reads into, and should hit when it cannot: users edit
pyproject.toml all the time (a comment, the description, `[tool.ruff]`), and a copy of a project
differs from it only there.

What the readers and the "is the project a package" rule (`monotrail.lock.project`) consult: the
`[project]` table (name, version, dependencies, optional-dependencies, requires-python), the
`[dependency-groups]`, `[build-system]`, `[tool.uv]` (package, default-groups) and `[tool.poetry]`
tables. The view keeps every top-level table but `tool`, of `tool` only `uv` and `poetry` (and
`monotrail`), and of `project` everything but the fields that only describe it to people and
indexes (`DESCRIPTIVE`). Keeping more than is read only costs a miss, never a wrong answer.

A file that is not valid UTF-8 TOML is keyed by its bytes: reading the lock reports it.
Imports nothing at import time (no typing: this is on the lean path of a second project);
tomli when a digest is computed.
"""

from __future__ import annotations

__all__ = ["DESCRIPTIVE", "TOOLS", "view", "view_digest"]

# `[project]` fields no reader and no install consults: metadata for people and indexes.
DESCRIPTIVE = frozenset({"description", "readme", "authors", "maintainers", "keywords", "classifiers", "urls",
                         "license", "license-files"})
# The `[tool.X]` tables a reader consults (monotrail's own, should it ever have one).
TOOLS = frozenset({"uv", "poetry", "monotrail"})
FORMAT = "1"


def view(data: dict) -> dict:
    """The parts of a parsed pyproject.toml that can change what a lock is read into."""
    kept = {key: value for key, value in data.items() if key not in ("tool", "project")}
    project = data.get("project")
    if project is not None:
        kept["project"] = ({key: value for key, value in project.items() if key not in DESCRIPTIVE}
                           if isinstance(project, dict) else project)
    tool = data.get("tool")
    if isinstance(tool, dict):
        tool = {key: value for key, value in tool.items() if key in TOOLS}
    if tool is not None and tool != {}:  # `[tool.ruff]` alone is no `tool` table to a reader
        kept["tool"] = tool
    return kept


def view_digest(data: bytes) -> str:
    """The sha256 of `view` of the pyproject whose bytes are `data` (in a canonical form: tables
    with their keys sorted), or of the bytes themselves when they are not UTF-8 TOML."""
    from monotrail import sha256_hex

    try:
        import tomli as tomllib
    except ImportError:  # pragma: no cover - tomli is a dependency; the stdlib's from 3.11
        import tomllib  # type: ignore[no-redef, import-not-found, unused-ignore]
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "bytes:" + sha256_hex(data)
    return "view:" + sha256_hex(f"{FORMAT}\0{_canonical(view(parsed))}".encode("utf-8", "surrogateescape"))


def _canonical(value: object) -> str:
    """A text that two equal TOML values share, whatever the order of their tables' keys."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{key!r}:{_canonical(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    return f"{type(value).__name__}:{value!r}"
