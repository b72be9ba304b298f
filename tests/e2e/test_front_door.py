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
from conftest import REPO, base_env

from monotrail import __version__


@pytest.fixture
def tool_bin(tmp_path: Path) -> Path:
    """`~/.monotrail/bin`: the front door and the launcher side by side."""
    directory = tmp_path / "tool" / "bin"
    directory.mkdir(parents=True)
    shutil.copy(REPO / "shims" / "monotrail", directory / "monotrail")
    launcher = directory / "monotrail-launcher"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m monotrail "$@"\n')
    for path in (directory / "monotrail", launcher):
        path.chmod(0o755)
    return directory


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
