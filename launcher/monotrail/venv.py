"""A virtualenv as the second destination of the installer (the store is the first).

A store entry (`<root>/store/<name>/<version>/<id>/`, see docs/architecture.md) is an unpacked,
verified wheel; installing it into a venv is placing its files where the venv's scheme says and
writing what pip would write:

- `site-packages/` -> purelib (platlib when the wheel says `Root-Is-Purelib: false` and they differ),
  `bin/` -> scripts, `data/` -> the venv prefix, `include/` -> `include/site/pythonX.Y/<Name>/`
  (pip's header location inside a venv).
- Files are hardlinked from the store where the filesystem allows, else copied (`--link-mode`).
  A store file is never written through the venv: everything we produce ourselves (RECORD,
  INSTALLER, REQUESTED, direct_url.json, console/GUI scripts, `.data/scripts` whose `#!python`
  is rewritten) is written to a temp name and renamed over the destination, so an existing
  hardlink at that path is replaced, never truncated.
- RECORD lists venv paths relative to site-packages with sha256 and size, sorted, as pip writes
  it; the hashes of linked files are the store's RECORD hashes, which were verified against the
  wheel's bytes when the entry was unpacked, so nothing is hashed twice.

Every destination of every package is computed and checked (inside the venv, not the venv's own
interpreter or activation scripts) before the first file is written: a hostile or clashing wheel
leaves the venv untouched. The venv's scheme and wheel tags come from one probe of its python,
cached by the interpreter's and pyvenv.cfg's stat.
"""

from __future__ import annotations

import base64
import csv
import errno
import io
import json
import os
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence

from monotrail import new_sha256, sha256_hex
from monotrail.atomic import write_atomic
from monotrail.errors import VenvError, WheelError
from monotrail.interpreters.discovery import Interpreter, PROBE_SCRIPT, compute_tags, interpreter_from_facts
from monotrail.names import normalize
from monotrail.records import Record
from monotrail.store.entries import StoreEntry

LINK_MODES = ("hardlink", "copy", "symlink")
INSTALLER = b"monotrail\n"
SEEDED = frozenset({"pip", "setuptools", "wheel"})  # what venv/virtualenv put there themselves
_OWN_RECORD_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# Files of the venv itself a package may never replace (the interpreter and activation scripts).
_PROTECTED_SCRIPTS = frozenset({
    "python", "python3", "pythonw", "activate", "activate.csh", "activate.fish", "activate.nu",
    "activate.ps1", "Activate.ps1", "activate.bat", "activate_this.py", "deactivate.bat", "deactivate.nu",
})
_VENV_HINT = "create one with `python3 -m venv .venv` (or `virtualenv .venv`) and activate it, or pass --venv DIR"

# Runs in the venv's python (`-I`: no PYTHONPATH, no user site; `site` still runs, which is what
# sets sys.prefix to the venv on old Pythons). The interpreter facts come from the same
# `_probe.py` that `monotrail run` uses, so tags and markers are computed one way.
_SCHEME_PROBE = r"""
import json, sys, sysconfig, runpy
sys.path.insert(0, "")
facts = runpy.run_path(sys.argv[1])["facts"]()
paths = sysconfig.get_paths()
print(json.dumps({"facts": facts, "scheme": {k: paths[k] for k in ("purelib", "platlib", "scripts", "data")},
                  "cache_tag": sys.implementation.cache_tag, "py_version_short": sysconfig.get_python_version()}))
"""
_PROBE_FORMAT = 1


# --- the venv --------------------------------------------------------------------------------


# The records of this module are `monotrail.records.Record`s, not dataclasses: with them a sync
# from a warm store imports no dataclasses (with inspect, ast, dis: ~8 ms).
_set = object.__setattr__  # how a record's __init__ sets its fields


class Venv(Record):
    """A virtualenv's layout and its interpreter's facts (tags, markers) as `select` needs them."""

    __slots__ = ("prefix", "python", "purelib", "platlib", "scripts", "data", "headers_root", "cache_tag",
                 "interpreter")
    prefix: Path
    python: Path  # <prefix>/bin/python: what shebangs name, as pip in the venv writes them
    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    headers_root: Path  # <prefix>/include/site/pythonX.Y; a package's headers go in <Name>/ below
    cache_tag: str | None
    interpreter: Interpreter

    def __init__(self, prefix: Path, python: Path, purelib: Path, platlib: Path, scripts: Path, data: Path,
                 headers_root: Path, cache_tag: str | None, interpreter: Interpreter) -> None:
        _set(self, "prefix", prefix)
        _set(self, "python", python)
        _set(self, "purelib", purelib)
        _set(self, "platlib", platlib)
        _set(self, "scripts", scripts)
        _set(self, "data", data)
        _set(self, "headers_root", headers_root)
        _set(self, "cache_tag", cache_tag)
        _set(self, "interpreter", interpreter)

    def lib_dirs(self) -> tuple[Path, ...]:
        return (self.purelib,) if self.platlib == self.purelib else (self.purelib, self.platlib)

    def protected(self, path: Path) -> bool:
        """The venv's own interpreter, activation scripts and pyvenv.cfg."""
        if path == self.prefix / "pyvenv.cfg":
            return True
        if path.parent != self.scripts:
            return False
        name = path.name
        return name in _PROTECTED_SCRIPTS or (name.startswith("python3.") and name[8:].replace("t", "").isdigit())


def active_venv(explicit: str | None) -> Path:
    """`--venv DIR`, else $VIRTUAL_ENV; a clear error when neither is set."""
    if explicit:
        return Path(explicit).absolute()
    active = os.environ.get("VIRTUAL_ENV")
    if active:
        return Path(active).absolute()
    raise VenvError("not in a virtualenv and no --venv given", hint=_VENV_HINT)


def open_venv(prefix: Path, root: Path) -> Venv:
    """Probe the venv at `prefix` (cached), refusing a directory that is not a virtualenv."""
    prefix = prefix.absolute()
    python = prefix / "bin" / "python"
    if not (prefix / "pyvenv.cfg").is_file() or not os.path.exists(python):
        raise VenvError("not a virtualenv (no pyvenv.cfg or bin/python)", where=str(prefix), hint=_VENV_HINT)
    probed = _probe_venv(python, prefix, root)
    facts = probed["facts"]
    if os.path.realpath(facts.get("prefix", "")) != os.path.realpath(prefix):
        raise VenvError(f"its python reports sys.prefix {facts.get('prefix')}", where=str(prefix), hint=_VENV_HINT)
    scheme = {key: Path(value) for key, value in probed["scheme"].items()}
    interpreter = interpreter_from_facts(str(python), os.stat(python).st_mtime, facts, "venv", with_tags=False)
    interpreter = interpreter.replace(tags=tuple(probed["tags"]))
    return Venv(
        prefix=prefix,
        python=python,
        purelib=scheme["purelib"],
        platlib=scheme["platlib"],
        scripts=scheme["scripts"],
        data=scheme["data"],
        headers_root=prefix / "include" / "site" / f"python{probed['py_version_short']}",
        cache_tag=probed.get("cache_tag"),
        interpreter=interpreter,
    )


def venv_of_python(python: str, root: Path) -> Path:
    """The venv a `--python PATH` belongs to; a system interpreter is refused (as uv does)."""
    prefix = Path(python).absolute().parent.parent
    if not (prefix / "pyvenv.cfg").is_file():
        raise VenvError(
            f"{python} is not the python of a virtualenv; monotrail installs only into virtualenvs",
            hint=_VENV_HINT,
        )
    return prefix


def _probe_venv(python: Path, prefix: Path, root: Path) -> dict:
    """The probe's answer and the venv's wheel tags (`tags`), cached per base interpreter and
    pyvenv.cfg content with the venv's prefix abstracted out: a fresh venv of a known Python
    (every run of a benchmark, every CI job) then costs no subprocess, nor computing the tags
    (importing packaging.tags and spelling out ~1,000 tags: ~10 ms). The tags also depend on
    packaging's version (`discovery.cached_tags`' rule), kept beside them."""
    from packaging import __version__ as packaging_version

    key = _probe_key(python, prefix)
    cache = root / "interpreters" / f"venv-{sha256_hex(json.dumps(key).encode())[:16]}.json"
    placeholder = json.dumps("\x00PREFIX\x00")[1:-1]
    escaped_prefix = json.dumps(str(prefix))[1:-1]
    record = None
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key and isinstance(cached.get("probe"), str):
            record = cached
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    if record is None:
        record = {"key": key, "probe": _run_scheme_probe(python, prefix).strip().replace(escaped_prefix, placeholder)}
    probed = json.loads(record["probe"].replace(placeholder, escaped_prefix))
    tags = record.get("tags")
    if not (isinstance(tags, list) and record.get("tags_packaging") == packaging_version):
        tags = list(compute_tags(probed["facts"], str(python)))
        try:
            write_atomic(cache, json.dumps(dict(record, tags=tags, tags_packaging=packaging_version)).encode(),
                         mode=0o644)
        except OSError:
            pass  # a read-only store root only costs the next run a probe
    probed["tags"] = tags
    return probed


def _run_scheme_probe(python: Path, prefix: Path) -> str:
    import subprocess

    completed = subprocess.run(
        [str(python), "-I", "-c", _SCHEME_PROBE, str(PROBE_SCRIPT)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
    )
    if completed.returncode != 0:
        last = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise VenvError(f"its python does not run: {last[0]}", where=str(prefix), hint="recreate the venv")
    return completed.stdout.decode("utf-8")


def _probe_key(python: Path, prefix: Path) -> list:
    real = os.stat(python)  # follows the symlink: the interpreter binary itself
    cfg = (prefix / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace").replace(str(prefix), "")
    return [_PROBE_FORMAT + 1, str(os.path.realpath(python)), real.st_mtime, real.st_size, cfg]


# --- what is installed -----------------------------------------------------------------------


class InstalledDist(Record):
    """A `*.dist-info` directory of the venv."""

    __slots__ = ("name", "version", "dist_info")
    name: str  # normalized
    version: str
    dist_info: Path

    def __init__(self, name: str, version: str, dist_info: Path) -> None:
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "dist_info", dist_info)

    def read_text(self, name: str) -> str | None:
        try:
            return (self.dist_info / name).read_text(encoding="utf-8")
        except OSError:
            return None


def installed(venv: Venv) -> dict[str, InstalledDist]:
    """`*.dist-info` directories of the venv's site-packages, by normalized name.

    The directory name says name and version (PEP 427 escapes both, so the first `-` splits
    them); egg-info installs (setup.py develop and older pips) are not seen.
    """
    found: dict[str, InstalledDist] = {}
    for lib in venv.lib_dirs():
        try:
            names = os.listdir(lib)
        except OSError:
            continue
        for entry in names:
            if not entry.endswith(".dist-info") or "-" not in entry:
                continue
            name, _, version = entry[: -len(".dist-info")].partition("-")
            found[normalize(name)] = InstalledDist(normalize(name), version, lib / entry)
    return found


def uninstall(venv: Venv, dist: InstalledDist) -> int:
    """Remove what the dist's RECORD lists (and the bytecode of its .py files), then its
    dist-info and the directories left empty; return the number of files removed.

    Paths outside the venv are never touched, whatever a RECORD says.
    """
    lib = dist.dist_info.parent
    record = dist.read_text("RECORD") or ""
    prefix = str(venv.prefix) + os.sep
    removed = 0
    directories = set()
    # Not installer's parse_record_file: as pip's uninstall, any row's first column is a path
    # (a RECORD another tool wrote need not have three columns in every row).
    for row in csv.reader(io.StringIO(record)):
        if not row or not row[0]:
            continue
        path = os.path.normpath(os.path.join(lib, row[0]))
        if not path.startswith(prefix) or venv.protected(Path(path)):
            continue
        removed += _unlink(path)
        directories.add(os.path.dirname(path))
        if path.endswith(".py"):
            removed += _remove_bytecode(path)
    import shutil

    shutil.rmtree(dist.dist_info, ignore_errors=True)
    _prune_empty(directories, stop={str(lib), str(venv.prefix), str(venv.scripts), str(venv.data)})
    return removed


def _unlink(path: str) -> int:
    try:
        os.unlink(path)
        return 1
    except FileNotFoundError:
        return 0
    except IsADirectoryError:
        return 0


def _remove_bytecode(path: str) -> int:
    cache = os.path.join(os.path.dirname(path), "__pycache__")
    stem = os.path.basename(path)[:-3] + "."
    try:
        names = os.listdir(cache)
    except OSError:
        return 0
    count = 0
    for name in names:
        if name.startswith(stem) and name.endswith(".pyc") and name[len(stem):].count(".") <= 2:
            count += _unlink(os.path.join(cache, name))
    return count


def _prune_empty(directories: Iterable[str], stop: set) -> None:
    """Remove now-empty directories bottom-up (an empty `__pycache__` counts as empty)."""
    candidates = set()
    for directory in directories:
        while directory not in stop and len(directory) > 1:
            candidates.add(directory)
            directory = os.path.dirname(directory)
    for directory in sorted(candidates, key=len, reverse=True):
        cache = os.path.join(directory, "__pycache__")
        try:
            if os.path.isdir(cache) and not os.listdir(cache):
                os.rmdir(cache)
            os.rmdir(directory)
        except OSError:
            pass  # not empty: another package's files live there


# --- installing a store entry ----------------------------------------------------------------
# Paths are `str` from here on: a big wheel has >10,000 files, and pathlib's per-object cost was
# most of the time of installing plotly from a warm store.


class Placement:
    """One file of a package in the venv: linked from `source`, or written from `content`.
    (A class with slots, not a frozen dataclass: a big install makes one per file, and a frozen
    dataclass's `__init__` cost ~2 us each, ~12 ms of data-science's sync.)"""

    __slots__ = ("destination", "record_path", "source", "content", "mode", "hash_", "size")

    def __init__(self, destination: str, record_path: str, source: str | None = None, content: bytes | None = None,
                 mode: int = 0o644, hash_: str = "", size: int | None = None) -> None:
        self.destination = destination
        self.record_path = record_path  # relative to the package's site-packages directory, `/`-separated
        self.source = source
        self.content = content
        self.mode = mode
        self.hash_ = hash_  # "sha256=..." as RECORD writes it
        self.size = size


class Plan:
    """Everything one package puts into the venv, checked before any of it is written."""

    __slots__ = ("name", "dist_info", "lib", "files", "compile")

    def __init__(self, name: str, dist_info: str, lib: str) -> None:
        self.name = name
        self.dist_info = dist_info  # <lib>/<name>-<version>.dist-info in the venv
        self.lib = lib
        self.files: list[Placement] = []
        self.compile: list[str] = []  # .py files to byte-compile on --compile


class _Targets:
    """Where each part of a store entry goes in this venv, and each base as RECORD spells it."""

    def __init__(self, venv: Venv, lib: Path, header_dir: Path) -> None:
        self.lib = str(lib)
        self.prefix = str(venv.prefix) + os.sep
        self.scripts = str(venv.scripts)
        self.bases = {"bin": self.scripts, "data": str(venv.data), "include": str(header_dir)}
        self.relative = {key: os.path.relpath(base, lib).replace(os.sep, "/") for key, base in self.bases.items()}
        self.venv = venv

    def record_path(self, destination: str) -> str:
        return os.path.relpath(destination, self.lib).replace(os.sep, "/")


def plan_entry(
    venv: Venv, entry: StoreEntry, *, requested: bool = True, direct_url: Mapping[str, object] | None = None
) -> Plan:
    """The files of `entry` placed per the venv's scheme, plus the metadata and scripts we write.
    `direct_url`: PEP 610 direct_url.json; by default the one the store wrote for the entry (a git
    or source-tree build, an editable project), if any.

    Raises WheelError when a file would land outside the venv or on the venv's own files.
    """
    meta = entry.meta
    if direct_url is None and isinstance(meta.get("direct_url"), dict):
        direct_url = meta["direct_url"]
    entry_dir = str(entry.path)
    dist_info_name = str(meta["dist_info"])
    store_dist_info = entry.lib / dist_info_name
    lib = venv.purelib if _root_is_purelib(store_dist_info) else venv.platlib
    has_headers = (entry.path / "include").is_dir()
    header_dir = venv.headers_root / (_metadata_name(store_dist_info, meta) if has_headers else str(meta["name"]))
    targets = _Targets(venv, lib, header_dir)
    plan = Plan(name=str(meta["name"]), dist_info=os.path.join(targets.lib, dist_info_name), lib=targets.lib)
    data_scripts = set(meta.get("data_scripts") or ())
    skip_prefix = dist_info_name + "/"
    entry_lib = str(entry.lib)  # a property building a Path: once, not per file
    files, compile_ = plan.files, plan.compile
    # A lib file whose path has no `.`-led, empty or absolute part lands at lib/path, which
    # normpath leaves as it is: when lib is inside the venv and holds no scripts directory,
    # `_checked` would pass it, so it is not asked (~1.5 us a file); every other file is.
    lib_dir = targets.lib + os.sep
    quick = (os.path.normpath(targets.lib) == targets.lib and lib_dir.startswith(targets.prefix)
             and not (targets.scripts + os.sep).startswith(lib_dir))
    for path, hash_, size in _store_record(str(store_dist_info / "RECORD")):
        if path.startswith(skip_prefix) and path[len(skip_prefix):] in _OWN_RECORD_FILES:
            continue
        if quick and not path.startswith(("/", ".")) and "/." not in path and "//" not in path \
                and not path.endswith(("/", "pyvenv.cfg")):
            destination = lib_dir + path
            files.append(Placement(destination, path, f"{entry_lib}/{path}", None, 0o644, hash_, size))
            if path.endswith(".py"):
                compile_.append(destination)
            continue
        scheme, rest = _split_scheme(path)
        if scheme == "lib":
            placement = Placement(os.path.join(targets.lib, rest), rest, f"{entry_lib}/{rest}",
                                  hash_=hash_, size=size)
            if rest.endswith(".py"):
                plan.compile.append(placement.destination)
        else:
            destination = os.path.join(targets.bases[scheme], rest)
            record_path = targets.relative[scheme] + "/" + rest
            source = f"{entry_dir}/{scheme}/{rest}"
            if scheme == "bin" and rest in data_scripts:
                placement = _data_script(venv, source, destination, record_path, hash_, size)
            else:
                placement = Placement(destination, record_path, source, hash_=hash_, size=size)
        plan.files.append(_checked(targets, placement, meta))
    for placement in _entry_point_scripts(targets, meta.get("entry_points") or {}):
        plan.files.append(_checked(targets, placement, meta))
    plan.files.extend(_metadata_files(targets, plan.dist_info, requested, direct_url))
    return plan


def _store_record(path: str) -> list[tuple[str, str, int | None]]:
    """The store entry's RECORD as (path, "sha256=...", size) rows, read as installer's
    `parse_record_file` reads it (csv, three elements a row, `\\` taken for `/`) and checked as
    its `RecordEntry.from_elements` checks each row before a RECORD is written from them (a hash
    `name=value` of an algorithm hashlib has, an integer size), without importing installer
    (~15 ms of a sync from a warm store) or making an object per row."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file, delimiter=",", quotechar='"', lineterminator="\n"))
    except (csv.Error, UnicodeDecodeError) as error:
        raise _unreadable_record(path, str(error)) from None
    result: list[tuple[str, str, int | None]] = []
    append = result.append
    for index, row in enumerate(rows):
        if len(row) != 3:
            raise _unreadable_record(path, f"Row Index {index}: expected 3 elements, got {len(row)}")
        name, hash_, size = row
        if not name:
            continue
        if "\\" in name:
            name = name.replace("\\", "/")
        if hash_ and not hash_.startswith("sha256=") and hash_.partition("=")[0] not in _hash_names(hash_):
            raise _unreadable_record(path, f"Row Index {index}: invalid hash {hash_!r}")
        try:
            append((name, hash_, int(size) if size else None))
        except ValueError:
            raise _unreadable_record(path, f"Row Index {index}: `size` cannot be non-integer") from None
    return result


def _hash_names(hash_: str) -> frozenset:
    """The algorithms a RECORD's hash may name (installer's rule: `name=value`, `name` one of
    hashlib's); empty for a hash without `=`."""
    import hashlib

    return frozenset(hashlib.algorithms_available) if "=" in hash_ else frozenset()


def _unreadable_record(path: str, problem: str) -> WheelError:
    return WheelError(f"unreadable RECORD: {problem}", where=path, hint="run `monotrail store verify --repair`")


def _split_scheme(path: str) -> tuple[str, str]:
    """The store's RECORD names lib files relative to `site-packages/`, the others as `../bin/x` etc."""
    if path.startswith("../"):
        for scheme in ("bin", "data", "include"):
            prefix = f"../{scheme}/"
            if path.startswith(prefix):
                return scheme, path[len(prefix):]
    return "lib", path


def _root_is_purelib(dist_info: Path) -> bool:
    """WHEEL's `Root-Is-Purelib` as installer's header parser (the email package's) reads it;
    absent or unreadable: true. A WHEEL of plain `Name: value` lines, which is every wheel's,
    is read here; any other shape goes to that parser (importing it costs ~15 ms)."""
    try:
        text = (dist_info / "WHEEL").read_text(encoding="utf-8")
    except OSError:
        return True
    value = _plain_header(text, "root-is-purelib")
    if value is _NOT_PLAIN:
        from installer.utils import parse_metadata_file

        value = parse_metadata_file(text).get("Root-Is-Purelib")
    return value is None or str(value).strip().lower() == "true"


_NOT_PLAIN = object()


def _plain_header(text: str, key: str) -> object:
    """The first `key` header (lowercase) of an email-style header block whose lines before the
    first empty one are all `Name: value` (a name of printable ASCII without `:`, no line
    starting with blanks or `From `, no `\\r`): what the email package's compat32 parser gives,
    the value with its leading blanks stripped; None when absent. Any other block: `_NOT_PLAIN`."""
    if "\r" in text:
        return _NOT_PLAIN
    found: object = None
    for line in text.split("\n"):
        if not line:
            break
        name, colon, value = line.partition(":")
        if not colon or not name or line.startswith("From ") or not all("!" <= c <= "~" for c in name):
            return _NOT_PLAIN
        if found is None and name.lower() == key:
            found = value.lstrip(" \t")
    return found


def _metadata_name(dist_info: Path, meta: Mapping[str, object]) -> str:
    """The project name as METADATA spells it: pip names the header directory after it."""
    from installer.utils import parse_metadata_file

    try:
        text = (dist_info / "METADATA").read_text(encoding="utf-8", errors="surrogateescape")  # a latin-1 description
    except OSError:
        return str(meta["name"])
    name = parse_metadata_file(text).get("Name")
    return str(name).strip() if name else str(meta["name"])


def _checked(targets: _Targets, placement: Placement, meta: Mapping[str, object]) -> Placement:
    """Inside the venv and not over its interpreter or activation scripts. The store refused
    `..` and absolute members already; normpath catches what a scheme base could add."""
    destination = os.path.normpath(placement.destination)
    inside = destination.startswith(targets.prefix)
    if inside and os.path.dirname(destination) != targets.scripts and not destination.endswith("pyvenv.cfg"):
        return placement
    if not inside or targets.venv.protected(Path(destination)):
        problem = "outside the venv" if not inside else "over the venv's own " + os.path.basename(destination)
        raise WheelError(
            f"refusing to install: it would write {destination} ({problem})",
            where=str(meta.get("wheel", meta.get("name"))),
            hint="the wheel is malformed or hostile; nothing was installed",
        )
    return placement


def _data_script(venv: Venv, source: str, destination: str, record_path: str, hash_: str,
                 size: int | None) -> Placement:
    """`.data/scripts/*`: `#!python` (and `#!pythonw`) becomes the venv's interpreter, as pip
    does; other scripts are linked untouched. installer's `fix_shebang` drops the whole
    `#!python ...` line, as pip does, and hands back the file itself when there is none."""
    from installer.utils import fix_shebang

    mode = os.stat(source).st_mode & 0o7777
    with open(source, "rb") as file, fix_shebang(file, str(venv.python)) as fixed:
        if fixed is file:
            return Placement(destination, record_path, source, mode=mode, hash_=hash_, size=size)
        content = fixed.read()
    return _fresh(destination, record_path, content, mode)


def _fresh(destination: str, record_path: str, content: bytes, mode: int = 0o644) -> Placement:
    return Placement(destination, record_path, content=content, mode=mode, hash_=record_hash(content), size=len(content))


def record_hash(data: bytes) -> str:
    digest = new_sha256()
    digest.update(data)
    return "sha256=" + base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")


# pip's (distlib's) launcher, byte for byte, so a RECORD written here equals pip's.
_SCRIPT = """# -*- coding: utf-8 -*-
import re
import sys
from {module} import {import_name}
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit({func}())
"""


def _entry_point_scripts(targets: _Targets, entry_points: Mapping[str, Mapping[str, str]]) -> list[Placement]:
    shebang = shebang_for(targets.venv.python)
    placements = []
    for group in ("console_scripts", "gui_scripts"):
        for name, value in sorted((entry_points.get(group) or {}).items()):
            name = _script_name(name)
            destination = os.path.join(targets.scripts, name)
            record_path = targets.relative["bin"] + "/" + name
            placements.append(_fresh(destination, record_path, shebang + script_body(value), 0o755))
    return placements


def script_body(value: str) -> bytes:
    module, _, attr = value.partition(":")
    func = attr.split("[", 1)[0].strip() or "main"
    module = module.strip()
    return _SCRIPT.format(module=module, import_name=func.split(".")[0], func=func).encode("utf-8")


def _script_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise WheelError(f"refusing to install: entry point name {name!r} is not a file name",
                         hint="the wheel is malformed or hostile; nothing was installed")
    return name


def shebang_for(python: Path) -> bytes:
    """distlib's rule, which pip follows: a plain `#!` line when it fits the kernel's 127 bytes
    and has no space, else the `/bin/sh` trampoline that re-execs the interpreter."""
    executable = os.fsencode(python)
    if b" " not in executable and len(executable) + 3 <= 127:
        return b"#!" + executable + b"\n"
    quoted = b'"' + executable + b'"' if b" " in executable else executable
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''\n"


def _metadata_files(targets: _Targets, dist_info: str, requested: bool,
                    direct_url: Mapping[str, object] | None) -> list[Placement]:
    def fresh(name: str, content: bytes) -> Placement:
        destination = os.path.join(dist_info, name)
        return _fresh(destination, targets.record_path(destination), content)

    files = [fresh("INSTALLER", INSTALLER)]
    if requested:
        files.append(fresh("REQUESTED", b""))
    if direct_url is not None:
        files.append(fresh("direct_url.json", json.dumps(dict(direct_url), sort_keys=True).encode()))
    return files


def check_plans(plans: Sequence[Plan]) -> None:
    """Two packages of one install writing the same file is a broken lock or wheel set."""
    owners: dict[str, str] = {}
    for plan in plans:
        for placement in plan.files:
            other = owners.setdefault(placement.destination, plan.name)
            if other != plan.name:
                raise WheelError(
                    f"{other} and {plan.name} both install {placement.destination}",
                    hint="install one of them at a time, or fix the lock",
                )


# --- writing ---------------------------------------------------------------------------------


class Linker:
    """Places store files: hardlink (falling back to copy once the filesystem refuses), copy or
    symlink. Shared by the worker threads; the fallback is sticky so a cross-device venv does
    not pay a failed link() per file."""

    def __init__(self, mode: str) -> None:
        if mode not in LINK_MODES:
            raise VenvError(f"unknown link mode {mode!r}; choose one of {', '.join(LINK_MODES)}")
        self.mode = mode

    def place(self, source: str, destination: str) -> None:
        if self.mode == "hardlink":
            try:
                _replace_with(os.link, source, destination)
                return
            except OSError as error:
                if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
                    raise
                self.mode = "copy"
        if self.mode == "symlink":
            _replace_with(os.symlink, source, destination)
            return
        _replace_with(_copy, source, destination)


def _copy(source: str, destination: str) -> None:
    import shutil

    shutil.copyfile(source, destination)
    shutil.copymode(source, destination)


def _replace_with(make, source: str, destination: str) -> None:
    try:
        make(source, destination)
    except FileExistsError:  # a file of a package we replace, or a stale one: never write into it
        os.unlink(destination)
        make(source, destination)


def record_of(plan: Plan, pycs: Mapping[str, tuple[str, int]] = {}) -> bytes:
    """RECORD as pip writes it: paths relative to site-packages, sorted, RECORD itself `,,`; the
    bytes of installer's `construct_record_file` (csv with `\\n` line ends, rows sorted by path,
    stable), whose checks of each row `_store_record` made when it read the store's rows."""
    rows = [(p.record_path, p.hash_, "" if p.size is None else str(p.size)) for p in plan.files]
    for path, (hash_, size) in pycs.items():
        rows.append((os.path.relpath(path, plan.lib).replace(os.sep, "/"), hash_, str(size)))
    rows.append((os.path.basename(plan.dist_info) + "/RECORD", "", ""))
    rows.sort(key=_first)
    stream = io.StringIO(newline="")
    csv.writer(stream, delimiter=",", quotechar='"', lineterminator="\n").writerows(rows)
    return stream.getvalue().encode("utf-8")


def _first(row: tuple[str, str, str]) -> str:
    return row[0]


def install_plans(venv: Venv, plans: Sequence[Plan], link_mode: str, compile_: bool = False) -> None:
    """Write the planned packages: directories, then files, then each package's RECORD last: a
    package without RECORD is not installed. On a failure, the files placed so far are removed again.

    mkdir and link are metadata writes (data-science: ~540 directories, ~5,800 files) that
    release the GIL; a new directory costs 30 us to 1 ms here (ext4 without a journal scans past
    every inode freed in the last minute), a link ~10 us. The work is split as uv splits it (one
    task per wheel, as many threads as cores): one task per new top-level directory, which makes
    its tree, parents first, then links the files below it, and one for the files of directories
    that exist (site-packages itself, bin/); tasks run biggest first on one thread per core, the
    calling thread included. (Eight pool threads with a task per run of ~200 files paid ~40,000
    futex calls handing the GIL around: ~30 ms more CPU for no shorter wall time on 2 cores.)"""
    if not plans:
        return
    linker = Linker(link_mode)
    placements = [placement for plan in plans for placement in plan.files]
    existing = {base for base in (str(venv.prefix), *map(str, venv.lib_dirs()), str(venv.scripts)) if os.path.isdir(base)}
    try:
        _run(_tasks(placements, existing), linker)
        for plan in plans:
            write_atomic(os.path.join(plan.dist_info, "RECORD"), record_of(plan), mode=0o644)
    except OSError as error:
        for placement in placements:
            _unlink(placement.destination)
        raise VenvError(f"cannot install into the venv: {error}", where=str(venv.prefix),
                        hint="check that the venv is writable and the disk has free space") from None
    if compile_:
        byte_compile(venv, plans)


def _tasks(placements: Sequence[Placement], existing: set) -> list[tuple[list[str], list[Placement]]]:
    """(directories to make, parents first; files to place) per new top-level directory, and
    one task for the files whose directory exists; biggest first."""
    wanted: set = set()
    for directory in {os.path.dirname(placement.destination) for placement in placements}:
        while directory not in existing and directory not in wanted and len(directory) > 1:
            wanted.add(directory)
            directory = os.path.dirname(directory)
    top: dict[str, str] = {}
    tasks: dict[str | None, tuple[list[str], list[Placement]]] = {None: ([], [])}
    for directory in sorted(wanted):  # a parent sorts before its children
        parent = os.path.dirname(directory)
        top[directory] = top.get(parent, directory)
        tasks.setdefault(top[directory], ([], []))[0].append(directory)
    dirname = os.path.dirname
    for placement in placements:
        tasks[top.get(dirname(placement.destination))][1].append(placement)
    return sorted(tasks.values(), key=_task_size, reverse=True)


def _task_size(task: tuple[list[str], list[Placement]]) -> int:
    return 8 * len(task[0]) + len(task[1])  # a new directory costs several links


def _run(tasks: list[tuple[list[str], list[Placement]]], linker: Linker) -> None:
    """Each task on one of `os.cpu_count()` threads (at most 8), the caller's included; the
    first error is raised once every thread has stopped."""
    import threading

    queue = tasks[::-1]  # pop() takes the biggest first; list.pop is atomic under the GIL
    errors: list[BaseException] = []

    def work() -> None:
        while queue and not errors:
            try:
                directories, files = queue.pop()
            except IndexError:
                return
            try:
                _make_tree(directories)
                _place(files, linker)
            except BaseException as error:  # raised in the calling thread, as it would have been there
                errors.append(error)

    threads = [threading.Thread(target=work, name="monotrail-venv", daemon=True)
               for _ in range(min(os.cpu_count() or 1, 8, len(tasks)) - 1)]
    for thread in threads:
        thread.start()
    work()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _make_tree(directories: Sequence[str]) -> None:
    for directory in directories:
        try:
            os.mkdir(directory)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise


def _place(chunk: Sequence[Placement], linker: Linker) -> None:
    """Write or link each file. A hardlink is tried directly (two Python calls less per file,
    each holding the GIL the other thread waits for); any failure goes to `Linker.place`, which
    tries again and replaces an existing file or falls back to copying."""
    link = os.link
    for placement in chunk:
        if placement.content is not None:
            write_atomic(placement.destination, placement.content, mode=placement.mode)
            continue
        if linker.mode == "hardlink":
            try:
                link(placement.source, placement.destination)  # type: ignore[arg-type]
                continue
            except OSError:
                pass
        linker.place(placement.source, placement.destination)  # type: ignore[arg-type]


def byte_compile(venv: Venv, plans: Sequence[Plan]) -> None:
    """`python -m compileall` in the venv's own interpreter (its bytecode version), then RECORD
    is rewritten with the .pyc files pip would list."""
    sources = [path for plan in plans for path in plan.compile]
    if not sources:
        return
    import subprocess

    subprocess.run(
        [str(venv.python), "-I", "-m", "compileall", "-q", "-j", "0", "-i", "-"],
        input="\n".join(sources).encode(), stdout=subprocess.DEVNULL, check=False,
    )
    for plan in plans:
        pycs = {}
        for source in plan.compile:
            directory, name = os.path.split(source)
            pyc = os.path.join(directory, "__pycache__", f"{name[:-3]}.{venv.cache_tag}.pyc")
            try:
                with open(pyc, "rb") as file:
                    data = file.read()
            except OSError:
                continue
            pycs[pyc] = (record_hash(data), len(data))
        write_atomic(os.path.join(plan.dist_info, "RECORD"), record_of(plan, pycs), mode=0o644)


# --- editable installs of local projects -----------------------------------------------------


def plan_editable(
    venv: Venv, name: str, version: str, import_root: Path, project_dir: Path,
    scripts: Mapping[str, str] = {}, requires: Sequence[str] = (),
) -> Plan:
    """A project importable from its source tree: `<name>.pth` naming the import root (as poetry
    and setuptools' legacy editables do), a dist-info pip understands (`pip uninstall` removes
    the .pth), direct_url.json with `dir_info.editable` (PEP 610), and its console scripts."""
    dist = normalize(name).replace("-", "_")
    targets = _Targets(venv, venv.purelib, venv.headers_root / name)
    dist_info = os.path.join(targets.lib, f"{dist}-{version}.dist-info")
    plan = Plan(name=normalize(name), dist_info=dist_info, lib=targets.lib)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    plan.files.append(_fresh(os.path.join(targets.lib, f"{dist}.pth"), f"{dist}.pth", (str(import_root) + "\n").encode()))
    plan.files.append(_fresh(os.path.join(dist_info, "METADATA"), targets.record_path(os.path.join(dist_info, "METADATA")),
                             metadata.encode()))
    plan.files.extend(_entry_point_scripts(targets, {"console_scripts": dict(scripts)}))
    url = {"url": project_dir.absolute().as_uri(), "dir_info": {"editable": True}}
    plan.files.extend(_metadata_files(targets, dist_info, True, url))
    return plan


def editable_url(dist: InstalledDist) -> str | None:
    """The project directory URL of an editable install (direct_url.json), else None."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and (data.get("dir_info") or {}).get("editable"):
        return data.get("url")
    return None


__all__ = [
    "InstalledDist", "LINK_MODES", "Plan", "SEEDED", "Venv", "active_venv", "check_plans", "install_plans",
    "installed", "open_venv", "plan_editable", "plan_entry", "uninstall", "venv_of_python",
]
