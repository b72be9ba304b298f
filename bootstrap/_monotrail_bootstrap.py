# monotrail bootstrap entry script (this first line stays a comment: see _split_shim_argv).
"""Entry script of every monotrail run: ``python -S [flags] THIS MANIFEST [--shim] ARGV...``.

The launcher starts the interpreter with ``-S`` so that no site-packages is ever seen, and this
script recreates the rest of ``site`` plus a finder for the locked packages (see
docs/architecture.md, "Bootstrap command line").

A script given on the command line is compiled on every start (CPython caches bytecode only for
imported modules), so this file stays small: it parses the command line, handles ``--shim`` (which
often re-executes before anything else is loaded) and then imports ``_monotrail_finder`` from its
own directory, which holds the runtime and is byte-compiled like any module.

Nothing runs at import time, so the launcher can import :func:`split_python_argv` from here, by
file path or as ``monotrail.bootstrap._monotrail_bootstrap``. Stdlib only, Python 3.8+.
"""

import os
import sys

# Interpreter options that consume the next argument (or the rest of their cluster: ``-Wignore``).
_OPTIONS_WITH_VALUE = "WX"
# Options that end option parsing; what follows is the target and its arguments.
_TARGET_OPTIONS = "cm"
# Options whose whole job is printing something: the real interpreter handles them directly.
_INFO_OPTIONS = frozenset(["-h", "-?", "-V", "--help", "--version", "--help-env",
                           "--help-xoptions", "--help-all"])


def split_python_argv(argv):
    """Split a full python command line (without the executable) into ``(flags, target)``.

    ``flags`` are the interpreter options, one option per item and each value as its own item
    (``-uB`` -> ``['-u', '-B']``, ``-Wignore`` -> ``['-W', 'ignore']``), so they can be passed on
    unchanged. ``target`` is what the bootstrap accepts as a target: ``['-c', CODE, *args]``,
    ``['-m', MODULE, *args]``, ``[SCRIPT, *args]``, ``['-', *args]`` or ``[]``.

    This mirrors CPython's own getopt (Python/getopt.c): short options cluster, an option that
    takes a value takes the rest of its cluster or the next argument, ``-c``/``-m`` end option
    parsing, ``--`` ends it too and ``-`` alone means stdin. Unknown options are kept as flags so
    that the interpreter, once re-executed with them, reports them with its own message.
    """
    flags = []
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


def _stdin_wants_repl(target):
    """Whether plain python would start its interactive loop for this target."""
    if target not in ([], ["-"]) and target[:1] != ["-"]:
        return False
    try:
        return os.isatty(0)
    except OSError:
        return False


def _split_shim_argv(bootstrap, manifest, argv):
    """Turn ``--shim`` argv (a full python command line) into a target, re-executing if needed.

    ``sys.executable`` is the real interpreter here: the shim exec'd it directly. Every flag but
    ``-S`` (already in effect, and added to children's command lines by
    ``subprocess._args_from_interpreter_flags`` because ``sys.flags.no_site`` is set) changes how
    the interpreter itself starts, so it needs a fresh interpreter. ``-x`` would make that
    interpreter skip this file's first line instead of the script's, hence the comment there.
    """
    flags, target = split_python_argv(argv)
    flags = [flag for flag in flags if flag != "-S"]
    if any(flag in _INFO_OPTIONS for flag in flags):
        os.execv(sys.executable, [sys.executable] + argv)
    # A bare `python` on a terminal is the REPL; the REPL after a script needs `-i` (CPython only
    # enters it after running the "script", which here is this bootstrap).
    if _stdin_wants_repl(target) and "-i" not in flags:
        flags.append("-i")
    if flags:
        os.execv(sys.executable,
                 [sys.executable, "-S"] + flags + [bootstrap, manifest] + target)
    return target


def _main():
    """Parse ``MANIFEST [--shim] ARGV...`` and hand over to the runtime."""
    if len(sys.argv) < 2:
        sys.exit("usage: python -S %s MANIFEST [--shim] ARGV..." % sys.argv[0])
    bootstrap = os.path.abspath(__file__)
    manifest = sys.argv[1]
    target = sys.argv[2:]
    if target[:1] == ["--shim"]:
        target = _split_shim_argv(bootstrap, manifest, target[1:])

    # CPython put this file's directory at sys.path[0], except under -I (3.8+) or -P (3.11+).
    # It must not stay there, but it is where the runtime module is imported from.
    here = os.path.dirname(os.path.realpath(bootstrap))
    safe_path = getattr(sys.flags, "safe_path", sys.flags.isolated)
    if safe_path:
        sys.path.insert(0, here)
    try:
        import _monotrail_finder
    finally:
        del sys.path[0]
    # The runtime reuses this module's globals as the user's clean `__main__`: nothing in this
    # function may look up a global after this call.
    _monotrail_finder.run(manifest, target, bootstrap)


if __name__ == "__main__":
    _main()
