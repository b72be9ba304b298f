"""Which Python: parse the user's request, discover candidates, probe them, cache the facts.

Discovery answers "which interpreter" and nothing else. Candidates are produced lazily, each tagged
with where it was found (PATH, pyenv, uv, system) so errors can say where we looked. A candidate is
probed once by `_probe.py`, a stdlib-only script run *inside* it, and the result is cached under
`<root>/interpreters/` keyed by path + mtime + size. Wheel tags are computed here, in the launcher,
with `packaging.tags` fed the target's facts (version, ABI flags, libc) instead of our own.

`.python-version` reading lives in `python_version_file` (the warm path needs only that).
`packaging`, `subprocess`, `hashlib` and `tempfile` are imported inside the functions using them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple
from collections.abc import Iterator, Mapping, Sequence

from monotrail import sha256_hex
from monotrail.errors import InterpreterNotFound, SelectionError, UsageError
from monotrail.interpreters import choices, python_request
from monotrail.records import Record

MINIMUM_VERSION = (3, 8)
PROBE_TIMEOUT = 10.0
CACHE_FORMAT = 1  # bump when `_probe.py`'s output changes: old records are then re-probed
PROBE_SCRIPT = Path(__file__).with_name("_probe.py")
SYSTEM_DIRS = ("/usr/bin", "/usr/local/bin")  # searched last; a module constant so tests can empty it


# The records below are `monotrail.records.Record`s, not frozen dataclasses: making each cost ~0.7 ms,
# and without them a new environment's run imports no dataclasses (with inspect, ast, dis: ~7 ms).
_set = object.__setattr__  # how a record's __init__ sets its fields


class Interpreter(Record):
    """Facts about one Python, probed once by a stdlib-only script and cached by path + mtime."""

    __slots__ = ("path", "mtime", "version", "implementation", "free_threaded", "markers", "tags", "ext_suffixes",
                 "stdlib", "platstdlib", "source", "full_version", "soabi", "ext_suffix", "sys_executable", "machine",
                 "libc", "pointer_bits")
    path: str  # the real binary (symlinks resolved only as far as needed to not be a pyenv shim)
    mtime: float
    version: tuple[int, int, int]  # (3, 12, 1)
    implementation: str  # "cpython"
    free_threaded: bool
    markers: Mapping[str, str]  # PEP 508 marker environment of *that* interpreter
    tags: tuple[str, ...]  # supported wheel tags, best first, "cp312-cp312-manylinux_2_17_x86_64"
    ext_suffixes: tuple[str, ...]  # importlib.machinery.EXTENSION_SUFFIXES of that interpreter
    stdlib: str  # sysconfig paths["stdlib"]
    platstdlib: str
    # Added by the interpreter module; defaults keep hand-built Interpreters in other tests valid.
    source: str  # where it was found: "PATH", "pyenv", "uv", "system", "path"
    full_version: str  # "3.13.0rc1": python_full_version, prerelease included
    soabi: str | None  # "cpython-312-x86_64-linux-gnu"
    ext_suffix: str | None  # ".cpython-312-x86_64-linux-gnu.so"
    sys_executable: str  # sys.executable as the interpreter itself reports it
    machine: str  # platform.machine()
    libc: tuple[str, str]  # ("glibc", "2.36"); ("", "") for musl / non-Linux
    pointer_bits: int

    def __init__(self, path: str, mtime: float, version: tuple[int, int, int], implementation: str,
                 free_threaded: bool, markers: Mapping[str, str], tags: tuple[str, ...], ext_suffixes: tuple[str, ...],
                 stdlib: str, platstdlib: str, source: str = "", full_version: str = "", soabi: str | None = None,
                 ext_suffix: str | None = None, sys_executable: str = "", machine: str = "",
                 libc: tuple[str, str] = ("", ""), pointer_bits: int = 64) -> None:
        _set(self, "path", path)
        _set(self, "mtime", mtime)
        _set(self, "version", version)
        _set(self, "implementation", implementation)
        _set(self, "free_threaded", free_threaded)
        _set(self, "markers", markers)
        _set(self, "tags", tags)
        _set(self, "ext_suffixes", ext_suffixes)
        _set(self, "stdlib", stdlib)
        _set(self, "platstdlib", platstdlib)
        _set(self, "source", source)
        _set(self, "full_version", full_version)
        _set(self, "soabi", soabi)
        _set(self, "ext_suffix", ext_suffix)
        _set(self, "sys_executable", sys_executable)
        _set(self, "machine", machine)
        _set(self, "libc", libc)
        _set(self, "pointer_bits", pointer_bits)

    @property
    def python_version(self) -> str:
        """"3.12", the `python_version` marker."""
        return f"{self.version[0]}.{self.version[1]}"

    def describe(self) -> str:
        """One line for messages: `CPython 3.13.0t (pyenv: /root/.pyenv/.../python3.13t)`."""
        name = {"cpython": "CPython", "pypy": "PyPy"}.get(self.implementation, self.implementation)
        flag = "t" if self.free_threaded else ""
        where = f"{self.source}: {self.path}" if self.source else self.path
        return f"{name} {self.full_version or self.python_version}{flag} ({where})"


# ---------------------------------------------------------------------------------------------
# Requests


_VERSION = r"(?P<major>\d+)(?:\.(?P<minor>\d+)(?:\.(?P<micro>\d+))?)?(?P<t>t)?"
_VERSION_RE = re.compile(rf"^{_VERSION}$")
# Only CPython by name: discovery looks for `python*` files, so a PyPy is reached as a command
# (`pypy3`) or a path, never by `pypy@3.10` silently matching nothing.
_IMPLEMENTATION_RE = re.compile(rf"^(?P<impl>cpython|cp)(?:[@-]?{_VERSION})?$", re.I)
_PYTHON_NAME_RE = re.compile(rf"^python{_VERSION}$")
_COMMAND_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.+-]*$")
_IMPLEMENTATIONS = {"cpython": "cpython", "cp": "cpython"}


class PythonRequest(Record):
    """What the user asked for, parsed once at the edge (uv's PythonRequest, python-launcher's
    RequestedVersion). `kind` is one of:

    - "any":       no constraint (an empty request never gets here; used for the default pick)
    - "version":   `3`, `3.8`, `3.8.18`, `3.13t`, `cpython@3.12`, `python3.11`
    - "specifier": `>=3.10`, `>=3.9,<3.13`, poetry's `^3.8`
    - "path":      an absolute or relative path to a binary or to an environment/prefix directory
    - "command":   a name looked up as a pyenv version name, then on PATH (`pypy3`, `myenv`)
    """

    __slots__ = ("raw", "kind", "version", "implementation", "free_threaded", "specifier", "path", "command")
    raw: str
    kind: str
    version: tuple[int, ...]  # 1 to 3 components
    implementation: str | None  # "cpython"; None = any
    free_threaded: bool  # `3.13t`; plain requests exclude free-threaded builds
    specifier: tuple[str, ...]  # PEP 440 specifier sets, OR-ed (poetry's `||`)
    path: str | None
    command: str | None

    def __init__(self, raw: str, kind: str, version: tuple[int, ...] = (), implementation: str | None = None,
                 free_threaded: bool = False, specifier: tuple[str, ...] = (), path: str | None = None,
                 command: str | None = None) -> None:
        _set(self, "raw", raw)
        _set(self, "kind", kind)
        _set(self, "version", version)
        _set(self, "implementation", implementation)
        _set(self, "free_threaded", free_threaded)
        _set(self, "specifier", specifier)
        _set(self, "path", path)
        _set(self, "command", command)

    @classmethod
    def parse(cls, text: str) -> "PythonRequest":
        """Parse every form a user types; a string that fits none is a usage error."""
        raw = text
        text = text.strip()
        if not text:
            raise UsageError("empty Python request", hint="ask for e.g. `3.12`, `cpython@3.12` or a path")
        if "/" in text or text.startswith((".", os.sep)):
            return cls(raw=raw, kind="path", path=text)
        if text.startswith((">", "<", "=", "!", "~", "^")):
            return cls(raw=raw, kind="specifier", specifier=_parse_specifier(text, what=raw))
        match = _VERSION_RE.match(text) or _PYTHON_NAME_RE.match(text)
        if match:
            return cls._from_version(raw, match, None)
        match = _IMPLEMENTATION_RE.match(text)
        if match:
            implementation = _IMPLEMENTATIONS[match["impl"].lower()]
            if match["major"] is None:
                return cls(raw=raw, kind="version", implementation=implementation)
            return cls._from_version(raw, match, implementation)
        if text[0].isdigit() or not _COMMAND_RE.match(text):
            raise UsageError(
                f"cannot parse Python request {raw!r}",
                hint="use a version (`3.12`, `3.12.1`, `3.13t`), `cpython@3.12`, a specifier "
                "(`>=3.10`), a path, or a command name",
            )
        return cls(raw=raw, kind="command", command=text)

    @classmethod
    def _from_version(
        cls, raw: str, match: "re.Match[str]", implementation: str | None
    ) -> "PythonRequest":
        version = tuple(int(part) for part in match.group("major", "minor", "micro") if part is not None)
        if match["minor"] is None and len(match["major"]) > 1:  # uv's `312` / `cp312` = 3.12
            version = (int(match["major"][0]), int(match["major"][1:]))
        free_threaded = bool(match["t"])
        if free_threaded and len(version) < 2:
            raise UsageError(f"cannot parse Python request {raw!r}: `t` needs a minor version, e.g. 3.13t")
        if version[0] != 3 or (len(version) > 1 and version[:2] < MINIMUM_VERSION):
            raise UsageError(
                f"Python {'.'.join(map(str, version))} is not supported (requested as {raw!r})",
                hint="monotrail runs programs on Python 3.8 and newer",
            )
        return cls(raw=raw, kind="version", version=version, implementation=implementation,
                   free_threaded=free_threaded)

    def matches(self, interpreter: Interpreter) -> bool:
        """Whether a probed interpreter fits this request (path/command requests fit what they
        resolved to, so they always match)."""
        if self.kind in ("path", "command"):
            return True
        if self.implementation and interpreter.implementation != self.implementation:
            return False
        if interpreter.free_threaded != self.free_threaded:
            return False
        if self.kind == "specifier":
            return version_satisfies(interpreter, self.specifier)
        return tuple(interpreter.version[: len(self.version)]) == self.version

    def may_match_name(self, hint: tuple[int, ...] | None, free_threaded: bool) -> bool:
        """Cheap pre-filter on the version a file name promises (`python3.11`), so a request for
        3.12 does not probe every other Python on a cold cache."""
        if hint is None or self.kind != "version":
            return True
        if free_threaded != self.free_threaded:
            return False
        common = min(len(hint), len(self.version))
        return hint[:common] == self.version[:common]


_PEP440_OPERATORS = ("===", "==", "!=", "<=", ">=", "~=", "<", ">")


def _parse_specifier(text: str, *, what: str) -> tuple[str, ...]:
    """PEP 440 specifier(s) or a poetry constraint (`^3.8`, `~3.8`, bare `3.8`, `*`, `||`), as the
    OR-ed alternatives in PEP 440; "" means "any version".

    A clause with a PEP 440 operator means what PEP 440 says (`==3.8` is 3.8.0, as uv and pip read
    a requires-python); any other clause is poetry's and is read by `monotrail.poetry_constraint`
    with its Python meaning (bare `3.8` is the 3.8 series, as poetry's `python_version == "3.8"`).
    """
    from monotrail.poetry_constraint import ConstraintError, clause, split

    alternatives: list[str] = []
    try:
        for clauses in split(text):
            parts: list[str] = []
            for item in clauses:
                if item.startswith(_PEP440_OPERATORS):
                    parts.append(item)
                else:
                    parts.extend(f"{op}{version}" for op, version in clause(item, python=True))
            alternatives.append(",".join(parts))
    except ConstraintError:
        raise UsageError(f"cannot parse Python version specifier {what!r}", hint=_SPECIFIER_HINT) from None
    for specifier in alternatives:
        if specifier and not _plain_specifier(specifier):
            _check_specifier(specifier, what)
    return tuple(alternatives)


_SPECIFIER_HINT = "use PEP 440 (`>=3.9,<3.13`) or poetry's `^3.9`"


def _check_specifier(specifier: str, what: str) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(specifier)
    except InvalidSpecifier:
        raise UsageError(f"cannot parse Python version specifier {what!r}", hint=_SPECIFIER_HINT) from None


def _plain_specifier(specifier: str) -> bool:
    """`>=3.9,<3.13`-style clauses, valid PEP 440 without asking packaging (see monotrail.markers)."""
    from monotrail.markers import contains

    return contains(specifier, "0") is not None


def normalize_requires_python(requires_python: str) -> tuple[str, ...]:
    """A lock's requires-python (PEP 440, or poetry's syntax) as OR-ed PEP 440 specifier strings."""
    return _parse_specifier(requires_python, what=requires_python)


def version_satisfies(interpreter: Interpreter, specifiers: Sequence[str]) -> bool:
    """Whether the interpreter's full version is inside any of the specifier sets.

    Prereleases are allowed: a 3.14.0rc1 the user installed on purpose must satisfy `>=3.9`.
    """
    from monotrail.markers import contains

    version = interpreter.full_version or ".".join(map(str, interpreter.version))
    return any(_contains(contains(spec, version), spec, version) for spec in specifiers)


def _contains(fast: bool | None, specifier: str, version: str) -> bool:
    if fast is not None:
        return fast
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(specifier).contains(version, prereleases=True)


# ---------------------------------------------------------------------------------------------
# Where the request comes from


class RequestOrigin(NamedTuple):
    """The request text that wins the precedence and where it came from (for messages)."""

    text: str | None  # None: no request anywhere, pick the newest fitting requires-python
    source: str  # "command line", "MONOTRAIL_PYTHON", ".python-version", "default"
    where: str | None  # the .python-version file, when that is the source


def python_request_source(
    request: str | None, *, start_dir: Path, environ: Mapping[str, str] | None = None
) -> RequestOrigin:
    """`monotrail.interpreters.python_request`'s answer, with names for the messages."""
    return RequestOrigin(*python_request(request, start_dir, environ))


# ---------------------------------------------------------------------------------------------
# Discovery


class Candidate(NamedTuple):
    """A file that may be a Python, before probing."""

    path: str
    source: str  # "PATH", "pyenv", "uv", "system", "path"
    name_version: tuple[int, ...] | None  # what the file name promises: python3.11 -> (3, 11)
    name_free_threaded: bool
    problem: str | None = None  # known unusable before probing (a virtual environment's python)


class Found(NamedTuple):
    """One discovered file and what became of it, for listings and error messages."""

    interpreter: Interpreter | None  # None when unsupported or the probe failed
    path: str
    source: str
    problem: str | None  # "Python 2.7 is not supported", "probe failed: ..."


def _pyenv_root_of_shims(path_dirs: Sequence[str]) -> str | None:
    """pyenv's root from its shims directory on PATH, for when PYENV_ROOT is not exported
    (`pyenv init` puts `<root>/shims` on PATH; the root is wherever `versions/` sits beside it)."""
    for directory in path_dirs:
        if os.path.basename(directory.rstrip(os.sep)) == "shims":
            root = os.path.dirname(directory.rstrip(os.sep))
            if os.path.isdir(os.path.join(root, "versions")):
                return root
    return None


class SearchDirs(Record):
    """Where discovery looks, in order; `summary()` is what InterpreterNotFound reports."""

    __slots__ = ("path_dirs", "pyenv_root", "uv_dir", "system_dirs", "managed_dir")
    path_dirs: tuple[str, ...]
    pyenv_root: str
    uv_dir: str
    system_dirs: tuple[str, ...]
    managed_dir: str  # monotrail's own downloaded Pythons (`monotrail python install`), searched last

    def __init__(self, path_dirs: tuple[str, ...], pyenv_root: str, uv_dir: str,
                 system_dirs: tuple[str, ...] = SYSTEM_DIRS, managed_dir: str = "") -> None:
        _set(self, "path_dirs", path_dirs)
        _set(self, "pyenv_root", pyenv_root)
        _set(self, "uv_dir", uv_dir)
        _set(self, "system_dirs", system_dirs)
        _set(self, "managed_dir", managed_dir)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "SearchDirs":
        home = environ.get("HOME") or os.path.expanduser("~")
        path_dirs = tuple(dict.fromkeys(d for d in environ.get("PATH", "").split(os.pathsep) if d))
        pyenv_root = environ.get("PYENV_ROOT") or _pyenv_root_of_shims(path_dirs) or os.path.join(home, ".pyenv")
        data_home = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
        uv_dir = environ.get("UV_PYTHON_INSTALL_DIR") or os.path.join(data_home, "uv", "python")
        return cls(path_dirs=path_dirs, pyenv_root=pyenv_root, uv_dir=uv_dir, system_dirs=SYSTEM_DIRS,
                   managed_dir=managed_pythons_dir(environ))

    def summary(self) -> str:
        """`PATH, pyenv, uv, /usr/bin, /usr/local/bin`: the places, for a one-line error; a pyenv
        root without versions is named, since a wrong HOME or PYENV_ROOT is the usual cause."""
        versions = os.path.join(self.pyenv_root, "versions")
        pyenv = "pyenv" if os.path.isdir(versions) else f"pyenv (no {versions})"
        return ", ".join(["PATH", pyenv, "uv", *self.system_dirs])

    def dirs(self) -> Iterator[tuple[str, str]]:
        """(source, directory) in discovery order; pyenv's shim directories are never yielded."""
        for directory in self.path_dirs:
            if not self.is_shim_dir(directory):
                yield "PATH", directory
        yield from (("pyenv", d) for d in _installation_bins(os.path.join(self.pyenv_root, "versions")))
        yield from (("uv", d) for d in _installation_bins(self.uv_dir))
        yield from (("system", d) for d in self.system_dirs)
        if self.managed_dir:
            yield from ((MANAGED_SOURCE, d) for d in _installation_bins(self.managed_dir))

    def is_shim_dir(self, directory: str) -> bool:
        """pyenv's shims (and pyenv-virtualenv's) run `pyenv exec`, which fails for every version
        but the selected one and costs ~60 ms even when it works."""
        real = os.path.realpath(directory)
        if real == os.path.realpath(os.path.join(self.pyenv_root, "shims")):
            return True
        return os.path.basename(real) == "shims" and "pyenv" in real


MANAGED_SOURCE = "monotrail"  # the source name of a Python `monotrail python install` put there


def managed_pythons_dir(environ: Mapping[str, str]) -> str:
    """Where `monotrail python install` puts Pythons: MONOTRAIL_PYTHON_INSTALL_DIR (as uv's
    UV_PYTHON_INSTALL_DIR), else `<MONOTRAIL_ROOT>/pythons` when MONOTRAIL_ROOT is set (everything
    monotrail writes under one root), else `pythons/` in monotrail's data directory (platformdirs'
    user_data_dir, where uv keeps its Pythons too): not the cache, whose cleaning must not remove
    an interpreter a user installed on purpose."""
    explicit = environ.get("MONOTRAIL_PYTHON_INSTALL_DIR")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    root = environ.get("MONOTRAIL_ROOT")
    if root:
        return os.path.join(os.path.abspath(os.path.expanduser(root)), "pythons")
    if sys.platform.startswith("linux"):
        home = environ.get("HOME") or os.path.expanduser("~")
        data_home = environ.get("XDG_DATA_HOME", "").strip() or os.path.join(home, ".local", "share")
        return os.path.join(data_home, "monotrail", "pythons")
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("monotrail"), "pythons")


def _installation_bins(parent: str) -> list[str]:
    """`<parent>/*/bin`, newest-looking names first, skipping uv's `.temp`/`.cache`/`.lock`."""
    try:
        names = [n for n in os.listdir(parent) if not n.startswith(".")]
    except OSError:
        return []
    names.sort(key=_natural_key, reverse=True)
    return [os.path.join(parent, name, "bin") for name in names]


def _natural_key(name: str) -> list[Any]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


_SHIM_MARKERS = (b"pyenv exec", b"PYENV_ROOT")
MONOTRAIL_SHIM_MARKER = b"# monotrail shim"  # in the first lines of every `monotrail shims install` file


def is_monotrail_shim(path: str) -> bool:
    """One of our own `python3.X` shims (`monotrail shims install`): never a candidate, or a shim
    inside a project would start monotrail, which would discover the shim again (a loop)."""
    try:
        with open(path, "rb") as file:
            head = file.read(1024)
    except OSError:
        return False
    return head.startswith(b"#!") and MONOTRAIL_SHIM_MARKER in head


def is_pyenv_shim(path: str) -> bool:
    """A shell script that hands over to `pyenv exec`: useless except for pyenv's selected version."""
    try:
        with open(path, "rb") as file:
            head = file.read(1024)
    except OSError:
        return False
    return head.startswith(b"#!") and any(marker in head for marker in _SHIM_MARKERS)


def _name_version(name: str) -> tuple[tuple[int, ...] | None, bool] | None:
    """(version promised by the name, free-threaded) for python-ish names, None for the rest."""
    if name == "python":
        return None, False
    match = _PYTHON_NAME_RE.match(name)
    if not match:
        return None
    version = tuple(int(p) for p in match.group("major", "minor", "micro") if p is not None)
    return version, bool(match["t"])


def _python_names(directory: str, listings: dict[Any, list[str]] | None) -> list[str] | None:
    """The Python-named entries of a directory (`_name_version`), None when it cannot be listed;
    each directory listed once per survey: `listings` keeps them by device and inode, so `/bin`
    and `/usr/bin` (a link on merged-usr systems, and on PATH besides being a system dir) or a
    PATH entry given twice are one listing (~1,000 names here: 0.5 ms to list, 0.5 ms to match),
    and the choice's watched paths (`_watched_paths`) come from the listing the survey reads."""
    try:
        key: Any = os.stat(directory)
    except OSError:
        return None
    key = (key.st_dev, key.st_ino)
    if listings is not None and key in listings:
        return listings[key]
    try:
        names = [name for name in os.listdir(directory) if _name_version(name) is not None]
    except OSError:
        return None
    if listings is not None:
        listings[key] = names
    return names


def _dir_candidates(source: str, directory: str, listings: dict[Any, list[str]] | None = None) -> list[Candidate]:
    """Python executables in one directory: versioned names first (newest first), then
    `python3`, then `python`, so dedup-by-realpath keeps the most telling name."""
    names = _python_names(directory, listings)
    if names is None:
        return []
    found = []
    for name in names:
        parsed = _name_version(name)
        if parsed is None:
            continue
        version, free_threaded = parsed
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append(Candidate(path, source, version, free_threaded))
    found.sort(key=_name_order, reverse=True)
    return found


def _name_order(candidate: Candidate) -> tuple[Any, ...]:
    version = candidate.name_version or ()
    return (len(version), version, candidate.name_free_threaded)


def discover(search: SearchDirs, listings: dict[Any, list[str]] | None = None) -> Iterator[Candidate]:
    """Every distinct Python file, lazily, deduplicated by realpath; pyenv shims skipped.

    A virtual environment's python (monotrail's own tool venv on PATH, an activated project venv)
    is yielded with a problem and does not count as seen: its binary is usually a link to a base
    interpreter found later (pyenv, uv, the system), which must not be dropped as its duplicate.
    """
    seen_real = set()
    seen_venv = set()
    for source, directory in search.dirs():
        venv = _venv_config(directory)
        for candidate in _dir_candidates(source, directory, listings):
            real = os.path.realpath(candidate.path)
            if venv is not None:
                if real not in seen_venv:
                    seen_venv.add(real)
                    yield candidate._replace(problem=f"a virtual environment ({venv}), not a base interpreter")
                continue
            if real in seen_real:
                continue
            seen_real.add(real)
            if is_pyenv_shim(candidate.path) or is_monotrail_shim(candidate.path):
                continue
            yield candidate


def _venv_config(bin_dir: str) -> str | None:
    """The `pyvenv.cfg` that makes the interpreters of `bin_dir` a virtual environment's, if any.

    PEP 405: the file sits beside the executable or one directory above it, and has a `home` key.
    Checked by file rather than by the probe's sys.prefix: under `-S`, Pythons before 3.11 leave
    setting sys.prefix to site.py, so the probe would report a 3.8-3.10 venv as a base.
    """
    for directory in (bin_dir, os.path.dirname(bin_dir.rstrip(os.sep))):
        config = os.path.join(directory, "pyvenv.cfg")
        try:
            with open(config, encoding="utf-8", errors="replace") as file:
                if any(line.partition("=")[0].strip().lower() == "home" for line in file):
                    return config
        except OSError:
            continue
    return None


def _unsupported(version: tuple[int, ...] | None) -> str | None:
    if version is None or len(version) < 2:
        if version and version[0] != 3:
            return f"Python {version[0]} is not supported"
        return None
    if version[0] != 3 or version[:2] < MINIMUM_VERSION:
        return f"Python {'.'.join(map(str, version[:2]))} is not supported"
    return None


# ---------------------------------------------------------------------------------------------
# Probing and the cache


class ProbeFailed(Exception):
    """Internal: the candidate did not run the probe (a broken binary, a timeout, a shim)."""


def _run_probe(path: str) -> dict[str, Any]:
    """Run `_probe.py` in the candidate; `-E -s -S` so the facts are the interpreter's own,
    not PYTHONPATH's or a sitecustomize's."""
    import subprocess

    try:
        completed = subprocess.run(
            [path, "-E", "-s", "-S", str(PROBE_SCRIPT)],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise ProbeFailed(f"probe failed: no answer within {PROBE_TIMEOUT:.0f} s") from None
    except OSError as error:
        raise ProbeFailed(f"probe failed: {error.strerror or error}") from None
    if completed.returncode != 0:
        last = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ProbeFailed(f"probe failed: exit code {completed.returncode}: {last[0]}")
    try:
        facts = json.loads(completed.stdout)
    except ValueError:
        raise ProbeFailed("probe failed: the probe printed something that is not JSON") from None
    if not isinstance(facts, dict) or "version" not in facts:
        raise ProbeFailed("probe failed: the probe's answer has no version")
    return facts


def _cache_file(root: Path, path: str) -> Path:
    digest = sha256_hex(path.encode("utf-8", "surrogateescape"))[:16]  # no OpenSSL import
    return Path(root) / "interpreters" / f"{digest}.json"


def _stat_key(path: str) -> dict[str, Any]:
    """What invalidates a cached probe: the binary behind the path changed or was retargeted."""
    st = os.stat(path)
    return {"path": path, "realpath": os.path.realpath(path), "mtime": st.st_mtime, "size": st.st_size}


def _read_cache(cache: Path, key: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        record = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT:
        return None
    if any(record.get(name) != value for name, value in key.items()):
        return None
    facts = record.get("facts")
    return facts if isinstance(facts, dict) else None


def _write_cache(cache: Path, key: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
    """Atomic so a concurrent reader never sees half a record (0600, as the mkstemp file it
    used to be). A failed write only costs a re-probe next time, so it is not an error."""
    from monotrail.atomic import write_atomic

    record = dict(key, format=CACHE_FORMAT, facts=facts)
    try:
        write_atomic(cache, json.dumps(record, sort_keys=True), mode=0o600)
    except OSError:
        pass


def probe_facts(path: str, root: Path) -> tuple[dict[str, Any], float]:
    """The probe's JSON for `path` and the binary's mtime, from the cache when still valid."""
    try:
        key = _stat_key(path)
    except OSError as error:
        raise ProbeFailed(error.strerror or str(error)) from None
    cache = _cache_file(root, path)
    facts = _read_cache(cache, key)
    if facts is None:
        facts = _run_probe(path)
        _write_cache(cache, key, facts)
    return facts, key["mtime"]


def probe(path: str, root: Path, source: str = "path") -> Interpreter:
    """Probe (or read from cache) one interpreter and compute its wheel tags."""
    facts, mtime = probe_facts(path, root)
    interpreter = interpreter_from_facts(path, mtime, facts, source, with_tags=False)
    return interpreter.replace(tags=cached_tags(facts, path, root))


def cached_tags(facts: Mapping[str, Any], path: str, root: Path) -> tuple[str, ...]:
    """`compute_tags`, kept in the interpreter's cache record beside the probe's facts.

    Computing them needs `packaging.tags`, whose import (with `logging`, `subprocess`) costs the
    cold path 15-25 ms here, the largest item left when a new project's packages are all in the store. The record is keyed by the binary's stat already; the tags
    also depend on packaging's version, so that is stored with them.
    """
    from packaging import __version__ as packaging_version

    tags = facts.get("tags")
    if isinstance(tags, list) and facts.get("tags_packaging") == packaging_version:
        return tuple(tags)
    computed = compute_tags(facts, path)
    try:
        key = _stat_key(path)
    except OSError:
        return computed
    _write_cache(_cache_file(root, path), key, dict(facts, tags=list(computed), tags_packaging=packaging_version))
    return computed


def interpreter_from_facts(
    path: str, mtime: float, facts: Mapping[str, Any], source: str, *, with_tags: bool = True
) -> Interpreter:
    """Build the Interpreter; pure apart from reading the target's ELF header for platform tags.

    `with_tags=False` is for the survey: ~1000 tags per interpreter cost ~1.5 ms each, so only
    the winner gets them (`_Survey.complete`).
    """
    major, minor, micro = (int(part) for part in facts["version"][:3])
    markers = dict(facts.get("markers") or {})
    libc = facts.get("libc") or ["", ""]
    return Interpreter(
        path=path,
        mtime=mtime,
        version=(major, minor, micro),
        implementation=str(facts.get("implementation", "cpython")),
        free_threaded=bool(facts.get("free_threaded")),
        markers=markers,
        tags=compute_tags(facts, path) if with_tags else (),
        ext_suffixes=tuple(facts.get("ext_suffixes") or ()),
        stdlib=str(facts.get("stdlib") or ""),
        platstdlib=str(facts.get("platstdlib") or ""),
        source=source,
        full_version=markers.get("python_full_version", f"{major}.{minor}.{micro}"),
        soabi=facts.get("soabi"),
        ext_suffix=facts.get("ext_suffix"),
        sys_executable=str(facts.get("sys_executable") or ""),
        machine=str(facts.get("machine") or ""),
        libc=(str(libc[0]), str(libc[1])),
        pointer_bits=int(facts.get("pointer_bits") or 64),
    )


# ---------------------------------------------------------------------------------------------
# Wheel tags of the target


def compute_tags(facts: Mapping[str, Any], executable: str) -> tuple[str, ...]:
    """The target's supported tags, best first, as `packaging.tags.sys_tags()` would list them if
    it ran inside the target: same generators, fed the target's version, ABI flags and libc."""
    from packaging import tags as packaging_tags

    version = tuple(int(part) for part in facts["version"][:2])
    platforms = list(platform_tags(facts, executable))
    nodot = str(facts.get("py_version_nodot") or f"{version[0]}{version[1]}")
    implementation = facts.get("implementation", "cpython")
    if implementation == "cpython":
        generated = list(packaging_tags.cpython_tags(version, cpython_abis(facts), platforms))
        compatible_interpreter: str | None = f"cp{nodot}"
    else:
        short = packaging_tags.INTERPRETER_SHORT_NAMES.get(implementation, implementation)
        abis = _generic_abis(facts.get("ext_suffix"))
        generated = list(packaging_tags.generic_tags(f"{short}{nodot}", abis, platforms))
        compatible_interpreter = "pp3" if short == "pp" else None
    generated += packaging_tags.compatible_tags(version, compatible_interpreter, platforms)
    return tuple(str(tag) for tag in generated)


def cpython_abis(facts: Mapping[str, Any]) -> list[str]:
    """`cp312`, `cp313t`, `cp312d` + `cp312`: packaging's _cpython_abis for 3.8+, on the target's
    config vars (Py_DEBUG, Py_GIL_DISABLED) instead of the launcher's."""
    major, minor = (int(part) for part in facts["version"][:2])
    debug_var = facts.get("py_debug")
    debug = "d" if debug_var or (debug_var is None and facts.get("has_refcount")) else ""
    threading = "t" if (major, minor) >= (3, 13) and facts.get("free_threaded") else ""
    abis = [f"cp{major}{minor}{threading}{debug}"]
    if debug:
        abis.append(f"cp{major}{minor}{threading}")
    return abis


def _generic_abis(ext_suffix: str | None) -> list[str]:
    """packaging's _generic_abi: `.pypy310-pp73-x86_64-linux-gnu.so` -> `pypy310_pp73`."""
    parts = (ext_suffix or "").split(".")
    if len(parts) < 3 or not parts[1]:
        return []
    soabi = parts[1]
    if soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    else:
        abi = soabi
    return [_normalize(abi)]


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def platform_tags(facts: Mapping[str, Any], executable: str) -> Iterator[str]:
    """Platform tags for the target, in the order of the installed packaging's `sys_tags()`.

    On Linux they come from the target's own facts: its sysconfig platform, pointer size and glibc
    version, and its ELF header (32-bit ABI checks, musl loader). Elsewhere the target runs on
    this machine, so the launcher's own `packaging.tags.platform_tags()` is the target's too.
    """
    from packaging import tags as packaging_tags

    linux = _normalize(str(facts.get("platform", "")))
    if not linux.startswith("linux_"):
        yield from packaging_tags.platform_tags()
        return
    if int(facts.get("pointer_bits") or 64) == 32:
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
    native = [f"linux_{each}" for each in archs]
    first = _native_linux_first()
    yield from native if first else ()
    yield from _manylinux_tags(facts, executable, archs)
    yield from _musllinux_tags(facts, executable, archs)
    yield from () if first else native


def _native_linux_first() -> bool:
    """packaging 26.3 ranks a native `linux_*` wheel (built on this machine) above manylinux and
    musllinux ones; earlier versions, which Python 3.9 installs, below them. monotrail ranks as
    the packaging it runs with does (the interpreter cache keys tags by packaging's version)."""
    from packaging import __version__ as packaging_version

    return tuple(int(part) for part in re.findall(r"\d+", packaging_version)[:2]) >= (26, 3)


# PEP 599 / 600: the architectures a manylinux wheel may be built for (armv7l and i686 need the
# header checks of `monotrail.interpreters.elf`).
MANYLINUX_ARCHS = frozenset({"x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"})
LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}  # PEP 600's aliases
LAST_GLIBC_MINOR = 50  # of a glibc major version before a future one: packaging's assumption too


def _manylinux_tags(facts: Mapping[str, Any], executable: str, archs: Sequence[str]) -> Iterator[str]:
    """PEP 600 tags for the *target's* glibc (from the probe, not this process), newest first,
    each legacy alias (manylinux2014, 2010, 1) right after the tag it stands for, down to glibc
    2.17 (2.5 on x86): the order `packaging.tags` gives.

    A glibc 3.x would be compatible with every 2.x (PEP 600). The `_manylinux` module a
    distribution may install to veto tags lives in the target's sys.path and is not consulted.
    """
    name, version = (facts.get("libc") or ["", ""])[:2]
    glibc = _parse_glibc(version) if name == "glibc" else None
    if glibc is None or not _manylinux_abi(executable, archs):
        return
    too_old = (2, 4) if set(archs) & {"x86_64", "i686"} else (2, 16)
    maxima = [glibc] + [(major, LAST_GLIBC_MINOR) for major in range(glibc[0] - 1, 1, -1)]
    for arch in archs:
        for major, top_minor in maxima:
            lowest = too_old[1] if major == too_old[0] else -1
            for minor in range(top_minor, lowest, -1):
                yield f"manylinux_{major}_{minor}_{arch}"
                if (major, minor) in LEGACY_MANYLINUX:
                    yield f"{LEGACY_MANYLINUX[(major, minor)]}_{arch}"


def _manylinux_abi(executable: str, archs: Sequence[str]) -> bool:
    """Whether the build can load manylinux wheels at all: an armv7l build only with the hard-float
    ABI, an i686 one only when it is 32-bit x86 (not an x32 or 64-bit binary reporting i686)."""
    from monotrail.interpreters import elf

    if "armv7l" in archs:
        return elf.is_armhf(elf.read_header(executable))
    if "i686" in archs:
        return elf.is_i686(elf.read_header(executable))
    return any(arch in MANYLINUX_ARCHS for arch in archs)


def _parse_glibc(version: str) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)\.(\d+)", version or "")
    return (int(match[1]), int(match[2])) if match else None


def _musllinux_tags(facts: Mapping[str, Any], executable: str, archs: Sequence[str]) -> Iterator[str]:
    """PEP 656 tags when the target's ELF interpreter is musl's loader (never for glibc)."""
    if (facts.get("libc") or [""])[0] == "glibc":
        return
    from monotrail.interpreters import elf

    header = elf.read_header(os.path.realpath(executable))
    musl = musl_version(header.interpreter) if header is not None and header.interpreter else None
    if musl is None:
        return
    for arch in archs:
        for minor in range(musl[1], -1, -1):
            yield f"musllinux_{musl[0]}_{minor}_{arch}"


def musl_version(loader: str) -> tuple[int, int] | None:
    """The version musl's dynamic loader prints when run bare (PEP 656's way to find it):
    `musl libc (x86_64)` / `Version 1.2.4` / ... on stderr. None for any other loader."""
    if "musl" not in loader:
        return None
    import subprocess

    try:
        output = subprocess.run([loader], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=10).stderr.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    match = re.match(r"Version (\d+)\.(\d+)", lines[1]) if len(lines) >= 2 and lines[0].startswith("musl") else None
    return (int(match[1]), int(match[2])) if match else None


# ---------------------------------------------------------------------------------------------
# Selection


class _Survey:
    """What one search saw: used to pick, then to explain a miss. (A plain class: making a
    dataclass costs ~0.8 ms here, and this module is imported by every new environment's run.)"""

    def __init__(self, search: SearchDirs, root: Path) -> None:
        self.search = search
        self.root = root
        self.found: list[Found] = []
        self.facts: dict[str, Mapping[str, Any]] = {}  # by path, for `complete`

    def interpreters(self) -> list[Interpreter]:
        return [f.interpreter for f in self.found if f.interpreter is not None]

    def complete(self, interpreter: Interpreter) -> Interpreter:
        """The surveyed interpreter with its wheel tags, which the survey skipped."""
        return interpreter.replace(tags=cached_tags(self.facts[interpreter.path], interpreter.path, self.root))


def _survey(search: SearchDirs, root: Path, request: PythonRequest, allowed: Sequence[str] = (),
            listings: dict[Any, list[str]] | None = None) -> _Survey:
    """Probe every candidate the request may match (by file name); list the rest as found.

    With no explicit request, `allowed` (the lock's requires-python) filters by file name too: on
    an empty probe cache a `==3.12.*` script must not start every other Python (~30 ms each).
    """
    survey = _Survey(search, root)
    for candidate in discover(search, {} if listings is None else listings):
        problem = candidate.problem or _unsupported(candidate.name_version)
        wanted = request.may_match_name(candidate.name_version, candidate.name_free_threaded)
        if problem is None and not wanted:
            problem = "not requested"
        if problem is None and request.kind == "any" and not _name_may_satisfy(candidate.name_version, allowed):
            problem = "outside requires-python"
        survey.found.append(_probe_candidate(candidate, root, survey.facts) if problem is None else
                            Found(None, candidate.path, candidate.source, problem))
    return survey


def _name_may_satisfy(hint: tuple[int, ...] | None, allowed: Sequence[str]) -> bool:
    """Whether a Python whose file name promises `hint` may satisfy `allowed`.

    A full version (a pyenv directory's 3.11.7) is checked as it is. A minor version (python3.11)
    is ruled out only when no clause names that minor version: then every clause's bound lies
    outside X.Y.0-X.Y.*, so all of X.Y answers alike and X.Y.0 stands for them.
    """
    if not allowed or hint is None or len(hint) < 2:
        return True
    from monotrail.markers import contains

    if len(hint) >= 3:
        version = ".".join(map(str, hint[:3]))
    else:
        minor = f"{hint[0]}.{hint[1]}"
        if any(re.search(rf"(?<![\d.]){re.escape(minor)}(?!\d)", spec) for spec in allowed):
            return True
        version = f"{minor}.0"
    return any(_contains(contains(spec, version), spec, version) for spec in allowed)


def _probe_candidate(candidate: Candidate, root: Path, facts: dict[str, Mapping[str, Any]]) -> Found:
    try:
        facts[candidate.path], mtime = _supported_facts(candidate.path, root)
    except ProbeFailed as error:
        return Found(None, candidate.path, candidate.source, str(error))
    interpreter = interpreter_from_facts(candidate.path, mtime, facts[candidate.path], candidate.source,
                                         with_tags=False)
    return Found(interpreter, candidate.path, candidate.source, None)


def _supported_facts(path: str, root: Path) -> tuple[dict[str, Any], float]:
    """`probe_facts`, refusing a Python older than 3.8 or a Python 2 (as a ProbeFailed)."""
    facts, mtime = probe_facts(path, root)
    version = tuple(int(part) for part in facts["version"][:3])
    problem = _unsupported(version)
    if problem is not None:
        raise ProbeFailed(f"{problem} ({'.'.join(map(str, version))})")
    return facts, mtime


def probe_supported(path: str, root: Path, source: str) -> Interpreter:
    """`probe`, refusing (before computing tags) a Python older than 3.8 or a Python 2."""
    facts, mtime = _supported_facts(path, root)
    interpreter = interpreter_from_facts(path, mtime, facts, source, with_tags=False)
    return interpreter.replace(tags=cached_tags(facts, path, root))


def list_interpreters(root: Path, environ: Mapping[str, str] | None = None) -> list[Found]:
    """Every Python discovery sees, probed (through the cache); unsupported ones with a problem."""
    search = SearchDirs.from_environ(os.environ if environ is None else environ)
    survey = _survey(search, root, PythonRequest(raw="", kind="any"))
    return [found._replace(interpreter=survey.complete(found.interpreter)) if found.interpreter else found
            for found in survey.found]


def _newest(interpreters: Sequence[Interpreter]) -> Interpreter | None:
    """The newest version; among equals, the first discovered (PATH before pyenv before uv)."""
    best: Interpreter | None = None
    for interpreter in interpreters:
        if best is None or _sort_key(interpreter) > _sort_key(best):
            best = interpreter
    return best


def _sort_key(interpreter: Interpreter) -> tuple[Any, ...]:
    from packaging.version import InvalidVersion, Version

    try:
        return (Version(interpreter.full_version),)
    except InvalidVersion:
        return (Version(".".join(map(str, interpreter.version))),)


def find_interpreter(
    request: str | None,
    *,
    requires_python: str | None,
    start_dir: Path,
    root: Path,
    environ: Mapping[str, str] | None = None,
) -> Interpreter:
    """The Python to run: explicit request > MONOTRAIL_PYTHON > .python-version > the newest
    interpreter satisfying requires_python. Several matches: the newest patch version wins.

    Raises UsageError for a malformed request, InterpreterNotFound when nothing matches, and
    SelectionError when what was asked for does not fit the lock's requires-python.
    """
    environ = os.environ if environ is None else environ
    origin = python_request_source(request, start_dir=start_dir, environ=environ)
    search = SearchDirs.from_environ(environ)
    # A version request (or none) answered before, with nothing it looked at changed since:
    # no survey (monotrail.interpreters.choices).
    key = _choice_key(origin, requires_python, search)
    remembered = _remembered(root, key)
    if remembered is not None:
        return remembered
    parsed = _parse_from(origin)
    allowed = normalize_requires_python(requires_python) if requires_python else ()
    if parsed.kind in ("path", "command"):
        interpreter = _resolve_named(parsed, origin, search, root)
        _check_requires_python(interpreter, allowed, requires_python, origin)
        return interpreter
    listings: dict[Any, list[str]] = {}  # each directory listed once for both (`_python_names`)
    watched = choices.watch_states(_watched_paths(search, listings))
    survey = _survey(search, root, parsed, allowed, listings)
    matching = [i for i in survey.interpreters() if parsed.matches(i)]
    fitting = [i for i in matching if not allowed or version_satisfies(i, allowed)]
    if fitting:
        # The user's own Pythons first; monotrail's downloaded ones when none of theirs fits (an
        # exact version only a download has, or a version downloaded on demand).
        own = [i for i in fitting if i.source != MANAGED_SOURCE]
        chosen = survey.complete(_newest(own or fitting))  # type: ignore[arg-type]
        choices.remember_choice(str(root), key, chosen.path, chosen.source, watched)
        return chosen
    if matching and origin.text is not None:  # asked for something that exists but does not fit
        _check_requires_python(_newest(matching), allowed, requires_python, origin)  # type: ignore[arg-type]
    raise _not_found(parsed, origin, survey, requires_python)


def choice_key(request: str | None, *, requires_python: str | None, start_dir: Path,
               environ: Mapping[str, str] | None = None) -> str:
    """The key under which `find_interpreter` keeps its answer to these arguments (for a version
    request; a path or a command is not kept), for callers that keep something depending on it
    (`monotrail.environment.clone`)."""
    environ = os.environ if environ is None else environ
    origin = python_request_source(request, start_dir=start_dir, environ=environ)
    return _choice_key(origin, requires_python, SearchDirs.from_environ(environ))


def prefetch_probes(request: str | None, *, start_dir: Path, root: Path,
                    environ: Mapping[str, str] | None = None) -> None:
    """Probe, into the probe cache, the Pythons a version request (an argument, MONOTRAIL_PYTHON
    or `.python-version`) may match by name, as `find_interpreter`'s survey would; choose and
    remember nothing. The cold path runs this in a thread while it parses the lock, whose
    requires-python `find_interpreter` needs: the probes' subprocesses (~25-35 ms each, spent
    waiting with the GIL released) then overlap the parse instead of following it, and
    `find_interpreter` finds their facts in the cache. No request (any Python) or a path: nothing
    here (which Pythons the survey probes then depends on requires-python). A malformed request
    is left to `find_interpreter` to report. See `probes_kept` for when it is worth a thread."""
    environ = os.environ if environ is None else environ
    origin = python_request_source(request, start_dir=start_dir, environ=environ)
    if origin.text is None:
        return
    try:
        parsed = _parse_from(origin)
    except UsageError:
        return
    if parsed.kind in ("any", "path", "command"):
        return
    _survey(SearchDirs.from_environ(environ), root, parsed)


def probes_kept(root: Path) -> bool:
    """Whether this store has probed a Python before. Then `find_interpreter` mostly reads kept
    facts (~3 ms for a survey here, none with a remembered choice), and `prefetch_probes` ahead
    of it would repeat that work rather than save a probe; so the cold path probes ahead only in
    a store that has none (a user's first run, a new MONOTRAIL_ROOT)."""
    return os.path.isdir(os.path.join(root, "interpreters"))


def _choice_key(origin: RequestOrigin, requires_python: str | None, search: SearchDirs) -> str:
    return choices.choice_key([origin.text, requires_python, *(getattr(search, name) for name in search.__slots__)])


def _remembered(root: Path, key: str) -> Interpreter | None:
    """The interpreter `monotrail.interpreters.choices` kept for `key`, probed through the probe
    cache as the survey would (None when there is none, or it no longer runs)."""
    found = choices.read_choice(str(root), key)
    if found is None:
        return None
    try:
        return probe_supported(found[0], root, found[1])
    except ProbeFailed:
        return None


def _watched_paths(search: SearchDirs, listings: dict[Any, list[str]] | None = None) -> list[str]:
    """Everything a survey's answer depends on besides the request (see
    `monotrail.interpreters.choices`): the directories it lists (also those that do not exist
    yet, and the parents whose `*/bin` it lists), each one's possible `pyvenv.cfg`, and every
    Python-named file in them, whether or not it is executable now."""
    paths = [*search.path_dirs, os.path.join(search.pyenv_root, "versions"), search.uv_dir, *search.system_dirs]
    # where `_pyenv_root_of_shims` looks for a pyenv root when PYENV_ROOT is not set
    paths += [os.path.join(os.path.dirname(d.rstrip(os.sep)), "versions") for d in search.path_dirs
              if os.path.basename(d.rstrip(os.sep)) == "shims"]
    if search.managed_dir:
        paths.append(search.managed_dir)
    for _, directory in search.dirs():
        paths += [directory, os.path.join(directory, "pyvenv.cfg"),
                  os.path.join(os.path.dirname(directory.rstrip(os.sep)), "pyvenv.cfg")]
        names = _python_names(directory, listings)
        if names is not None:
            paths += [os.path.join(directory, name) for name in sorted(names)]
    return paths


def _parse_from(origin: RequestOrigin) -> PythonRequest:
    if origin.text is None:
        return PythonRequest(raw="", kind="any")
    try:
        return PythonRequest.parse(origin.text)
    except UsageError as error:
        where = origin.where or origin.source
        message = error.message
        if origin.where:
            from monotrail.interpreters import line_number

            message = f"line {line_number(origin.where, origin.text)}: {message}"
        raise UsageError(message, where=where, hint=error.hint) from None


def _check_requires_python(
    interpreter: Interpreter, allowed: Sequence[str], requires_python: str | None, origin: RequestOrigin
) -> None:
    if not allowed or version_satisfies(interpreter, allowed):
        return
    raise SelectionError(
        f"Python {interpreter.full_version} (from {origin.source}) does not satisfy the lock's "
        f"requires-python {requires_python}",
        where=origin.where,
        hint=f"ask for a version inside {requires_python} (`monotrail +X.Y ...`)"
        + (f" or edit {origin.where}" if origin.where else "")
        + ("; MONOTRAIL_PYTHON is set" if origin.source == "MONOTRAIL_PYTHON" else ""),
    )


def _resolve_named(
    request: PythonRequest, origin: RequestOrigin, search: SearchDirs, root: Path
) -> Interpreter:
    """A path or command request names one file: find it, see through a pyenv shim, probe it.

    A relative path in `.python-version` is relative to that file; elsewhere, to the cwd.
    """
    base = os.path.dirname(origin.where) if origin.where else os.getcwd()
    path = _locate(request, search, base)
    where = origin.where
    if path is None and request.kind == "command":
        raise InterpreterNotFound(
            f"no Python found for {request.raw.strip()!r} (from {origin.source}): not a version (3.12, 3.12.1, "
            "3.13t), cpython@3.12, a specifier (>=3.10) or a path, and no pyenv version or command on PATH "
            "has that name",
            where=where,
            hint="ask for a version, e.g. `monotrail +3.12 ...`; `monotrail python list` shows the Pythons here",
        )
    if path is None:
        raise InterpreterNotFound(f"no Python found for {request.raw!r} (from {origin.source})", where=where,
                                  hint="check the path")
    in_pyenv = path.startswith(os.path.join(search.pyenv_root, "versions") + os.sep)
    source = "path" if request.kind == "path" else "pyenv" if in_pyenv else "PATH"
    try:
        return probe_supported(path, root, source) if not is_pyenv_shim(path) else _through_shim(path, root)
    except ProbeFailed as error:
        raise InterpreterNotFound(f"{path} is not a usable Python: {error}", where=where,
                                  hint="monotrail runs programs on Python 3.8 and newer") from None


def _through_shim(shim: str, root: Path) -> Interpreter:
    """An explicitly named pyenv shim: probe it once (uncached: what it runs changes with
    `pyenv global` while the shim's mtime does not), then use the real binary it reported."""
    real = _run_probe(shim).get("sys_executable") or ""
    if not real or is_pyenv_shim(real):
        raise ProbeFailed("the pyenv shim did not lead to a real interpreter")
    return probe_supported(real, root, "pyenv")


def _locate(request: PythonRequest, search: SearchDirs, base: str) -> str | None:
    if request.kind == "path":
        return _locate_path(os.path.join(base, os.path.expanduser(request.path or "")))
    name = request.command or ""
    pyenv_env = os.path.join(search.pyenv_root, "versions", name)
    if os.path.isdir(pyenv_env):  # a pyenv version name, e.g. a pyenv-virtualenv env in .python-version
        return _locate_path(pyenv_env)
    shim = None
    for directory in search.path_dirs:  # shim dirs included: a shim is the last resort
        path = os.path.join(directory, name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) or is_monotrail_shim(path):
            continue
        if not is_pyenv_shim(path):
            return path
        shim = shim or path
    return shim  # `+python` with only pyenv's shim on PATH: seen through in _resolve_named


def _locate_path(path: str) -> str | None:
    """A file as is; a directory as an environment or prefix (`bin/python3`, `bin/python`)."""
    path = os.path.abspath(path)
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        for name in ("bin/python3", "bin/python", "python3", "python"):
            inner = os.path.join(path, name)
            if os.path.isfile(inner) and os.access(inner, os.X_OK):
                return inner
    return None


class NoMatchingPython(InterpreterNotFound):
    """No Python here fits a version request (or requires-python): the one miss a download can
    mend. It carries what was asked, so that `monotrail.store.pythons` can download a fitting
    build and the command run again (paths and command names are never downloaded)."""

    def __init__(self, message: str, *, where: str | None, hint: str | None, request: PythonRequest,
                 requires_python: str | None, source: str) -> None:
        super().__init__(message, where=where, hint=hint)
        self.request = request
        self.requires_python = requires_python
        self.source = source  # "command line", ".python-version", ...


def _not_found(
    request: PythonRequest, origin: RequestOrigin, survey: _Survey, requires_python: str | None
) -> InterpreterNotFound:
    """One line: what was asked, the versions that are here, where monotrail looked. No paths and
    no unsupported Pythons (`monotrail python list --all` lists both), so it stays readable."""
    wanted = f"Python {request.raw.strip()}" if request.raw else "Python"
    if requires_python:
        wanted += f" satisfying requires-python {requires_python}"
    from_ = f" (from {origin.source})" if origin.text is not None else ""
    versions = _found_versions(survey)
    message = f"no {wanted}{from_} found; found {', '.join(versions) or 'none'} (searched {survey.search.summary()})"
    return NoMatchingPython(message, where=origin.where, hint=_not_found_hint(request, survey.search, versions),
                            request=request, requires_python=requires_python, source=origin.source)


def _found_versions(survey: _Survey) -> list[str]:
    """Every supported version here, also those the request's name filter left unprobed (probing
    them costs only on this error path, and the probe cache keeps it cheap next time)."""
    labels = set()
    for entry in survey.found:
        interpreter = entry.interpreter
        if interpreter is None and entry.problem in ("not requested", "outside requires-python"):
            try:
                facts, mtime = _supported_facts(entry.path, survey.root)
            except ProbeFailed:
                continue
            interpreter = interpreter_from_facts(entry.path, mtime, facts, entry.source, with_tags=False)
        if interpreter is not None:
            labels.add(interpreter.full_version + ("t" if interpreter.free_threaded else ""))
    return sorted(labels, key=_natural_key)


def _not_found_hint(request: PythonRequest, search: SearchDirs, versions: Sequence[str]) -> str:
    parts = []
    if versions:
        newest = ".".join(versions[-1].rstrip("t").split(".")[:2])
        parts.append(f"use one found (`monotrail +{newest} ...`)")
    parts.append(_install_hint(request, search))
    parts.append("`monotrail python list --all` shows where each was found and what was skipped")
    return "; ".join(parts)


def _install_hint(request: PythonRequest, search: SearchDirs) -> str:
    """How to install what was asked for, offered only as far as this machine can tell it exists:
    pyenv's own build definitions (local files, what `pyenv install --list` prints) say which
    releases pyenv can install; other installers are named without a version promise."""
    want = ".".join(map(str, request.version)) if request.kind == "version" and len(request.version) >= 2 else None
    definitions = _pyenv_definitions(search)
    if definitions is not None:
        if want is None:
            return "install one with pyenv (`pyenv install --list` shows the releases it knows)"
        suffix = "t" if request.free_threaded else ""
        pattern = re.compile(rf"^{re.escape(want)}(\.\d+)*{suffix}$")
        known = sorted((name for name in definitions if pattern.match(name)), key=_natural_key)
        if known:
            return f"install it with `pyenv install {known[-1]}`"
        return (f"pyenv knows no CPython {want}{suffix} release (`pyenv install --list`; a newer pyenv may)")
    if want is not None and _on_path("uv", search):
        return f"`uv python install {want}` installs it if uv knows such a release"
    what = f"CPython {want}" if want else "a Python that fits"
    return f"install {what} from python.org, pyenv, uv or your system's packages"


def _pyenv_definitions(search: SearchDirs) -> list[str] | None:
    """The releases pyenv can build (python-build's definition files), or None without pyenv.
    Looked up beside the pyenv root and beside the `pyenv` executable (Homebrew's layout)."""
    places = [search.pyenv_root]
    executable = _on_path("pyenv", search)
    if executable:
        places.append(os.path.dirname(os.path.dirname(os.path.realpath(executable))))
    for place in places:
        directory = os.path.join(place, "plugins", "python-build", "share", "python-build")
        try:
            return os.listdir(directory)
        except OSError:
            continue
    return None


def _on_path(name: str, search: SearchDirs) -> str | None:
    for directory in search.path_dirs:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None
