"""`monotrail lock` end to end: pyproject.toml -> PEP 751 pylock.toml, validated with
`packaging.pylock`, read back by our own reader, deterministic; `run` in a project without a lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_checks import clean_error, ok
from conftest import Monotrail, base_env, front_door_bin
from index_fixtures import IndexServer, build_wheel

PYPROJECT = """
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["lib>=1"]

[project.optional-dependencies]
speed = ["fast"]

[dependency-groups]
dev = ["tester"]
"""


@pytest.fixture
def project(tmp_path: Path, index: IndexServer) -> Path:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name, version, requires in (("lib", "1.0", ()), ("lib", "1.2", ("helper>=2",)), ("helper", "1.0", ()), ("helper", "3.0", ()),
                                    ("fast", "1.0", ()), ("tester", "8.0", ("helper>=2",))):
        index.add(build_wheel(wheels, name, version, {f"{name}.py": f"VERSION = {version!r}\n"}, requires=requires))
    directory = tmp_path / "demo"
    directory.mkdir()
    (directory / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT).lstrip())
    (directory / "main.py").write_text("import lib, helper\nprint('lib', lib.VERSION)\n")
    return directory


def lock(monotrail: Monotrail, project: Path, index: IndexServer, *args: str) -> subprocess.CompletedProcess:
    return monotrail.run("+3.12", "lock", "--index-url", f"{index.url}/simple", *args, cwd=project)


def test_lock_writes_a_valid_pylock_with_extras_and_groups(monotrail: Monotrail, project: Path, index) -> None:
    from packaging.pylock import Pylock
    from packaging.specifiers import SpecifierSet

    from monotrail.lock import read_lock
    from monotrail.lock.tomlfile import load_toml

    ok(lock(monotrail, project, index))
    path = project / "pylock.toml"
    pylock = Pylock.from_dict(load_toml(path))  # raises on anything PEP 751 forbids
    assert str(pylock.created_by) == "monotrail" and [str(e) for e in pylock.extras] == ["speed"]
    assert [str(g) for g in pylock.dependency_groups] == ["dev"] and [str(g) for g in pylock.default_groups] == ["dev"]
    # `+3.12 lock` narrows the targets to 3.12 (on every platform), and requires-python says so
    assert pylock.requires_python == SpecifierSet(">=3.12,<3.13")
    assert [str(e) for e in pylock.environments] == [f'sys_platform == "{p}" and python_version == "3.12"'
                                                      for p in ("linux", "darwin", "win32")]
    markers = {str(p.name): (str(p.version), p.marker and str(p.marker)) for p in pylock.packages}
    assert markers == {
        "fast": ("1.0", '"speed" in extras'),
        "helper": ("3.0", None),
        "lib": ("1.2", None),
        "tester": ("8.0", '"dev" in dependency_groups'),
    }
    lock_model = read_lock(path)  # our own reader: the round trip
    assert lock_model.format == "pylock" and set(lock_model.extras) == {"speed"}
    assert all(p.wheels and p.wheels[0].sha256 for p in lock_model.packages)


def test_lock_is_deterministic_and_up_to_date(monotrail: Monotrail, project: Path, index) -> None:
    ok(lock(monotrail, project, index))
    first = (project / "pylock.toml").read_bytes()
    again = ok(lock(monotrail, project, index))
    assert "up to date" in again.stderr
    (project / "pylock.toml").unlink()
    shutil.rmtree(monotrail.root / "cache")
    ok(lock(monotrail, project, index))
    assert (project / "pylock.toml").read_bytes() == first


def test_lock_only_the_named_extra_and_group(monotrail: Monotrail, project: Path, index) -> None:
    ok(lock(monotrail, project, index, "--extra", "speed"))
    text = (project / "pylock.toml").read_text()
    assert 'name = "fast"' in text and 'name = "tester"' in text  # groups default to all
    with_unknown = lock(monotrail, project, index, "--extra", "nope")
    assert with_unknown.returncode != 0 and "unknown extra 'nope'" in with_unknown.stderr


def test_run_in_a_project_without_a_lock_locks_first(monotrail: Monotrail, project: Path, index) -> None:
    result = ok(monotrail.run("+3.12", "run", "--index-url", f"{index.url}/simple", "main.py", cwd=project))
    assert result.stdout.strip() == "lib 1.2"
    assert (project / "pylock.toml").is_file()


# A read-only checkout (a mounted volume, a container), simulated at the OS boundary: tests run as
# root, whom chmod does not stop, and mounting needs privileges CI may not have. An audit hook in
# the CLI's process fails every write under the directory with EROFS, as the kernel would.
READ_ONLY_SITE = """
import errno, os, sys

_TOP = os.environ["TEST_READ_ONLY_DIR"].rstrip("/")
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# event -> the (path, dir_fd) positions it changes; shutil.rmtree works relative to a dir_fd
_CHANGES = {"os.mkdir": [(0, 2)], "os.remove": [(0, 1)], "os.rmdir": [(0, 1)], "os.chmod": [(0, 2)],
            "os.utime": [(0, 3)], "os.rename": [(0, 2), (1, 3)], "os.link": [(1, 3)], "os.symlink": [(1, 2)]}


def _inside(path, dir_fd):
    if isinstance(path, int):
        return False
    path = os.fsdecode(path)
    if dir_fd not in (None, -1) and not os.path.isabs(path):
        path = os.path.join(os.readlink("/proc/self/fd/%d" % dir_fd), path)
    path = os.path.abspath(path)
    return path == _TOP or path.startswith(_TOP + "/")


def _read_only(event, args):
    if event == "open":
        changed = [(args[0], None)] if args[2] is not None and args[2] & _WRITES else []
    else:
        changed = [(args[at], args[fd]) for at, fd in _CHANGES.get(event, [])]
    for path, dir_fd in changed:
        if _inside(path, dir_fd):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))


sys.addaudithook(_read_only)
"""


def read_only(tmp_path: Path, directory: Path) -> dict:
    """The environment that makes `directory` read-only for the monotrail process."""
    site = tmp_path / "read-only-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(READ_ONLY_SITE)
    return {"PYTHONPATH": str(site), "TEST_READ_ONLY_DIR": str(directory)}


def test_run_in_a_read_only_project_without_a_lock_keeps_the_lock_in_the_store(
        monotrail: Monotrail, project: Path, index, tmp_path: Path) -> None:
    env = read_only(tmp_path, project)
    args = ("+3.12", "run", "--index-url", f"{index.url}/simple", "main.py")
    first = ok(monotrail.run(*args, cwd=project, env=env))
    assert first.stdout.strip() == "lib 1.2" and not (project / "pylock.toml").exists()
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"cannot write {project / 'pylock.toml'}" in warnings[0], first.stderr
    assert "Read-only file system" in warnings[0] and "kept in the store" in warnings[0]
    asked = len(index.requests("/simple"))
    again = ok(monotrail.run(*args, cwd=project, env=env))
    assert again.stdout.strip() == "lib 1.2" and "warning" not in again.stderr
    assert len(index.requests("/simple")) == asked  # the kept lock is used: nothing resolved again
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text().replace('"lib>=1"', '"lib<1.1"'))
    changed = ok(monotrail.run(*args, cwd=project, env=env))
    assert changed.stdout.strip() == "lib 1.0" and not (project / "pylock.toml").exists()


def test_front_door_serves_a_read_only_project_warm_until_its_pyproject_changes(
        monotrail: Monotrail, project: Path, index, tmp_path: Path) -> None:
    """The kept lock is in the store, but the warm entry watches the project's pyproject.toml."""
    bin_dir = front_door_bin(tmp_path / "bin")
    launcher = bin_dir / "monotrail-launcher"
    # .python-version bounds the directories the warm entry watches (else up to /, and /tmp changes)
    (project / ".python-version").write_text("3.12\n")
    env = base_env(monotrail.root, UV_INDEX_URL=f"{index.url}/simple", **read_only(tmp_path, project))
    env["PATH"] = f"{bin_dir}:{env['PATH']}"

    def run(age: bool = True) -> str:
        # files changed within 2 s keep the warm entry from being written (one-second -nt): age them
        for path in [project, *project.iterdir(), *(monotrail.root / "resolved").rglob("pylock.toml")] if age else []:
            os.utime(path, (1_600_000_000, 1_600_000_000))
        result = subprocess.run(["monotrail", "run", "main.py"], cwd=project, env=env, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=60)
        return ok(result).stdout.strip()

    assert run() == "lib 1.2" and run() == "lib 1.2"
    assert list((monotrail.root / "warm").rglob("script-main.py"))
    launcher.write_text("#!/bin/sh\necho launcher >&2; exit 99\n")
    assert run() == "lib 1.2"  # served by the front door alone
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m monotrail "$@"\n')
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text().replace('"lib>=1"', '"lib<1.1"'))
    os.utime(project / "pyproject.toml", (1_900_000_000, 1_900_000_000))  # newer than the entry, whatever the clock
    assert run(age=False) == "lib 1.0" and not (project / "pylock.toml").exists()


def test_a_read_only_project_is_installed_as_if_its_lock_were_beside_it(
        monotrail: Monotrail, index, tmp_path: Path) -> None:
    """The kept lock names its project: the project itself is installed editable (its metadata,
    here), as from a pylock.toml beside it."""
    from test_editable import tree_project

    project = tree_project(tmp_path / "app", "demo-app")
    version_of = "import importlib.metadata as m; print(m.version('demo-app'))"
    args = ("+3.12", "run", "--index-url", f"{index.url}/simple", "python", "-c", version_of)
    result = ok(monotrail.run(*args, cwd=project, env=read_only(tmp_path, project)))
    assert result.stdout.strip() == "1.0" and "kept in the store" in result.stderr
    assert not (project / "pylock.toml").exists()


def test_lock_in_a_read_only_project_is_one_error(monotrail: Monotrail, project: Path, index, tmp_path: Path) -> None:
    result = monotrail.run("+3.12", "lock", "--index-url", f"{index.url}/simple", cwd=project,
                           env=read_only(tmp_path, project))
    line = clean_error(result)
    assert line == f"error: cannot write {project / 'pylock.toml'}: Read-only file system", line
    assert "internal error" not in result.stderr


def test_locked_project_runs_with_its_dev_group(monotrail: Monotrail, project: Path, index) -> None:
    ok(lock(monotrail, project, index))
    result = ok(monotrail.run("+3.12", "run", "--index-url", f"{index.url}/simple", "python", "-c",
                              "import tester, lib; print(lib.VERSION)", cwd=project))
    assert result.stdout.strip() == "1.2"


@pytest.mark.parametrize("text, where", [
    ('[project]\nname = "x"\ndependencies = ["lib >>= 1"]\n', "pyproject.toml:3"),
    ('[project]\nname = "x"\ndependencies = [\n', "pyproject.toml:"),
])
def test_malformed_pyproject_names_file_and_line(monotrail: Monotrail, project: Path, index, text, where) -> None:
    (project / "pyproject.toml").write_text(text)
    result = lock(monotrail, project, index)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and where in result.stderr.splitlines()[0]


def test_conflict_is_one_error_and_the_store_is_unchanged(monotrail: Monotrail, project: Path, index) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\ndependencies = ["lib>=1.2", "helper<2"]\n')
    result = lock(monotrail, project, index)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "helper" in result.stderr and "lib 1.2 requires helper" in result.stderr
    assert not (project / "pylock.toml").exists() and monotrail.store_listing() == []


def test_unknown_package_is_reported(monotrail: Monotrail, project: Path, index) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\ndependencies = ["nonexistent-pkg"]\n')
    result = lock(monotrail, project, index)
    assert result.returncode != 0 and "'nonexistent-pkg' was not found on the index" in result.stderr


def test_offline_with_nothing_cached_fails_cleanly(monotrail: Monotrail, project: Path, index) -> None:
    result = lock(monotrail, project, index, "--offline")
    assert result.returncode != 0 and "Traceback" not in result.stderr and "offline" in result.stderr


def test_uv_installs_our_pylock(monotrail: Monotrail, uv: Path, project: Path, index, tmp_path: Path, py312: Path) -> None:
    ok(lock(monotrail, project, index))
    venv = tmp_path / "venv"
    env = {"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(tmp_path / "uvcache"), "NO_PROXY": "127.0.0.1"}
    ok(subprocess.run([str(uv), "venv", "-q", "-p", str(py312), str(venv)], env=env, capture_output=True, text=True))
    ok(subprocess.run([str(uv), "pip", "install", "-q", "-p", str(venv / "bin" / "python"), "-r",
                       str(project / "pylock.toml")], env=env, capture_output=True, text=True))
    result = ok(subprocess.run([str(venv / "bin" / "python"), "-c", "import lib, helper; print(lib.VERSION)"],
                               capture_output=True, text=True))
    assert result.stdout.strip() == "1.2"
