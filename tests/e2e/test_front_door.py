"""The sh front door (shims/monotrail) as users install it: reached through links, handing over
to the Python launcher (`monotrail-launcher`) that sits beside the *file*, not beside the link.

Each test builds an install like the tutorial's: `<tool>/bin/monotrail` (a copy of the repo's
front door) with `<tool>/bin/monotrail-launcher` beside it, and links to it elsewhere. PATH holds
only /usr/bin:/bin, so the launcher is found through the links or not at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import base_env, front_door_bin

from monotrail import __version__


@pytest.fixture
def tool_bin(tmp_path: Path) -> Path:
    """`~/.monotrail/bin`: the front door and the launcher side by side."""
    return front_door_bin(tmp_path / "tool" / "bin")


def front_door(argv: list[str], cwd: Path, root: Path, path: list[Path] | None = None,
               **extra: str) -> subprocess.CompletedProcess:
    env: dict[str, str] = base_env(root, **extra)
    env["PATH"] = os.pathsep.join([*map(str, path or []), "/usr/bin", "/bin"])
    return subprocess.run([str(part) for part in argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def link(at: Path, target: str) -> Path:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(target)
    return at


# --- reached through links -----------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["absolute link", "relative link", "chain of two relative links",
                                    "relative link to an absolute link"])
@pytest.mark.parametrize("how", ["by path", "on PATH"])
def test_a_link_to_the_front_door_finds_the_launcher_beside_the_file(
    tool_bin: Path, tmp_path: Path, layout: str, how: str
) -> None:
    local_bin = tmp_path / "home" / ".local" / "bin"
    if layout == "absolute link":
        entry = link(local_bin / "monotrail", str(tool_bin / "monotrail"))
    elif layout == "relative link":
        entry = link(local_bin / "monotrail", "../../../tool/bin/monotrail")
    elif layout == "chain of two relative links":
        link(tmp_path / "links" / "monotrail", "../tool/bin/monotrail")
        entry = link(local_bin / "monotrail", "../../../links/monotrail")
    else:
        link(tmp_path / "links" / "monotrail", str(tool_bin / "monotrail"))
        entry = link(local_bin / "monotrail", "../../../links/monotrail")
    argv: list[object] = [entry] if how == "by path" else ["monotrail"]
    path = [local_bin] if how == "on PATH" else []
    result = ok(front_door([*argv, "--version"], tmp_path, tmp_path / "root", path))
    assert result.stdout.strip() == f"monotrail {__version__}"


def test_a_linked_front_door_runs_a_project(tool_bin: Path, tmp_path: Path) -> None:
    """The tutorial's install, then a run that needs the launcher (the cold run) and a warm one."""
    local_bin = tmp_path / "home" / ".local" / "bin"
    link(local_bin / "monotrail", str(tool_bin / "monotrail"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("")
    (project / "hello.py").write_text("print('hello')\n")
    for _ in range(2):
        result = ok(front_door(["monotrail", "run", "hello.py"], project, tmp_path / "root", [local_bin]))
        assert result.stdout == "hello\n"


def test_a_copy_without_a_launcher_beside_it_uses_the_one_on_path(tool_bin: Path, tmp_path: Path) -> None:
    """A front door copied (not linked) elsewhere still finds a `monotrail-launcher` on PATH."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(tool_bin / "monotrail", elsewhere / "monotrail")
    result = ok(front_door([elsewhere / "monotrail", "--version"], tmp_path, tmp_path / "root", [tool_bin]))
    assert result.stdout.strip() == f"monotrail {__version__}"


def test_a_link_loop_ends_with_the_launcher_on_path(tool_bin: Path, tmp_path: Path) -> None:
    """A front door run through a link loop must not spin: it falls back to PATH."""
    loop = tmp_path / "loop"
    link(loop / "a", str(loop / "b"))
    link(loop / "b", str(loop / "a"))
    # `sh FILE` reads the real file while $0 names the loop, as a hand-made mess could leave it.
    result = front_door(["sh", "-c", f'. "{tool_bin / "monotrail"}"', str(loop / "a"), "--version"], tmp_path,
                        tmp_path / "root", [tool_bin])
    assert ok(result).stdout.strip() == f"monotrail {__version__}"


# --- what the launcher says -----------------------------------------------------------------------


def test_verbose_names_lock_interpreter_and_environment_on_every_run(tool_bin: Path, tmp_path: Path) -> None:
    """`run -v` says which lock, interpreter and environment were used: on the cold run, and on
    the warm runs too (the front door and the launcher's own warm path), as the tutorial says."""
    project = tmp_path / "project"
    project.mkdir()
    lock = project / "requirements.txt"
    lock.write_text("")
    (project / "hello.py").write_text("print('hello')\n")
    root = tmp_path / "root"
    for attempt in ("cold", "warm", "warm again"):
        result = ok(front_door([tool_bin / "monotrail", "run", "-v", "hello.py"], project, root))
        assert result.stdout == "hello\n", attempt
        [line] = [line for line in result.stderr.splitlines() if line.startswith("monotrail: lock ")]
        [env_dir] = (root / "envs").iterdir()
        python = (env_dir / "launch").read_text().splitlines()[0]
        assert str(lock) in line and python in line and str(env_dir) in line, (attempt, result.stderr)


# --- what keeps a run warm, and what sends it back to the launcher ---------------------------------

SHOW_ENV = "import os, sys; print(sys.prefix, '%d.%d' % sys.version_info[:2])"
LONG_AGO = 1_000_000_000  # 2001: lock files older than the entry, as a project's are


@pytest.fixture
def counting_bin(tmp_path: Path) -> Path:
    """The front door beside a launcher that appends a line to `launches` each time it starts: a
    run that leaves the file as it was was served by the front door alone."""
    return front_door_bin(tmp_path / "counting" / "bin",
                          f'#!/bin/sh\necho "$*" >> {tmp_path / "launches"}\nexec {sys.executable} -m monotrail "$@"\n')


def launches(tmp_path: Path) -> int:
    path = tmp_path / "launches"
    return len(path.read_text().splitlines()) if path.exists() else 0


def old_file(path: Path, text: str) -> Path:
    """A file as a checkout has it: written long before the run (outside the entry's quiet window)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (LONG_AGO, LONG_AGO))
    return path


def warm_run(counting_bin: Path, tmp_path: Path, cwd: Path, *args: str) -> tuple[str, bool]:
    """(stdout, whether the front door served it alone)."""
    before = launches(tmp_path)
    result = ok(front_door([counting_bin / "monotrail", *args], cwd, tmp_path / "root"))
    assert result.stdout, result.stderr
    return result.stdout, launches(tmp_path) == before


def test_files_written_into_the_project_keep_the_next_runs_warm(counting_bin: Path, tmp_path: Path) -> None:
    """An editor's save-by-rename, a program's output, `.pytest_cache`: none of them decides the
    environment, so none of them sends the next run to the launcher (nor does a script that
    writes into its own directory on every run)."""
    project = tmp_path / "project"
    old_file(project / "requirements.txt", "")
    old_file(project / "module.py", "X = 1\n")
    old_file(project / "writer.py", "import pathlib, sys\n"
             "pathlib.Path(__file__).with_name('out.txt').write_text(sys.prefix)\nprint(sys.prefix)\n")
    first, _ = warm_run(counting_bin, tmp_path, project, "run", "writer.py")  # cold: writes the entry
    for attempt in ("warm", "after its own output", "after an editor's save", "after .pytest_cache"):
        if attempt == "after an editor's save":
            (project / "module.py.swp").write_text("X = 2\n")
            os.replace(project / "module.py.swp", project / "module.py")
        elif attempt == "after .pytest_cache":
            (project / ".pytest_cache" / "v").mkdir(parents=True)
        output, warm = warm_run(counting_bin, tmp_path, project, "run", "writer.py")
        assert (output, warm) == (first, True), attempt
    _, _ = warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)  # writes the `run` entry
    (project / "notes.txt").write_text("new\n")
    assert warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)[1]


@pytest.mark.parametrize("new_lock", ["requirements.txt", "pylock.toml", "pylock.dev.toml", "uv.lock"])
@pytest.mark.parametrize("where", ["between", "beside the lock"])
def test_a_lock_appearing_where_the_search_finds_it_first_is_used(
    counting_bin: Path, tmp_path: Path, new_lock: str, where: str
) -> None:
    """The front door no longer watches the directories' mtimes, so it tests each lock name the
    launcher's search would find before the lock it found, in every directory on the way: a lock
    moved in with an old mtime (`mv`, `cp -p`) counts too."""
    project = tmp_path / "project"
    old_file(project / "requirements-frozen.txt", "")
    work = project / "sub" / "work"
    work.mkdir(parents=True)
    before, _ = warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV)
    assert warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV) == (before, True)
    directory = project / "sub" if where == "between" else project
    text = 'lock-version = "1.0"\ncreated-by = "test"\npackages = []\n' if "pylock" in new_lock else "# other\n"
    if new_lock == "uv.lock":
        text = 'version = 1\nrequires-python = ">=3.8"\n\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
    old_file(directory / new_lock, text)
    after, warm = warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV)
    assert not warm and after != before
    assert warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV) == (after, True)


def test_pylock_files_sorting_after_the_one_found_change_nothing(counting_bin: Path, tmp_path: Path) -> None:
    """`pylock.b.toml` is found before `pylock.c.toml` (sorted names): only a name before it counts."""
    project = tmp_path / "project"
    pylock = 'lock-version = "1.0"\ncreated-by = "test"\npackages = []\n'
    old_file(project / "pylock.b.toml", pylock)
    first, _ = warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)
    old_file(project / "pylock.c.toml", pylock + "# c\n")
    assert warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV) == (first, True)
    old_file(project / "pylock.a.toml", pylock + "# a\n")
    after, warm = warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)
    assert not warm and after != first


@pytest.mark.parametrize("where", ["start dir", "between", "above the lock"])
def test_a_python_version_appearing_where_the_search_finds_it_first_is_used(
    counting_bin: Path, tmp_path: Path, py38: Path, py312: Path, where: str
) -> None:
    """`.python-version` is searched from the start directory up to `/`, past the lock's directory,
    until one with a version in it."""
    top = tmp_path / "top"
    old_file(top / ".python-version", "3.12\n")
    project = top / "upper" / "project"
    old_file(project / "requirements.txt", "")
    work = project / "mid" / "sub"
    work.mkdir(parents=True)
    before, _ = warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV)
    assert before.split()[1] == "3.12"
    # A comment-only file is skipped, as pyenv skips it: read once by the launcher, then watched.
    old_file(project / ".python-version", "# a comment only\n")
    assert warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV) == (before, False)
    assert warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV) == (before, True)
    directory = {"start dir": work, "between": project / "mid", "above the lock": top / "upper"}[where]
    old_file(directory / ".python-version", "3.8\n")
    after, warm = warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV)
    assert not warm and after.split()[1] == "3.8"
    assert warm_run(counting_bin, tmp_path, work, "run", "-c", SHOW_ENV) == (after, True)


NAMES = ("target", "kind", "root", "entry", "start", "skip", "word", "dir", "fresh", "env_dir", "store_dir",
         "self", "header", "found", "suffix", "entry_name", "next", "hops", "link")


@pytest.mark.parametrize("how", ["warm", "launcher"])
def test_exported_variables_named_like_the_doors_own_reach_the_program(
    counting_bin: Path, tmp_path: Path, how: str
) -> None:
    """bash imports the caller's environment as exported shell variables: the door must not assign
    one (it would hand the program another value), on the warm path or on the way to the launcher."""
    project = tmp_path / "project"
    old_file(project / "requirements.txt", "")
    show = f"import os; print(repr([os.environ.get(name) for name in {NAMES!r}]))"
    warm_run(counting_bin, tmp_path, project, "run", "-c", show)  # writes the entry
    mine = {name: f"caller's {name}" for name in NAMES}
    env = {**base_env(tmp_path / "root"), **mine, "PATH": "/usr/bin:/bin"}
    if how == "launcher":
        env["MONOTRAIL_LOG"] = "debug"
    before = launches(tmp_path)
    result = ok(subprocess.run([str(counting_bin / "monotrail"), "run", "-c", show], cwd=project, env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60))
    assert result.stdout.strip() == repr([mine[name] for name in NAMES])
    assert (launches(tmp_path) == before) is (how == "warm")


# --- entries of another monotrail, and start directories spelled otherwise -------------------------


def test_an_entry_written_by_a_monotrail_of_another_environment_format_is_stale(
    counting_bin: Path, tmp_path: Path
) -> None:
    """A new environment format (ENV_FORMAT) means new environment keys: the entry an older
    monotrail wrote names an environment this one no longer makes, so the door must not exec it
    (it checks only that the files it lists are there, and they are)."""
    project = tmp_path / "project"
    old_file(project / "requirements.txt", "")
    code = ("import sys, monotrail.environment as e; e.ENV_FORMAT = str(int(e.ENV_FORMAT) - 1); "
            "from monotrail.__main__ import main; sys.exit(main())")
    older = front_door_bin(tmp_path / "older" / "bin", f'#!/bin/sh\nexec {sys.executable} -c "{code}" "$@"\n')
    root = tmp_path / "root"
    old_prefixes = {ok(front_door([older / "monotrail", "run", "-c", SHOW_ENV], project, root)).stdout
                    for _ in range(2)}  # the second run finds the environment and writes the entry
    assert len(old_prefixes) == 1 and (root / "warm").exists()
    after, warm = warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)
    assert not warm and after not in old_prefixes
    assert warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV) == (after, True)


def logical_run(counting_bin: Path, tmp_path: Path, cwd: str, *args: str) -> tuple[str, bool]:
    """warm_run from `cwd` spelled through links, as a shell that `cd`-ed there has it in $PWD."""
    before = launches(tmp_path)
    result = ok(front_door([counting_bin / "monotrail", *args], Path(cwd), tmp_path / "root", PWD=cwd))
    assert result.stdout, result.stderr
    return result.stdout, launches(tmp_path) == before


@pytest.mark.parametrize("target", ["-c", "script", "python script"])
def test_a_project_reached_through_a_linked_directory_runs_warm(
    counting_bin: Path, tmp_path: Path, target: str
) -> None:
    """The door looks its entry up under $PWD as the shell spells it (links kept); the launcher
    also writes it there. Pointing the link at another project sends the next run to the launcher."""
    for name in ("one", "two"):
        old_file(tmp_path / "real" / name / "requirements.txt", f"# {name}\n")
        old_file(tmp_path / "real" / name / "show.py", SHOW_ENV + "\n")
    link(tmp_path / "work", str(tmp_path / "real" / "one"))
    args = {"-c": ["run", "-c", SHOW_ENV], "script": ["run", "show.py"],
            "python script": ["run", "python", "show.py"]}[target]
    cwd = str(tmp_path / "work")
    first, _ = logical_run(counting_bin, tmp_path, cwd, *args)
    assert logical_run(counting_bin, tmp_path, cwd, *args) == (first, True)
    (tmp_path / "work").unlink()
    link(tmp_path / "work", str(tmp_path / "real" / "two"))
    other, warm = logical_run(counting_bin, tmp_path, cwd, *args)
    assert not warm and other != first
    assert logical_run(counting_bin, tmp_path, cwd, *args) == (other, True)


@pytest.mark.parametrize("spelling", ["absolute", "relative", "through a link"])
def test_run_project_is_served_warm_from_any_directory(counting_bin: Path, tmp_path: Path, spelling: str) -> None:
    """`run --project DIR` (what `monotrail env python`'s shim runs) looks the entry up under DIR."""
    project = tmp_path / "real" / "project"
    old_file(project / "requirements.txt", "")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link(tmp_path / "linked", str(tmp_path / "real"))
    given = {"absolute": str(project), "relative": "real/project",
             "through a link": str(tmp_path / "linked" / "project")}[spelling]
    cwd = str(tmp_path if spelling == "relative" else elsewhere)
    first, _ = logical_run(counting_bin, tmp_path, cwd, "run", "--project", given, "-c", SHOW_ENV)
    for args in (["--project", given, "-c"], [f"--project={given}", "python", "-c"]):
        assert logical_run(counting_bin, tmp_path, cwd, "run", *args, SHOW_ENV) == (first, True), args
    # the same entry as a run in the project itself
    assert logical_run(counting_bin, tmp_path, str(project), "run", "-c", SHOW_ENV) == (first, True)


def test_the_env_python_shim_runs_warm_through_the_front_door(counting_bin: Path, tmp_path: Path) -> None:
    """Editors ask `env python`'s shim about the interpreter again and again: after the first, the
    front door answers, also with the door off PATH (the shim names it)."""
    project = tmp_path / "project"
    old_file(project / "requirements.txt", "")
    result = ok(front_door([counting_bin / "monotrail", "env", "python"], project, tmp_path / "root",
                           [counting_bin]))
    shim = result.stdout.strip().splitlines()[-1]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = launches(tmp_path)
    outputs = [ok(front_door([shim, "-c", SHOW_ENV], elsewhere, tmp_path / "root")).stdout for _ in range(3)]
    assert len(set(outputs)) == 1 and outputs[0].startswith(str(tmp_path / "root" / "envs"))
    assert launches(tmp_path) <= before + 1  # the first at most (`env python` ran it once already)


@pytest.mark.parametrize("deleted", ["the lock", ".python-version"])
def test_a_watched_file_deleted_sends_the_run_to_the_launcher(
    counting_bin: Path, tmp_path: Path, py38: Path, py312: Path, deleted: str
) -> None:
    """`-nt` is false for a missing file, so `! FILE -nt ENTRY` alone passed when the lock or the
    `.python-version` used was deleted: the door kept running the environment they had decided."""
    project = tmp_path / "project"
    old_file(project / "requirements.txt", "")
    old_file(project / ".python-version", "3.8\n")
    first, _ = warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)
    assert warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV) == (first, True)
    before = launches(tmp_path)
    if deleted == "the lock":
        (project / "requirements.txt").unlink()
        result = front_door([counting_bin / "monotrail", "run", "-c", SHOW_ENV], project, tmp_path / "root")
        assert result.returncode != 0 and "error: no lockfile found" in result.stderr
        assert launches(tmp_path) == before + 1
    else:
        (project / ".python-version").unlink()
        after, warm = warm_run(counting_bin, tmp_path, project, "run", "-c", SHOW_ENV)
        assert not warm and after.split()[1] != "3.8"
