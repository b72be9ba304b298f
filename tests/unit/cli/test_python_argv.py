"""`monotrail.cli.python_argv`: python's own command line split into its flags and its target, and
joined again (what `monotrail run python ARGV` execs)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, flags, target", [
    ([], [], []),
    (["script.py", "-u", "a"], [], ["script.py", "-u", "a"]),
    (["-u", "-B", "x.py"], ["-u", "-B"], ["x.py"]),
    (["-uB", "x.py"], ["-u", "-B"], ["x.py"]),
    (["-OO", "-q", "-E", "-s", "-I", "-P", "-b", "-d", "-v", "-x", "-R", "s.py"],
     ["-O", "-O", "-q", "-E", "-s", "-I", "-P", "-b", "-d", "-v", "-x", "-R"], ["s.py"]),
    (["-Wignore", "-W", "error", "-c", "pass", "-v"],
     ["-W", "ignore", "-W", "error"], ["-c", "pass", "-v"]),
    (["-Xdev", "-X", "utf8", "-m", "mod", "a"], ["-X", "dev", "-X", "utf8"], ["-m", "mod", "a"]),
    (["-uc", "print(1)", "a"], ["-u"], ["-c", "print(1)", "a"]),
    (["-cprint(1)", "-c"], [], ["-c", "print(1)", "-c"]),
    (["-Bmpip", "list"], ["-B"], ["-m", "pip", "list"]),
    (["-S", "-c", "pass"], ["-S"], ["-c", "pass"]),
    (["-", "a"], [], ["-", "a"]),
    (["-i", "-"], ["-i"], ["-"]),
    (["--", "-weird.py", "a"], [], ["-weird.py", "a"]),
    (["--version"], ["--version"], []),
    (["-VV"], ["-V", "-V"], []),
    (["--check-hash-based-pycs", "always", "x.py"], ["--check-hash-based-pycs", "always"], ["x.py"]),
    (["-c"], ["-c"], []),
])
def test_split_python_argv(argv, flags, target):
    from monotrail.cli.python_argv import split_python_argv

    assert split_python_argv(argv) == (flags, target)


@pytest.mark.parametrize("argv", [["-u", "x.py", "-v"], ["--", "-weird.py", "a"], ["-uc", "pass"], ["-", "a"], ["-Wignore"]])
def test_python_command_line_gives_the_interpreter_the_same_meaning(argv):
    """What the launcher execs for `monotrail run python ARGV`: split, then joined again."""
    from monotrail.cli.python_argv import python_command_line, split_python_argv

    flags, target = split_python_argv(argv)
    assert split_python_argv(python_command_line(flags, target)) == (flags, target)
