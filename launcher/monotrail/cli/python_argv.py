"""Python's own command line, split as CPython splits it: interpreter flags, then the target.

`monotrail run python [FLAGS] [TARGET]` needs to know the target (a script decides where the lock
is searched from) and passes the flags on to the environment's interpreter unchanged. Stdlib
only and import-light: the launcher's warm path uses it.
"""

from __future__ import annotations

# Interpreter options that consume the next argument (or the rest of their cluster: ``-Wignore``).
_OPTIONS_WITH_VALUE = "WX"
# Options that end option parsing; what follows is the target and its arguments.
_TARGET_OPTIONS = "cm"


def split_python_argv(argv: list) -> tuple:
    """Split a full python command line (without the executable) into ``(flags, target)``.

    ``flags`` are the interpreter options, one option per item and each value as its own item
    (``-uB`` -> ``['-u', '-B']``, ``-Wignore`` -> ``['-W', 'ignore']``), so they can be passed on
    unchanged. ``target`` is ``['-c', CODE, *args]``, ``['-m', MODULE, *args]``,
    ``[SCRIPT, *args]``, ``['-', *args]`` or ``[]`` (see `python_command_line` for the way back).

    This mirrors CPython's own getopt (Python/getopt.c): short options cluster, an option that
    takes a value takes the rest of its cluster or the next argument, ``-c``/``-m`` end option
    parsing, ``--`` ends it too and ``-`` alone means stdin. Unknown options are kept as flags so
    that the interpreter, started with them, reports them with its own message.
    """
    flags: list = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return flags, argv[i + 1:]
        if arg == "-" or not arg.startswith("-"):
            return flags, argv[i:]
        if arg.startswith("--"):
            flags.append(arg)
            # The only long option with a value (3.7+); CPython takes it as the next argument.
            if arg == "--check-hash-based-pycs" and i + 1 < len(argv):
                flags.append(argv[i + 1])
                i += 1
            i += 1
            continue
        j = 1
        while j < len(arg):
            option = arg[j]
            if option in _TARGET_OPTIONS or option in _OPTIONS_WITH_VALUE:
                value = arg[j + 1:]
                if not value:
                    i += 1
                    if i >= len(argv):
                        # `python -c` without a value: let the interpreter print its usage error.
                        flags.append("-" + option)
                        return flags, []
                    value = argv[i]
                if option in _TARGET_OPTIONS:
                    return flags, ["-" + option, value] + argv[i + 1:]
                flags += ["-" + option, value]
                break
            flags.append("-" + option)
            j += 1
        i += 1
    return flags, []


def python_command_line(flags: list, target: list) -> list:
    """The arguments that give the interpreter `flags` and `target` again: a script whose name
    starts with `-` (given after `--`) gets its `--` back."""
    head = target[0] if target else ""
    if head.startswith("-") and head not in ("-", "-c", "-m"):
        return [*flags, "--", *target]
    return [*flags, *target]
