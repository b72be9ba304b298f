"""`poetry.lock`: lock-version 1.x and 2.0 as a graph lock, 2.1+ as a flat lock.

Which shape, and why:
- lock-version 1.x / 2.0 record no per-package install conditions, only each package's
  `[package.dependencies]` (constraint strings or `{version, markers, python, extras, optional}`
  tables). The only correct reading is poetry's own: walk from the project's dependencies in the
  pyproject.toml beside the lock. So these are graph locks; an edge's poetry constraint becomes a
  PEP 440 `specifier` that picks among several locked versions of one name, and its `python`
  constraint becomes part of its marker. Files come from `[metadata.files]` (1.x) or `files` (2.0).
- lock-version 2.1 (poetry >= 2.0) adds `groups` and `markers` (a string, or a per-group table
  `{main = "...", dev = "..."}`) to every package: the exact condition under which the package is
  installed, written so that an installer need not re-resolve (poetry's
  `installer.re-resolve = false` uses exactly these). Reading them as a flat lock is exact, whereas
  re-walking 2.1's edges would need poetry's solver to choose among overlapping constraints of
  forked versions. So 2.1 is flat: the package marker becomes
  `(<main marker>) or ("dev" in dependency_groups and (<dev marker>))`, and selection evaluates
  `extra == "x"` for each selected extra, as poetry writes them.

Files have no URL (`Artifact.url is None`): the store finds them on the package's index by file
name. `[package.source] type = "legacy"` gives that index; no source means PyPI (index None).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable
from collections.abc import Iterable, Mapping

from monotrail.errors import LockError
from monotrail.lock.model import Artifact, Dependency, Lock, LockedPackage
from monotrail.lock.tomlfile import load_toml, read_pyproject
from monotrail.lock.values import SDIST_SUFFIXES, check_marker, file_name_version, same_version, split_hash
from monotrail.names import normalize

GRAPH_VERSIONS = ((1, 0), (1, 1), (2, 0))
MAIN = "main"


def read(path: Path) -> Lock:
    data = load_toml(path)
    version = _lock_version(data, path)
    pyproject = read_pyproject(path.parent)
    entries = data.get("package", [])
    if not isinstance(entries, list):
        raise LockError("`package` must be an array of tables", where=f"{path}: package")
    flat = version >= (2, 1)
    metadata_files = _metadata_files(data, entries)
    root = _root_name(pyproject)
    packages = tuple(
        _package(_table(entry, _where(path, i)), path.parent, _where(path, i), metadata_files, flat, root)
        for i, entry in enumerate(entries)
    )
    requires_python = data["metadata"].get("python-versions")
    common = dict(
        path=path,
        format="poetry",
        packages=packages,
        requires_python=python_specifier(requires_python, f"{path}: metadata.python-versions")
        if requires_python else None,
        index_urls=_sources(pyproject),
        project_dir=path.parent if pyproject is not None else None,
        project=_project(path.parent, pyproject),
    )
    if flat:
        return _flat_lock(common, entries, pyproject)
    return _graph_lock(common, pyproject, path)


def _project(base: Path, pyproject: Mapping[str, Any] | None) -> LockedPackage | None:
    """The project, installed editable as `poetry install` does, unless `package-mode = false`,
    it has no name, or poetry would find no code of it to install (`poetry_finds_code`)."""
    from monotrail.lock.project import poetry_finds_code, project_name, project_version

    if pyproject is None:
        return None
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if not isinstance(poetry, dict) or poetry.get("package-mode") is False:
        return None
    if not (poetry.get("name") or pyproject.get("project", {}).get("name")) or not poetry_finds_code(base, pyproject):
        return None
    return LockedPackage(name=project_name(base, pyproject), version=project_version(pyproject),
                         directory=str(base), editable=True)


def _metadata_files(data: Mapping[str, Any], entries: list[Any]) -> dict[tuple[str, str], Any]:
    """lock-version 1.x `[metadata.files]`, keyed by (name, version).

    1.x keys the files by name only, so when a lock holds two versions of one name (idna 2.10
    for old Pythons, 3.4 for new ones) each file goes to the version its file name states;
    a name nobody can parse stays with every version (the store still refuses a wheel whose
    name or version is not the selected one)."""
    files = data.get("metadata", {}).get("files", {})
    if not isinstance(files, dict):
        return {}
    versions: dict[str, list[str]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("version"), str):
            versions.setdefault(normalize(entry["name"]), []).append(entry["version"])
    keyed: dict[tuple[str, str], Any] = {}
    for raw_name, items in files.items():
        name = normalize(raw_name)
        for version in versions.get(name, ()):
            keyed[(name, version)] = items
            if len(versions[name]) > 1 and isinstance(items, list):
                keyed[(name, version)] = [item for item in items if _file_of(item, name, version)]
    return keyed


def _file_of(item: Any, name: str, version: str) -> bool:
    """Does the `{file = ...}` entry belong to `name` `version` (or not say otherwise)?"""
    filename = item.get("file") if isinstance(item, dict) else None
    parsed = file_name_version(filename) if isinstance(filename, str) else None
    if parsed is None:
        return True
    return parsed[0] == name and same_version(str(parsed[1]), version)


def _where(path: Path, i: int) -> str:
    return f"{path}: package[{i}]"


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise LockError("expected a table", where=where)
    return value


def _lock_version(data: Mapping[str, Any], path: Path) -> tuple[int, ...]:
    raw = data.get("metadata", {}).get("lock-version")
    try:
        version = tuple(int(part) for part in str(raw).split("."))
    except ValueError:
        version = ()
    if version in GRAPH_VERSIONS or (len(version) == 2 and version[0] == 2):
        return version
    raise LockError(
        f"unknown poetry.lock lock-version {raw!r}",
        where=f"{path}: metadata.lock-version",
        hint="monotrail reads lock-version 1.0, 1.1 and 2.x; regenerate the lock with `poetry lock`",
    )


# --- packages ----------------------------------------------------------------------------------


def _package(
    entry: Mapping[str, Any], base: Path, where: str, metadata_files: Mapping[tuple[str, str], Any], flat: bool,
    root: str | None = None,
) -> LockedPackage:
    name, version = entry.get("name"), entry.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise LockError("package without a name or version", where=where)
    source = entry.get("source", {})
    kind, url = source.get("type"), source.get("url")
    files = entry.get("files", metadata_files.get((normalize(name), version), []))
    wheels, sdist = _files(files, kind, url, base, where)
    dependencies, optional = _package_edges(entry, where, root) if not flat else ((), {})
    python = entry.get("python-versions")
    return LockedPackage(
        name=normalize(name),
        version=version,
        marker=_flat_marker(entry, where) if flat else None,
        requires_python=python_specifier(python, f"{where}.python-versions") if python and python != "*" else None,
        wheels=wheels,
        sdist=sdist,
        index=url.rstrip("/") if kind == "legacy" and url else None,
        directory=str((base / url).resolve()) if kind == "directory" and url else None,
        editable=bool(entry.get("develop", False)),
        dependencies=dependencies,
        optional_dependencies=optional,
        vcs=_vcs(source) if kind == "git" else None,
    )


def _vcs(source: Mapping[str, Any]) -> str:
    commit = source.get("resolved_reference") or source.get("reference") or ""
    return f"git+{source.get('url')}@{commit}"


def _files(
    files: Any, kind: str | None, url: str | None, base: Path, where: str
) -> tuple[tuple[Artifact, ...], Artifact | None]:
    if not isinstance(files, list):
        raise LockError("`files` must be an array", where=f"{where}.files")
    wheels: list[Artifact] = []
    sdist: Artifact | None = None
    for i, item in enumerate(files):
        item = _table(item, f"{where}.files[{i}]")
        artifact = _artifact(item, kind, url, base, f"{where}.files[{i}]")
        if artifact.filename.endswith(".whl"):
            wheels.append(artifact)
        elif sdist is None and artifact.filename.endswith(SDIST_SUFFIXES):
            sdist = artifact
    return tuple(wheels), sdist


def _artifact(item: Mapping[str, Any], kind: str | None, url: str | None, base: Path, where: str) -> Artifact:
    filename = item.get("file")
    if not isinstance(filename, str):
        raise LockError("file entry without `file`", where=where)
    hashes = (split_hash(item["hash"], f"{where}.hash"),) if item.get("hash") else ()
    # `url` and `file` sources lock exactly one file: the source names where it is.
    direct_url = url if kind == "url" else None
    direct_path = str((base / url).resolve()) if kind == "file" and url else None
    return Artifact(filename=filename, url=direct_url, hashes=hashes, path=direct_path)


def _package_edges(
    entry: Mapping[str, Any], where: str, root: str | None = None
) -> tuple[tuple[Dependency, ...], dict[str, tuple[Dependency, ...]]]:
    """Required edges, and per extra the optional ones (poetry lists them by name in `[package.extras]`).

    An edge to `root`, the project itself (a plugin of the project depends on it:
    poetry-plugin-export on poetry), is satisfied by the project and dropped, as poetry export's
    walker skips it; the lock has no package of that name to walk to."""
    required: list[Dependency] = []
    optional: dict[str, list[Dependency]] = {}
    for name, spec in _table(entry.get("dependencies", {}), f"{where}.dependencies").items():
        for edge, is_optional in _constraint_edges(name, spec, f"{where}.dependencies.{name}"):
            if is_optional:
                optional.setdefault(edge.name, []).append(edge)
            else:
                required.append(edge)
    extras: dict[str, tuple[Dependency, ...]] = {}
    for extra, names in _table(entry.get("extras", {}), f"{where}.extras").items():
        edges: list[Dependency] = []
        for requirement in names:
            dep_name = normalize(re.split(r"[\s\[(<>=!~;]", requirement.strip(), maxsplit=1)[0])
            edges.extend(optional.get(dep_name) or [d for d in required if d.name == dep_name] or [Dependency(dep_name)])
        extras[normalize(extra)] = tuple(edge for edge in edges if edge.name != root)
    return tuple(edge for edge in required if edge.name != root), extras


def _constraint_edges(name: str, spec: Any, where: str) -> Iterable[tuple[Dependency, bool]]:
    """One poetry dependency spec (string, table, or list of tables) -> (edge, optional) pairs."""
    specs = spec if isinstance(spec, list) else [spec]
    for i, one in enumerate(specs):
        at = f"{where}[{i}]" if isinstance(spec, list) else where
        if isinstance(one, str):
            yield Dependency(name=normalize(name), specifier=constraint_to_pep440(one, at)), False
            continue
        one = _table(one, at)
        python = python_marker(one.get("python"), f"{at}.python")
        marker = _and(check_marker(one.get("markers"), f"{at}.markers"), python)
        version = one.get("version")
        yield Dependency(
            name=normalize(name),
            marker=marker,
            extras=tuple(normalize(e) for e in one.get("extras", ())),
            specifier=constraint_to_pep440(version, f"{at}.version") if isinstance(version, str) else None,
        ), bool(one.get("optional", False))


def _flat_marker(entry: Mapping[str, Any], where: str) -> str | None:
    """lock-version 2.1: install when, for some group of the package, the group is selected and its marker holds."""
    groups = entry.get("groups", [MAIN])
    markers = entry.get("markers")
    parts: list[str] = []
    for group in groups:
        marker = markers if isinstance(markers, str) or markers is None else markers.get(group)
        marker = check_marker(marker, f"{where}.markers")
        condition = None if group == MAIN else f'"{normalize(group)}" in dependency_groups'
        part = _and(condition, marker)
        if part is None:
            return None  # main, unconditionally
        parts.append(part)
    return " or ".join(f"({part})" for part in parts) if parts else None


def _and(*markers: str | None) -> str | None:
    present = [m for m in markers if m]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({m})" for m in present)


# --- the project (pyproject.toml beside the lock) ----------------------------------------------


def _root_name(pyproject: Mapping[str, Any] | None) -> str | None:
    """The project's own name, normalized (`[tool.poetry] name`, else `[project] name`)."""
    tables = ((pyproject or {}).get("tool", {}).get("poetry", {}), (pyproject or {}).get("project", {}))
    names = [table.get("name") for table in tables if isinstance(table, dict)]
    return next((normalize(name) for name in names if isinstance(name, str) and name), None)


def _sources(pyproject: Mapping[str, Any] | None) -> tuple[str, ...]:
    sources = (pyproject or {}).get("tool", {}).get("poetry", {}).get("source", [])
    return tuple(s["url"].rstrip("/") for s in sources if isinstance(s, dict) and s.get("url"))


def _flat_lock(common: dict[str, Any], entries: list[Any], pyproject: Mapping[str, Any] | None) -> Lock:
    """Extras and groups by name only: a flat lock's markers already say what they pull in."""
    extra_names = set(_project_extras(pyproject or {}, {}))
    groups = {normalize(g) for entry in entries for g in entry.get("groups", []) if g != MAIN}
    declared = _declared_groups(pyproject or {})
    groups |= set(declared)
    if pyproject is None:
        # Without the pyproject, the extras are whatever the markers test.
        for entry in entries:
            extra_names |= {normalize(e) for e in re.findall(r"extra\s*==\s*[\"']([^\"']+)", str(entry.get("markers", "")))}
    return Lock(
        **common,
        extras={extra: () for extra in sorted(extra_names)},
        groups={group: () for group in sorted(groups)},
        default_groups=tuple(g for g in sorted(groups) if not declared.get(g, False)),
    )


def _graph_lock(common: dict[str, Any], pyproject: Mapping[str, Any] | None, path: Path) -> Lock:
    if pyproject is None:
        raise LockError(
            "poetry.lock before lock-version 2.1 needs the pyproject.toml beside it (the project's dependencies)",
            where=str(path),
            hint="put the lock next to its pyproject.toml, or relock with poetry >= 2",
        )
    pyproject_path = f"{path.parent / 'pyproject.toml'}"
    poetry_deps = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    optional_edges: dict[str, list[Dependency]] = {}
    roots: list[Dependency] = []
    for name, spec in poetry_deps.items():
        if name.lower() == "python":
            continue
        for edge, is_optional in _constraint_edges(name, spec, f"{pyproject_path}: tool.poetry.dependencies.{name}"):
            (optional_edges.setdefault(edge.name, []) if is_optional else roots).append(edge)
    roots.extend(_pep508_edges(pyproject.get("project", {}).get("dependencies", []), f"{pyproject_path}: project.dependencies"))
    declared = _declared_groups(pyproject)
    return Lock(
        **common,
        roots=tuple(roots),
        extras=_project_extras(pyproject, optional_edges, pyproject_path),
        groups=_project_groups(pyproject, pyproject_path),
        default_groups=tuple(g for g in declared if not declared[g]),
    )


def _pep508_edges(requirements: Any, where: str) -> list[Dependency]:
    from packaging.requirements import InvalidRequirement, Requirement

    edges: list[Dependency] = []
    for i, text in enumerate(requirements):
        if not isinstance(text, str):
            continue  # PEP 735 `{include-group = ...}`: expanded by _project_groups
        try:
            req = Requirement(text)
        except InvalidRequirement as e:
            raise LockError(f"invalid requirement {text!r}: {e}", where=f"{where}[{i}]") from e
        edges.append(
            Dependency(
                name=normalize(req.name),
                marker=str(req.marker) if req.marker else None,
                extras=tuple(sorted(normalize(e) for e in req.extras)),
                specifier=str(req.specifier) or None,
            )
        )
    return edges


def _project_extras(
    pyproject: Mapping[str, Any], optional_edges: Mapping[str, list[Dependency]], where: str = "pyproject.toml"
) -> dict[str, tuple[Dependency, ...]]:
    extras: dict[str, tuple[Dependency, ...]] = {}
    for extra, requirements in pyproject.get("project", {}).get("optional-dependencies", {}).items():
        extras[normalize(extra)] = tuple(_pep508_edges(requirements, f"{where}: project.optional-dependencies.{extra}"))
    for extra, names in pyproject.get("tool", {}).get("poetry", {}).get("extras", {}).items():
        edges: list[Dependency] = list(extras.get(normalize(extra), ()))
        for name in names:
            edges.extend(optional_edges.get(normalize(name)) or [Dependency(normalize(name))])
        extras[normalize(extra)] = tuple(edges)
    return extras


def _declared_groups(pyproject: Mapping[str, Any]) -> dict[str, bool]:
    """Group name -> optional (poetry installs every non-optional group by default)."""
    poetry = pyproject.get("tool", {}).get("poetry", {})
    groups: dict[str, bool] = {}
    if "dev-dependencies" in poetry:
        groups["dev"] = False
    for name in pyproject.get("dependency-groups", {}):
        groups[normalize(name)] = False
    for name, table in poetry.get("group", {}).items():
        groups[normalize(name)] = bool(table.get("optional", False)) if isinstance(table, dict) else False
    return groups


def _project_groups(pyproject: Mapping[str, Any], where: str) -> dict[str, tuple[Dependency, ...]]:
    poetry = pyproject.get("tool", {}).get("poetry", {})
    groups: dict[str, list[Dependency]] = {}

    def add_poetry(group: str, deps: Mapping[str, Any], key: str) -> None:
        for name, spec in deps.items():
            for edge, _ in _constraint_edges(name, spec, f"{where}: {key}.{name}"):
                groups.setdefault(normalize(group), []).append(edge)

    add_poetry("dev", poetry.get("dev-dependencies", {}), "tool.poetry.dev-dependencies")
    for group, table in poetry.get("group", {}).items():
        add_poetry(group, table.get("dependencies", {}), f"tool.poetry.group.{group}.dependencies")
    pep735 = pyproject.get("dependency-groups", {})
    for group in pep735:
        groups.setdefault(normalize(group), []).extend(_pep735_group(pep735, group, where, ()))
    return {group: tuple(edges) for group, edges in groups.items()}


def _pep735_group(table: Mapping[str, Any], group: str, where: str, seen: tuple[str, ...]) -> list[Dependency]:
    if group in seen:
        raise LockError(f"dependency group {group!r} includes itself", where=f"{where}: dependency-groups.{group}")
    entries = table.get(group)
    if entries is None:
        raise LockError(f"unknown dependency group {group!r} in include-group", where=f"{where}: dependency-groups")
    edges = _pep508_edges(entries, f"{where}: dependency-groups.{group}")
    for entry in entries:
        if isinstance(entry, dict) and "include-group" in entry:
            edges.extend(_pep735_group(table, entry["include-group"], where, seen + (group,)))
    return edges


# --- poetry constraints -> PEP 440 / markers (monotrail.poetry_constraint) -----------------------


def constraint_to_pep440(constraint: str, where: str) -> str | None:
    """Poetry constraint -> PEP 440 specifier; alternatives (`||`) joined by " || "; None = any."""
    from monotrail.poetry_constraint import to_pep440

    return _translated(to_pep440, constraint, where)


def python_specifier(constraint: str, where: str) -> str | None:
    """A poetry Python constraint (`python-versions`) as PEP 440 on the full version, meaning what
    poetry's markers and `poetry export` mean: `3.8` is any 3.8.x (`==3.8.*`), `<=3.8` is `<3.9`."""
    from monotrail.poetry_constraint import python_to_pep440

    return _translated(python_to_pep440, constraint, where)


def python_marker(constraint: str | None, where: str) -> str | None:
    """A poetry `python = "..."` constraint as the marker poetry writes for it (two-part versions
    compare `python_version`, so `==3.8` means any 3.8.x; longer ones `python_full_version`)."""
    from monotrail.poetry_constraint import python_to_marker

    if constraint is None or (isinstance(constraint, str) and constraint.strip() == "*"):
        return None
    return _translated(python_to_marker, constraint, where)


def _translated(translate: Callable[[str], str | None], constraint: object, where: str) -> str | None:
    from monotrail.poetry_constraint import ConstraintError

    if not isinstance(constraint, str):
        raise LockError(f"a version constraint must be a string, not {constraint!r}", where=where)
    try:
        return translate(constraint)
    except ConstraintError as e:
        raise LockError(str(e), where=where, hint="write it in poetry's syntax (`^1.2`, `>=1.2,<2 || >=3`) or PEP 440") from None
