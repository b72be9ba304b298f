"""`monotrail store path|list|verify|gc|clean`: see, check and reclaim the global store.

One function per subcommand, taking parsed options and returning an exit code; `main` parses.
What is safe to remove (docs/architecture.md, "The store's invariants and faults"):
- an environment whose lockfile is gone or changed (recorded in `<env>/lock` when it was written),
  or, with `--older-than`, one not used for that long; never one a live process claims (holds a
  file under it open: the bootstrap keeps the manifest open; or, from older bootstraps,
  `<env>/pids/<pid>` with a live pid);
- then a store entry no remaining environment's manifest uses, and downloads without an entry;
- temp files of dead processes (or older than an hour).
All of it under the exclusive `<root>/locks/gc.lock`: a cold run holds it shared from its first
store lookup to its environment's write, so it waits for gc (and gc for it), never crashes.
Removal renames first (into `<root>/tmp/`, atomic) and deletes after: a directory is whole or gone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Sequence

from monotrail.errors import StoreError, UsageError
from monotrail.store.entries import (
    damage,
    gc_lock,
    private_umask,
    read_marker,
    remove_stale_temp,
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class Env:
    """One `<root>/envs/<key>/` as gc sees it."""

    path: Path
    lock: str | None  # the lockfile it was written from (None: written before this was recorded)
    lock_sha256: str | None
    entries: set[Path]  # store entries its manifest uses
    live_pids: list[int]
    last_used: float

    @property
    def key(self) -> str:
        return self.path.name


@dataclass
class Plan:
    """What gc or clean removes, with the reason for each environment."""

    envs: list[tuple] = field(default_factory=list)  # (Env, reason)
    kept: list[tuple] = field(default_factory=list)  # (Env, reason) kept although removable
    entries: list[Path] = field(default_factory=list)
    downloads: list[Path] = field(default_factory=list)


# --- commands ------------------------------------------------------------------------------------


def path_command(root: Path) -> int:
    """The root, then the size of each part of it."""
    sys.stdout.write(f"{root}\n")
    total = 0
    for part in ("store", "downloads", "envs", "cache", "interpreters", "warm", "tmp"):
        size = _size(root / part)
        total += size
        sys.stdout.write(f"  {part + '/':<14} {_human(size):>10}\n")
    sys.stdout.write(f"  {'total':<14} {_human(total):>10}\n")
    return 0


def list_command(root: Path, as_json: bool) -> int:
    """Every entry: name, version, size, the environments (lockfiles) using it, last use."""
    envs = list(_read_envs(root))
    rows: list[dict[str, Any]] = []
    for path in _entry_dirs(root):
        entry = read_marker(path)
        users = [env for env in envs if path in env.entries]
        last_used = max((env.last_used for env in users), default=None)
        rows.append({
            "name": entry.meta["name"] if entry else path.parent.parent.name,
            "version": entry.meta["version_"] if entry else path.parent.name,
            "id": path.name,
            "wheel": entry.meta.get("wheel") if entry else None,
            "path": str(path),
            "size": _size(path),
            "damaged": damage(path),
            "environments": [{"key": env.key, "lock": env.lock, "live_pids": env.live_pids} for env in users],
            "last_used": _iso(last_used) if last_used else None,
        })
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return 0
    if not rows:
        sys.stdout.write(f"the store at {root} is empty\n")
        return 0
    sys.stdout.write(f"{'NAME':<28} {'VERSION':<14} {'SIZE':>9}  {'LAST USED':<19}  USED BY\n")
    for row in rows:
        used_by = ", ".join(dict.fromkeys(env["lock"] or env["key"] for env in row["environments"])) or "-"
        if row["damaged"]:
            used_by += f"  (damaged: {row['damaged']})"
        sys.stdout.write(
            f"{row['name']:<28} {row['version']:<14} {_human(row['size']):>9}  {(row['last_used'] or 'never'):<19}  {used_by}\n"
        )
    total = sum(row["size"] for row in rows)
    sys.stdout.write(f"{len(rows)} entries, {_human(total)}\n")
    return 0


def verify_command(root: Path, repair: bool) -> int:
    """Rehash every file of every entry against its RECORD; with `repair`, reinstall the broken
    ones from the download cache, or remove them so that the next run reinstalls them."""
    broken = []
    checked = 0
    for path in _entry_dirs(root):
        checked += 1
        problem = damage(path) or _record_problem(path)
        if problem:
            broken.append(path)
            sys.stdout.write(f"broken: {_describe(path)}: {problem}\n")
    if not broken:
        sys.stdout.write(f"ok: {checked} entries verified\n")
        return 0
    if not repair:
        sys.stdout.write(f"{len(broken)} of {checked} entries are broken; `monotrail store verify --repair` fixes them\n")
        return 1
    with gc_lock(root, shared=False), private_umask():
        for path in broken:
            sys.stdout.write(f"repaired: {_describe(path)}: {_repair(root, path)}\n")
    return 0


def gc_command(root: Path, dry_run: bool, older_than: float | None, downloads: bool = False) -> int:
    """Remove what nothing needs (see the module docstring); `dry_run` only says what.
    `downloads`: every downloaded artifact too. An entry's wheel is kept by default only so that
    `store verify --repair` can reinstall it without the network; it doubles the store's size
    (data-science: 85 MB of wheels beside 290 MB unpacked), and the entries are the cache runs use,
    as uv keeps only unpacked wheels."""
    with gc_lock(root, shared=False):
        plan = _plan(root, older_than, everything=False, prune_claims=not dry_run, all_downloads=downloads)
        return _carry_out(root, plan, dry_run)


def clean_command(root: Path, yes: bool) -> int:
    """Remove everything but what live processes use: environments, entries, downloads, caches."""
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"refusing to remove the whole store at {root} without confirmation", hint="add --yes")
        sys.stderr.write(f"remove everything under {root} ({_human(_size(root))})? [y/N] ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("nothing removed\n")
            return 1
    with gc_lock(root, shared=False):
        code = _carry_out(root, _plan(root, None, everything=True, prune_claims=True), dry_run=False)
        for part in ("cache", "interpreters", "warm"):
            _remove_tree(root, root / part)
    return code


# --- gc --------------------------------------------------------------------------------------------


def _plan(root: Path, older_than: float | None, everything: bool, prune_claims: bool,
          all_downloads: bool = False) -> Plan:
    plan = Plan()
    now = time.time()
    envs = list(_read_envs(root, prune_claims))
    keep: list[Env] = []
    for env in envs:
        reason = "clean" if everything else _stale_reason(env, now, older_than)
        if reason is None:
            keep.append(env)
        elif env.live_pids:
            plan.kept.append((env, f"{reason}, but in use by pid {', '.join(map(str, env.live_pids))}"))
            keep.append(env)
        else:
            plan.envs.append((env, reason))
    used = set().union(*(env.entries for env in keep)) if keep else set()
    plan.entries = [path for path in _entry_dirs(root) if path not in used]
    kept_ids = {path.name[:16] for path in _entry_dirs(root) if path not in plan.entries}  # a build's id: <sdist's>-<tags>
    downloads = root / "downloads"
    if downloads.is_dir():
        plan.downloads = sorted(p for p in downloads.iterdir() if all_downloads or p.name[:16] not in kept_ids)
    return plan


def _stale_reason(env: Env, now: float, older_than: float | None) -> str | None:
    if env.lock is not None:
        from monotrail.environment import file_digest

        if not os.path.isfile(env.lock):
            return f"its lockfile {env.lock} is gone"
        if file_digest(env.lock) != env.lock_sha256:
            return f"its lockfile {env.lock} changed"
    if older_than is not None and now - env.last_used > older_than:
        return f"unused for {(now - env.last_used) / 86400:.1f} days"
    return None


def _carry_out(root: Path, plan: Plan, dry_run: bool) -> int:
    verb = "would remove" if dry_run else "removed"
    freed = 0
    for env, reason in plan.envs:
        freed += _size(env.path)
        sys.stdout.write(f"{verb} environment {env.key} ({reason})\n")
        if not dry_run:
            _remove_tree(root, env.path)
    if plan.envs and not dry_run:
        from monotrail.faults import crash_point

        crash_point("gc-envs-removed")
    for env, reason in plan.kept:
        sys.stdout.write(f"kept environment {env.key}: {reason}\n")
    for path in plan.entries:
        freed += _size(path)
        sys.stdout.write(f"{verb} {_describe(path)}\n")
        if not dry_run:
            _remove_tree(root, path)
    for path in plan.downloads:
        freed += _size(path)
        if not dry_run:
            path.unlink(missing_ok=True)
    # Lock parses kept by their content (monotrail.lock.uv: ~600 kB for a big uv.lock, one per
    # lock content ever run): made again by the next new environment of a lock that needs one.
    parsed = root / "cache" / "parsed"
    freed += _size(parsed)
    temps = 0
    if not dry_run:
        _remove_tree(root, parsed)
        temps = remove_stale_temp(root)
        _remove_dead_warm_entries(root)
        _remove_empty_dirs(root / "store")
    sys.stdout.write(
        f"{verb} {len(plan.envs)} environments, {len(plan.entries)} store entries, {len(plan.downloads)} downloads"
        f"{'' if dry_run else f', {temps} temp files'}: {_human(freed)}\n"
    )
    return 0


def _remove_tree(root: Path, path: Path) -> None:
    """Rename into `<root>/tmp/` (atomic: a reader sees the whole directory or none), then delete;
    a crash in between leaves garbage that the next run or gc removes, never half an entry."""
    if not path.exists():
        return
    aside = root / "tmp" / f"{os.getpid()}-{os.urandom(8).hex()}"
    try:
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, aside)
    except OSError as exc:
        from monotrail.errors import os_error_text

        raise StoreError(f"cannot remove {path}: {os_error_text(exc, path)}") from None
    from monotrail.faults import crash_point

    crash_point("gc-moved-aside")
    shutil.rmtree(aside, ignore_errors=True)


def _remove_dead_warm_entries(root: Path) -> None:
    """Front-door entries naming an environment that is gone (they would only send runs to the
    launcher, which rewrites them)."""
    for directory, _, files in os.walk(root / "warm"):
        for name in files:
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as file:
                    env_dir = file.readline().rstrip("\n")
            except (OSError, UnicodeDecodeError):
                continue
            if not os.path.isdir(env_dir):
                try:
                    os.unlink(path)
                except OSError:
                    pass


def _remove_empty_dirs(store: Path) -> None:
    for directory, _, _ in sorted(os.walk(store), key=lambda item: -len(item[0])):
        if directory != str(store):
            try:
                os.rmdir(directory)  # only succeeds when empty
            except OSError:
                pass


# --- reading the store ---------------------------------------------------------------------------


def _entry_dirs(root: Path) -> list[Path]:
    """`<root>/store/<name>/<version>/<id>` directories, with or without a marker."""
    store = root / "store"
    if not store.is_dir():
        return []
    return sorted(p for p in store.glob("*/*/*") if p.is_dir() and not p.is_symlink())


def _read_envs(root: Path, prune_claims: bool = False) -> Iterator[Env]:
    envs = root / "envs"
    if not envs.is_dir():
        return
    store = str(root / "store") + os.sep
    holders = _holders(envs)
    for path in sorted(p for p in envs.iterdir() if p.is_dir()):
        last_used = _last_used(path)  # before reading manifest.json, which updates its atime
        try:
            manifest = json.loads((path / "manifest.json").read_text("utf-8"))
            lib_dirs = manifest.get("lib_dirs", [])
        except (OSError, ValueError, AttributeError):
            lib_dirs = []  # an unreadable environment uses nothing; gc removes it unless claimed
        lock, sha = _read_lock_record(path)
        entries = {Path(os.path.dirname(lib)) for lib in lib_dirs if lib.startswith(store)}
        live = set(_live_pids(path, prune_claims)) | holders.get(path.name, set())
        yield Env(path, lock, sha, entries, sorted(live), last_used)


def _read_lock_record(env: Path) -> tuple:
    try:
        lock, sha, *_ = (env / "lock").read_text("utf-8").splitlines()
        return lock, sha
    except (OSError, ValueError):
        return None, None


def _holders(envs: Path) -> dict[str, set[int]]:
    """The pids holding a file under `<envs>/<key>/` open, by key: the hook keeps its environment's
    manifest open for the life of the process (and of an exec, and of children that inherit it).
    Linux: the `/proc/<pid>/fd` links, read directly (psutil's `open_files()` reads the same links
    and more); elsewhere psutil. Processes that cannot be read (another user's, without privilege) or
    that exit meanwhile are skipped: a store is one user's."""
    prefixes = {str(envs) + os.sep, os.path.realpath(envs) + os.sep}
    held: dict[str, set[int]] = {}

    def note(pid: int, target: str) -> None:
        for prefix in prefixes:
            if target.startswith(prefix):
                held.setdefault(target[len(prefix):].split(os.sep, 1)[0], set()).add(pid)

    if os.path.isdir("/proc/self/fd"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            directory = f"/proc/{name}/fd"
            try:
                fds = os.listdir(directory)
            except OSError:
                continue  # exited, or not ours to read
            for fd in fds:
                try:
                    note(int(name), os.readlink(f"{directory}/{fd}"))
                except OSError:
                    pass
        return held
    import psutil

    for process in psutil.process_iter():
        try:
            for file in process.open_files():
                note(process.pid, file.path)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            pass
    return held


def _live_pids(env: Path, prune: bool) -> list[int]:
    """Pids of `<env>/pids/*` still running (the claims of hooks older than the open manifest,
    in processes started before an upgrade); with `prune`, dead claims are deleted."""
    import psutil

    live = []
    try:
        claims = list((env / "pids").iterdir())
        stamp = os.stat(env / "pids")
    except OSError:
        return []
    for claim in claims:
        if claim.name.isdigit() and psutil.pid_exists(int(claim.name)):
            live.append(int(claim.name))
        elif prune:
            claim.unlink(missing_ok=True)
            os.utime(env / "pids", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # pruning is not a use
    return sorted(live)


def _last_used(env: Path) -> float:
    """Cheap records of use, none written on the warm path for this: the Python warm path reads
    `launch` and the bootstrap reads `manifest.txt` or `.json` (atime, where the mount keeps it: a
    `noatime` mount leaves the environment's write as its last use), and the claims of older
    bootstraps changed the mtime of `pids/`."""
    stamps = [0.0]
    for name, attribute in (("launch", "st_mtime"), ("launch", "st_atime"), ("manifest.json", "st_atime"),
                            ("manifest.txt", "st_atime"), ("pids", "st_mtime")):
        try:
            stamps.append(getattr(os.stat(env / name), attribute))
        except OSError:
            pass
    return max(stamps)


def _record_problem(entry: Path) -> str | None:
    """The first file that does not match the entry's RECORD (rewritten relative to site-packages/)."""
    import csv

    from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file

    marker = read_marker(entry)
    assert marker is not None  # damage() said the entry is whole
    lib = marker.lib
    record = lib / marker.meta["dist_info"] / "RECORD"
    try:
        with open(record, newline="", encoding="utf-8") as file:
            records = [RecordEntry.from_elements(*row) for row in parse_record_file(file)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return f"unreadable RECORD: {exc}"
    except InvalidRecordEntry as exc:
        return f"unreadable RECORD: {'; '.join(exc.issues)}"
    base = os.path.abspath(entry) + os.sep
    for row in records:
        if row.hash_ is None:
            continue  # RECORD itself, and installer's unhashed rows
        target = os.path.normpath(os.path.join(lib, row.path))
        if not target.startswith(base):
            return f"RECORD names {row.path!r} outside the entry"
        try:
            with open(target, "rb") as file:
                matches = row.hash_.validate(file.read())
        except FileNotFoundError:
            return f"{row.path} is missing"
        except (OSError, ValueError) as exc:
            return f"{row.path} cannot be checked: {exc}"
        if not matches:
            return f"{row.path} does not match its RECORD hash"
    return None


def _repair(root: Path, path: Path) -> str:
    """Reinstall from `<root>/downloads/` when the verified wheel is there (for a build of an
    sdist, from the wheel in `<root>/built/`), else remove."""
    import zipfile

    from monotrail.store.download import downloaded_path
    from monotrail.store.entries import artifact_lock, unpack_build_into_store, unpack_into_store
    from monotrail.store.index import file_sha256

    marker = read_marker(path)
    sha256 = marker.meta.get("sha256") if marker else None
    wheel = downloaded_path(root, sha256) if sha256 else None
    # A build of an sdist: named `<sdist sha256[:16]>-<tags>` (an older monotrail's: the sdist's hash
    # alone, but then <root>/built/ has its wheel or downloads/ holds the sdist, not a zip).
    if marker is not None and sha256 and (path.name != sha256[:16] or (root / "built" / sha256).is_dir()
                                          or (wheel is not None and wheel.is_file() and not zipfile.is_zipfile(wheel))):
        built = sorted((root / "built" / sha256).glob(f"*/{marker.meta['wheel']}"))
        if not built:
            _remove_tree(root, path)
            return "removed; the next run that needs it builds it again"
        with artifact_lock(root, sha256):
            unpack_build_into_store(_Pin(marker.meta["name"], marker.meta["version_"]), built[0], sha256, root,
                                    replace=True, entry_id=path.name)
        return f"reinstalled from {built[0]}"
    if marker is None or wheel is None or not wheel.is_file() or file_sha256(wheel) != sha256:
        _remove_tree(root, path)
        return "removed; the next run that needs it reinstalls it"
    with artifact_lock(root, sha256):
        unpack_into_store(_Pin(marker.meta["name"], marker.meta["version_"]), marker.meta["wheel"], wheel, root)
    return f"reinstalled from {wheel}"


@dataclass(frozen=True)
class _Pin:
    name: str
    version: str


def _describe(path: Path) -> str:
    entry = read_marker(path)
    if entry is None:
        return f"{path.parent.parent.name} {path.parent.name} ({path})"
    return f"{entry.meta['name']} {entry.meta['version_']} ({path})"


def _size(path: Path) -> int:
    try:
        if not path.is_dir() or path.is_symlink():
            return path.lstat().st_size
    except OSError:
        return 0
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                pass
    return total


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # not reached


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `45s`, `2w`; a bare number is days."""
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "d")
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"cannot read the age {text!r}", hint="write e.g. 30d, 12h, 90m") from None
    if value < 0:
        raise UsageError(f"negative age {text!r}", hint="write e.g. 30d")
    return value * _UNITS[unit]


# --- the command line ------------------------------------------------------------------------------


def main(args: Sequence[str]) -> int:
    from monotrail import store_root

    parser = _parser()
    options = parser.parse_args(list(args))
    root = Path(store_root())
    if options.action is None:
        parser.print_help()
        return 2
    if options.action == "path":
        return path_command(root)
    if options.action == "list":
        return list_command(root, options.json)
    if options.action == "verify":
        return verify_command(root, options.repair)
    if options.action == "gc":
        older = parse_age(options.older_than) if options.older_than else None
        return gc_command(root, options.dry_run, older, options.downloads)
    return clean_command(root, options.yes)


def _parser():
    from monotrail.cli.usage import Parser

    parser = Parser(prog="monotrail store", description="Inspect, verify and clean the global store.")
    actions = parser.add_subparsers(dest="action", metavar="COMMAND", help="one of:")

    def command(name: str, text: str):
        return actions.add_parser(name, help=text, description=text)

    command("path", "where the store lives, and how big each part is")
    listing = command("list", "entries: name, version, size, environments using them, last use")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    verify = command("verify", "rehash every file against its RECORD")
    verify.add_argument("--repair", action="store_true", help="reinstall (or remove) broken entries")
    gc = command("gc", "remove environments whose lock is gone or changed, then unused entries")
    gc.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    gc.add_argument("--older-than", metavar="AGE", help="also environments unused for AGE (30d, 12h)")
    gc.add_argument("--downloads", action="store_true",
                    help="also every downloaded wheel and sdist (kept for `verify --repair` without the network)")
    clean = command("clean", "remove everything not in use by a running process")
    clean.add_argument("--yes", action="store_true", help="do not ask")
    return parser
