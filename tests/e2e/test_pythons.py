"""`monotrail python install|list|uninstall` and on-demand Python downloads (issue 14, part 1), as
a subprocess against a python-build-standalone `install_only` archive made in the test.

The archive is a real interpreter that monotrail's discovery finds here (pyenv's or uv's, of a
minor version the system directories, which discovery always searches, do not have), copied into
the install_only layout (`python/bin/python3.X`, `python/lib/python3.X/`, `python/lib/libpython*`)
and named as the real builds are. It runs from its new place: CPython finds its prefix from its
own binary's location (the `lib/python3.X/os.py` landmark), so `sys.prefix` is the copy; a shared
build whose binary links libpython by an absolute RUNPATH (pyenv's) still loads the original
library, which is the same build. The archive is served from 127.0.0.1 under the release path the
real one has; MONOTRAIL_PYTHON_INSTALL_MIRROR points there (uv's UV_PYTHON_INSTALL_MIRROR rule),
and MONOTRAIL_PYTHON_DOWNLOADS_JSON gives the table (pbs-installer's format) with its sha256.
The Pythons of pyenv and uv are hidden from the runs (empty PYENV_ROOT and uv directory, PATH
/usr/bin:/bin), so a request for that version finds nothing until monotrail installed it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bootstrap_fixtures import REDUCED_PATH, discovered
from cli_checks import clean_error, ok
from conftest import base_env

RELEASE = "20990101"
UPSTREAM = "https://github.com/astral-sh/python-build-standalone/releases/download"
SKIP_IN_STDLIB = {"test", "tests", "site-packages", "dist-packages", "__pycache__", "idlelib", "tkinter", "turtledemo",
                  "ensurepip", "lib2to3", "config-3.8-x86_64-linux-gnu"}


def _source_interpreter():
    """A CPython found by discovery outside the system directories, of a minor version those do
    not have (they are searched by every run, so that version must be missing there)."""
    found = [entry for entry in discovered() if entry.interpreter is not None]
    system_minors = {entry.interpreter.version[:2] for entry in found if entry.source == "system"}
    usable = [entry.interpreter for entry in found
              if entry.source in ("pyenv", "uv") and entry.interpreter.implementation == "cpython"
              and not entry.interpreter.free_threaded and entry.interpreter.version[:2] not in system_minors
              and entry.interpreter.version[:2] >= (3, 9)]
    if not usable:
        pytest.skip("SKIPPED LOUDLY: no CPython 3.9+ from pyenv or uv whose minor version /usr/bin and /usr/local/bin "
                    "lack; install one (`pyenv install 3.12`) to test Python downloads")
    usable.sort(key=lambda interpreter: (interpreter.version[:2] == (3, 12), interpreter.version))
    return usable[-1]


class Standalone:
    """The archive, its table and the server; `serve(bytes)` swaps what the URL answers."""

    def __init__(self, interpreter, directory: Path) -> None:
        from monotrail.store.pythons import this_platform

        self.interpreter = interpreter
        self.version = ".".join(map(str, interpreter.version))
        self.minor = f"{interpreter.version[0]}.{interpreter.version[1]}"
        platform, arch = this_platform()
        self.platform = (platform, arch)
        self.filename = f"cpython-{self.version}+{RELEASE}-{arch}-unknown-linux-gnu-install_only_stripped.tar.gz"
        self.directory = directory
        self.archive = _build_archive(interpreter, directory / "build", directory / self.filename)
        self.served = directory / "served" / RELEASE
        self.served.mkdir(parents=True)
        self.requests: list[str] = []
        self.serve(self.archive.read_bytes())

    def serve(self, data: bytes, sha256: str | None = None) -> None:
        (self.served / self.filename).write_bytes(data)
        digest = sha256 or hashlib.sha256(data).hexdigest()
        url = f"{UPSTREAM}/{RELEASE}/{urllib.parse.quote(self.filename)}"
        entry = {"python_version": {"implementation": "cpython", "major": self.interpreter.version[0],
                                    "minor": self.interpreter.version[1], "micro": self.interpreter.version[2],
                                    "freethreaded": False},
                 "files": [{"platform": self.platform[0], "arch": self.platform[1], "install_only": True,
                            "filename": self.filename, "url": url, "sha256": digest}]}
        (self.directory / "table.json").write_text(json.dumps([entry]))

    def archive_requests(self) -> list[str]:
        return [path for path in self.requests if path.endswith(".tar.gz")]

    @property
    def installed_dir(self) -> str:
        return f"cpython-{self.version}-{self.platform[0]}-{self.platform[1]}"


def _build_archive(interpreter, build: Path, archive: Path) -> Path:
    stdlib = Path(interpreter.stdlib)
    prefix = build / "python"
    binary = Path(os.path.realpath(interpreter.path))
    (prefix / "bin").mkdir(parents=True)
    name = f"python{interpreter.version[0]}.{interpreter.version[1]}"
    shutil.copy2(binary, prefix / "bin" / name)
    for link in ("python3", "python"):
        (prefix / "bin" / link).symlink_to(name)
    lib = prefix / "lib"
    lib.mkdir()
    for library in stdlib.parent.glob("libpython*.so*"):
        shutil.copy2(library, lib / library.name)  # the layout's; a RUNPATH may still point at the original
    shutil.copytree(stdlib, lib / stdlib.name, symlinks=True,
                    ignore=lambda _dir, names: [n for n in names if n in SKIP_IN_STDLIB or n.startswith("config-")])
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(prefix, arcname="python")
    return archive


@pytest.fixture(scope="session")
def standalone(tmp_path_factory) -> Standalone:
    return Standalone(_source_interpreter(), tmp_path_factory.mktemp("standalone"))


@pytest.fixture
def server(standalone: Standalone):
    standalone.requests.clear()
    standalone.serve(standalone.archive.read_bytes())

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            standalone.requests.append(self.path)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(standalone.served.parent)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def environ(root: Path, tmp_path: Path, standalone: Standalone, mirror: str, **extra: str) -> dict[str, str]:
    hidden = tmp_path / "hidden"
    (hidden / "pyenv").mkdir(parents=True, exist_ok=True)
    env = base_env(root, PATH=REDUCED_PATH, PYENV_ROOT=str(hidden / "pyenv"), UV_PYTHON_INSTALL_DIR=str(hidden / "uv"),
                   MONOTRAIL_PYTHON_INSTALL_MIRROR=mirror,
                   MONOTRAIL_PYTHON_DOWNLOADS_JSON=str(standalone.directory / "table.json"))
    env.update(extra)
    return env


def monotrail(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """In `cwd`, where an empty requirements.txt makes a project for `run -c`."""
    (cwd / "requirements.txt").touch()
    return subprocess.run([sys.executable, "-m", "monotrail", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def managed(root: Path) -> list[str]:
    """What discovery could pick up: the published directories (hidden `.tmp`/`.locks` aside)."""
    pythons = root / "pythons"
    return sorted(p.name for p in pythons.iterdir() if not p.name.startswith(".")) if pythons.exists() else []


def test_install_list_uninstall(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    env = environ(root, tmp_path, standalone, server)
    installed = ok(monotrail(env, tmp_path, "python", "install", standalone.minor))
    executable = root / "pythons" / standalone.installed_dir / "bin" / f"python{standalone.minor}"
    assert f"monotrail: installed CPython {standalone.version} in " in installed.stderr
    assert installed.stderr.rstrip().endswith(f": {executable}")
    assert managed(root) == [standalone.installed_dir]
    assert not list((root / "pythons" / ".tmp").iterdir())

    listing = ok(monotrail(env, tmp_path, "python", "list"))
    row = next(line for line in listing.stdout.splitlines() if str(executable) in line)
    assert row.split()[:3] == [standalone.version, "cpython", "monotrail"]
    rows = json.loads(ok(monotrail(env, tmp_path, "python", "list", "--managed", "--json")).stdout)["interpreters"]
    assert [(r["path"], r["managed"], r["source"]) for r in rows] == [(str(executable), True, "monotrail")]

    again = ok(monotrail(env, tmp_path, "python", "install", standalone.version))
    assert f"CPython {standalone.version} is already installed: {executable}" in again.stderr
    assert len(standalone.archive_requests()) == 1

    removed = ok(monotrail(env, tmp_path, "python", "uninstall", standalone.minor))
    assert f"uninstalled CPython {standalone.version}: {root / 'pythons' / standalone.installed_dir}" in removed.stderr
    assert managed(root) == []
    assert ok(monotrail(env, tmp_path, "python", "list", "--managed")).stdout == ""
    error = clean_error(monotrail(env, tmp_path, "python", "uninstall", standalone.minor))
    assert f"no Python {standalone.minor} installed by monotrail" in error


def test_run_downloads_the_missing_python(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    env = environ(root, tmp_path, standalone, server)
    script = tmp_path / "hello.py"  # a PEP 723 script: resolved for the Python, which is missing
    script.write_text("# /// script\n# dependencies = []\n# ///\nimport sys\nprint(sys.version_info[:3], sys.base_prefix)\n")
    first = ok(monotrail(env, tmp_path, f"+{standalone.minor}", "run", str(script)))
    prefix = root / "pythons" / standalone.installed_dir
    assert first.stdout.strip() == f"{tuple(standalone.interpreter.version)} {prefix}"
    installed_lines = [line for line in first.stderr.splitlines() if "installed CPython" in line]
    assert len(installed_lines) == 1, first.stderr
    # The next run finds it: no download, no line.
    second = ok(monotrail(env, tmp_path, f"+{standalone.minor}", "run", str(script)))
    assert second.stdout == first.stdout and "installed" not in second.stderr
    assert len(standalone.archive_requests()) == 1
    # Uninstalled under an environment that uses it: the next run misses it and downloads it again.
    ok(monotrail(env, tmp_path, "python", "uninstall", standalone.version))
    third = ok(monotrail(env, tmp_path, f"+{standalone.minor}", "run", str(script)))
    assert third.stdout == first.stdout and "installed CPython" in third.stderr
    assert len(standalone.archive_requests()) == 2


def test_run_with_a_lock_downloads_a_python_for_python_version_file(tmp_path: Path, root: Path,
                                                                    standalone: Standalone, server: str) -> None:
    """`.python-version` asks, the lock's own path (environment install) meets the miss."""
    env = environ(root, tmp_path, standalone, server)
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("")
    (project / ".python-version").write_text(f"{standalone.minor}\n")
    result = ok(monotrail(env, project, "run", "-c", "import sys; print(sys.version_info[:2])"))
    assert result.stdout.strip() == str(tuple(standalone.interpreter.version[:2]))
    assert managed(root) == [standalone.installed_dir]


def test_requires_python_alone_downloads_the_newest_fitting(tmp_path: Path, root: Path, standalone: Standalone,
                                                            server: str) -> None:
    """No request anywhere: the lock's requires-python decides, as uv's default download does."""
    env = environ(root, tmp_path, standalone, server)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pylock.toml").write_text(f'lock-version = "1.0"\ncreated-by = "test"\n'
                                         f'requires-python = "=={standalone.minor}.*"\npackages = []\n')
    result = ok(monotrail(env, project, "run", "-c", "import sys; print(sys.version_info[:2])"))
    assert result.stdout.strip() == str(tuple(standalone.interpreter.version[:2]))
    assert managed(root) == [standalone.installed_dir]


@pytest.mark.parametrize("asks", ["python-version", "pyproject"])
def test_install_without_arguments_installs_what_the_project_asks_for(tmp_path: Path, root: Path, standalone: Standalone,
                                                                      server: str, asks: str) -> None:
    env = environ(root, tmp_path, standalone, server)
    project = tmp_path / "project"
    project.mkdir()
    if asks == "python-version":
        (project / ".python-version").write_text(f"# pinned\n{standalone.minor}\n")
    else:
        (project / "pyproject.toml").write_text(f'[project]\nname = "app"\nversion = "1"\n'
                                                f'requires-python = "=={standalone.minor}.*"\n')
    result = ok(monotrail(env, project, "python", "install"))
    assert f"installed CPython {standalone.version}" in result.stderr
    assert managed(root) == [standalone.installed_dir]
    error = clean_error(monotrail(env, tmp_path / "hidden", "python", "install"))
    assert "no Python to install" in error


def test_downloads_off_keep_the_old_error(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    script = tmp_path / "hello.py"
    script.write_text("print('hi')\n")
    for env, args in (
        (environ(root, tmp_path, standalone, server, MONOTRAIL_PYTHON_DOWNLOADS="never"), ()),
        (environ(root, tmp_path, standalone, server), ("--no-python-downloads",)),
    ):
        result = monotrail(env, tmp_path, *args, f"+{standalone.minor}", "run", str(script))
        error = clean_error(result)
        assert f"no Python {standalone.minor} (from command line) found" in error
        assert "no Python download offers" not in error and "installed" not in result.stderr
        assert "hint:" in result.stderr
    assert managed(root) == [] and standalone.archive_requests() == []


def test_offline_runs_download_no_python(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    """`--offline` never touches the network, Python downloads included (as uv's); a target's own
    `--offline` argument is the target's."""
    env = environ(root, tmp_path, standalone, server)
    error = clean_error(monotrail(env, tmp_path, f"+{standalone.minor}", "run", "--offline", "-c", "print(1)"))
    assert f"no Python {standalone.minor} (from command line) found" in error
    assert managed(root) == [] and standalone.archive_requests() == []
    result = ok(monotrail(env, tmp_path, f"+{standalone.minor}", "run", "-c", "import sys; print(sys.argv)", "--offline"))
    assert result.stdout == "['-c', '--offline']\n" and managed(root) == [standalone.installed_dir]


def test_a_wrong_checksum_installs_nothing(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    data = standalone.archive.read_bytes()
    standalone.serve(data, sha256="0" * 64)
    env = environ(root, tmp_path, standalone, server)
    error = clean_error(monotrail(env, tmp_path, "python", "install", standalone.minor))
    assert f"hash mismatch for {standalone.filename}: expected sha256:{'0' * 64}, got sha256:" \
           f"{hashlib.sha256(data).hexdigest()}" in error
    assert managed(root) == [] and not list((root / "pythons" / ".tmp").iterdir())
    # On demand: the same one line, and the run does not start.
    error = clean_error(monotrail(env, tmp_path, f"+{standalone.minor}", "run", "-c", "print(1)"))
    assert "hash mismatch" in error and managed(root) == []


def test_a_truncated_archive_installs_nothing(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    """The table's sha256 is the truncated file's own (a damaged upload): unpacking fails."""
    data = standalone.archive.read_bytes()
    standalone.serve(data[: len(data) // 2])
    env = environ(root, tmp_path, standalone, server)
    error = clean_error(monotrail(env, tmp_path, "python", "install", standalone.minor))
    assert f"cannot unpack {standalone.filename}" in error
    assert managed(root) == [] and not list((root / "pythons" / ".tmp").iterdir())


@pytest.mark.parametrize("point", ["python-download-chunk", "python-unpacking", "python-unpacked"])
def test_a_kill_during_install_leaves_no_python(tmp_path: Path, root: Path, standalone: Standalone, server: str,
                                                point: str) -> None:
    env = environ(root, tmp_path, standalone, server)
    killed = monotrail({**env, "MONOTRAIL_TEST_CRASH_AT": point}, tmp_path, f"+{standalone.minor}", "run", "-c", "print(1)")
    assert killed.returncode == -9, killed.stderr
    assert managed(root) == []
    assert list((root / "pythons" / ".tmp").iterdir())  # the dead run's leftovers...
    assert ok(monotrail(env, tmp_path, "python", "list", "--managed")).stdout == ""  # ...are not a Python
    result = ok(monotrail(env, tmp_path, f"+{standalone.minor}", "run", "-c", "print(1)"))
    assert result.stdout == "1\n"
    assert managed(root) == [standalone.installed_dir]
    assert not list((root / "pythons" / ".tmp").iterdir())  # removed by the install that came next


def test_concurrent_runs_download_once(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    env = environ(root, tmp_path, standalone, server)
    (tmp_path / "requirements.txt").touch()
    runs = [subprocess.Popen([sys.executable, "-m", "monotrail", f"+{standalone.minor}", "run", "-c", "print('ran')"],
                             cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.communicate(timeout=300), run.returncode) for run in runs]
    for (stdout, stderr), code in results:
        assert code == 0 and stdout == "ran\n", stderr
        assert "Traceback" not in stderr
    assert len(standalone.archive_requests()) == 1
    assert sum("installed CPython" in stderr for (_, stderr), _ in results) == 1
    assert managed(root) == [standalone.installed_dir]


def test_requests_no_download_can_satisfy(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    env = environ(root, tmp_path, standalone, server)
    error = clean_error(monotrail(env, tmp_path, "python", "install", "3.99"))
    assert error.startswith("error: no Python download offers CPython 3.99: the downloads for ")
    error = clean_error(monotrail(env, tmp_path, "+3.99", "run", "-c", "print(1)"))
    assert "no Python 3.99 (from command line) found" in error and "no Python download offers CPython 3.99" in error
    error = clean_error(monotrail(env, tmp_path, "python", "install", "jython3.10"))
    assert "no download offers 'jython' Pythons" in error
    assert managed(root) == [] and standalone.archive_requests() == []


def test_the_users_own_python_comes_first(tmp_path: Path, root: Path, standalone: Standalone, server: str) -> None:
    """Installed and then the user's own of that version visible again: a `3.X` request picks the
    user's; `python find` of the managed path's exact version finds one of the same version."""
    env = environ(root, tmp_path, standalone, server)
    ok(monotrail(env, tmp_path, "python", "install", standalone.minor))
    visible = dict(env, PATH=f"{Path(standalone.interpreter.path).parent}:{REDUCED_PATH}")
    found = ok(monotrail(visible, tmp_path, "python", "find", standalone.minor)).stdout.strip()
    assert found == standalone.interpreter.path
    hidden = ok(monotrail(env, tmp_path, "python", "find", standalone.minor)).stdout.strip()
    assert hidden == str(root / "pythons" / standalone.installed_dir / "bin" / f"python{standalone.minor}")


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.network
def test_real_download(tmp_path: Path, root: Path) -> None:
    """A real build from python-build-standalone's GitHub releases (pbs-installer's table)."""
    if not _reachable("github.com"):
        pytest.skip("SKIPPED: github.com:443 is not reachable from this machine, so the real python-build-standalone "
                    "download location cannot be tested here")
    env = base_env(root)
    result = ok(monotrail(env, tmp_path, "python", "install", "3.12"))
    assert "monotrail: installed CPython 3.12." in result.stderr
    ran = ok(monotrail(env, tmp_path, "run", "--python", "3.12", "-c", "import sys; print(sys.base_prefix)"))
    assert ran.stdout.strip().startswith(str(root / "pythons"))
