"""The lock corpus' package universe: tiny fake packages built byte for byte the same every time.

The locks in `tests/lock_corpus/cases/` were written by the real tools (uv, pip-tools, pip,
pdm, poetry) against this universe served on `GENERATION_URL`; they carry its sha256 hashes. The
test rebuilds the universe (same bytes, so the same hashes), serves it on a free port and rewrites
`GENERATION_URL` in the copied projects to that server's URL, and `GENERATION_DIR` (where the
projects were when the tools ran) to where the test copied them: those are the two substitutions.

Determinism: wheels are ZIP_STORED (no deflate: zlib builds differ in what they emit) with fixed
timestamps and modes, members in a fixed order; the sdist is a ustar archive with fixed
mtime/uid/gid/names inside a gzip stream of stored deflate blocks written here, for the same
reason; the git repository is committed with fixed names and dates. `UNIVERSE_SHA256` (recorded by
`make_corpus.py`) lets the test say plainly when a rebuild no longer gives the locked bytes.

Layout of a built universe (a static tree, served as-is by `serve`):

    files/<wheel or sdist>                 every distribution file
    simple/<project>/index.html            the main index (PEP 503 HTML, #sha256= fragments)
    private/simple/<project>/index.html    a second index holding only `mt-private`
    git/mt-gitdep.git/                     a bare repository, servable over git's dumb HTTP

Nothing here imports monotrail: the generator runs it with any Python >= 3.8.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import html
import http.server
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path
from collections.abc import Iterator, Sequence

GENERATION_PORT = 38751
GENERATION_URL = f"http://127.0.0.1:{GENERATION_PORT}"
# Where the projects were when their locks were written (pip-compile writes `-e .` as a file URL).
GENERATION_DIR = "/tmp/monotrail-lock-corpus"
HERE = Path(__file__).resolve().parent
UNIVERSE_SHA256 = HERE / "universe.sha256"

_ZIP_TIME = (2020, 2, 2, 0, 0, 0)
_TAR_MTIME = 1580601600  # 2020-02-02T00:00:00Z
_GIT_DATE = "2020-02-02T00:00:00+0000"

# name, version, Requires-Python, Requires-Dist, Provides-Extra, wheel tag, index ("simple"/"private")
# Shapes: two versions split by python markers (mt-idna), an extra (mt-web[fast]), a transitive
# chain where the newest version is not the one allowed (mt-chain-c 3.0 is excluded by <3) and an
# old-style parenthesized Requires-Dist (`mt-chain-b (>=1.0)`), a dependency group's own package, a
# package only wanted on Windows / old Pythons, a plugin depending back on the project that uses it
# (mt-plugin -> mt-app), and a package only on the second index.
WHEELS: tuple[tuple[str, str, str | None, tuple[str, ...], tuple[str, ...], str, str], ...] = (
    ("mt-idna", "2.10", ">=2.7", (), (), "py2.py3-none-any", "simple"),
    ("mt-idna", "3.4", ">=3.5", (), (), "py3-none-any", "simple"),
    ("mt-web", "1.0", ">=3.8", ("mt-chain-b>=1.0", 'mt-speedups>=1.0; extra == "fast"'), ("fast",), "py3-none-any", "simple"),
    ("mt-speedups", "1.0", None, (), (), "py3-none-any", "simple"),
    ("mt-speedups", "1.2", None, (), (), "py3-none-any", "simple"),
    ("mt-chain-a", "1.0", None, ("mt-chain-b (>=1.0)",), (), "py3-none-any", "simple"),
    ("mt-chain-b", "1.0", None, ("mt-chain-c<3",), (), "py3-none-any", "simple"),
    ("mt-chain-b", "1.1", None, ("mt-chain-c<3",), (), "py3-none-any", "simple"),
    ("mt-chain-c", "2.0", None, (), (), "py3-none-any", "simple"),
    ("mt-chain-c", "3.0", None, (), (), "py3-none-any", "simple"),
    ("mt-winonly", "1.0", None, (), (), "py3-none-any", "simple"),
    ("mt-oldpy", "1.0", None, (), (), "py3-none-any", "simple"),
    ("mt-devtool", "1.0", None, (), (), "py3-none-any", "simple"),
    ("mt-plugin", "1.0", None, ("mt-app>=0.1",), (), "py3-none-any", "simple"),
    ("mt-private", "1.0", None, (), (), "py3-none-any", "private"),
)
# name, version, Requires-Dist: packages that exist only as an sdist (built with the in-tree backend)
SDISTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("mt-sdistonly", "0.1.4", ()),
)
GIT_PROJECT = ("mt-gitdep", "0.3.0", ("mt-chain-c<3",))
GIT_PATH = "git/mt-gitdep.git"


def module_name(name: str) -> str:
    return name.replace("-", "_")


def module_source(name: str, version: str) -> str:
    return f"__version__ = {version!r}\n"


# --- the in-tree PEP 517 backend -----------------------------------------------------------------

BACKEND = '''\
"""A PEP 517/660 backend for the lock corpus' source trees: no build requirements, stdlib only."""
import base64, hashlib, os, zipfile

NAME = {name!r}
VERSION = {version!r}
REQUIRES = {requires!r}
MODULE = NAME.replace("-", "_")
DIST_INFO = "%s-%s.dist-info" % (MODULE, VERSION)


def _metadata():
    lines = ["Metadata-Version: 2.1", "Name: " + NAME, "Version: " + VERSION]
    lines += ["Requires-Dist: " + r for r in REQUIRES]
    return "\\n".join(lines) + "\\n"


def _wheel(directory, members):
    members = list(members) + [
        (DIST_INFO + "/METADATA", _metadata().encode()),
        (DIST_INFO + "/WHEEL", b"Wheel-Version: 1.0\\nGenerator: corpus\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"),
    ]
    record = []
    for path, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(DIST_INFO + "/RECORD,,")
    members.append((DIST_INFO + "/RECORD", ("\\n".join(record) + "\\n").encode()))
    name = "%s-%s-py3-none-any.whl" % (MODULE, VERSION)
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, data in members:
            archive.writestr(path, data)
    return name


def _sources():
    here = os.path.dirname(os.path.abspath(__file__))
    for top, dirs, files in os.walk(os.path.join(here, MODULE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            if file.endswith(".py"):
                path = os.path.join(top, file)
                with open(path, "rb") as handle:
                    yield os.path.relpath(path, here).replace(os.sep, "/"), handle.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST_INFO))
    with open(os.path.join(metadata_directory, DIST_INFO, "METADATA"), "w") as handle:
        handle.write(_metadata())
    return DIST_INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, _sources())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.dirname(os.path.abspath(__file__))
    return _wheel(wheel_directory, [("_%s_editable.pth" % MODULE, (here + "\\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("the corpus backend builds wheels only")
'''


def backend_source(name: str, version: str, requires: Sequence[str]) -> str:
    return BACKEND.format(name=name, version=version, requires=tuple(requires))


def pyproject_source(name: str, version: str, requires: Sequence[str]) -> str:
    """A static [project] table (tools read it without building) and the in-tree backend."""
    dependencies = ", ".join(json.dumps(r) for r in requires)
    return (
        "[project]\n"
        f'name = "{name}"\nversion = "{version}"\nrequires-python = ">=3.8"\n'
        f"dependencies = [{dependencies}]\n\n"
        "[build-system]\n"
        'requires = []\nbuild-backend = "corpus_backend"\nbackend-path = ["."]\n'
    )


def source_tree(directory: Path, name: str, version: str, requires: Sequence[str]) -> dict[str, str]:
    """The files of a buildable source tree (relative path -> text), also written to `directory`."""
    files = {
        "pyproject.toml": pyproject_source(name, version, requires),
        "corpus_backend.py": backend_source(name, version, requires),
        f"{module_name(name)}/__init__.py": module_source(name, version),
    }
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


# --- deterministic archives ----------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata_text(name: str, version: str, requires_python: str | None, requires: Sequence[str],
                  extras: Sequence[str], metadata_version: str = "2.1") -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in extras]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    return "\n".join(lines) + "\n"


def wheel_bytes(name: str, version: str, requires_python: str | None, requires: Sequence[str],
                extras: Sequence[str], tag: str) -> bytes:
    module = module_name(name)
    dist_info = f"{module}-{version}.dist-info"
    members: list[tuple[str, bytes]] = [
        (f"{module}/__init__.py", module_source(name, version).encode()),
        (f"{dist_info}/METADATA", metadata_text(name, version, requires_python, requires, extras).encode()),
        (f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: corpus\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()),
    ]
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in members] + [f"{dist_info}/RECORD,,"]
    members.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.external_attr = (0o100644 << 16)
            info.create_system = 3
            archive.writestr(info, data)
    return buffer.getvalue()


def _stored_gzip(data: bytes) -> bytes:
    """A gzip member whose deflate stream is stored blocks: the same bytes from any zlib."""
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    blocks = bytearray()
    chunks = [data[i:i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for i, chunk in enumerate(chunks):
        final = 1 if i == len(chunks) - 1 else 0
        blocks += bytes([final]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return header + bytes(blocks) + trailer


def sdist_bytes(name: str, version: str, requires: Sequence[str]) -> bytes:
    module = module_name(name)
    top = f"{module}-{version}"
    files = {
        "PKG-INFO": metadata_text(name, version, ">=3.8", requires, (), metadata_version="2.2"),
        "pyproject.toml": pyproject_source(name, version, requires),
        "corpus_backend.py": backend_source(name, version, requires),
        f"{module}/__init__.py": module_source(name, version),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for directory in (top, f"{top}/{module}"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, _TAR_MTIME
            archive.addfile(info)
        for relative in sorted(files):
            data = files[relative].encode()
            info = tarfile.TarInfo(f"{top}/{relative}")
            info.size, info.mode, info.mtime = len(data), 0o644, _TAR_MTIME
            archive.addfile(info, io.BytesIO(data))
    return _stored_gzip(buffer.getvalue())


def wheel_filename(name: str, version: str, tag: str) -> str:
    return f"{module_name(name)}-{version}-{tag}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{module_name(name)}-{version}.tar.gz"


# --- the git source ------------------------------------------------------------------------------


def _git(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    base.update({"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)})
    base.update(env or {})
    result = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
                            cwd=cwd, env=base, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def build_git_repo(target: Path) -> str:
    """A bare repository holding one commit of the `mt-gitdep` source tree; returns the commit id,
    the same on every machine (fixed tree, names, dates and message)."""
    name, version, requires = GIT_PROJECT
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        source_tree(tree, name, version, requires)
        target.parent.mkdir(parents=True, exist_ok=True)
        _git(["init", "-q", "--bare", str(target)], cwd=tree)
        _git(["symbolic-ref", "HEAD", "refs/heads/main"], cwd=target)
        env = {"GIT_DIR": str(target), "GIT_WORK_TREE": str(tree), "GIT_INDEX_FILE": str(tree.parent / f"{tree.name}.index")}
        try:
            _git(["add", "-A", "."], cwd=tree, env=env)
            identity = {"GIT_AUTHOR_NAME": "corpus", "GIT_AUTHOR_EMAIL": "corpus@example.invalid",
                        "GIT_COMMITTER_NAME": "corpus", "GIT_COMMITTER_EMAIL": "corpus@example.invalid",
                        "GIT_AUTHOR_DATE": _GIT_DATE, "GIT_COMMITTER_DATE": _GIT_DATE}
            _git(["commit", "-q", "-m", f"{name} {version}"], cwd=tree, env={**env, **identity})
        finally:
            Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    _git(["update-server-info"], cwd=target)
    return _git(["rev-parse", "HEAD"], cwd=target)


# --- the universe --------------------------------------------------------------------------------


def _index_page(links: Sequence[tuple[str, str, str | None]]) -> str:
    anchors = "".join(
        f'<a href="/files/{html.escape(filename)}#sha256={digest}"'
        + (f' data-requires-python="{html.escape(requires_python)}"' if requires_python else "")
        + f">{html.escape(filename)}</a><br/>\n"
        for filename, digest, requires_python in links
    )
    return f"<!DOCTYPE html>\n<html><body>\n{anchors}</body></html>\n"


def distributions() -> list[tuple[str, str, str, bytes, str | None]]:
    """(index, project, filename, bytes, requires-python) of every file, in a fixed order."""
    out = []
    for name, version, requires_python, requires, extras, tag, index in WHEELS:
        data = wheel_bytes(name, version, requires_python, requires, extras, tag)
        out.append((index, name, wheel_filename(name, version, tag), data, requires_python))
    for name, version, requires in SDISTS:
        out.append(("simple", name, sdist_filename(name, version), sdist_bytes(name, version, requires), ">=3.8"))
    return out


def build(target: Path) -> dict[str, str]:
    """Write the universe under `target`; return {filename: sha256} (plus `git:<project>`: commit)."""
    files = target / "files"
    files.mkdir(parents=True, exist_ok=True)
    pages: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}
    digests: dict[str, str] = {}
    for index, project, filename, data, requires_python in distributions():
        (files / filename).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        digests[filename] = digest
        pages.setdefault((index, project), []).append((filename, digest, requires_python))
    for (index, project), links in pages.items():
        prefix = "simple" if index == "simple" else f"{index}/simple"
        page = target / prefix / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_index_page(links))
    for index in {index for index, _ in pages}:
        prefix = "simple" if index == "simple" else f"{index}/simple"
        projects = sorted(project for i, project in pages if i == index)
        (target / prefix / "index.html").write_text(
            "<!DOCTYPE html>\n<html><body>\n"
            + "".join(f'<a href="{p}/">{p}</a><br/>\n' for p in projects) + "</body></html>\n")
    if (target / GIT_PATH).exists():
        shutil.rmtree(target / GIT_PATH)
    digests[f"git:{GIT_PROJECT[0]}"] = build_git_repo(target / GIT_PATH)
    return digests


def digest_lines(digests: dict[str, str]) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))


@functools.lru_cache(maxsize=None)
def recorded_digests() -> dict[str, str]:
    """The hashes the committed locks were written with (`universe.sha256`)."""
    out = {}
    for line in UNIVERSE_SHA256.read_text().splitlines():
        digest, _, name = line.partition("  ")
        out[name] = digest
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path, port: int = 0) -> Iterator[str]:
    """Serve the built universe (a static tree) on 127.0.0.1; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
