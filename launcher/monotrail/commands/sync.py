"""`monotrail sync --venv DIR` and `monotrail poetry-install`: make a real virtualenv match a lock.

The same pipeline as `monotrail run` (lock -> interpreter -> selection -> store), with a venv as
the destination instead of a manifest: the venv's own python is the target interpreter, the store
entries are linked into it (`monotrail.venv`). Sync means exactly the lock: missing packages are
installed, other versions replaced (up or down), packages the lock does not list removed, except
pip/setuptools/wheel that the venv was seeded with. A venv already in sync costs one cached probe
and a directory listing; nothing is written.

The project itself (unless the lock says it is not a package, or `--no-install-project` /
poetry's `--no-root`), workspace members and path dependencies marked editable are installed
editable through their own build backend (PEP 660, `monotrail.builds.editable`), as `uv sync` does: the
venv gets the editable wheel's dist-info, `.pth` or finder, and console scripts. It is reinstalled
when the rebuilt wheel differs from what the venv holds (a new version, entry point or layout).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

from monotrail.errors import LockError, VenvError
from monotrail.log import debug, info
from monotrail.records import Record

_DESCRIPTION_SYNC = "Make a virtualenv match a lockfile exactly (any format monotrail reads)."
_DESCRIPTION_POETRY = "Install a poetry project into .venv (or the active venv), the project itself editable."


def add_install_options(parser: argparse.ArgumentParser) -> None:
    """Options every venv command shares: where files come from and how they are placed."""
    parser.add_argument("--link-mode", choices=("hardlink", "copy", "symlink"), default="hardlink",
                        help="how files get from the store into the venv (default: hardlink, copy where "
                             "the filesystem refuses)")
    parser.add_argument("--compile", action="store_true", help="byte-compile the installed .py files")
    parser.add_argument("--offline", action="store_true", help="never touch the network")
    parser.add_argument("-i", "--index-url", help="the package index")
    parser.add_argument("--extra-index-url", action="append", default=[], help="another index (repeatable)")
    parser.add_argument("-f", "--find-links", action="append", default=[], help="a directory or page of wheels")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")


class SyncRequest(Record):
    """What `sync`, `poetry-install` and `install` ask of a venv. (A record, not a dataclass:
    with it a sync from a warm store imports no dataclasses, ~8 ms.)"""

    __slots__ = ("venv", "lock", "extras", "all_extras", "groups", "no_default_groups", "python", "install_project",
                 "link_mode", "compile", "offline", "index_url", "extra_index_urls", "find_links", "quiet")
    venv: Path
    lock: str | None
    extras: tuple[str, ...]
    all_extras: bool
    groups: tuple[str, ...]
    no_default_groups: bool
    python: str | None  # for creating the venv
    install_project: bool  # the project itself, editable (`--no-install-project`, poetry's `--no-root`)
    link_mode: str
    compile: bool
    offline: bool
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    quiet: bool

    def __init__(self, venv: Path, lock: str | None, extras: tuple[str, ...] = (), all_extras: bool = False,
                 groups: tuple[str, ...] = (), no_default_groups: bool = False, python: str | None = None,
                 install_project: bool = True, link_mode: str = "hardlink", compile: bool = False,
                 offline: bool = False, index_url: str | None = None, extra_index_urls: tuple[str, ...] = (),
                 find_links: tuple[str, ...] = (), quiet: bool = False) -> None:
        for name, value in (("venv", venv), ("lock", lock), ("extras", extras), ("all_extras", all_extras),
                            ("groups", groups), ("no_default_groups", no_default_groups), ("python", python),
                            ("install_project", install_project), ("link_mode", link_mode), ("compile", compile),
                            ("offline", offline), ("index_url", index_url), ("extra_index_urls", extra_index_urls),
                            ("find_links", find_links), ("quiet", quiet)):
            object.__setattr__(self, name, value)


def main_sync(argv: Sequence[str]) -> int:
    from monotrail.cli.usage import Parser

    parser = Parser(prog="monotrail sync", description=_DESCRIPTION_SYNC)
    parser.add_argument("--venv", help="the virtualenv (default: $VIRTUAL_ENV); created when missing")
    parser.add_argument("--lock", help="the lockfile (default: searched from the current directory up)")
    parser.add_argument("-E", "--extra", action="append", default=[], help="include an extra (repeatable)")
    parser.add_argument("--all-extras", action="store_true", help="include every extra the lock defines")
    parser.add_argument("-G", "--group", action="append", default=[], help="include a dependency group (repeatable)")
    parser.add_argument("--no-default-groups", action="store_true", help="leave out the lock's default groups")
    parser.add_argument("-p", "--python", help="the Python to create the venv with (default: as `run` picks it)")
    parser.add_argument("--no-install-project", action="store_true",
                        help="do not install the project itself (its dependencies only), as uv's option")
    add_install_options(parser)
    options = parser.parse_args(list(argv))
    from monotrail.venv import active_venv

    return sync(SyncRequest(venv=active_venv(options.venv), lock=options.lock, extras=tuple(options.extra),
                            all_extras=options.all_extras, groups=tuple(options.group),
                            no_default_groups=options.no_default_groups, python=options.python,
                            install_project=not options.no_install_project, **install_options(options)))


def main_poetry_install(argv: Sequence[str]) -> int:
    from monotrail.cli.usage import Parser

    parser = Parser(prog="monotrail poetry-install", description=_DESCRIPTION_POETRY)
    parser.add_argument("-E", "--extras", action="append", default=[], help="include an extra (repeatable)")
    parser.add_argument("--all-extras", action="store_true", help="include every extra the lock defines")
    parser.add_argument("--with", dest="groups", action="append", default=[],
                        help="include a dependency group (repeatable)")
    parser.add_argument("--no-root", action="store_true", help="do not install the project itself")
    parser.add_argument("--venv", help="the virtualenv (default: $VIRTUAL_ENV, else .venv beside poetry.lock)")
    parser.add_argument("-p", "--python", help="the Python to create .venv with")
    add_install_options(parser)
    options = parser.parse_args(list(argv))
    lock = _find_poetry_lock(Path.cwd())
    venv = Path(options.venv or os.environ.get("VIRTUAL_ENV") or lock.parent / ".venv").absolute()
    extras = tuple(part for value in options.extras for part in value.replace(",", " ").split())
    return sync(SyncRequest(venv=venv, lock=str(lock), extras=extras, all_extras=options.all_extras,
                            groups=tuple(options.groups), python=options.python,
                            install_project=not options.no_root, **install_options(options)))


def install_options(options: argparse.Namespace) -> dict[str, Any]:
    return {
        "link_mode": options.link_mode, "compile": options.compile, "offline": options.offline,
        "index_url": options.index_url, "extra_index_urls": tuple(options.extra_index_url),
        "find_links": tuple(options.find_links), "quiet": options.quiet,
    }


def _find_poetry_lock(start: Path) -> Path:
    for directory in (start, *start.parents):
        if (directory / "poetry.lock").is_file():
            return directory / "poetry.lock"
    raise LockError(f"no poetry.lock in {start} or its parents",
                    hint="run `poetry lock` first, or use `monotrail sync --venv DIR` for other lock formats")


# --- the command -----------------------------------------------------------------------------


def sync(request: SyncRequest) -> int:
    from monotrail.lock import find_lock, read_lock
    from monotrail import store_root
    from monotrail.venv import open_venv

    started = time.perf_counter()
    root = Path(store_root())
    lock = read_lock(request.lock or find_lock(os.getcwd()), root)  # a big uv.lock: its parse kept by content
    created = not (request.venv / "pyvenv.cfg").is_file()
    if created:
        create_venv(request.venv, lock.requires_python, request.python, lock.path.parent, root, request.quiet)
    try:
        venv = open_venv(request.venv, root)
        wanted = _wanted(lock, venv, request)
        # Left out on request, the project is not installed, nor removed if an earlier sync installed it.
        keep = frozenset({lock.project.name}) if lock.project is not None and not request.install_project else frozenset()
        changed = apply_changes(venv, wanted, root, request, lock=lock, keep=keep)
    except BaseException:
        if created:  # the venv this sync made goes with it: whole or absent
            import shutil

            shutil.rmtree(request.venv, ignore_errors=True)
        raise
    if not request.quiet:
        info(f"monotrail: {changed} in {time.perf_counter() - started:.2f} s ({_short(venv.prefix)})")
    return 0


def _wanted(lock, venv, request: SyncRequest) -> list:
    from monotrail.selection import select

    extras = tuple(lock.extras) if request.all_extras else request.extras
    selected = list(select(lock, venv.interpreter, extras, request.groups, request.no_default_groups))
    if not request.install_project and lock.project is not None:
        selected = [item for item in selected if item.editable != lock.project.directory]
    return selected


def apply_changes(venv, wanted: Sequence, root: Path, request, *, lock=None, remove_unlisted: bool = True,
                  direct_urls: Mapping[str, Mapping[str, object]] = {}, keep: frozenset = frozenset()) -> str:
    """Install what differs from `wanted`, remove what is not wanted; return a summary.

    The order is fixed so that nothing is half-done on bad input: store entries (download and
    verify), then every venv path planned and checked, then removals, then writes. (Writing each
    package while the next is planned was slower: the planning thread then waits for the GIL
    behind eight threads that take and release it for every mkdir and link.)
    """
    from monotrail.venv import check_plans, install_plans, installed, plan_entry, uninstall

    present = installed(venv)
    wanted, editables = _build_editables(venv, wanted, root, request, lock)
    direct_urls = {**direct_urls, **{name: {"url": Path(directory).absolute().as_uri(), "dir_info": {"editable": True}}
                                     for name, directory in editables.items()}}
    to_install, to_remove = diff({name: dist for name, dist in present.items() if name not in keep}, wanted,
                                 remove_unlisted, editables)
    if not to_install and not to_remove:
        return f"nothing to do, {len(wanted)} packages in sync"
    wheels = [item for item in to_install if item.directory is None]
    entries = _entries(wheels, venv, root, request, lock)
    plans = [plan_entry(venv, entry, direct_url=_direct_url(direct_urls.get(item.name), entry))
             for item, entry in zip(wheels, entries)]
    plans += [_plan_local(venv, item) for item in to_install if item.directory is not None]
    check_plans(plans)
    for dist in to_remove:
        debug(f"venv: removing {dist.name} {dist.version}")
        uninstall(venv, dist)
    install_plans(venv, plans, request.link_mode, request.compile)
    replaced = len({d.name for d in to_remove} & {i.name for i in to_install})
    return (f"installed {len(to_install) - replaced}, replaced {replaced}, "
            f"removed {len(to_remove) - replaced} packages")


def _entries(wheels: Sequence, venv, root: Path, request, lock) -> list:
    """The store entries of `wheels`: when all are stored, found without configuring an index
    or a builder (`stored_entries`: their imports cost ~5 ms), else through `ensure_installed`."""
    from monotrail.store.entries import ensure_installed, stored_entries

    if not wheels:
        return []
    entries = stored_entries(wheels, root, venv.interpreter.tags)
    if entries is not None:
        return entries
    from monotrail.builds.builder import Builds

    return ensure_installed(wheels, _sources(request, lock), root, progress=not request.quiet,
                            tags=venv.interpreter.tags, interpreter=venv.interpreter, builder=Builds())


def _build_editables(venv, wanted: Sequence, root: Path, request, lock) -> tuple[list, dict[str, str]]:
    """`wanted` with each editable project as a selection of its editable wheel, and the project
    directory of each of them by name (built before the diff: the wheel says name and version)."""
    if not any(getattr(item, "editable", None) for item in wanted):
        return list(wanted), {}
    from monotrail.builds.builder import Builds

    directories = {id(item): item.editable for item in wanted}
    resolved, _ = Builds().editables(wanted, venv.interpreter, _sources(request, lock), root, quiet=request.quiet)
    editables = {new.name: directories[id(old)] for old, new in zip(wanted, resolved) if directories[id(old)]}
    return resolved, editables


def _direct_url(direct_url: Mapping[str, object] | None, entry) -> Mapping[str, object] | None:
    """A URL install's PEP 610 hash is known only once the store has the wheel."""
    if direct_url is None or direct_url.get("archive_info") or direct_url.get("dir_info"):
        return direct_url
    sha256 = entry.meta["sha256"]
    return {**direct_url, "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}}


def diff(present: Mapping[str, object], wanted: Sequence, remove_unlisted: bool = True,
         editables: Mapping[str, str] = {}) -> tuple[list, list]:
    """(selected items to install, installed dists to remove); a changed version is both.
    `editables`: the project directory of each editable wheel among `wanted`, by name."""
    from monotrail.venv import SEEDED, editable_url

    to_install, to_remove = [], []
    wanted_names = set()
    for item in wanted:
        wanted_names.add(item.name)
        dist = present.get(item.name)
        if dist is not None and _matches(dist, item, editable_url(dist), editables.get(item.name)):  # type: ignore[arg-type]
            continue
        to_install.append(item)
        if dist is not None:
            to_remove.append(dist)
    if remove_unlisted:
        to_remove += [dist for name, dist in sorted(present.items()) if name not in wanted_names and name not in SEEDED]
    return to_install, to_remove


def _matches(dist, item, editable: str | None, project: str | None = None) -> bool:
    if not same_version(dist.version, item.version):
        return False
    if project is not None:
        return editable == Path(project).absolute().as_uri() and _holds_wheel(dist, Path(item.artifact.path))
    if item.directory is not None:
        return editable == Path(item.directory).absolute().as_uri()
    return editable is None


def _holds_wheel(dist, wheel: Path) -> bool:
    """Does the venv hold exactly the files of this (small, editable) wheel? A rebuild after an
    edit of pyproject.toml may change the entry points, the `.pth` or the finder but not the
    version; the venv's RECORD is its own, and `.data` files live elsewhere."""
    import zipfile

    lib = dist.dist_info.parent
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                top = member.split("/", 1)[0]
                if member.endswith(("/", ".dist-info/RECORD")) or top.endswith(".data"):
                    continue
                if (lib / member).read_bytes() != archive.read(member):
                    return False
    except (OSError, zipfile.BadZipFile, KeyError):
        return False
    return True


def same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def _sources(request, lock):
    from monotrail.store.index import sources_from_env

    return sources_from_env(
        index_url=request.index_url,
        extra_index_urls=request.extra_index_urls,
        find_links=(*request.find_links, *(lock.find_links if lock is not None else ())),
        offline=request.offline,
        lock_index_urls=lock.index_urls if lock is not None else (),
    )


# --- local projects (path dependencies, the poetry project itself) ----------------------------


class LocalProject(Record):
    """What pyproject.toml says of a local project: name, version, console scripts."""

    __slots__ = ("name", "version", "scripts")
    name: str
    version: str
    scripts: Mapping[str, str]

    def __init__(self, name: str, version: str, scripts: Mapping[str, str]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "scripts", scripts)


def read_project(directory: Path) -> LocalProject | None:
    """Name, version and console scripts from pyproject.toml (PEP 621 or `[tool.poetry]`);
    None for a poetry project with `package-mode = false` or one without a name."""
    import tomli

    try:
        with open(directory / "pyproject.toml", "rb") as file:
            data = tomli.load(file)
    except (OSError, tomli.TOMLDecodeError):
        return None
    poetry = data.get("tool", {}).get("poetry", {})
    project = data.get("project", {})
    if poetry.get("package-mode") is False:
        return None
    name = project.get("name") or poetry.get("name")
    if not name:
        return None
    version = str(project.get("version") or poetry.get("version") or "0")
    scripts = dict(project.get("scripts") or {})
    for script, value in (poetry.get("scripts") or {}).items():
        reference = value.get("reference") if isinstance(value, dict) else value
        if isinstance(reference, str) and ":" in reference:
            scripts.setdefault(script, reference)
    return LocalProject(name, version, scripts)


def _plan_local(venv, item):
    from monotrail.venv import plan_editable

    directory = Path(item.directory).absolute()
    project = read_project(directory)
    src = directory / "src"
    import_root = src if src.is_dir() else directory
    return plan_editable(venv, project.name if project else item.name, item.version, import_root, directory,
                         scripts=project.scripts if project else {})


# --- creating the venv -----------------------------------------------------------------------


def create_venv(prefix: Path, requires_python: str | None, python: str | None, start_dir: Path,
                root: Path, quiet: bool) -> None:
    """A new venv without pip, on the Python `monotrail run` would pick for this lock, as `uv
    sync` makes `.venv`: the files `python -m venv --without-pip` writes, written in-process
    (`monotrail.environment.layout.write_venv`); virtualenv (seeder off) only for an
    interpreter whose stdlib has no venv templates."""
    from monotrail.environment.layout import write_venv
    from monotrail.interpreters.discovery import find_interpreter

    interpreter = find_interpreter(python, requires_python=requires_python, start_dir=start_dir, root=root)
    if prefix.exists() and any(prefix.iterdir()):
        raise VenvError("exists but is not a virtualenv (no pyvenv.cfg)", where=str(prefix),
                        hint="remove it or pass another --venv")
    try:
        written = write_venv(prefix, interpreter)
    except OSError as error:
        raise VenvError(f"cannot create the venv: {error}", where=str(prefix)) from None
    if not written:
        _virtualenv(prefix, interpreter.path)
    if not quiet:
        info(f"monotrail: created {_short(prefix)} with {interpreter.describe()}")


def _virtualenv(prefix: Path, python: str) -> None:
    from virtualenv import cli_run

    try:
        cli_run([str(prefix), "--python", python, "--quiet", "--no-periodic-update", "--no-seed"], setup_logging=False)
    except (Exception, SystemExit) as error:  # virtualenv reports through exceptions of its own
        raise VenvError(f"virtualenv failed: {error}", where=str(prefix)) from None


def _short(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
