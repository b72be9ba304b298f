"""`monotrail lock` for several targets (Python minor x platform) into one pylock.toml: versions that
differ by Python and by platform, each selected back on its own target; deterministic bytes; a
target that cannot be resolved named in the error."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from cli_checks import clean_error, ok
from conftest import Monotrail, _python, base_env, front_door_bin
from index_fixtures import IndexServer, build_wheel

PYPROJECT = """
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["backport ; python_version < '3.11'", "modern", "native", "core"]
"""

MAIN = """
import sys
from importlib.metadata import version, PackageNotFoundError
for name in ("backport", "modern", "native", "core", "wincolor"):
    try:
        print(name, version(name))
    except PackageNotFoundError:
        print(name, "-")
"""


def _add(index: IndexServer, wheels: Path, name: str, version: str, tag: str = "py3-none-any", *,
         requires: tuple = (), requires_python: str | None = None) -> None:
    module = {f"{name}.py": f"VERSION = {version!r}\n"}
    index.add(build_wheel(wheels, name, version, module, tag=tag, requires=requires, requires_python=requires_python),
              requires_python=requires_python)


@pytest.fixture
def project(tmp_path: Path, index: IndexServer) -> Path:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _add(index, wheels, "backport", "1.0")  # wanted only below 3.11
    _add(index, wheels, "modern", "1.0")
    _add(index, wheels, "modern", "2.0", requires_python=">=3.10")  # the newest dropped 3.9
    _add(index, wheels, "native", "0.9")
    _add(index, wheels, "native", "1.0", tag="py3-none-manylinux_2_17_x86_64")  # a wheel for Linux only
    _add(index, wheels, "core", "1.0", requires=("wincolor ; sys_platform == 'win32'",))
    _add(index, wheels, "wincolor", "1.0")
    directory = tmp_path / "demo"
    directory.mkdir()
    (directory / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT).lstrip())
    (directory / "main.py").write_text(MAIN)
    return directory


def lock(monotrail: Monotrail, project: Path, index: IndexServer, *args: str) -> subprocess.CompletedProcess:
    return monotrail.run("lock", "--index-url", f"{index.url}/simple", *args, cwd=project)


def packages(project: Path) -> dict[tuple[str, str], str | None]:
    from packaging.pylock import Pylock

    from monotrail.lock.tomlfile import load_toml

    pylock = Pylock.from_dict(load_toml(project / "pylock.toml"))  # raises on anything PEP 751 forbids
    return {(str(p.name), str(p.version)): p.marker and str(p.marker) for p in pylock.packages}


def test_lock_for_two_pythons_and_three_platforms_marks_what_differs(monotrail: Monotrail, project: Path, index) -> None:
    ok(lock(monotrail, project, index, "--python", "3.9", "--python", "3.13"))
    assert packages(project) == {
        ("backport", "1.0"): 'python_version < "3.13"',
        ("core", "1.0"): None,
        ("modern", "1.0"): 'python_version < "3.13"',
        ("modern", "2.0"): 'python_version >= "3.13"',
        ("native", "0.9"): 'sys_platform == "darwin" or sys_platform == "win32"',
        ("native", "1.0"): 'sys_platform == "linux"',
        ("wincolor", "1.0"): 'sys_platform == "win32"',
    }
    text = (project / "pylock.toml").read_text()
    assert 'requires-python = ">=3.9,<3.14,!=3.10.*,!=3.11.*,!=3.12.*"' in text
    assert 'sys_platform == \\"win32\\" and (python_version == \\"3.9\\" or python_version == \\"3.13\\")' in text


def test_the_lock_runs_on_each_python_with_that_pythons_versions(monotrail: Monotrail, project: Path, index) -> None:
    py39, py313 = _python(9), _python(13)
    ok(lock(monotrail, project, index, "--python", "3.9", "--python", "3.13", "--platform", "linux"))
    result = ok(monotrail.run("-p", str(py39), "-p", str(py313), "run", "main.py", cwd=project))
    runs = result.stdout.strip().split("backport ")[1:]
    assert ["backport " + run.strip() for run in runs] == [
        "backport 1.0\nmodern 1.0\nnative 1.0\ncore 1.0\nwincolor -",
        "backport -\nmodern 2.0\nnative 1.0\ncore 1.0\nwincolor -",
    ]


def test_a_python_outside_the_locked_targets_is_refused_and_never_picked(monotrail: Monotrail, project: Path,
                                                                         index) -> None:
    py312, _ = _python(12), _python(13)
    ok(lock(monotrail, project, index, "--python", "3.9", "--python", "3.13"))
    failed = clean_error(monotrail.run("--python", str(py312), "run", "main.py", cwd=project))
    assert "does not satisfy the lock's requires-python" in failed
    picked = ok(monotrail.run("run", "python", "-c", "import sys; print(sys.version_info[:2])", cwd=project))
    assert picked.stdout.strip() in ("(3, 13)", "(3, 9)")  # not the newer 3.12 nor a 3.14 the lock was not made for


def test_default_targets_are_every_allowed_python_on_three_platforms(monotrail: Monotrail, project: Path, index) -> None:
    ok(lock(monotrail, project, index))
    found = packages(project)
    assert found[("modern", "1.0")] == 'python_version < "3.10"' and found[("modern", "2.0")] == 'python_version >= "3.10"'
    assert found[("backport", "1.0")] == 'python_version < "3.11"'
    text = (project / "pylock.toml").read_text()
    assert 'environments = ["sys_platform == \\"linux\\" and python_version >= \\"3.9\\" and python_version <= \\"3.14\\""' in text
    run = ok(monotrail.run("--python", str(_python(12)), "run", "main.py", cwd=project))
    assert run.stdout.split() == ["backport", "-", "modern", "2.0", "native", "1.0", "core", "1.0", "wincolor", "-"]


def test_lock_is_deterministic_and_up_to_date_for_the_same_targets(monotrail: Monotrail, project: Path, index) -> None:
    ok(lock(monotrail, project, index))
    first = (project / "pylock.toml").read_bytes()
    shutil.rmtree(monotrail.root)  # a fresh store and cache: resolved again from the index
    (project / "pylock.toml").unlink()
    ok(lock(monotrail, project, index))
    assert (project / "pylock.toml").read_bytes() == first
    again = ok(lock(monotrail, project, index))
    assert "up to date" in again.stderr
    narrowed = ok(lock(monotrail, project, index, "--python", "3.13"))  # other targets: other inputs
    assert "wrote" in narrowed.stderr and (project / "pylock.toml").read_bytes() != first


def test_a_target_without_any_file_fails_the_lock_naming_it(monotrail: Monotrail, project: Path, index, tmp_path: Path) -> None:
    _add(index, tmp_path / "wheels", "linuxonly", "1.0", tag="py3-none-manylinux_2_17_x86_64")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"core"]', '"core", "linuxonly"]'))
    result = lock(monotrail, project, index, "--python", "3.13")
    failed = clean_error(result)
    assert "cannot lock for CPython 3.13 on macos: " in failed and "linuxonly" in failed
    assert "failing: CPython 3.13 on macos, CPython 3.13 on windows" in result.stderr and "--platform" in result.stderr
    assert not (project / "pylock.toml").exists()
    ok(lock(monotrail, project, index, "--python", "3.13", "--platform", "linux"))
    assert packages(project)[("linuxonly", "1.0")] is None


def test_unknown_platform_and_python_are_usage_errors(monotrail: Monotrail, project: Path, index) -> None:
    assert "beos" in clean_error(lock(monotrail, project, index, "--platform", "beos"))
    failed = clean_error(lock(monotrail, project, index, "--python", "3.8"))
    assert "excludes Python 3.8" in failed


@pytest.mark.parametrize("minor, expected", [(9, {"backport": "1.0", "modern": "1.0"}), (13, {"modern": "2.0"})])
def test_uv_installs_each_targets_versions(monotrail: Monotrail, uv: Path, project: Path, index, tmp_path: Path,
                                          minor: int, expected: dict) -> None:
    python = _python(minor)
    ok(lock(monotrail, project, index, "--python", "3.9", "--python", "3.13"))
    venv = tmp_path / "venv"
    env = {"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(tmp_path / "uvcache"), "NO_PROXY": "127.0.0.1"}
    ok(subprocess.run([str(uv), "venv", "-q", "-p", str(python), str(venv)], env=env, capture_output=True, text=True))
    ok(subprocess.run([str(uv), "pip", "install", "-q", "-p", str(venv / "bin" / "python"), "-r",
                       str(project / "pylock.toml")], env=env, capture_output=True, text=True))
    listed = ok(subprocess.run([str(uv), "pip", "list", "-p", str(venv / "bin" / "python"), "--format", "json"],
                               env=env, capture_output=True, text=True))
    import json

    installed = {item["name"]: item["version"] for item in json.loads(listed.stdout)}
    assert installed == {**expected, "native": "1.0", "core": "1.0"}


REAL_PROJECT = """
[project]
name = "real"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["click", "tomli ; python_version < '3.11'"]
"""

REPORT = """
from importlib.metadata import distributions
print(sorted((d.metadata["Name"].lower(), d.version) for d in distributions() if d.metadata["Name"].lower() in ("click", "tomli", "colorama")))
"""


@pytest.mark.network
def test_a_real_project_locked_for_two_pythons_installs_alike_with_uv(monotrail: Monotrail, uv: Path, tmp_path: Path) -> None:
    """click 8.2 dropped Python 3.9: the 3.9 entries keep 8.1, the 3.13 ones take the newest."""
    pythons = {minor: _python(minor) for minor in (9, 13)}
    project = tmp_path / "real"
    project.mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent(REAL_PROJECT).lstrip())
    (project / "report.py").write_text(REPORT)
    ok(monotrail.run("lock", "--python", "3.9", "--python", "3.13", cwd=project, timeout=300))
    seen = {}
    for minor, python in pythons.items():
        ours = ok(monotrail.run("--python", str(python), "run", "report.py", cwd=project, timeout=300)).stdout
        venv = tmp_path / f"venv{minor}"
        # the caller's proxy and certificate settings (a TLS-intercepting mirror), uv told to use them
        env = base_env(monotrail.root, UV_CACHE_DIR=str(tmp_path / "uvcache"), UV_SYSTEM_CERTS="1")
        ok(subprocess.run([str(uv), "venv", "-q", "-p", str(python), str(venv)], env=env, capture_output=True, text=True))
        ok(subprocess.run([str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r",
                           str(project / "pylock.toml")], env=env, capture_output=True, text=True, timeout=300))
        theirs = ok(subprocess.run([str(venv / "bin" / "python"), str(project / "report.py")],
                                   capture_output=True, text=True)).stdout
        assert ours == theirs
        seen[minor] = dict(eval(ours))  # noqa: S307 - our own script's printed list of pairs
    assert seen[9]["click"].startswith("8.1.") and "tomli" in seen[9]
    assert not seen[13]["click"].startswith("8.1.") and "tomli" not in seen[13]


def test_an_sdist_only_package_is_built_once_for_its_metadata_and_locked_for_every_target(
        monotrail: Monotrail, project: Path, index, tmp_path: Path) -> None:
    from test_scripts import build_sdist

    index.add(build_sdist(tmp_path / "wheels", "from-source", "1.0", requires=("core",)))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"core"]', '"from-source"]'))
    ok(lock(monotrail, project, index, "--python", "3.9", "--python", "3.13"))
    assert packages(project)[("from-source", "1.0")] is None and ("core", "1.0") in packages(project)
    assert len(list((monotrail.root / "built").glob("*/*/*.whl"))) == 1  # one build, by the Python `run` picks
    result = ok(monotrail.run("--python", str(_python(9)), "run", "-c",
                              "import from_source, core; print('ok')", cwd=project))
    assert result.stdout.strip() == "ok"


def test_an_unchanged_command_is_up_to_date_and_any_change_locks_again(monotrail: Monotrail, project: Path,
                                                                       index, tmp_path: Path) -> None:
    """The re-lock check that runs before anything is parsed (a memo in the store) must miss on
    every change of the command's inputs: the lock, the pyproject, the command line, the index."""
    ok(lock(monotrail, project, index))
    assert "up to date" in ok(lock(monotrail, project, index)).stderr
    assert "up to date" in ok(lock(monotrail, project, index)).stderr  # the memo's own hit
    ok(lock(monotrail, project, index, "--python", "3.13"))  # another lock in its place
    assert "wrote" in ok(lock(monotrail, project, index)).stderr
    _add(index, tmp_path / "wheels", "extra-dep", "1.0")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"core"]', '"core", "extra-dep"]'))
    assert "wrote" in ok(lock(monotrail, project, index)).stderr and ("extra-dep", "1.0") in packages(project)
    pyproject.write_text(pyproject.read_text() + "\n# a comment changes the bytes, not the inputs\n")
    assert "up to date" in ok(lock(monotrail, project, index)).stderr
    env = {"UV_INDEX_URL": f"{index.url}/simple"}
    assert "up to date" in ok(monotrail.run("lock", cwd=project, env=env)).stderr  # the same index, named otherwise
    assert "up to date" in ok(monotrail.run("lock", cwd=project, env=env)).stderr
    other = monotrail.run("lock", cwd=project, env={"UV_INDEX_URL": "http://127.0.0.1:9/simple"})
    assert other.returncode != 0  # another index: resolved again (and that one is unreachable)


def test_the_relock_memo_hashes_every_variable_that_chooses_the_index() -> None:
    """`monotrail lock`'s check before parsing (commands/relock.py INDEX_VARIABLES) must change with
    everything `sources_from_env` reads from the environment."""
    import inspect
    import re

    from monotrail.commands.relock import INDEX_VARIABLES
    from monotrail.store.index import sources_from_env

    read = set(re.findall(r"""env\.get\(["']([A-Z_]+)["']""", inspect.getsource(sources_from_env)))
    assert read and read <= set(INDEX_VARIABLES)


def test_the_python_shims_run_each_locked_python_in_the_project(monotrail: Monotrail, project: Path, index,
                                                                 tmp_path: Path) -> None:
    """`python3.9` and `python3.13` (`monotrail shims install`) inside the project: the same lock."""
    import os

    from bootstrap_fixtures import REDUCED_PATH

    _python(9), _python(13)
    ok(lock(monotrail, project, index, "--python", "3.9", "--python", "3.13", "--platform", "linux"))
    bin_dir, shims = front_door_bin(tmp_path / "bin"), tmp_path / "shims"
    env = base_env(monotrail.root)
    env["PATH"] = os.pathsep.join([str(shims), str(bin_dir), REDUCED_PATH])

    def run(*argv: str) -> str:
        return ok(subprocess.run([str(a) for a in argv], cwd=project, env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=120)).stdout

    run("monotrail", "shims", "install", "--dir", shims)
    assert run(shims / "python3.9", "main.py").split()[:4] == ["backport", "1.0", "modern", "1.0"]
    assert run(shims / "python3.13", "main.py").split()[:4] == ["backport", "-", "modern", "2.0"]
