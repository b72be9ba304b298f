"""The command line itself: output into a pipe whose reader left, help for every command, and one
`error:` line for a command that does not exist. `python -m monotrail` runs as a subprocess with
its own MONOTRAIL_ROOT and without PYTHONUNBUFFERED (base_env drops PYTHON*), as a user runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import Monotrail, base_env
from index_fixtures import build_wheel, sha256_of


@pytest.fixture
def filled(monotrail: Monotrail, tmp_path: Path) -> Monotrail:
    """A store with one entry and one environment, from a hashed requirements.txt and --find-links."""
    project = tmp_path / "project"
    wheels = project / "wheels"
    wheels.mkdir(parents=True)
    wheel = build_wheel(wheels, "some-mod", "1.0", {"some_mod/__init__.py": ""})
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links wheels\nsome-mod==1.0 --hash=sha256:{sha256_of(wheel)}\n"
    )
    ok(monotrail.run("run", "-c", "import some_mod", cwd=project))
    return monotrail


# --- a reader that leaves early (`monotrail store list | head -5`) --------------------------------


@pytest.mark.parametrize("args", [
    ["--help"], ["run", "--help"], ["store", "--help"], ["python", "list"], ["python", "list", "--json"],
    ["store", "path"], ["store", "list"], ["store", "list", "--json"],
])
def test_a_closed_pipe_ends_the_command_quietly(filled: Monotrail, tmp_path: Path, args: list[str]) -> None:
    """Output is buffered (no PYTHONUNBUFFERED), so the write that meets the closed pipe may be the
    flush at exit: it must end as `ls | head` does, without `Exception ignored ... BrokenPipeError`."""
    process = subprocess.Popen([sys.executable, "-m", "monotrail", *args], cwd=tmp_path, env=base_env(filled.root),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader leaves before the first byte
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141, stderr
    assert "BrokenPipeError" not in stderr and "Exception ignored" not in stderr and "Traceback" not in stderr, stderr


# --- help for every command ------------------------------------------------------------------------

COMMANDS = [
    ["run"], ["x"], ["lock"], ["install"], ["sync"], ["poetry-install"],
    ["store"], ["store", "path"], ["store", "list"], ["store", "verify"], ["store", "gc"], ["store", "clean"],
    ["python"], ["python", "list"], ["python", "find"], ["python", "pin"],
    ["shims"], ["shims", "install"], ["shims", "uninstall"], ["shims", "list"],
]


def undescribed_options(text: str) -> list[str]:
    """Option lines (`  -x, --long VALUE   what it does`) that say nothing about the option: no
    text after the names on the line, and no deeper-indented line under it (argparse's layout
    for long names)."""
    lines = text.splitlines()
    bare = []
    for number, line in enumerate(lines):
        if not line.startswith("  -"):
            continue
        parts = [part for part in line.strip().split("  ") if part.strip()]
        following = lines[number + 1] if number + 1 < len(lines) else ""
        continued = following.startswith(" " * 4) and not following.strip().startswith("-")
        if len(parts) < 2 and not continued:
            bare.append(line.strip())
    return bare


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_its_own_help_describing_every_option(monotrail: Monotrail, tmp_path: Path,
                                                                command: list[str]) -> None:
    top = ok(monotrail.run("--help", cwd=tmp_path)).stdout
    result = ok(monotrail.run(*command, "--help", cwd=tmp_path))
    assert result.stdout != top
    assert result.stdout.startswith(f"usage: monotrail {' '.join(command)}"), result.stdout
    assert "options" in result.stdout.lower(), result.stdout
    assert undescribed_options(result.stdout) == [], result.stdout


@pytest.mark.parametrize("command", [["run"], ["x"]])
def test_every_option_a_hand_parser_accepts_is_in_its_help(monotrail: Monotrail, tmp_path: Path,
                                                           command: list[str]) -> None:
    """`run` and `x` parse by hand (the warm path cannot pay for argparse): their option tables and
    their help must not drift apart."""
    from monotrail import cli
    from monotrail.commands import tool as tool_command

    table = cli.RUN_OPTIONS if command == ["run"] else tool_command.OPTIONS
    text = ok(monotrail.run(*command, "--help", cwd=tmp_path)).stdout
    option_lines = [line.strip() for line in text.splitlines() if line.startswith("  -")]
    for names, _key, _metavar, description in table:
        assert description.strip(), names
        for name in names:
            assert any(name in line.split("  ")[0].replace(",", " ").split() for line in option_lines), (name, text)


@pytest.mark.parametrize(("argv", "command", "suggestion"), [
    (["store", "lsit"], "monotrail store", "list"),
    (["python", "lsit"], "monotrail python", "list"),
    (["shims", "instal"], "monotrail shims", "install"),
    (["rnu", "hello.py"], "monotrail", "run"),
    (["stroe", "list"], "monotrail", "store"),
])
def test_an_unknown_command_is_one_line_with_a_close_name(monotrail: Monotrail, tmp_path: Path, argv: list[str],
                                                          command: str, suggestion: str) -> None:
    result = monotrail.run(*argv, cwd=tmp_path)
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: unknown command {argv[0] if command == 'monotrail' else argv[1]!r} for " \
                       f"`{command}`; did you mean {suggestion!r}?", result.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]) and len(lines) <= 2, result.stderr
    assert "invalid choice" not in result.stderr


def test_an_unknown_command_far_from_any_gets_no_suggestion(monotrail: Monotrail, tmp_path: Path) -> None:
    result = monotrail.run("store", "zzzzzz", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "error: unknown command 'zzzzzz' for `monotrail store`", result.stderr
