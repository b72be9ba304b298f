"""`uv.lock` version 1: a graph lock.

uv writes one universal lock: a package may appear in several versions (one per fork of the
resolution, e.g. numpy for Python < 3.10 and >= 3.12), and each dependency edge names the version
it means plus the marker under which it applies. So the lock stays a graph here: `roots` are the
project's `dependencies`, `extras` its `optional-dependencies`, `groups` its `dev-dependencies`
(uv stores PEP 735 groups under that key), and selection walks edges for the target.

The project is the package whose source is `{ virtual = "." }` or `{ editable = "." }`; its edges
are the lock's roots, and with `editable` it is `Lock.project`, installed editable as uv does. uv records no default
groups in the lock: like `uv sync`, the default is `["dev"]` unless `[tool.uv] default-groups` in
the pyproject beside the lock says otherwise ("all" or a list); the CLI decides whether to use it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from monotrail.errors import LockError
from monotrail.lock.model import Artifact, Dependency, LazyArtifacts, Lock, LockedPackage
from monotrail.lock.tomlfile import parse_toml, read_pyproject, read_toml_text
from monotrail.lock.values import basename, check_marker, split_hash
from monotrail.names import normalize

SUPPORTED_VERSION = 1
_PROJECT_SOURCE_KINDS = ("virtual", "editable")


def read(path: Path, store: str | None = None) -> Lock:
    """`store`: the root of the store whose `cache/parsed/` keeps the parsed form of big locks (`_load`)."""
    data, blocks = _load(path, store)
    version = data.get("version")
    if version != SUPPORTED_VERSION:
        raise LockError(
            f"unsupported uv.lock version {version!r}",
            where=f"{path}: version",
            hint=f"monotrail reads uv.lock version {SUPPORTED_VERSION}; regenerate the lock with a matching uv",
        )
    entries = data.get("package", [])
    if not isinstance(entries, list):
        raise LockError("`package` must be an array of tables", where=f"{path}: package")
    base = path.parent
    root_index = _find_root(entries)
    packages: list[LockedPackage] = []
    find_links: list[str] = []
    for i, entry in enumerate(entries):
        if i == root_index:
            continue
        where = f"{path}: package[{i}]"
        packages.append(_package(_table(entry, where), base, where, find_links, blocks))
    root = _table(entries[root_index], f"{path}: package[{root_index}]") if root_index is not None else None
    roots, extras, groups = _root_edges(root, data, f"{path}: package[{root_index}]")
    return Lock(
        path=path,
        format="uv",
        packages=tuple(packages),
        requires_python=data.get("requires-python"),
        roots=roots,
        extras=extras,
        groups=groups,
        default_groups=_default_groups(base, groups),
        find_links=tuple(dict.fromkeys(find_links)),
        project_dir=base,
        project=_project(root, base),
    )


def _project(root: Mapping[str, Any] | None, base: Path) -> LockedPackage | None:
    """`editable = "."`: the project is a package, installed editable (as `uv sync` does);
    `virtual = "."` (`[tool.uv] package = false`, or no build system): nothing is installed."""
    if root is None or root.get("source", {}).get("editable") != ".":
        return None
    return LockedPackage(name=normalize(str(root.get("name", base.name))), version=str(root.get("version", "")),
                         directory=str(base), editable=True)


# The wheel lists are three quarters of a universal uv.lock (1716 of 2457 lines in the
# data-science lock) and were most of its parse time: tomli took 19 ms for the whole file. uv
# writes every entry of them on one line in one fixed shape, so those lines are checked and cut
# out with regexes (C speed, ~3 ms) and only the rest goes through tomli (~4 ms); their
# Artifacts are built only if selection looks at them. A wheels array in any other shape
# (hand-edited, another writer, escapes, multi-line strings anywhere) sends the whole file
# through tomli as before. The patterns accept only what TOML accepts: printable ASCII strings
# without escapes, decimal integers without leading zeros.
_WHEELS_BLOCK = re.compile(r"^wheels = \[\n((?:    \{ [^\n]*\n)*)\]$", re.M)
_STRING = r'"([ !#-\[\]-~]+)"'
_WHEEL_LINE = re.compile(
    rf"^    \{{ url = {_STRING}, hash = \"([ !#-9;-\[\]-~]+:[ !#-\[\]-~]+)\", size = (0|[1-9][0-9]*)"
    rf"(?:, upload-time = {_STRING})? \}},\n",
    re.M,
)
_PLACEHOLDER = "\0monotrail-wheels:"  # a value no uv.lock holds: TOML strings forbid a raw NUL


class _Irregular(Exception):
    """A wheels array not in uv's one-line-per-entry shape: parse the whole file with tomli."""


def _load(path: Path, root: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The lock as tomli parses it, except that each `wheels` array in uv's own shape is the
    string `_PLACEHOLDER<n>`, its text being `blocks[n]` (see `_wheels`).

    With `root`, the result is kept in `<root>/cache/parsed/` by a hash of the text (`_kept`):
    another project with the same lock bytes (a copy, a checkout, a worktree whose pyproject
    differs) skips tomli and the wheels cut (~6 ms for data-science's 590 kB lock; reading the
    kept form back takes ~0.5 ms)."""
    text = read_toml_text(path)
    kept = _kept_path(root, text) if root is not None else None
    if kept is not None:
        loaded = _read_kept(kept)
        if loaded is not None:
            return loaded
    result = _parse(path, text)
    if kept is not None and root is not None:
        _keep(root, kept, result)
    return result


# The kept form: marshal of (format, data, blocks), plain dicts, lists and strings as tomli
# returned them. A new format (or a change to `_parse`) changes the name, never reads old files.
_KEPT_FORMAT = "uv-1"


def _kept_path(root: str, text: str) -> str:
    """`<root>/cache/parsed/uv-1-<blake2b of the text>` (blake2b: the builtin hash that is
    fastest here, 1.3 ms for 590 kB against 2.5 ms for the builtin sha256; a cache key, not a
    check of what was downloaded)."""
    import os

    data = text.encode("utf-8", "surrogatepass")
    try:
        from _blake2 import blake2b  # type: ignore[import-not-found, unused-ignore]

        digest = blake2b(data, digest_size=32).hexdigest()
    except ImportError:
        from monotrail import sha256_hex

        digest = sha256_hex(data)
    return os.path.join(root, "cache", "parsed", f"{_KEPT_FORMAT}-{digest}")


def _read_kept(path: str) -> tuple[dict[str, Any], list[str]] | None:
    """The kept parse, or None when there is none or it is not one (torn, foreign: a miss)."""
    import marshal

    try:
        with open(path, "rb") as file:
            kept = marshal.loads(file.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if (isinstance(kept, tuple) and len(kept) == 3 and kept[0] == _KEPT_FORMAT and isinstance(kept[1], dict)
            and isinstance(kept[2], list) and all(isinstance(block, str) for block in kept[2])):
        return kept[1], kept[2]
    return None


def _keep(root: str, path: str, result: tuple[dict[str, Any], list[str]]) -> None:
    import marshal
    import os

    from monotrail.atomic import write_atomic

    try:
        data = marshal.dumps((_KEPT_FORMAT, *result))
    except ValueError:  # a value marshal cannot hold (a TOML date): such a lock is parsed each time
        return
    try:
        write_atomic(path, data, temp_dir=os.path.join(root, "tmp"))
    except OSError:
        pass  # a cache: a read-only or full disk must not fail the run


def _parse(path: Path, text: str) -> tuple[dict[str, Any], list[str]]:
    if '"""' in text or "'''" in text:
        return parse_toml(text, path), []
    blocks: list[str] = []

    def cut(match: "re.Match[str]") -> str:
        block = match.group(1)
        if len(_WHEEL_LINE.findall(block)) != block.count("\n"):
            raise _Irregular
        blocks.append(block)
        return f'wheels = "\\u0000monotrail-wheels:{len(blocks) - 1}"'

    try:
        return parse_toml(_WHEELS_BLOCK.sub(cut, text), path), blocks
    except (_Irregular, LockError):  # a syntax error is reported at its line in the whole file
        return parse_toml(text, path), []


def _wheels(
    value: Any, blocks: list[str], files_base: Path | None, where: str
) -> tuple[Artifact, ...]:
    if isinstance(value, str) and value.startswith(_PLACEHOLDER):
        return _lazy_block(blocks[int(value[len(_PLACEHOLDER):])], where)  # type: ignore[return-value]
    if not isinstance(value, list):
        value = [value]  # reported below as "expected a table", as before
    return tuple(
        _artifact(_table(w, f"{where}[{i}]"), files_base, f"{where}[{i}]") for i, w in enumerate(value)
    )


def _lazy_block(block: str, where: str) -> LazyArtifacts:
    """The Artifacts of one wheels block, built when asked for: all of them, their file names
    only, or one (`LazyArtifacts.filenames`, `.one`). The block is split into lines once."""
    rows: list[tuple[str, str, str, str]] = []
    names: list[tuple[str, ...]] = []

    def lines() -> list[tuple[str, str, str, str]]:
        if not rows:
            rows.extend(_WHEEL_LINE.findall(block))
        return rows

    def filenames() -> tuple[str, ...]:
        if not names:
            names.append(tuple(basename(row[0]) for row in lines()))
        return names[0]

    def artifact(row: tuple[str, str, str, str]) -> Artifact:
        url, digest, size, _ = row
        return Artifact(filename=basename(url), url=url, hashes=(split_hash(digest, where),), size=int(size))

    return LazyArtifacts(lambda: tuple(artifact(row) for row in lines()),
                         filenames=filenames,
                         one=lambda index: artifact(lines()[index]))


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise LockError("expected a table", where=where)
    return value


def _find_root(entries: list[Any]) -> int | None:
    for i, entry in enumerate(entries):
        source = entry.get("source", {}) if isinstance(entry, dict) else {}
        if any(source.get(kind) == "." for kind in _PROJECT_SOURCE_KINDS):
            return i
    return None


def _root_edges(
    root: Mapping[str, Any] | None, data: Mapping[str, Any], where: str
) -> tuple[tuple[Dependency, ...], dict[str, tuple[Dependency, ...]], dict[str, tuple[Dependency, ...]]]:
    """The project's own edges; without a project (a virtual workspace root) its members are the roots."""
    if root is None:
        members = data.get("manifest", {}).get("members", [])
        if not members:
            raise LockError(
                "no project package (source `{ virtual = \".\" }` or `{ editable = \".\" }`) and no workspace members",
                where=where.split(":")[0],
                hint="is this a uv.lock written by `uv lock` for a project?",
            )
        return tuple(Dependency(name=normalize(member)) for member in members), {}, {}
    roots = _edges(root.get("dependencies", []), f"{where}.dependencies")
    extras = _edge_tables(root.get("optional-dependencies", {}), f"{where}.optional-dependencies", normalize)
    groups = _edge_tables(root.get("dev-dependencies", {}), f"{where}.dev-dependencies", normalize)
    # The project is not a selectable package, so `app[cpu]` inside app's own extras or groups
    # (uv allows self-references) is replaced by the edges of those extras.
    name = normalize(str(root.get("name", "")))
    return (
        _expand_self(roots, name, extras, ()),
        {extra: _expand_self(edges, name, extras, (extra,)) for extra, edges in extras.items()},
        {group: _expand_self(edges, name, extras, ()) for group, edges in groups.items()},
    )


def _expand_self(
    edges: tuple[Dependency, ...], project: str, extras: Mapping[str, tuple[Dependency, ...]], seen: tuple[str, ...]
) -> tuple[Dependency, ...]:
    out: list[Dependency] = []
    for edge in edges:
        if edge.name != project:
            out.append(edge)
            continue
        for extra in edge.extras:
            if extra in seen:
                continue
            for inner in _expand_self(extras.get(extra, ()), project, extras, seen + (extra,)):
                marker = _and_markers(edge.marker, inner.marker)
                out.append(Dependency(inner.name, marker, inner.extras, inner.version, inner.specifier))
    return tuple(out)


def _and_markers(a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"({a}) and ({b})"
    return a or b


def _default_groups(base: Path, groups: Mapping[str, Any]) -> tuple[str, ...]:
    pyproject = read_pyproject(base) or {}
    configured = pyproject.get("tool", {}).get("uv", {}).get("default-groups")
    if configured == "all":
        return tuple(groups)
    if isinstance(configured, list):
        return tuple(normalize(group) for group in configured if normalize(group) in groups)
    return ("dev",) if "dev" in groups else ()


def _edge_tables(tables: Any, where: str, key: Any) -> dict[str, tuple[Dependency, ...]]:
    if not isinstance(tables, dict):
        raise LockError("expected a table of arrays", where=where)
    return {key(name): _edges(edges, f"{where}.{name}") for name, edges in tables.items()}


def _edges(edges: Any, where: str) -> tuple[Dependency, ...]:
    if not isinstance(edges, list):
        raise LockError("expected an array of dependencies", where=where)
    return tuple(_edge(_table(edge, f"{where}[{i}]"), f"{where}[{i}]") for i, edge in enumerate(edges))


def _edge(edge: Mapping[str, Any], where: str) -> Dependency:
    if not isinstance(edge.get("name"), str):
        raise LockError("dependency without a name", where=where)
    return Dependency(
        name=normalize(edge["name"]),
        marker=check_marker(edge.get("marker"), f"{where}.marker"),
        extras=tuple(normalize(extra) for extra in edge.get("extra", ())),
        version=edge.get("version"),
    )


def _package(
    entry: Mapping[str, Any], base: Path, where: str, find_links: list[str], blocks: list[str]
) -> LockedPackage:
    name = entry.get("name")
    if not isinstance(name, str):
        raise LockError("package without a name", where=where)
    source = _table(entry.get("source", {}), f"{where}.source")
    kind, location = _source_kind(source, where)
    files_base, index = _files_base(kind, location, base, find_links)
    wheels = _wheels(entry.get("wheels", []), blocks, files_base, f"{where}.wheels")
    sdist = _artifact(_table(entry["sdist"], f"{where}.sdist"), files_base, f"{where}.sdist") if "sdist" in entry else None
    wheels, sdist = _direct_artifacts(kind, location, base, wheels, sdist)
    return LockedPackage(
        name=normalize(name),
        version=str(entry.get("version", "")),
        wheels=wheels,
        sdist=sdist,
        index=index,
        directory=_resolve(base, location) if kind in ("directory", "editable", "virtual") else None,
        editable=kind == "editable",
        dependencies=_edges(entry.get("dependencies", []), f"{where}.dependencies"),
        optional_dependencies=_edge_tables(
            entry.get("optional-dependencies", {}), f"{where}.optional-dependencies", normalize
        ),
        vcs=f"git+{location}" if kind == "git" else None,
    )


_SOURCE_KINDS = ("registry", "path", "directory", "editable", "virtual", "url", "git")


def _source_kind(source: Mapping[str, Any], where: str) -> tuple[str, str]:
    for kind in _SOURCE_KINDS:
        if isinstance(source.get(kind), str):
            return kind, source[kind]
    raise LockError(f"unknown package source {dict(source)!r}", where=f"{where}.source")


def _is_url(location: str) -> bool:
    return "://" in location


def _resolve(base: Path, location: str) -> str:
    return str((base / location).resolve())


def _files_base(kind: str, location: str, base: Path, find_links: list[str]) -> tuple[Path | None, str | None]:
    """(directory relative file paths are resolved against, index URL) for a source."""
    if kind != "registry":
        return base, None
    if _is_url(location):
        return None, location.rstrip("/")
    # A local registry is a find-links directory: its files are named relative to it.
    directory = _resolve(base, location)
    find_links.append(directory)
    return Path(directory), None


def _artifact(entry: Mapping[str, Any], files_base: Path | None, where: str) -> Artifact:
    url, path, filename = entry.get("url"), entry.get("path"), entry.get("filename")
    hashes = (split_hash(entry["hash"], f"{where}.hash"),) if entry.get("hash") else ()
    resolved = _resolve(files_base, path) if path and files_base is not None else path
    return Artifact(
        filename=filename or basename(url or path or ""),
        url=url,
        hashes=hashes,
        size=entry.get("size"),
        path=resolved,
    )


def _direct_artifacts(
    kind: str, location: str, base: Path, wheels: tuple[Artifact, ...], sdist: Artifact | None
) -> tuple[tuple[Artifact, ...], Artifact | None]:
    """`url` and `path` sources name the file in the source; the file entries may carry only a hash."""
    if kind not in ("url", "path"):
        return wheels, sdist
    url = location if kind == "url" else None
    path = _resolve(base, location) if kind == "path" else None
    name = basename(location)

    def fill(artifact: Artifact) -> Artifact:
        if artifact.url or artifact.path:
            return artifact
        return Artifact(filename=artifact.filename or name, url=url, hashes=artifact.hashes, size=artifact.size, path=path)

    wheels = tuple(fill(wheel) for wheel in wheels)
    if sdist is not None:
        sdist = fill(sdist)
    if not wheels and sdist is None:
        # An archive source without file entries (older uv): the source itself is the file.
        artifact = Artifact(filename=name, url=url, path=path)
        if name.endswith(".whl"):
            wheels = (artifact,)
        else:
            sdist = artifact
    return wheels, sdist
