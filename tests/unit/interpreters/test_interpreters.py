"""Interpreter discovery: request parsing, precedence, pyenv shims, the probe cache, real tags.

Fake interpreters are small shell scripts that ignore their arguments, append their path to a log
(so tests can count probe runs) and print a canned probe answer. Real-interpreter tests use the
pyenv versions installed on this machine and skip when one is missing.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monotrail.interpreters import discovery as interpreters
from monotrail.errors import InterpreterNotFound, SelectionError, UsageError
from monotrail.interpreters.discovery import (
    PythonRequest,
    SearchDirs,
    compute_tags,
    find_interpreter,
    list_interpreters,
    normalize_requires_python,
    probe,
)
from monotrail.interpreters import read_python_version_file

from bootstrap_fixtures import discovery_environ, find_python

ARCH = platform.machine()


def real_python(minor: str) -> Path:
    """The newest CPython `minor` ("3.8") this machine has, found as monotrail finds it."""
    found = find_python(int(minor.split(".")[1]))
    if found is None:
        pytest.skip(f"SKIPPED LOUDLY: monotrail finds no CPython {minor} here; install it to run this test")
    return found


def reported(python: Path, expression: str) -> str:
    """What the interpreter itself says `expression` is (`-S`: its own facts, not a site's)."""
    code = f"import platform, sys, sysconfig; print({expression})"
    return subprocess.run([str(python), "-S", "-c", code], capture_output=True, text=True, check=True).stdout.strip()


# ---------------------------------------------------------------------------------------------
# Request parsing

PARSE_TABLE = [
    # text, kind, version, implementation, free_threaded
    ("3", "version", (3,), None, False),
    ("3.8", "version", (3, 8), None, False),
    ("3.8.18", "version", (3, 8, 18), None, False),
    (" 3.12 ", "version", (3, 12), None, False),
    ("312", "version", (3, 12), None, False),
    ("3.13t", "version", (3, 13), None, True),
    ("3.13.0t", "version", (3, 13, 0), None, True),
    ("cpython3.12", "version", (3, 12), "cpython", False),
    ("cpython@3.12", "version", (3, 12), "cpython", False),
    ("cpython-3.12.1", "version", (3, 12, 1), "cpython", False),
    ("cp312", "version", (3, 12), "cpython", False),
    ("CPython@3.13t", "version", (3, 13), "cpython", True),
    ("cpython", "version", (), "cpython", False),
    ("python3.11", "version", (3, 11), None, False),
    ("python3", "version", (3,), None, False),
]


@pytest.mark.parametrize("text, kind, version, implementation, free_threaded", PARSE_TABLE)
def test_parse_version_requests(text, kind, version, implementation, free_threaded):
    request = PythonRequest.parse(text)
    assert (request.kind, request.version, request.implementation, request.free_threaded) == (
        kind, version, implementation, free_threaded)
    assert request.raw == text


@pytest.mark.parametrize("text, specifier", [
    (">=3.10", (">=3.10",)),
    (">=3.9,<3.13", (">=3.9,<3.13",)),
    ("~=3.10", ("~=3.10",)),
    ("==3.11.*", ("==3.11.*",)),
    ("^3.8", (">=3.8,<4.0",)),
])
def test_parse_specifier_requests(text, specifier):
    request = PythonRequest.parse(text)
    assert (request.kind, request.specifier) == ("specifier", specifier)


@pytest.mark.parametrize("text, kind, value", [
    ("/usr/bin/python3", "path", "/usr/bin/python3"),
    ("./venv/bin/python", "path", "./venv/bin/python"),
    ("venv/bin/python", "path", "venv/bin/python"),
    ("../python", "path", "../python"),
    ("~/bin/python", "path", "~/bin/python"),
    ("python", "command", "python"),
    ("pypy3", "command", "pypy3"),
    ("my-env", "command", "my-env"),
])
def test_parse_paths_and_commands(text, kind, value):
    request = PythonRequest.parse(text)
    assert request.kind == kind
    assert (request.path if kind == "path" else request.command) == value


@pytest.mark.parametrize("text", [
    "", "   ", "3.x", "3.8.18.1", "3.8.", "cpython@", "cpython@foo", "foo bar", ">=3.1x", "~=3",
    ">=", "^", "3t", "pypy@3.10", "2.7", "3.7", "4", "3.6.15", "python2.7", "py@3.12",
])
def test_malformed_or_unsupported_requests_are_usage_errors(text):
    with pytest.raises(UsageError) as raised:
        PythonRequest.parse(text)
    assert not isinstance(raised.value, InterpreterNotFound)
    assert repr(text) in raised.value.message or text.strip() in raised.value.message


@pytest.mark.parametrize("requires, expected", [
    (">=3.9", (">=3.9",)),
    ("^3.8", (">=3.8,<4.0",)),
    ("^3.8.1", (">=3.8.1,<4.0.0",)),
    ("~3.8", (">=3.8,<3.9",)),
    ("~3", (">=3,<4",)),
    (">= 3.8, < 4.0", (">=3.8,<4.0",)),
    (">=3.8 <3.12", (">=3.8,<3.12",)),
    ("3.10", ("==3.10.*",)),
    ("3.10.2", ("==3.10.2",)),
    ("*", ("",)),
    (">=2.7,<3.0 || >=3.5", (">=2.7,<3.0", ">=3.5")),
    # PEP 440 operators mean what PEP 440 says (uv and pip read a requires-python so); poetry's
    # own forms mean what poetry's markers say (monotrail.poetry_constraint)
    ("==3.10", ("==3.10",)),
    ("<=3.10", ("<=3.10",)),
    ("=3.10", ("==3.10.*",)),
    ("(^3.8)", (">=3.8,<4.0",)),
])
def test_requires_python_poetry_forms_become_pep440(requires, expected):
    assert normalize_requires_python(requires) == expected


# ---------------------------------------------------------------------------------------------
# .python-version


def test_python_version_file_first_non_comment_line_in_parents(tmp_path: Path):
    (tmp_path / ".python-version").write_text("# pinned\n\n  cpython@3.12  \n3.11\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert read_python_version_file(nested) == ("cpython@3.12", str(tmp_path / ".python-version"))


def test_python_version_file_nearest_wins_and_empty_files_are_skipped(tmp_path: Path):
    (tmp_path / ".python-version").write_text("3.9\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".python-version").write_text("3.12.1\n")
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "b" / ".python-version").write_text("# nothing\n")
    assert read_python_version_file(tmp_path / "a" / "b") == ("3.12.1", str(tmp_path / "a" / ".python-version"))


def test_python_version_file_absent(tmp_path: Path):
    if read_python_version_file(Path("/")) is not None:
        pytest.skip("a /.python-version exists on this machine")
    found = read_python_version_file(tmp_path)
    assert found is None or Path(found[1]).parent not in (tmp_path, *tmp_path.parents)


def test_warm_path_import_is_light():
    code = ("import sys, monotrail.interpreters as i; i.read_python_version_file('.');"
            "print(sorted(m for m in ('packaging', 'subprocess', 'hashlib', 'tempfile') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Fake interpreters


def fake_facts(version: str, *, free_threaded: bool = False, executable: str = "") -> dict[str, object]:
    """A probe answer shaped exactly like `_probe.py`'s, for a glibc x86_64 Linux CPython."""
    major, minor, micro = (int(p) for p in version.split("."))
    return {
        "version": [major, minor, micro, "final", 0],
        "implementation": "cpython",
        "free_threaded": free_threaded,
        "py_debug": 0,
        "has_refcount": False,
        "py_version_nodot": f"{major}{minor}",
        "markers": {
            "implementation_name": "cpython", "implementation_version": version, "os_name": "posix",
            "platform_machine": "x86_64", "platform_release": "6.1", "platform_system": "Linux",
            "platform_version": "#1", "python_full_version": version,
            "platform_python_implementation": "CPython", "python_version": f"{major}.{minor}",
            "sys_platform": "linux",
        },
        "soabi": f"cpython-{major}{minor}{'t' if free_threaded else ''}-x86_64-linux-gnu",
        "ext_suffix": f".cpython-{major}{minor}-x86_64-linux-gnu.so",
        "ext_suffixes": [f".cpython-{major}{minor}-x86_64-linux-gnu.so", ".abi3.so", ".so"],
        "stdlib": f"/fake/lib/python{major}.{minor}",
        "platstdlib": f"/fake/lib/python{major}.{minor}",
        "sys_executable": executable,
        "prefix": "/fake", "base_prefix": "/fake",
        "platform": "linux-x86_64",
        "machine": "x86_64",
        "libc": ["glibc", "2.36"],
        "pointer_bits": 64,
    }


class Fakes:
    """A temp world: a PATH dir, a pyenv root, a uv dir, and a log of probe runs."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.path_dir = base / "bin"
        self.pyenv = base / "pyenv"
        self.uv = base / "uv-python"
        self.log = base / "probes.log"
        self.root = base / "root"
        for directory in (self.path_dir, self.pyenv / "versions", self.uv, self.root):
            directory.mkdir(parents=True)
        self.log.touch()

    def python(self, directory: Path, name: str, version: str, free_threaded: bool = False,
               facts: dict[str, object] | None = None) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        binary = directory / name
        answer = directory / f".facts-{name}.json"
        answer.write_text(json.dumps(facts or fake_facts(version, free_threaded=free_threaded,
                                                         executable=str(binary))))
        binary.write_text(f'#!/bin/sh\necho "$0" >> "{self.log}"\ncat "{answer}"\n')
        binary.chmod(0o755)
        return binary

    def pyenv_python(self, version: str, free_threaded: bool = False) -> Path:
        minor = ".".join(version.split(".")[:2])
        suffix = "t" if free_threaded else ""
        bin_dir = self.pyenv / "versions" / f"{version}{suffix}" / "bin"
        binary = self.python(bin_dir, f"python{minor}{suffix}", version, free_threaded)
        (bin_dir / "python3").symlink_to(binary.name)
        return binary

    def shim(self, directory: Path, name: str) -> Path:
        """A copy of pyenv's shim shape; it would run pyenv, and logs if it is ever run."""
        directory.mkdir(parents=True, exist_ok=True)
        shim = directory / name
        shim.write_text(
            "#!/usr/bin/env bash\nset -e\n"
            f'echo "SHIM $0" >> "{self.log}"\n'
            f'export PYENV_ROOT="{self.pyenv}"\n'
            f'exec "{self.pyenv}/libexec/pyenv" exec "${{0##*/}}" "$@"\n'
        )
        shim.chmod(0o755)
        return shim

    def environ(self, **extra: str) -> dict[str, str]:
        env = {"PATH": f"{self.path_dir}{os.pathsep}{self.pyenv / 'shims'}", "PYENV_ROOT": str(self.pyenv),
               "UV_PYTHON_INSTALL_DIR": str(self.uv), "HOME": str(self.base)}
        env.update(extra)
        return env

    def runs(self) -> list:
        return self.log.read_text().splitlines()

    def find(self, request: str | None, start_dir: Path | None = None,
             requires_python: str | None = None, **environ: str):
        return find_interpreter(request, requires_python=requires_python, start_dir=start_dir or self.base,
                                root=self.root, environ=self.environ(**environ))


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    """PATH: python3.11 (3.11.4). pyenv: 3.8.18, 3.9.18, 3.12.0, 3.12.1, 3.13.0t. uv: 3.10.5.
    pyenv's shims dir holds a python3.12 shim that must never run."""
    monkeypatch.setattr(interpreters, "SYSTEM_DIRS", ())
    world = Fakes(tmp_path)
    world.python(world.path_dir, "python3.11", "3.11.4")
    for version in ("3.8.18", "3.9.18", "3.12.0", "3.12.1"):
        world.pyenv_python(version)
    world.pyenv_python("3.13.0", free_threaded=True)
    world.python(world.uv / "cpython-3.10.5-linux-x86_64-gnu" / "bin", "python3.10", "3.10.5")
    world.shim(world.pyenv / "shims", "python3.12")
    world.shim(world.pyenv / "shims", "python")
    return world


def found_version(interpreter) -> str:
    return interpreter.full_version + ("t" if interpreter.free_threaded else "")


PRECEDENCE_TABLE = [
    # id, request, MONOTRAIL_PYTHON, .python-version, requires_python, expected version, expected source
    ("explicit minor picks newest patch", "3.12", None, None, None, "3.12.1", "pyenv"),
    ("explicit patch", "3.12.0", None, None, None, "3.12.0", "pyenv"),
    ("explicit beats env", "3.8", "3.9", None, None, "3.8.18", "pyenv"),
    ("env beats .python-version", None, "3.9", "3.12", None, "3.9.18", "pyenv"),
    (".python-version", None, None, "3.10", None, "3.10.5", "uv"),
    (".python-version impl@version", None, None, "cpython@3.11", None, "3.11.4", "PATH"),
    ("default is newest, free-threaded excluded", None, None, None, None, "3.12.1", "pyenv"),
    ("default honours requires-python", None, None, None, "<3.12", "3.11.4", "PATH"),
    ("default honours poetry caret", None, None, None, "^3.8", "3.12.1", "pyenv"),
    ("default honours poetry tilde", None, None, None, "~3.9", "3.9.18", "pyenv"),
    ("major only", "3", None, None, ">=3.9", "3.12.1", "pyenv"),
    ("free-threaded on request", "3.13t", None, None, None, "3.13.0t", "pyenv"),
    ("specifier request", ">=3.9,<3.11", None, None, None, "3.10.5", "uv"),
    ("python3.X name", "python3.9", None, None, None, "3.9.18", "pyenv"),
    ("specifier request within requires-python", ">=3.8", None, None, "<3.10", "3.9.18", "pyenv"),
]


@pytest.mark.parametrize("request_, env, pinned, requires, expected, source",
                         [row[1:] for row in PRECEDENCE_TABLE], ids=[row[0] for row in PRECEDENCE_TABLE])
def test_selection_precedence(fakes: Fakes, request_, env, pinned, requires, expected, source):
    project = fakes.base / "project"
    (project / "src").mkdir(parents=True)
    if pinned:
        (project / ".python-version").write_text(f"{pinned}\n")
    environ = {"MONOTRAIL_PYTHON": env} if env else {}
    interpreter = fakes.find(request_, start_dir=project / "src", requires_python=requires, **environ)
    assert (found_version(interpreter), interpreter.source) == (expected, source)
    assert not [run for run in fakes.runs() if run.startswith("SHIM")]


def test_explicit_path_and_directory(fakes: Fakes):
    binary = fakes.pyenv / "versions" / "3.9.18" / "bin" / "python3.9"
    assert fakes.find(str(binary)).path == str(binary)
    by_prefix = fakes.find(str(fakes.pyenv / "versions" / "3.9.18"))
    assert by_prefix.version == (3, 9, 18)


def test_pyenv_version_name_in_python_version_file(fakes: Fakes):
    (fakes.base / ".python-version").write_text("3.12.0\n")
    assert fakes.find(None).version == (3, 12, 0)
    fakes.pyenv_python("3.11.9")
    (fakes.pyenv / "versions" / "myenv").symlink_to(fakes.pyenv / "versions" / "3.11.9")
    (fakes.base / ".python-version").write_text("myenv\n")
    assert fakes.find(None).version == (3, 11, 9)


def test_request_outside_requires_python_is_a_selection_error(fakes: Fakes):
    (fakes.base / ".python-version").write_text("3.8\n")
    with pytest.raises(SelectionError) as raised:
        fakes.find(None, requires_python=">=3.9")
    assert raised.value.message == (
        "Python 3.8.18 (from .python-version) does not satisfy the lock's requires-python >=3.9")
    assert raised.value.where == str(fakes.base / ".python-version")
    assert raised.value.hint


def test_explicit_path_outside_requires_python_is_a_selection_error(fakes: Fakes):
    with pytest.raises(SelectionError, match="Python 3.8.18 .from command line. does not satisfy"):
        fakes.find(str(fakes.pyenv / "versions" / "3.8.18" / "bin" / "python3.8"), requires_python="^3.9")


def test_not_found_is_one_line_of_the_versions_here_and_where_it_looked(fakes: Fakes):
    with pytest.raises(InterpreterNotFound) as raised:
        fakes.find("3.14")
    error = raised.value
    assert error.message == ("no Python 3.14 (from command line) found; found 3.8.18, 3.9.18, 3.10.5, 3.11.4, "
                             "3.12.0, 3.12.1, 3.13.0t (searched PATH, pyenv, uv)")
    assert error.hint.startswith("use one found (`monotrail +3.13 ...`); ")
    assert "python list --all" in error.hint


def test_not_found_leaves_unsupported_pythons_to_the_listing(fakes: Fakes):
    fakes.python(fakes.pyenv / "versions" / "2.7.18" / "bin", "python2.7", "2.7.18")
    fakes.python(fakes.pyenv / "versions" / "3.7.16" / "bin", "python3", "3.7.16")
    with pytest.raises(InterpreterNotFound) as raised:
        fakes.find(None, requires_python=">=3.14")
    assert raised.value.message.startswith("no Python satisfying requires-python >=3.14 found; found 3.8.18, ")
    assert "2.7" not in raised.value.message and "3.7" not in raised.value.message
    listed = {f.path: f for f in list_interpreters(fakes.root, fakes.environ())}
    python27 = listed[str(fakes.pyenv / "versions" / "2.7.18" / "bin" / "python2.7")]
    assert python27.interpreter is None and "not supported" in python27.problem
    python37 = listed[str(fakes.pyenv / "versions" / "3.7.16" / "bin" / "python3")]
    assert python37.interpreter is None and "Python 3.7 is not supported (3.7.16)" in python37.problem


@pytest.mark.parametrize(("definitions", "uv", "request_", "says"), [
    (["3.14.0", "3.14.2", "3.14-dev"], False, "3.14", "install it with `pyenv install 3.14.2`"),
    (["3.13.0", "3.13.0t"], False, "3.99", "pyenv knows no CPython 3.99 release (`pyenv install --list`"),
    (None, True, "3.99", "`uv python install 3.99` installs it if uv knows such a release"),
    (None, False, "3.99", "install CPython 3.99 from python.org, pyenv, uv or your system's packages"),
], ids=["pyenv can build it", "pyenv cannot", "uv", "neither"])
def test_not_found_offers_to_install_only_what_the_installer_knows(fakes: Fakes, definitions, uv, request_, says):
    if definitions is not None:
        directory = fakes.pyenv / "plugins" / "python-build" / "share" / "python-build"
        directory.mkdir(parents=True)
        for name in definitions:
            (directory / name).write_text("")
    if uv:
        fakes.python(fakes.path_dir, "uv", "3.11.4")  # any executable named uv on PATH
    with pytest.raises(InterpreterNotFound) as raised:
        fakes.find(request_)
    assert says in raised.value.hint


def test_malformed_request_from_python_version_file_names_the_file(fakes: Fakes):
    (fakes.base / ".python-version").write_text("3.x\n")
    with pytest.raises(UsageError) as raised:
        fakes.find(None)
    assert raised.value.where == str(fakes.base / ".python-version")
    assert "'3.x'" in raised.value.message


def test_unknown_command_is_not_found(fakes: Fakes):
    with pytest.raises(InterpreterNotFound, match="no Python found for 'nosuchpython'"):
        fakes.find("nosuchpython")


# ---------------------------------------------------------------------------------------------
# pyenv shims


def test_pyenv_shims_are_skipped_by_directory_and_by_content(fakes: Fakes):
    stray = fakes.base / "stray"
    fakes.shim(stray, "python3.9")  # a shim outside pyenv's shims dir: caught by its content
    fakes.shim(fakes.pyenv / "plugins" / "pyenv-virtualenv" / "shims", "python3")
    environ = fakes.environ(PATH=os.pathsep.join([
        str(fakes.pyenv / "shims"), str(fakes.pyenv / "plugins" / "pyenv-virtualenv" / "shims"),
        str(stray), str(fakes.path_dir)]))
    paths = [found.path for found in list_interpreters(fakes.root, environ)]
    assert not [p for p in paths if "shims" in Path(p).relative_to(fakes.base).parts or p.startswith(str(stray))]
    assert str(fakes.path_dir / "python3.11") in paths
    assert not [run for run in fakes.runs() if run.startswith("SHIM")]


def test_explicit_shim_path_resolves_to_the_real_binary(fakes: Fakes):
    real = fakes.pyenv / "versions" / "3.12.1" / "bin" / "python3.12"
    shim = fakes.python(fakes.pyenv / "shims", "python3", "3.12.1", facts=fake_facts("3.12.1", executable=str(real)))
    shim.write_text(shim.read_text().replace("#!/bin/sh\n", "#!/bin/sh\n# PYENV_ROOT shim look-alike\n"))
    assert interpreters.is_pyenv_shim(str(shim))
    assert fakes.find(str(shim)).path == str(real)


# ---------------------------------------------------------------------------------------------
# The probe cache


def test_cache_reuses_probe_until_binary_changes(fakes: Fakes):
    binary = str(fakes.pyenv / "versions" / "3.9.18" / "bin" / "python3.9")
    first = probe(binary, fakes.root)
    second = probe(binary, fakes.root)
    assert first == second
    assert fakes.runs() == [binary]
    cache = interpreters._cache_file(fakes.root, binary)
    assert cache.parent == fakes.root / "interpreters" and len(cache.stem) == 16
    assert json.loads(cache.read_text())["path"] == binary

    os.utime(binary, (first.mtime + 10, first.mtime + 10))
    assert probe(binary, fakes.root).mtime == first.mtime + 10
    assert len(fakes.runs()) == 2
    probe(binary, fakes.root)
    assert len(fakes.runs()) == 2


def test_cache_notices_size_change_and_corruption(fakes: Fakes):
    binary = fakes.pyenv / "versions" / "3.9.18" / "bin" / "python3.9"
    probe(str(binary), fakes.root)
    stat = binary.stat()
    binary.write_text(binary.read_text() + "# rebuilt\n")
    os.utime(binary, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    probe(str(binary), fakes.root)
    assert len(fakes.runs()) == 2
    interpreters._cache_file(fakes.root, str(binary)).write_text("{not json")
    probe(str(binary), fakes.root)
    assert len(fakes.runs()) == 3
    assert not list((fakes.root / "interpreters").glob(".tmp-*"))


def test_find_twice_probes_each_interpreter_once(fakes: Fakes):
    fakes.find(None)
    runs = len(fakes.runs())
    assert runs == 7  # every fake but the shims, each once
    fakes.find(None)
    fakes.find("3.12")
    assert len(fakes.runs()) == runs


def test_a_survey_lists_each_directory_once(fakes: Fakes, monkeypatch: pytest.MonkeyPatch):
    """A directory on PATH twice (here through a link, as /bin and /usr/bin) and read both for
    the survey and for what its remembered choice watches: one listing (a /usr/bin holds ~1,000
    names; issue 13, a PEP 723 script's first run)."""
    (fakes.base / "bin-link").symlink_to(fakes.path_dir)
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path="."):
        listed.append(os.path.realpath(path))
        return real_listdir(path)

    monkeypatch.setattr(interpreters.os, "listdir", listdir)
    path = os.pathsep.join([str(fakes.path_dir), str(fakes.base / "bin-link"), str(fakes.path_dir)])
    assert fakes.find("3.11", PATH=path).full_version == "3.11.4"
    assert listed.count(str(fakes.path_dir)) == 1


def test_prefetch_probes_fills_the_probe_cache_and_chooses_nothing(fakes: Fakes):
    """What the cold path runs while it parses the lock: the request's candidates probed into
    the cache, no choice remembered; the find that follows probes nothing again."""
    assert not interpreters.probes_kept(fakes.root)
    interpreters.prefetch_probes("3.12", start_dir=fakes.base, root=fakes.root, environ=fakes.environ())
    assert interpreters.probes_kept(fakes.root)
    wanted = sorted(str(fakes.pyenv / "versions" / v / "bin" / "python3.12") for v in ("3.12.0", "3.12.1"))
    assert sorted(fakes.runs()) == wanted
    assert not (fakes.root / "interpreters" / "choices").exists()
    assert fakes.find("3.12", requires_python=">=3.8").full_version == "3.12.1"
    assert sorted(fakes.runs()) == wanted


def test_prefetch_probes_nothing_without_a_version_request(fakes: Fakes):
    """Any Python: which ones the survey probes depends on the lock's requires-python."""
    interpreters.prefetch_probes(None, start_dir=fakes.base, root=fakes.root, environ=fakes.environ())
    interpreters.prefetch_probes("not a version", start_dir=fakes.base, root=fakes.root, environ=fakes.environ())
    assert fakes.runs() == []


def test_version_request_only_probes_matching_names(fakes: Fakes):
    fakes.find("3.9")
    assert fakes.runs() == [str(fakes.pyenv / "versions" / "3.9.18" / "bin" / "python3.9")]


def test_requires_python_alone_only_probes_names_that_may_satisfy_it(fakes: Fakes):
    """A PEP 723 script's `==3.12.*` on an empty probe cache starts the 3.12s, not every Python."""
    assert fakes.find(None, requires_python="==3.12.*").full_version == "3.12.1"
    assert sorted(fakes.runs()) == sorted(str(fakes.pyenv / "versions" / v / "bin" / "python3.12")
                                          for v in ("3.12.0", "3.12.1"))


@pytest.mark.parametrize("requires, probed_311", [(">=3.11.3", True), ("==3.11.4", True), (">=3.12", False),
                                                   ("<3.10", False), ("!=3.11.*", True), (">=3.8", True)])
def test_a_minor_named_python_is_probed_when_requires_python_may_allow_it(fakes: Fakes, requires, probed_311):
    """`python3.11` promises only its minor version: ruled out only when no 3.11.x can fit."""
    try:
        fakes.find(None, requires_python=requires)
    except InterpreterNotFound:
        pass
    assert (str(fakes.path_dir / "python3.11") in fakes.runs()) is probed_311


def test_broken_candidate_is_listed_with_its_problem(fakes: Fakes):
    broken = fakes.path_dir / "python3.12"
    broken.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    broken.chmod(0o755)
    assert fakes.find("3.12").version == (3, 12, 1)
    problems = {f.path: f.problem for f in list_interpreters(fakes.root, fakes.environ())}
    assert problems[str(broken)] == "probe failed: exit code 3: boom"


# ---------------------------------------------------------------------------------------------
# Tags computed from probe facts


def test_free_threaded_tags_use_the_t_abi():
    tags = compute_tags(fake_facts("3.13.0", free_threaded=True), "/nonexistent")
    assert tags[0] == "cp313-cp313t-linux_x86_64"
    assert "cp313-cp313t-manylinux_2_17_x86_64" in tags
    assert not [tag for tag in tags if "-abi3-" in tag]
    assert tags[-1] == "py30-none-any" and "cp313-none-any" in tags


def test_glibc_version_comes_from_the_target():
    old = dict(fake_facts("3.9.18"), libc=["glibc", "2.17"])
    tags = compute_tags(old, "/nonexistent")
    assert "cp39-cp39-manylinux_2_17_x86_64" in tags and "cp39-cp39-manylinux2014_x86_64" in tags
    assert "cp39-cp39-manylinux_2_18_x86_64" not in tags


# ---------------------------------------------------------------------------------------------
# Real interpreters


def test_real_discovery_finds_every_pyenv_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Every `versions/X.Y.Z/bin/pythonX.Y` of this machine's pyenv (3.8+), found from its shims
    on PATH alone: no PYENV_ROOT, a HOME without .pyenv."""
    pyenv_root = Path(discovery_environ()["PYENV_ROOT"])
    installed = {}
    for binary in sorted(pyenv_root.glob("versions/*/bin/python3.*")):
        version = binary.parent.parent.name
        minor = binary.name[len("python"):]
        if version.startswith(minor + ".") and version[len(minor) + 1:].isdigit() and int(minor[2:]) >= 8:
            installed[version] = str(binary)
    if not installed:
        pytest.skip(f"SKIPPED LOUDLY: no pyenv CPython 3.8+ under {pyenv_root / 'versions'}")
    monkeypatch.setattr(interpreters, "SYSTEM_DIRS", ())
    environ = {"PATH": str(pyenv_root / "shims"), "HOME": str(tmp_path)}
    if not (pyenv_root / "shims").is_dir():
        environ = {"PATH": "", "PYENV_ROOT": str(pyenv_root), "HOME": str(tmp_path)}
    found = list_interpreters(tmp_path, environ)
    versions = {f.interpreter.full_version: f.path for f in found if f.interpreter is not None}
    assert {version: versions.get(version) for version in installed} == installed
    assert all(f.source == "pyenv" for f in found)


def real(minor: str, root: Path):
    return find_interpreter(str(real_python(minor)), requires_python=None, start_dir=root, root=root, environ={})


@pytest.mark.parametrize("minor, best", [("3.8", "cp38-cp38"), ("3.12", "cp312-cp312")])
def test_real_tags(tmp_path: Path, minor: str, best: str):
    tags = real(minor, tmp_path).tags
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert f"{best}-manylinux_2_17_{ARCH}" in tags
    assert tags[0].startswith(f"{best}-")
    assert "py3-none-any" in tags


def test_real_38_markers_are_the_targets(tmp_path: Path):
    interpreter = real("3.8", tmp_path)
    full_version = reported(real_python("3.8"), "platform.python_version()")
    assert interpreter.markers["python_version"] == "3.8"
    assert interpreter.markers["python_full_version"] == full_version
    assert interpreter.markers["implementation_version"] == full_version
    assert interpreter.stdlib == reported(real_python("3.8"), "sysconfig.get_path('stdlib')")
    assert ".cpython-38-x86_64-linux-gnu.so" in interpreter.ext_suffixes or ARCH != "x86_64"


@pytest.mark.skipif(sys.version_info[:3] != (3, 12, 1), reason="compares with the launcher's own environment")
def test_real_312_markers_equal_packaging_default_environment(tmp_path: Path):
    from packaging.markers import default_environment

    assert dict(real("3.12", tmp_path).markers) == default_environment()


def test_relative_path_in_python_version_file_is_relative_to_the_file(fakes: Fakes):
    (fakes.base / "project" / "deep").mkdir(parents=True)
    (fakes.base / "project" / ".python-version").write_text("../pyenv/versions/3.9.18/bin/python3.9\n")
    interpreter = fakes.find(None, start_dir=fakes.base / "project" / "deep")
    assert interpreter.version == (3, 9, 18)
    assert interpreter.path == str(fakes.pyenv / "versions" / "3.9.18" / "bin" / "python3.9")


def test_command_seen_through_a_pyenv_shim_when_nothing_else_has_it(fakes: Fakes):
    real_binary = fakes.pyenv / "versions" / "3.12.1" / "bin" / "python3.12"
    shim = fakes.python(fakes.pyenv / "shims", "python", "3.12.1",
                        facts=fake_facts("3.12.1", executable=str(real_binary)))
    shim.write_text(shim.read_text().replace("#!/bin/sh\n", "#!/bin/sh\n# PYENV_ROOT shim look-alike\n"))
    assert fakes.find("python").path == str(real_binary)


def test_selected_and_listed_interpreters_carry_their_tags(fakes: Fakes):
    assert fakes.find(None).tags[0] == "cp312-cp312-linux_x86_64"
    for found in list_interpreters(fakes.root, fakes.environ()):
        if found.interpreter is not None:
            nodot = "".join(map(str, found.interpreter.version[:2]))
            assert f"cp{nodot}-none-any" in found.interpreter.tags


def test_pyenv_root_is_found_from_its_shims_on_path_without_pyenv_root(tmp_path: Path):
    root = tmp_path / "somewhere" / "pyenv"
    (root / "versions").mkdir(parents=True)
    (root / "shims").mkdir()
    environ = {"HOME": str(tmp_path / "home"), "PATH": f"/usr/bin:{root / 'shims'}"}
    assert SearchDirs.from_environ(environ).pyenv_root == str(root)
    assert SearchDirs.from_environ({"HOME": str(tmp_path / "home"), "PATH": "/usr/bin"}).pyenv_root == str(
        tmp_path / "home" / ".pyenv"
    )


@pytest.mark.parametrize("where", ["one directory above", "beside the executable"])
def test_a_virtual_environments_python_is_listed_as_such_and_never_picked(fakes: Fakes, where: str):
    """PEP 405's pyvenv.cfg (with a `home` key) marks a venv; its python, first on PATH, must not
    hide the base interpreter it links to (dedup by realpath) nor be picked for a version."""
    base = fakes.pyenv / "versions" / "3.12.1" / "bin" / "python3.12"
    venv = fakes.base / "venv"
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3.12").symlink_to(base)
    config = venv / "pyvenv.cfg" if where == "one directory above" else bin_dir / "pyvenv.cfg"
    config.write_text(f"home = {base.parent}\ninclude-system-site-packages = false\n")
    environ = fakes.environ(PATH=f"{bin_dir}{os.pathsep}{fakes.path_dir}")
    listed = {f.path: f for f in list_interpreters(fakes.root, environ)}
    assert listed[str(bin_dir / "python3.12")].interpreter is None
    assert "virtual environment" in listed[str(bin_dir / "python3.12")].problem
    assert listed[str(base)].interpreter is not None
    picked = find_interpreter("3.12", requires_python=None, start_dir=fakes.base, root=fakes.root, environ=environ)
    assert picked.path == str(base)


def test_a_pyvenv_cfg_without_home_is_not_a_virtual_environment(fakes: Fakes):
    (fakes.base / "pyvenv.cfg").write_text("# not a venv: PEP 405 needs a home key\n")
    listed = {f.path: f for f in list_interpreters(fakes.root, fakes.environ())}
    assert listed[str(fakes.path_dir / "python3.11")].interpreter is not None


# ---------------------------------------------------------------------------------------------
# The remembered choice (monotrail.interpreters.choices)


def settle(fakes: Fakes) -> None:
    """Age the fake world by a minute: a choice is only kept once what it watches is 2 s old."""
    past = time.time() - 60
    for directory, dirs, files in os.walk(fakes.base):
        for name in [*dirs, *files]:
            os.utime(os.path.join(directory, name), (past, past), follow_symlinks=False)
    os.utime(fakes.base, (past, past))


def remembered(fakes: Fakes, request: str | None, monkeypatch: pytest.MonkeyPatch, **kwargs):
    """find_interpreter with the survey forbidden: only a remembered choice can answer."""
    def no_survey(*args, **kw):
        raise AssertionError("surveyed")

    with monkeypatch.context() as patch:
        patch.setattr(interpreters, "_survey", no_survey)
        return fakes.find(request, **kwargs)


def test_a_version_request_answered_before_is_not_surveyed_again(fakes: Fakes, monkeypatch: pytest.MonkeyPatch):
    settle(fakes)
    first = fakes.find("3.12", requires_python=">=3.9")
    assert list((fakes.root / "interpreters" / "choices").iterdir())
    assert remembered(fakes, "3.12", monkeypatch, requires_python=">=3.9") == first
    # another request or requires-python is another question
    with pytest.raises(AssertionError, match="surveyed"):
        remembered(fakes, "3.12", monkeypatch, requires_python=">=3.10")
    with pytest.raises(AssertionError, match="surveyed"):
        remembered(fakes, "3.11", monkeypatch)


def test_no_choice_is_kept_while_what_it_watches_just_changed(fakes: Fakes):
    fakes.find("3.12")  # the fake world was made within the last two seconds
    assert not (fakes.root / "interpreters" / "choices").exists()


def test_a_newer_patch_installed_later_is_picked(fakes: Fakes):
    settle(fakes)
    assert fakes.find("3.12").full_version == "3.12.1"
    fakes.pyenv_python("3.12.2")
    assert fakes.find("3.12").full_version == "3.12.2"


def test_a_python_appearing_in_a_path_directory_that_did_not_exist_is_picked(fakes: Fakes):
    later = fakes.base / "later-bin"
    environ = {"PATH": f"{later}{os.pathsep}{fakes.path_dir}"}
    settle(fakes)
    assert fakes.find("3.11", **environ).full_version == "3.11.4"
    fakes.python(later, "python3.11", "3.11.9")
    assert fakes.find("3.11", **environ).full_version == "3.11.9"


def test_a_python_made_executable_later_is_picked(fakes: Fakes):
    waiting = fakes.python(fakes.path_dir, "python3.12", "3.12.5")
    waiting.chmod(0o644)
    settle(fakes)
    assert fakes.find("3.12").full_version == "3.12.1"
    waiting.chmod(0o755)
    assert fakes.find("3.12").full_version == "3.12.5"


def test_a_removed_or_replaced_choice_is_not_used(fakes: Fakes):
    settle(fakes)
    chosen = fakes.find("3.12")
    assert chosen.full_version == "3.12.1"
    binary = Path(chosen.path)
    binary.write_text(binary.read_text() + "# rebuilt\n")  # same directory entries, another binary
    (binary.parent / f".facts-{binary.name}.json").write_text(json.dumps(fake_facts("3.12.3", executable=str(binary))))
    assert fakes.find("3.12").full_version == "3.12.3"
    shutil.rmtree(fakes.pyenv / "versions" / "3.12.1")
    assert fakes.find("3.12").full_version == "3.12.0"


def test_a_changed_python_version_file_is_another_request(fakes: Fakes):
    project = fakes.base / "project"
    project.mkdir()
    (project / ".python-version").write_text("3.12\n")
    settle(fakes)
    assert fakes.find(None, start_dir=project).full_version == "3.12.1"
    (project / ".python-version").write_text("3.9\n")
    assert fakes.find(None, start_dir=project).full_version == "3.9.18"


def test_a_torn_choice_is_a_miss(fakes: Fakes):
    settle(fakes)
    fakes.find("3.12")
    for record in (fakes.root / "interpreters" / "choices").iterdir():
        text = record.read_text()
        record.write_text(text[:-3])  # cut inside the last watched line: that path is not checked
        assert interpreters.choices.read_choice(str(fakes.root), record.name) is None
        record.write_text('{"format": 1, "path": ')
    assert fakes.find("3.12").full_version == "3.12.1"
