"""`monotrail python list|find|pin` and several Pythons at once (`-p 3.8 -p 3.12 run ...`), as a
subprocess against real interpreters (3.8 and 3.12, wherever monotrail's discovery finds them on
this machine) with PATH reduced to /usr/bin:/bin and each test's own MONOTRAIL_ROOT. Locks use wheels built in the test and a
local `--find-links` directory: no index, no network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap_fixtures import REDUCED_PATH, discovered, python_facts
from cli_checks import ok, clean_error
from conftest import base_env
from index_fixtures import build_wheel, sha256_of


def monotrail(root: Path, cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = base_env(root, **extra)
    env["PATH"] = extra.get("PATH", REDUCED_PATH)
    return subprocess.run([sys.executable, "-m", "monotrail", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    directory = tmp_path / "empty"
    directory.mkdir()
    return directory


def project_with(directory: Path, requires_python: str = "") -> Path:
    """requirements.txt (hashed, --find-links) locking locked-mod; with requires_python a
    pylock.toml (wheel by local path) instead, since requirements.txt cannot say it."""
    wheels = directory / "wheels"
    wheels.mkdir(parents=True)
    wheel = build_wheel(wheels, "locked-mod", "1.0", {"locked_mod/__init__.py": "VERSION = '1.0'\n"})
    if not requires_python:
        (directory / "requirements.txt").write_text(
            f"--no-index\n--find-links wheels\nlocked-mod==1.0 --hash=sha256:{sha256_of(wheel)}\n"
        )
        return directory
    (directory / "pylock.toml").write_text(
        f'lock-version = "1.0"\ncreated-by = "test"\nrequires-python = "{requires_python}"\n\n'
        f'[[packages]]\nname = "locked-mod"\nversion = "1.0"\n'
        f'wheels = [{{ name = "{wheel.name}", path = "wheels/{wheel.name}", hashes = {{ sha256 = "{sha256_of(wheel)}" }} }}]\n'
    )
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with(tmp_path / "project")


# --- python find ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "minor"),
    [("3.8", 8), ("3.12", 12), ("cpython@3.12", 12), ("python3.8", 8), ("3.8.PATCH", 8), (">=3.8,<3.9", 8)],
)
def test_find_prints_the_interpreter_path(root: Path, empty: Path, py38: Path, py312: Path,
                                          request_: str, minor: int) -> None:
    expected = py38 if minor == 8 else py312
    request_ = request_.replace("3.8.PATCH", python_facts(py38).interpreter.full_version)
    assert ok(monotrail(root, empty, "python", "find", request_)).stdout.strip() == str(expected)


def test_find_without_a_request_follows_python_version(root: Path, empty: Path, py38: Path) -> None:
    (empty / ".python-version").write_text("3.8\n")
    assert ok(monotrail(root, empty, "python", "find")).stdout.strip() == str(py38)


def test_find_with_no_match_is_one_short_line_of_what_was_found(root: Path, empty: Path, py38: Path,
                                                                py312: Path) -> None:
    """What is here and where monotrail looked, in one line: no paths, no wall of unsupported
    Pythons (`python list --all` has those), and a hint that installs only what exists."""
    result = monotrail(root, empty, "python", "find", "3.99")
    error = clean_error(result)
    assert result.returncode == 1
    assert error.startswith("error: no Python 3.99 (from command line) found; found ")
    for python in (py38, py312):
        assert python_facts(python).interpreter.full_version in error
        assert str(python) not in error
    assert "not supported" not in error and "searched PATH, pyenv, uv" in error
    [hint] = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert "pyenv install 3.99" not in hint  # no CPython 3.99 exists for pyenv to install
    assert "monotrail +" in hint and "python list --all" in hint


@pytest.mark.parametrize(("request_", "says"), [
    ("3.99", "error: no Python 3.99 (from command line) found; found "),
    ("abc", "error: no Python found for 'abc' (from command line): not a version"),
    ("3.x", "error: command line: cannot parse Python request '3.x'"),
], ids=["missing version", "unknown name", "malformed"])
def test_a_bad_python_request_is_reported_before_a_missing_lock(root: Path, empty: Path, py312: Path,
                                                                request_: str, says: str) -> None:
    (empty / "hello.py").write_text("print('hello')\n")
    error = clean_error(monotrail(root, empty, f"+{request_}", "run", "hello.py"))
    assert error.startswith(says), error
    assert "lockfile" not in error


def test_a_good_python_request_without_a_lock_is_the_lock_error(root: Path, empty: Path, py312: Path) -> None:
    (empty / "hello.py").write_text("print('hello')\n")
    assert "no lockfile found" in clean_error(monotrail(root, empty, "+3.12", "run", "hello.py"))


@pytest.mark.parametrize(
    ("pin_file", "args", "mentions"),
    [
        ("", ["python", "find", "3.x"], ["'3.x'"]),
        ("# pinned\n\n3.x\n", ["python", "find"], [".python-version: line 3:", "'3.x'"]),
        ("3.x\n", ["python", "pin", "3.8"], []),  # an explicit request overrides the bad file
    ],
    ids=["malformed request", "malformed .python-version", "explicit request wins"],
)
def test_malformed_requests(root: Path, empty: Path, py38: Path, pin_file: str, args: list[str],
                            mentions: list[str]) -> None:
    if pin_file:
        (empty / ".python-version").write_text(pin_file)
    result = monotrail(root, empty, *args)
    if not mentions:
        ok(result)
        return
    error = clean_error(result)
    assert result.returncode == 2
    for text in mentions:
        assert text in error


# --- python list ---------------------------------------------------------------------------------


def test_list_json_names_version_implementation_path_source(root: Path, empty: Path, py38: Path, py312: Path) -> None:
    (empty / ".python-version").write_text("3.8\n")
    rows = json.loads(ok(monotrail(root, empty, "python", "list", "--json")).stdout)["interpreters"]
    by_path = {row["path"]: row for row in rows}
    assert by_path[str(py38)]["version"].startswith("3.8.")
    assert by_path[str(py38)]["source"] == python_facts(py38).source
    assert by_path[str(py312)]["implementation"] == "cpython"
    assert [row["path"] for row in rows if row["selected"]] == [str(py38)]
    assert all(row["problem"] is None for row in rows)


def test_list_marks_what_the_project_would_pick(root: Path, tmp_path: Path, py38: Path, py312: Path) -> None:
    directory = project_with(tmp_path / "p", requires_python="<3.9")
    lines = ok(monotrail(root, directory, "python", "list")).stdout.splitlines()
    marked = [line for line in lines if line.startswith("*")]
    assert len(marked) == 1 and marked[0].endswith(str(py38))


def test_list_all_shows_unusable_ones_with_the_reason(root: Path, empty: Path, py312: Path) -> None:
    unsupported = [entry for entry in discovered() if entry.problem and "is not supported" in entry.problem]
    if not unsupported:
        pytest.skip("SKIPPED LOUDLY: monotrail finds no Python older than 3.8 here to list as unusable")
    rows = json.loads(ok(monotrail(root, empty, "python", "list", "--all", "--json")).stdout)["interpreters"]
    problems = {row["path"]: row["problem"] for row in rows}
    assert all(problems[entry.path] == entry.problem for entry in unsupported)
    text = ok(monotrail(root, empty, "python", "list")).stdout
    assert not [entry.path for entry in unsupported if entry.path in text]


def test_a_venvs_python_is_never_taken_for_a_base_interpreter(root: Path, empty: Path, tmp_path: Path,
                                                              py312: Path) -> None:
    """monotrail's own tool venv on PATH (the README's set-up): its python3.X links to a base
    interpreter found elsewhere. Discovery lists the base, and `3.12` gets the base, never the venv."""
    venv = tmp_path / "tool-venv"
    subprocess.run([str(py312), "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    path = f"{venv / 'bin'}:{REDUCED_PATH}"
    rows = json.loads(ok(monotrail(root, empty, "python", "list", "--json", PATH=path)).stdout)["interpreters"]
    assert str(py312) in [row["path"] for row in rows]
    assert not [row for row in rows if row["path"].startswith(str(venv))], rows
    everything = json.loads(ok(monotrail(root, empty, "python", "list", "--all", "--json", PATH=path)).stdout)
    in_venv = [row for row in everything["interpreters"] if row["path"].startswith(str(venv))]
    assert in_venv and all("virtual environment" in row["problem"] for row in in_venv), in_venv
    assert ok(monotrail(root, empty, "python", "find", "3.12", PATH=path)).stdout.strip() == str(py312)


# --- python pin ----------------------------------------------------------------------------------


@pytest.mark.parametrize("request_", ["3.12", "cpython@3.12", ">=3.10"])
def test_pin_writes_python_version(root: Path, empty: Path, py312: Path, request_: str) -> None:
    result = ok(monotrail(root, empty, "python", "pin", request_))
    assert (empty / ".python-version").read_text() == f"{request_}\n"
    assert "pinned" in result.stderr


@pytest.mark.parametrize(
    ("requires_python", "request_", "mentions"),
    [(">=3.10", "3.8", ["not pinning '3.8'", ">=3.10"]), ("", "3.99", ["no Python 3.99", "searched"]),
     ("", "3.x", ["'3.x'"])],
    ids=["requires-python excludes", "no such python", "malformed"],
)
def test_pin_refuses(root: Path, tmp_path: Path, py38: Path, requires_python: str, request_: str,
                     mentions: list[str]) -> None:
    directory = project_with(tmp_path / "p", requires_python=requires_python)
    error = clean_error(monotrail(root, directory, "python", "pin", request_))
    for text in mentions:
        assert text in error
    assert not (directory / ".python-version").exists()


def test_run_with_a_python_version_the_lock_excludes(root: Path, tmp_path: Path, py38: Path) -> None:
    directory = project_with(tmp_path / "p", requires_python=">=3.10")
    (directory / ".python-version").write_text("3.8\n")
    error = clean_error(monotrail(root, directory, "run", "-c", "pass"))
    assert ".python-version" in error and ">=3.10" in error


# --- several Pythons at once ---------------------------------------------------------------------


CHECK = "import sys, locked_mod; print(sys.version_info[:2]); sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)"


@pytest.mark.parametrize(
    "prefix",
    [["-p", "3.8", "-p", "3.12"], ["+3.8", "+3.12"], ["--python=3.8", "+3.12"]],
    ids=["-p -p", "+ +", "--python= +"],
)
def test_several_pythons_run_once_each_with_a_summary(root: Path, project: Path, py38: Path, py312: Path,
                                                       prefix: list[str]) -> None:
    result = monotrail(root, project, *prefix, "run", "-c", CHECK)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == ["(3, 8)", "(3, 12)"]
    assert result.stderr.splitlines()[-2:] == ["3.8: failed (exit 1)", "3.12: ok"]


def test_several_pythons_all_ok_exit_0_and_script_form(root: Path, project: Path, py38: Path, py312: Path) -> None:
    (project / "app.py").write_text("import sys, locked_mod; print(sys.argv, sys.version_info[:2])\n")
    result = ok(monotrail(root, project, "+3.8", "+3.12", "app.py", "x"))
    assert result.stdout.splitlines() == ["['app.py', 'x'] (3, 8)", "['app.py', 'x'] (3, 12)"]
    assert result.stderr.splitlines()[-2:] == ["3.8: ok", "3.12: ok"]


@pytest.mark.parametrize(
    ("args", "mentions"),
    [(["+3.8", "+3.12", "python", "list"], "several Pythons"), (["+3.8", "+", "run", "-c", "pass"], "empty Python"),
     (["+3.8", "+3.12", "run", "--bogus", "-c", "pass"], "--bogus")],
    ids=["not run", "empty request", "bad run option"],
)
def test_several_pythons_bad_input(root: Path, project: Path, args: list[str], mentions: str) -> None:
    assert mentions in clean_error(monotrail(root, project, *args))


@pytest.mark.parametrize(
    ("args", "mentions"),
    [(["python", "pin"], "required"), (["python", "list", "--bogus"], "--bogus"), (["+3.12", "python", "list"], "+VERSION"),
     (["shims", "install", "--dir"], "--dir")],
    ids=["pin without REQ", "unknown option", "+VERSION", "--dir without value"],
)
def test_subcommand_usage_errors(root: Path, empty: Path, args: list[str], mentions: str) -> None:
    result = monotrail(root, empty, *args)
    assert mentions in clean_error(result) and result.returncode == 2
