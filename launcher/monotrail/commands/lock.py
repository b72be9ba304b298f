"""`monotrail lock`: resolve a project's (or a PEP 723 script's) requirements into `pylock.toml`.

Also the resolution step of `monotrail run` for inputs without a lock: a PEP 723 script (its lock
cached in the store, keyed by the block), `--with` requirements, and a project with a
pyproject.toml but no lock (which gets its pylock.toml written, as uv writes uv.lock).

A project's lock is for several targets (`monotrail.resolve.targets`: every CPython minor version
requires-python allows, on Linux, macOS and Windows, or those named with --python/--platform),
resolved once each and merged (`monotrail.resolve.merge`); the other locks are for the interpreter
that runs them.

A lock records the hash of its inputs (requirements, targets or interpreter, sources) in
`[tool.monotrail] inputs`; re-locking with the same inputs rewrites nothing and resolves nothing.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping, Sequence

from monotrail import __version__
from monotrail.commands import relock
from monotrail.errors import LockWriteError, ProjectError, UsageError
from monotrail import sha256_hex
from monotrail.log import debug, info
from monotrail.names import normalize


@dataclass(frozen=True)
class ResolveOptions:
    python: str | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False
    refresh: bool = False
    upgrade: bool = False
    prereleases: bool = False
    quiet: bool = False
    pythons: tuple[str, ...] = ()  # a project lock's Pythons (3.X), default: all requires-python allows
    platforms: tuple[str, ...] = ()  # a project lock's platforms, default: linux, macos, windows


@dataclass(frozen=True)
class Project:
    path: Path  # pyproject.toml
    requires_python: str | None
    dependencies: tuple[str, ...]
    extras: dict[str, tuple[str, ...]]
    groups: dict[str, tuple[str, ...]]


# --- the command ---------------------------------------------------------------------------------


def main(args: list[str], python: str | None = None) -> int:
    """`monotrail lock ARGS`; an unchanged command was answered before (`monotrail.commands.relock`)."""
    options, parsed = _parse(args, python)
    if parsed.script:
        script = Path(parsed.script)
        if not script.is_file():
            raise UsageError(f"script {parsed.script} does not exist", hint="give the path of a PEP 723 script")
        out = script.with_name(script.name + ".lock")
        changed = lock_script(script, options, out, with_requirements=())
    else:
        project = find_project(Path.cwd())
        if project is None:
            raise ProjectError(
                "no pyproject.toml with a [project] table here or in any parent directory",
                hint="run `monotrail lock` in a project, or `monotrail lock --script FILE` for a script",
            )
        out = project.path.parent / "pylock.toml"
        changed = lock_project(project, options, out, extras=parsed.extra, groups=parsed.group)
        relock.remember(args, python, str(project.path), str(out))
    if not options.quiet:
        info(f"{'wrote' if changed else 'up to date:'} {out}")
    return 0


def _parse(args: list[str], python: str | None):
    from monotrail.cli.usage import Parser

    parser = Parser(prog="monotrail lock", description="Resolve the project (or a PEP 723 script) into pylock.toml.")
    parser.add_argument("-p", "--python", action="append", default=[python] if python else [], metavar="3.X",
                        help="a Python to lock for (repeatable; default: every CPython 3.8-3.14 requires-python "
                             "allows; a script: the interpreter `run` picks)")
    parser.add_argument("--platform", action="append", default=[], choices=("linux", "macos", "windows"),
                        help="a platform to lock for (repeatable; default: all three)")
    parser.add_argument("-E", "--extra", action="append", default=[], help="lock only these extras (default: all)")
    parser.add_argument("-G", "--group", action="append", default=[], help="lock only these groups (default: all)")
    parser.add_argument("--script", help="lock a PEP 723 script into SCRIPT.lock")
    parser.add_argument("-U", "--upgrade", action="store_true", help="ignore the versions already in the store")
    parser.add_argument("--refresh", action="store_true", help="refetch index pages younger than the cache TTL")
    parser.add_argument("--offline", action="store_true", help="resolve from the index cache and the store only")
    parser.add_argument("--prerelease", action="store_true", help="allow pre-releases")
    parser.add_argument("-i", "--index-url", metavar="URL",
                        help="the package index (default: PIP_INDEX_URL, UV_INDEX_URL, PyPI)")
    parser.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                        help="another index (repeatable)")
    parser.add_argument("-f", "--find-links", action="append", default=[], metavar="PATH|URL",
                        help="a directory or page of wheels (repeatable)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parsed = parser.parse_args(args)
    options = ResolveOptions(
        python=parsed.python[0] if parsed.python else None, pythons=tuple(parsed.python),
        platforms=tuple(parsed.platform), index_url=parsed.index_url, extra_index_urls=tuple(parsed.extra_index_url),
        find_links=tuple(parsed.find_links), offline=parsed.offline, refresh=parsed.refresh,
        upgrade=parsed.upgrade, prereleases=parsed.prerelease, quiet=parsed.quiet,
    )
    return options, parsed


# --- projects ------------------------------------------------------------------------------------


def find_project(start: Path) -> Project | None:
    """The nearest pyproject.toml with a [project] table, from `start` upwards."""
    for directory in (start.resolve(), *start.resolve().parents):
        path = directory / "pyproject.toml"
        if path.is_file():
            project = read_project(path)
            if project is not None:
                return project
    return None


def read_project(path: Path) -> Project | None:
    from monotrail.lock.tomlfile import load_toml, read_toml_text

    data = load_toml(path)
    table = data.get("project")
    if table is None:
        return None
    text = read_toml_text(path)
    if not isinstance(table, dict):
        raise ProjectError("[project] must be a table", where=_where(path, text, "[project]"))
    dependencies = _strings(table.get("dependencies", []), path, text, "dependencies")
    extras = {}
    optional = table.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise ProjectError("[project.optional-dependencies] must be a table", where=_where(path, text, "optional-dependencies"))
    for name, items in optional.items():
        extras[normalize(name)] = _strings(items, path, text, f"optional-dependencies.{name}")
    groups = _groups(data.get("dependency-groups", {}), path, text)
    requires_python = table.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise ProjectError("requires-python must be a string", where=_where(path, text, "requires-python"))
    return Project(path, requires_python, dependencies, extras, groups)


def _groups(table: object, path: Path, text: str) -> dict[str, tuple[str, ...]]:
    """PEP 735 groups, `{include-group = "x"}` expanded."""
    if not isinstance(table, dict):
        raise ProjectError("[dependency-groups] must be a table", where=_where(path, text, "[dependency-groups]"))
    raw = {normalize(name): items for name, items in table.items()}

    def expand(name: str, seen: tuple[str, ...]) -> tuple[str, ...]:
        if name in seen:
            raise ProjectError(f"dependency group {name!r} includes itself", where=_where(path, text, name))
        found: list[str] = []
        items = raw.get(name)
        if not isinstance(items, list):
            raise ProjectError(f"dependency group {name!r} must be a list", where=_where(path, text, name))
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("include-group"), str):
                found += expand(normalize(item["include-group"]), seen + (name,))
            else:
                found += _strings([item], path, text, f"dependency-groups.{name}")
        return tuple(found)

    return {name: expand(name, ()) for name in raw}


def _strings(items: object, path: Path, text: str, key: str) -> tuple[str, ...]:
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ProjectError(f"{key} must be a list of requirement strings", where=_where(path, text, key.split(".")[-1]))
    return tuple(items)


def _check_requirements(path: Path, requirements: dict[str, Sequence[str]]) -> None:
    """PEP 508 syntax, with the line; only before resolving (an up-to-date lock's inputs were checked)."""
    from packaging.requirements import InvalidRequirement, Requirement

    from monotrail.lock.tomlfile import read_toml_text

    for label, items in requirements.items():
        for item in items:
            try:
                Requirement(item)
            except InvalidRequirement as error:
                where = _where(path, read_toml_text(path), item)
                raise ProjectError(f"invalid requirement {item!r} ({label or 'dependencies'}): {error}", where=where) from None


def _where(path: Path, text: str, needle: str) -> str:
    """`file:line` of the first line mentioning `needle` (TOML parsers keep no positions)."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return f"{path}:{number}"
    return str(path)




def lock_project(project: Project, options: ResolveOptions, out: Path, *, extras: Sequence[str] = (),
                 groups: Sequence[str] = (), fallback: Path | None = None) -> bool:
    """Resolve main + extras + groups together and write `out`; False when it was up to date.

    `fallback`: where the lock goes when `out` cannot be written because the project is read-only
    (`monotrail run` in a mounted checkout keeps it in the store), with one warning saying so."""
    chosen_extras = _choose("extra", [normalize(e) for e in extras], project.extras, project.path)
    chosen_groups = _choose("dependency group", [normalize(g) for g in groups], project.groups, project.path)
    requirements: dict[str, Sequence[str]] = {"": project.dependencies}
    requirements.update({f"extra:{name}": project.extras[name] for name in chosen_extras})
    requirements.update({f"group:{name}": project.groups[name] for name in chosen_groups})
    default_groups = ["dev"] if "dev" in chosen_groups else []
    return _lock_targets(requirements, project.requires_python, project.path.parent, options, out,
                         extras=chosen_extras, groups=chosen_groups, default_groups=default_groups,
                         where=str(project.path), check=lambda: _check_requirements(project.path, requirements),
                         fallback=fallback)


def _choose(kind: str, wanted: list[str], defined: dict[str, tuple[str, ...]], path: Path) -> list[str]:
    unknown = [name for name in wanted if name not in defined]
    if unknown:
        raise ProjectError(f"unknown {kind} {', '.join(map(repr, unknown))}; the project defines: "
                           f"{', '.join(sorted(defined)) or 'none'}", where=str(path))
    return sorted(wanted or defined)


# --- scripts -------------------------------------------------------------------------------------


def lock_script(script: Path, options: ResolveOptions, out: Path, with_requirements: Sequence[str]) -> bool:
    from monotrail.lock.script_block import parse_block, read_block

    block = read_block(str(script))
    if block is None:
        raise ProjectError("no `# /// script` block (PEP 723) in the script", where=str(script),
                           hint="add one, e.g. `# /// script` / `# dependencies = [\"rich\"]` / `# ///`")
    metadata = parse_block(str(script), block)
    requirements = {"": tuple(metadata.dependencies) + tuple(with_requirements)}
    return _lock(requirements, metadata.requires_python, script.parent.resolve(), options, out, where=str(script))


def lock_requirements(requirements: Sequence[str], options: ResolveOptions, out: Path, start_dir: Path,
                      requires_python: str | None = None) -> bool:
    """A lock for plain requirements (`monotrail x`, `--with` outside a script)."""
    return _lock({"": tuple(requirements)}, requires_python, start_dir, options, out, where="the command line")


# --- shared --------------------------------------------------------------------------------------


def _lock(
    requirements: Mapping[str, Sequence[str]],
    requires_python: str | None,
    start_dir: Path,
    options: ResolveOptions,
    out: Path,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    default_groups: Sequence[str] = (),
    where: str,
    check=None,
    fallback: Path | None = None,
) -> bool:
    from monotrail.store.index import sources_from_env
    from monotrail.interpreters.discovery import find_interpreter
    from monotrail import store_root

    root = Path(store_root())
    sources = sources_from_env(index_url=options.index_url, extra_index_urls=options.extra_index_urls,
                               find_links=options.find_links, offline=options.offline)
    early = None
    if not options.offline and (options.upgrade or options.refresh or not out.exists()):
        # A resolution follows: its root pages are fetched while the interpreter is found and probed.
        from monotrail.resolve import early as fetch_early  # light: the resolver is imported after the probe

        early = fetch_early.start(requirements, sources, root, refresh=options.refresh)
    try:
        interpreter = find_interpreter(options.python, requires_python=requires_python, start_dir=start_dir, root=root)
        inputs = _inputs_hash(requirements, interpreter, sources, options)
        if not (options.upgrade or options.refresh) and _recorded_inputs(out) == inputs:
            debug(f"{out} is up to date (inputs {inputs[:12]})")
            return False
        if check is not None:
            check()
        from monotrail.resolve import pylock_writer
        from monotrail.builds.builder import Builds
        from monotrail.resolve.resolver import resolve

        debug(f"resolving {dict(requirements)} for {interpreter.path}")
        handed, early = early, None  # resolve closes it
        resolution = resolve(requirements, interpreter, sources, root, where=where, prereleases=options.prereleases,
                             upgrade=options.upgrade, refresh=options.refresh, base=start_dir, builder=Builds(),
                             early=handed)
    finally:
        if early is not None:
            early.abandon()
    text = pylock_writer.render(resolution, interpreter, extras=extras, groups=groups,
                                default_groups=default_groups, inputs=inputs, base=out.parent)
    return _write(out, text, fallback, lambda: pylock_writer.render(
        resolution, interpreter, extras=extras, groups=groups, default_groups=default_groups, inputs=inputs,
        base=out.parent, project=out.parent))


def _lock_targets(
    requirements: Mapping[str, Sequence[str]],
    requires_python: str | None,
    start_dir: Path,
    options: ResolveOptions,
    out: Path,
    *,
    extras: Sequence[str],
    groups: Sequence[str],
    default_groups: Sequence[str],
    where: str,
    check,
    fallback: Path | None,
) -> bool:
    """A multi-target lock: resolve for each target side by side, merge, write. No interpreter is
    looked for unless an sdist or a source tree must be built for its metadata."""
    import functools

    from monotrail import store_root
    from monotrail.resolve import targets as target_table
    from monotrail.store.index import sources_from_env

    root = Path(store_root())
    targets = target_table.choose(requires_python, options.pythons, options.platforms)
    sources = sources_from_env(index_url=options.index_url, extra_index_urls=options.extra_index_urls,
                               find_links=options.find_links, offline=options.offline)
    inputs = _targets_hash(requirements, requires_python, targets, sources, options)
    if not (options.upgrade or options.refresh) and _recorded_inputs(out) == inputs:
        debug(f"{out} is up to date (inputs {inputs[:12]})")
        return False
    check()
    from monotrail.builds.builder import Builds
    from monotrail.interpreters.discovery import find_interpreter
    from monotrail.resolve import pylock_writer
    from monotrail.resolve.merge import merge
    from monotrail.resolve.resolver import resolve_targets

    @functools.lru_cache(maxsize=None)
    def build_interpreter():
        return find_interpreter(options.python, requires_python=requires_python, start_dir=start_dir, root=root)

    debug(f"resolving {dict(requirements)} for {len(targets)} targets: {', '.join(t.describe() for t in targets)}")
    resolutions = resolve_targets(requirements, [t.interpreter() for t in targets], sources, root, where=where,
                                  build_interpreter=build_interpreter, prereleases=options.prereleases,
                                  upgrade=options.upgrade, refresh=options.refresh, base=start_dir, builder=Builds())
    resolution = merge(list(zip(targets, resolutions)))
    minimum = target_table.lock_requires_python(requires_python, targets, narrowed=bool(options.pythons))

    def render(project: Path | None = None) -> str:
        return pylock_writer.render(resolution, None, extras=extras, groups=groups, default_groups=default_groups,
                                    inputs=inputs, base=out.parent, project=project,
                                    environments=target_table.environment_markers(targets), requires_python=minimum)

    return _write(out, render(), fallback, lambda: render(out.parent))


def _write(out: Path, text: str, fallback: Path | None, fallback_text) -> bool:
    from monotrail.resolve import pylock_writer

    try:
        return pylock_writer.write(out, text)
    except LockWriteError as error:
        if fallback is None or error.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        # As uv treats a project it cannot write (failing to lock it warns instead of failing the
        # run): the run goes on with the same lock, kept where monotrail may write. It names its
        # project, whose directory local paths in it stay relative to, as they would beside it.
        info(f"warning: {error.message}; the lock is kept in the store instead ({fallback}): "
             f"run `monotrail lock` where the project can be written to keep it with the project")
        return pylock_writer.write(fallback, fallback_text())


def _targets_hash(requirements, requires_python: str | None, targets, sources, options: ResolveOptions) -> str:
    data = {
        "monotrail": __version__,
        "requirements": {label: list(items) for label, items in sorted(requirements.items())},
        "requires-python": requires_python,
        "targets": [[t.minor, t.platform, t.micro] for t in targets],
        "indexes": list(sources.index_urls),
        "find_links": list(sources.find_links),
        "prereleases": options.prereleases,
    }
    return sha256_hex(json.dumps(data, sort_keys=True).encode())


def _recorded_inputs(path: Path) -> str | None:
    """`[tool.monotrail] inputs` of an existing lock, in the table `pylock_writer.render` writes
    last: found from the end, without reading a big lock whole or parsing its TOML."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, os.fstat(file.fileno()).st_size - 4096))
            tail = file.read().decode("utf-8", "replace")
    except OSError:
        return None
    at = tail.rfind("\n[tool.monotrail]\n")
    if at < 0:
        return None
    marker = '\ninputs = "'
    start = tail.find(marker, at)
    return None if start < 0 else tail[start + len(marker):].split('"', 1)[0]


def _inputs_hash(requirements, interpreter, sources, options: ResolveOptions) -> str:
    data = {
        "monotrail": __version__,
        "requirements": {label: list(items) for label, items in sorted(requirements.items())},
        "python": [interpreter.path, interpreter.full_version, interpreter.tags[:1]],
        "indexes": list(sources.index_urls),
        "find_links": list(sources.find_links),
        "prereleases": options.prereleases,
    }
    return sha256_hex(json.dumps(data, sort_keys=True).encode())


def lock_with(request, lock_path: str, start_dir: str, options: ResolveOptions, out: str) -> bool:
    """`run --with REQ`: the lock's selection for this target pinned (`name==version`), plus REQ."""
    from monotrail.environment.install import read_lock_for, select_for
    from monotrail.interpreters.discovery import find_interpreter
    from monotrail import store_root

    spec = request.environment_spec()
    lock = read_lock_for(spec, Path(lock_path))
    interpreter = find_interpreter(options.python, requires_python=lock.requires_python,
                                   start_dir=Path(start_dir), root=Path(store_root()))
    pins = [f"{item.name} @ {_build_url(item.build)}" if item.build else f"{item.name}=={item.version}"
            for item in select_for(lock, interpreter, spec) if item.directory is None and item.editable is None]
    return _lock({"": tuple(pins) + tuple(request.with_requirements)}, lock.requires_python, Path(start_dir),
                 options, Path(out), where="--with")


def _build_url(build: str) -> str:
    """A selected source to build as a PEP 508 URL (uv.lock's `git+URL?rev=x#commit` made `git+URL@commit`)."""
    from monotrail.store import direct

    if build.startswith("file:"):
        return build
    ref = direct.from_locked(build, None)
    assert ref is not None  # a `vcs` string always names a reference
    return ref.requirement_url()
