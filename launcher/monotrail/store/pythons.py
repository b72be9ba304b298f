"""Managed Pythons: python-build-standalone builds downloaded, checked and unpacked on demand.

`monotrail python install 3.13` and a `monotrail +3.13 run` that finds no 3.13 both end here, as
`uv python install` and uv's automatic downloads do. Which builds exist, at which URL and with
which sha256 is pbs-installer's table (`pbs_installer._versions.PYTHON_VERSIONS`, the table pdm and
poetry install from, regenerated from python-build-standalone's releases by its maintainers):
monotrail does not keep a version table of its own. The download itself is monotrail's (its httpx
client, retries, credentials masking), not pbs-installer's, and so is the unpacking, because a
Python must appear whole or not at all:

- one `fcntl.flock` per build in `<pythons>/.locks/`: concurrent runs wanting the same Python
  download it once, the others wait and find it installed;
- the archive is streamed into `<pythons>/.tmp/<pid>-<random>/`, hashed while it streams and
  checked against the table's sha256 before a byte is unpacked;
- it is unpacked there (the `data` tar filter, or the same checks by hand on Pythons without it:
  no absolute names, no `..`, no link out of the tree), its interpreter is run once to check it
  starts and is the version the table promised, a `monotrail-python.json` marker is written, and
  one `rename` publishes `<pythons>/<implementation>-<version>-<platform>-<arch>/`. Discovery
  (`monotrail.interpreters.discovery`, source "monotrail") only ever sees that directory, so a
  crash at any point leaves a temp directory (removed by the next install once its pid is
  dead), never a half-installed Python.

Where `<pythons>` is: `discovery.managed_pythons_dir`. Only the `install_only` archives are used
(a `python/` prefix with `bin/`, `lib/`), never the full builds, whose layout differs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Mapping, Sequence

from monotrail import __version__
from monotrail.atomic import fsync_directory
from monotrail.errors import DownloadError, InterpreterNotFound, StoreError, UsageError, os_error_text
from monotrail.faults import crash_point
from monotrail.interpreters.discovery import MINIMUM_VERSION, NoMatchingPython, managed_pythons_dir, \
    normalize_requires_python

DOWNLOADS_ENV = "MONOTRAIL_PYTHON_DOWNLOADS"  # "never" turns on-demand downloads off (uv's UV_PYTHON_DOWNLOADS)
MIRROR_ENV = "MONOTRAIL_PYTHON_INSTALL_MIRROR"  # uv's UV_PYTHON_INSTALL_MIRROR
PYPY_MIRROR_ENV = "MONOTRAIL_PYPY_INSTALL_MIRROR"  # uv's UV_PYPY_INSTALL_MIRROR
TABLE_ENV = "MONOTRAIL_PYTHON_DOWNLOADS_JSON"  # a table in pbs-installer's versions.json format instead of its own
CPYTHON_UPSTREAMS = ("https://github.com/astral-sh/python-build-standalone/releases/download",
                     "https://github.com/indygreg/python-build-standalone/releases/download")
PYPY_UPSTREAM = "https://downloads.python.org/pypy"
MARKER = "monotrail-python.json"
CHUNK = 1 << 20
IMPLEMENTATIONS = {"cpython": "cpython", "cp": "cpython", "python": "cpython", "pypy": "pypy", "pp": "pypy"}
_LABELS = {"cpython": "CPython", "pypy": "PyPy"}
_ARCHES = {"arm64": "aarch64", "amd64": "x86_64", "i686": "x86", "i386": "x86"}  # pbs-installer's names
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Download:
    """One install_only build for this platform, as the table lists it."""

    implementation: str  # "cpython" | "pypy"
    version: tuple[int, int, int]
    free_threaded: bool
    url: str
    sha256: str | None

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) + ("t" if self.free_threaded else "")

    @property
    def label(self) -> str:
        """`CPython 3.13.1t`."""
        return f"{_LABELS.get(self.implementation, self.implementation)} {self.version_text}"

    @property
    def filename(self) -> str:
        return urllib.parse.unquote(self.url.rsplit("/", 1)[-1])

    def dir_name(self, platform: tuple[str, str]) -> str:
        """`cpython-3.13.1t-linux-x86_64`: the installed directory, one per build and platform."""
        return f"{self.implementation}-{self.version_text}-{platform[0]}-{platform[1]}"


@dataclass(frozen=True)
class Wanted:
    """What a download must be: parsed from `python install`'s words, or from the request (and the
    lock's requires-python) that discovery could not satisfy."""

    text: str  # as the user wrote it, for messages
    implementation: str = "cpython"
    version: tuple[int, ...] = ()  # 0 to 3 components
    free_threaded: bool = False
    constraints: tuple[tuple[str, ...], ...] = ()  # each: OR-ed PEP 440 sets; all must hold

    @classmethod
    def parse(cls, text: str) -> "Wanted":
        """`3.13`, `3.12.7`, `3.13t`, `cpython@3.12`, `pypy3.10`, `pypy@3.10`, `>=3.11`."""
        raw = text.strip()
        if raw.startswith((">", "<", "=", "!", "~", "^")):
            return cls(raw, constraints=(normalize_requires_python(raw),))
        match = re.match(r"^(?:(?P<impl>[A-Za-z]+)[@-]?)?(?P<version>\d+(?:\.\d+){0,2})?(?P<t>t)?$", raw)
        if not raw or match is None or not (match["impl"] or match["version"]):
            raise UsageError(f"cannot parse Python request {raw!r}",
                             hint="ask for e.g. `3.13`, `3.12.7`, `3.13t`, `cpython@3.12` or `pypy3.10`")
        implementation = IMPLEMENTATIONS.get((match["impl"] or "cpython").lower())
        if implementation is None:
            raise InterpreterNotFound(
                f"no download offers {match['impl']!r} Pythons (requested as {raw!r}): python-build-standalone "
                "builds CPython, and PyPy publishes its own",
                hint="ask for e.g. `3.13` (CPython) or `pypy3.10`")
        version = tuple(int(part) for part in (match["version"] or "").split(".") if part)
        if len(version) == 1 and len(match["version"]) > 1:  # uv's `312` = 3.12
            version = (int(match["version"][0]), int(match["version"][1:]))
        if match["t"] and len(version) < 2:
            raise UsageError(f"cannot parse Python request {raw!r}: `t` needs a minor version, e.g. 3.13t")
        if version and (version[0] != 3 or (len(version) > 1 and version[:2] < MINIMUM_VERSION)):
            raise UsageError(f"Python {'.'.join(map(str, version))} is not supported (requested as {raw!r})",
                             hint="monotrail runs programs on Python 3.8 and newer")
        return cls(raw, implementation, version, bool(match["t"]))

    @classmethod
    def of_missing(cls, missing: NoMatchingPython) -> "Wanted":
        """What would have satisfied a discovery miss: the request, inside requires-python."""
        request = missing.request
        constraints: tuple[tuple[str, ...], ...] = ()
        if missing.requires_python:
            constraints += (normalize_requires_python(missing.requires_python),)
        if request.kind == "specifier":
            constraints += (request.specifier,)
        text = request.raw.strip()
        if missing.requires_python:
            text += (" satisfying " if text else "") + f"requires-python {missing.requires_python}"
        return cls(text or "the newest", request.implementation or "cpython", request.version,
                   request.free_threaded, constraints)

    def accepts(self, download: Download) -> bool:
        if download.implementation != self.implementation or download.free_threaded != self.free_threaded:
            return False
        if download.version[: len(self.version)] != self.version:
            return False
        return all(_satisfies(download.version, specifiers) for specifiers in self.constraints)


def _satisfies(version: tuple[int, int, int], specifiers: Sequence[str]) -> bool:
    from packaging.specifiers import SpecifierSet

    text = ".".join(map(str, version))
    return any(SpecifierSet(specifier).contains(text, prereleases=True) for specifier in specifiers)


# ---------------------------------------------------------------------------------------------
# The table


def this_platform() -> tuple[str, str]:
    """(platform, arch) in the table's words: ("linux", "x86_64"), ("macos", "aarch64")."""
    import platform

    system = platform.system().lower()
    machine = platform.machine().lower()
    return {"darwin": "macos"}.get(system, system), _ARCHES.get(machine, machine)


def _libc_problem() -> str | None:
    """The table's Linux builds are glibc builds: none runs on musl (Alpine)."""
    if not sys.platform.startswith("linux"):
        return None
    import platform

    name, _ = platform.libc_ver()
    return None if name == "glibc" else "the downloads are glibc builds and this system's C library is not glibc"


def _table_rows(environ: Mapping[str, str]) -> Iterator[tuple[str, tuple[int, int, int], bool, str, str, bool, str, Any]]:
    """(implementation, version, free-threaded, platform, arch, install_only, url, sha256) for
    every file of the table: pbs-installer's, or the file MONOTRAIL_PYTHON_DOWNLOADS_JSON names."""
    path = environ.get(TABLE_ENV)
    if not path:
        from pbs_installer._versions import PYTHON_VERSIONS

        for version, files in PYTHON_VERSIONS.items():
            for (platform, arch, install_only), (url, sha256) in files.items():
                yield (version.implementation, (version.major, version.minor, version.micro),
                       bool(version.freethreaded), platform, arch, install_only, url, sha256)
        return
    try:
        with open(path, encoding="utf-8") as file:
            payload = json.load(file)
        for entry in payload:
            version = entry["python_version"]
            for item in entry["files"]:
                yield (version["implementation"], (int(version["major"]), int(version["minor"]), int(version["micro"])),
                       bool(version.get("freethreaded")), item["platform"], item["arch"], bool(item["install_only"]),
                       item["url"], item.get("sha256"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DownloadError(f"cannot read the Python downloads table: {error}", where=path,
                            hint=f"{TABLE_ENV} must name a JSON file in pbs-installer's versions.json format") from None


def available(environ: Mapping[str, str] | None = None) -> list[Download]:
    """Every install_only build for this platform with a published sha256 (a few 2021 builds
    have none: they cannot be checked, so they are not offered), newest first (the free-threaded
    after the plain build of one version)."""
    environ = os.environ if environ is None else environ
    platform = this_platform()
    found = {}
    for implementation, version, free_threaded, plat, arch, install_only, url, sha256 in _table_rows(environ):
        if (plat, arch) == platform and install_only and sha256:
            found[(implementation, version, free_threaded)] = Download(implementation, version, free_threaded, url, sha256)
    return sorted(found.values(), key=lambda d: (d.version, not d.free_threaded), reverse=True)


def best_download(wanted: Wanted, environ: Mapping[str, str] | None = None) -> Download:
    """The newest build `wanted` accepts, or an InterpreterNotFound saying why there is none."""
    environ = os.environ if environ is None else environ
    problem = _libc_problem()
    downloads = [] if problem else available(environ)
    for download in downloads:
        if wanted.accepts(download):
            return download
    platform = "-".join(this_platform())
    label = _LABELS[wanted.implementation]
    what = (f"{label} {wanted.text}" if wanted.text[:1].isdigit() else
            f"a {label} satisfying {wanted.text}" if wanted.text.startswith("requires-python") else wanted.text)
    if problem is None:
        same = sorted({f"{d.version[0]}.{d.version[1]}" for d in downloads if d.implementation == wanted.implementation},
                      key=lambda v: tuple(map(int, v.split("."))))
        span = same[0] if same and same[0] == same[-1] else " to ".join(same[:1] + same[-1:])
        problem = (f"the downloads for {platform} have {_LABELS[wanted.implementation]} {span}"
                   if same else f"no download is built for {platform}")
    raise InterpreterNotFound(f"no Python download offers {what}: {problem}",
                              hint="ask for another version (`monotrail python install 3.13`), or install one "
                              "with pyenv or your system's packages")


def mirrored(url: str, environ: Mapping[str, str]) -> str:
    """The URL with its upstream prefix replaced by the mirror, as uv's UV_PYTHON_INSTALL_MIRROR
    (python-build-standalone's `releases/download`) and UV_PYPY_INSTALL_MIRROR (downloads.python.org/pypy):
    the rest of the path (release tag, file name) is kept."""
    for variable, prefixes in ((MIRROR_ENV, CPYTHON_UPSTREAMS), (PYPY_MIRROR_ENV, (PYPY_UPSTREAM,))):
        mirror = environ.get(variable, "").strip()
        if not mirror:
            continue
        for prefix in prefixes:
            if url.startswith(prefix + "/"):
                return mirror.rstrip("/") + url[len(prefix):]
    return url


# ---------------------------------------------------------------------------------------------
# What is installed


@dataclass(frozen=True)
class Installed:
    path: Path  # <pythons>/<dir name>
    meta: Mapping[str, Any]  # the marker

    @property
    def label(self) -> str:
        flag = "t" if self.meta.get("free_threaded") else ""
        implementation = str(self.meta.get("implementation", ""))
        return f"{_LABELS.get(implementation, implementation)} {self.meta.get('version')}{flag}"

    @property
    def executable(self) -> str:
        return executable_in(self.path, str(self.meta.get("version", "")), bool(self.meta.get("free_threaded")))


def executable_in(prefix: Path, version: str, free_threaded: bool) -> str:
    """`bin/python3.13t`, else `bin/python3`, else `bin/pypy3`: the interpreter of a prefix."""
    minor = ".".join(version.split(".")[:2])
    for name in (f"python{minor}{'t' if free_threaded else ''}", "python3", "pypy3", "python"):
        candidate = prefix / "bin" / name
        if candidate.is_file():
            return str(candidate)
    return str(prefix / "bin" / "python3")


def installed(environ: Mapping[str, str] | None = None) -> list[Installed]:
    """The Pythons of `<pythons>/` with a marker (anything else there is not monotrail's)."""
    directory = Path(managed_pythons_dir(os.environ if environ is None else environ))
    found = []
    try:
        children = sorted(directory.iterdir())
    except OSError:
        return []
    for child in children:
        if child.name.startswith("."):
            continue
        try:
            meta = json.loads((child / MARKER).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            found.append(Installed(child, meta))
    return found


def installed_accepts(wanted: Wanted, item: Installed) -> bool:
    version = tuple(int(p) for p in str(item.meta.get("version", "0.0.0")).split(".")[:3])
    download = Download(str(item.meta.get("implementation")), version, bool(item.meta.get("free_threaded")),  # type: ignore[arg-type]
                        "", None)
    return wanted.accepts(download)


# ---------------------------------------------------------------------------------------------
# Installing


def downloads_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """MONOTRAIL_PYTHON_DOWNLOADS=never (or `--no-python-downloads`) turns on-demand downloads off;
    `monotrail python install` downloads either way, as `uv python install` does."""
    environ = os.environ if environ is None else environ
    return environ.get(DOWNLOADS_ENV, "").strip().lower() not in ("never", "0", "false", "no", "off")


def install_missing(missing: NoMatchingPython, environ: Mapping[str, str] | None = None) -> bool:
    """After discovery found no Python for a request: download one that fits and say so. False
    when downloads are off (the caller reports the miss as before); an error when no download fits."""
    environ = os.environ if environ is None else environ
    if not downloads_allowed(environ):
        return False
    try:
        download = best_download(Wanted.of_missing(missing), environ)
    except InterpreterNotFound as error:
        raise InterpreterNotFound(f"{missing.message}; {error.message}", where=missing.where,
                                  hint=missing.hint) from None
    install(download, environ)
    return True


def install(download: Download, environ: Mapping[str, str] | None = None, *, quiet: bool = False) -> tuple[Installed, bool]:
    """`download` installed into `<pythons>/` (or found there); (what is installed, whether this
    call installed it)."""
    environ = os.environ if environ is None else environ
    pythons = Path(managed_pythons_dir(environ))
    final = pythons / download.dir_name(this_platform())
    with _build_lock(pythons, final.name):
        present = _read_installed(final)
        if present is not None:
            return present, False
        _remove_dead_temps(pythons)
        started = time.monotonic()
        temp = pythons / ".tmp" / f"{os.getpid()}-{os.urandom(8).hex()}"
        try:
            temp.mkdir(parents=True)
            archive = temp / download.filename
            _fetch(download, mirrored(download.url, environ), archive, quiet)
            crash_point("python-downloaded")
            prefix = _unpack(archive, temp / "unpacked", download)
            _check_runs(prefix, download)
            marker = {"implementation": download.implementation, "version": ".".join(map(str, download.version)),
                      "free_threaded": download.free_threaded, "url": download.url, "sha256": download.sha256,
                      "installed_by": f"monotrail {__version__}"}
            (prefix / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            crash_point("python-unpacked")
            os.rename(prefix, final)
            fsync_directory(pythons)
            crash_point("python-installed")
        except OSError as error:
            raise StoreError(f"cannot install {download.label}: {os_error_text(error)}", where=str(pythons),
                             hint="free some space or make the directory writable; nothing was installed") from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    result = Installed(final, marker)
    if not quiet:
        sys.stderr.write(f"monotrail: installed {download.label} in {time.monotonic() - started:.1f} s: "
                         f"{result.executable}\n")
    return result, True


def uninstall(item: Installed, environ: Mapping[str, str] | None = None) -> None:
    """Renamed into `.tmp/` under the build's lock, then deleted: gone at once for discovery."""
    environ = os.environ if environ is None else environ
    pythons = Path(managed_pythons_dir(environ))
    with _build_lock(pythons, item.path.name):
        if not item.path.exists():
            return
        temp = pythons / ".tmp" / f"{os.getpid()}-{os.urandom(8).hex()}"
        try:
            temp.parent.mkdir(parents=True, exist_ok=True)
            os.rename(item.path, temp)
        except OSError as error:
            raise StoreError(f"cannot remove {item.path}: {os_error_text(error)}", where=str(item.path),
                             hint="check the directory's permissions") from None
        shutil.rmtree(temp, ignore_errors=True)


def _read_installed(path: Path) -> Installed | None:
    try:
        meta = json.loads((path / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return Installed(path, meta) if isinstance(meta, dict) else None


@contextmanager
def _build_lock(pythons: Path, name: str) -> Iterator[None]:
    """`<pythons>/.locks/<dir name>.lock`, exclusive; never deleted (a waiter holds its inode)."""
    import fcntl

    path = pythons / ".locks" / f"{name}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StoreError(os_error_text(error, path), where=str(path),
                         hint="make the directory writable or set MONOTRAIL_PYTHON_INSTALL_DIR") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write(f"monotrail: waiting for another process installing {name}\n")
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _remove_dead_temps(pythons: Path) -> None:
    """What killed installs left in `.tmp/` (their pid is dead): best effort."""
    import psutil

    try:
        children = list((pythons / ".tmp").iterdir())
    except OSError:
        return
    for child in children:
        pid = child.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(child, ignore_errors=True)


def _fetch(download: Download, url: str, out: Path, quiet: bool) -> None:
    """Stream `url` into `out`, hashing; a wrong sha256 is an error and nothing is unpacked."""
    import hashlib

    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        hasher = hashlib.sha256()
        try:
            with open(urllib.parse.unquote(parts.path), "rb") as source, open(out, "wb") as target:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    target.write(chunk)
                    hasher.update(chunk)
        except FileNotFoundError:
            raise DownloadError(f"cannot download {download.label}: no such file", where=url,
                                hint=f"check {MIRROR_ENV}") from None
        _check_sha256(download, hasher.hexdigest(), url)
        return
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise DownloadError(f"refusing to download {download.label} over {parts.scheme or 'a relative URL'}",
                            where=url, hint=f"use an https:// mirror in {MIRROR_ENV}")
    digest = _stream(download, url, out, quiet)
    _check_sha256(download, digest, url)


def _stream(download: Download, url: str, out: Path, quiet: bool) -> str:
    import hashlib

    from monotrail.store.download import Progress
    from monotrail.store.index import check_status, make_client, redact_url, with_retries

    client = make_client()

    def attempt() -> str:
        hasher = hashlib.sha256()
        with client.stream("GET", url) as response:
            check_status(response)
            if response.status_code != 200:
                raise DownloadError(f"cannot download {download.label}: HTTP {response.status_code}",
                                    where=redact_url(url), hint=_MIRROR_HINT)
            total = response.headers.get("Content-Length")
            with Progress(not quiet) as progress, open(out, "wb") as target:
                task = progress.start(f"{download.label}", int(total) if total and total.isdigit() else None)
                for chunk in response.iter_bytes(CHUNK):
                    target.write(chunk)
                    hasher.update(chunk)
                    progress.advance(task, len(chunk))
                    crash_point("python-download-chunk")
        return hasher.hexdigest()

    try:
        return with_retries(attempt, url, DownloadError, f"downloading {download.label}")
    except DownloadError as error:
        raise DownloadError(error.message, where=error.where, hint=_MIRROR_HINT) from None
    finally:
        client.close()


_MIRROR_HINT = (f"check your network or proxy; {MIRROR_ENV} points at a mirror of python-build-standalone's releases, "
                f"as uv's UV_PYTHON_INSTALL_MIRROR")


def _check_sha256(download: Download, actual: str, url: str) -> None:
    if not download.sha256:
        raise DownloadError(f"the downloads table gives no sha256 for {download.filename}: not installing it",
                            where=url, hint="ask for another version")
    if actual != download.sha256.lower():
        raise DownloadError(
            f"hash mismatch for {download.filename}: expected sha256:{download.sha256}, got sha256:{actual}",
            where=url, hint="the mirror or the download is damaged or tampered with: nothing was installed")


def _unpack(archive: Path, into: Path, download: Download) -> Path:
    """The archive's one top-level directory, unpacked under `into`, checked member by member."""
    import tarfile
    import zlib

    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            tops = {member.name.lstrip("./").split("/", 1)[0] for member in members} - {""}
            if len(tops) != 1:
                raise DownloadError(f"{download.filename} is not an install_only archive (top-level entries: "
                                    f"{', '.join(sorted(tops)[:3]) or 'none'})", hint=_DAMAGED_HINT)
            into.mkdir()
            for number, member in enumerate(members):
                _extract(tar, member, into)
                if number == len(members) // 2:
                    crash_point("python-unpacking")
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise DownloadError(f"cannot unpack {download.filename}: {error or type(error).__name__}",
                            hint=_DAMAGED_HINT) from None
    prefix = into / tops.pop()
    if not (prefix / "bin").is_dir():
        raise DownloadError(f"{download.filename} has no bin/ directory: not an install_only archive", hint=_DAMAGED_HINT)
    return prefix


_DAMAGED_HINT = "the archive is damaged or not a python-build-standalone install_only build; nothing was installed"


def _extract(tar: Any, member: Any, into: Path) -> None:
    """The `data` filter where tarfile has it (3.12, and the security releases of 3.9-3.11); the
    same refusals by hand elsewhere: absolute names, `..`, links leaving the tree, devices."""
    if hasattr(tar, "extraction_filter"):
        tar.extract(member, into, filter="data")  # a refused member is a tarfile.FilterError (a TarError)
        return
    name = member.name
    target = os.path.normpath(os.path.join(into, name))
    inside = target.startswith(str(into) + os.sep)
    link_ok = True
    if member.issym():
        link_ok = os.path.normpath(os.path.join(os.path.dirname(target), member.linkname)).startswith(str(into) + os.sep)
    elif member.islnk():
        link_ok = os.path.normpath(os.path.join(into, member.linkname)).startswith(str(into) + os.sep)
    if os.path.isabs(name) or not inside or not link_ok or member.isdev():
        raise DownloadError(f"refusing the archive's member {name!r}: outside the install directory or a device",
                            hint=_DAMAGED_HINT)
    tar.extract(member, into, set_attrs=True)


def _check_runs(prefix: Path, download: Download) -> None:
    """Run the unpacked interpreter once: a build for another CPU or a broken archive must fail
    here, not in the program's first run. It must be the version the table promised."""
    import subprocess

    executable = executable_in(prefix, ".".join(map(str, download.version)), download.free_threaded)
    bin_dir = prefix / "bin"
    if not (bin_dir / "python3").exists() and os.path.isfile(executable):
        os.symlink(os.path.basename(executable), bin_dir / "python3")  # PyPy's `pypy3` only: discovery wants python*
    try:
        completed = subprocess.run([executable, "-E", "-s", "-S", "-c",
                                    "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        raise DownloadError(f"the downloaded {download.label} does not start: {error}", hint=_DAMAGED_HINT) from None
    reported = completed.stdout.strip()
    if completed.returncode != 0 or reported != ".".join(map(str, download.version)):
        why = completed.stderr.strip().splitlines()[-1:] or [f"it reports {reported or 'nothing'}"]
        raise DownloadError(f"the downloaded {download.label} does not run as {download.label}: {why[0]}",
                            hint=_DAMAGED_HINT)



def project_requests(start: Path) -> list[Wanted]:
    """What `monotrail python install` with no argument installs: the nearest `.python-version`'s
    versions, else the project's requires-python (the lock's, else pyproject.toml's), as uv does."""
    from monotrail.interpreters import read_python_version_file

    found = read_python_version_file(start)
    if found is not None:
        lines = [line.strip() for line in Path(found[1]).read_text("utf-8").splitlines()]
        return [Wanted.parse(line) for line in lines if line and not line.startswith("#")]
    requires_python = _project_requires_python(start)
    if requires_python:
        return [Wanted(f"requires-python {requires_python}", constraints=(normalize_requires_python(requires_python),))]
    raise UsageError("no Python to install: name one, e.g. `monotrail python install 3.13`",
                     hint="or run it in a project with a .python-version or a requires-python")


def _project_requires_python(start: Path) -> str | None:
    from monotrail.errors import MonotrailError
    from monotrail.lock import find_lock, read_lock

    try:
        found = read_lock(find_lock(str(start))).requires_python
    except MonotrailError:
        found = None
    if found:
        return found
    for directory in (start, *start.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            import tomli

            try:
                data = tomli.loads(pyproject.read_text("utf-8"))
            except (OSError, ValueError):
                return None
            value = data.get("project", {}).get("requires-python")
            return value if isinstance(value, str) else None
    return None
