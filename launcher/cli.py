"""The command line: argv -> a request, then dispatch to the command's function.

`monotrail [+VERSION] run [OPTIONS] TARGET [ARGS...]` is parsed by hand, not with argparse:
the warm path of `run` must not pay for argparse's import, and TARGET ends option parsing
exactly like python's own command line (everything after it belongs to the target).
"""

from __future__ import annotations

import os
import sys

from monotrail import __version__
from monotrail.errors import MonotrailError, UsageError

USAGE = """\
usage: monotrail [+VERSION] run [OPTIONS] TARGET [ARGS...]
       monotrail [+VERSION] SCRIPT [ARGS...]

Run Python code with the exact dependencies of a lockfile, without a virtualenv.

TARGET is one of:
  SCRIPT [ARGS]             a Python file (the lock is searched from its directory upwards)
  -m MODULE [ARGS]          a module, as `python -m`
  -c CODE [ARGS]            a program string, as `python -c`
  python [PYTHON-ARGS]      the interpreter itself, with any python flags (`python` alone: a REPL)
  COMMAND [ARGS]            a console script of the locked packages (or any command, with the
                            environment's bin/ first on PATH)

Options of `run`:
  +VERSION, -p, --python REQ  the Python to use: 3.12, 3.8.18, /path/to/python
                              (default: MONOTRAIL_PYTHON, .python-version, the lock's requires-python)
  -E, --extra NAME          include an extra (repeatable; also MONOTRAIL_EXTRAS=a,b)
  --all-extras              include every extra the lock defines
  -G, --group NAME          include a dependency group (repeatable)
  --no-default-groups       leave out the lock's default groups
  --lock PATH               use this lockfile instead of searching for one
  --offline                 never touch the network (use the store and the cache only)
  --index-url URL           the package index (default: the lock's, PIP_INDEX_URL, UV_INDEX_URL, PyPI)
  --extra-index-url URL     another index (repeatable)
  --find-links PATH|URL     a directory or page of wheels (repeatable)
  -q, --quiet               no progress display
  -v, --verbose             say what is installed

Environment: MONOTRAIL_ROOT (store location), MONOTRAIL_EXTRAS, MONOTRAIL_PYTHON,
MONOTRAIL_LOG=debug (decisions and timings, tracebacks on errors).
"""


class RunRequest:
    """What `monotrail run` was asked to do, before anything was looked up.

    A plain class rather than a dataclass: `dataclasses` imports `inspect`, which alone would
    cost the warm path more than the rest of the launcher.
    """

    def __init__(
        self,
        *,
        python: str | None,
        target_kind: str,  # "script" | "module" | "code" | "python" | "command"
        target: list[str],  # the python-like argv of the target: ["app.py", "a"], ["-m", "x"]
        extras: tuple[str, ...] = (),
        all_extras: bool = False,
        groups: tuple[str, ...] = (),
        no_default_groups: bool = False,
        lock: str | None = None,
        offline: bool = False,
        index_url: str | None = None,
        extra_index_urls: tuple[str, ...] = (),
        find_links: tuple[str, ...] = (),
        quiet: bool = False,
        verbose: bool = False,
        python_flags: list[str] | None = None,  # interpreter flags of a `python` target
    ) -> None:
        self.python = python
        self.target_kind = target_kind
        self.target = target
        self.extras = extras
        self.all_extras = all_extras
        self.groups = groups
        self.no_default_groups = no_default_groups
        self.lock = lock
        self.offline = offline
        self.index_url = index_url
        self.extra_index_urls = extra_index_urls
        self.find_links = find_links
        self.quiet = quiet
        self.verbose = verbose
        self.python_flags = python_flags or []

    def __repr__(self) -> str:
        return f"RunRequest({self.__dict__!r})"


_VALUE_OPTIONS = {
    "-E": "extras", "--extra": "extras",
    "-G": "groups", "--group": "groups",
    "-p": "python", "--python": "python",
    "--lock": "lock",
    "--index-url": "index_url", "-i": "index_url",
    "--extra-index-url": "extra_index_urls",
    "--find-links": "find_links", "-f": "find_links",
}
_FLAG_OPTIONS = {
    "--all-extras": "all_extras",
    "--no-default-groups": "no_default_groups",
    "--offline": "offline",
    "-q": "quiet", "--quiet": "quiet",
    "-v": "verbose", "--verbose": "verbose",
}
_REPEATABLE = {"extras", "groups", "extra_index_urls", "find_links"}


def parse_run_args(args: list[str], python: str | None) -> RunRequest:
    """Parse `run`'s options up to TARGET; everything from TARGET on is the target's."""
    values: dict = {"python": python, "extras": [], "groups": [], "extra_index_urls": [], "find_links": []}
    i = 0
    while i < len(args):
        arg = args[i]
        name, inline = (arg.split("=", 1) + [None])[:2] if arg.startswith("--") and "=" in arg else (arg, None)
        if name in _FLAG_OPTIONS:
            values[_FLAG_OPTIONS[name]] = True
            i += 1
        elif name in _VALUE_OPTIONS:
            value = inline
            if value is None:
                if i + 1 >= len(args):
                    raise UsageError(f"option {name} needs a value", hint="see `monotrail run --help`")
                value = args[i + 1]
                i += 1
            key = _VALUE_OPTIONS[name]
            if key in _REPEATABLE:
                values[key].append(value)
            else:
                values[key] = value
            i += 1
        elif arg in ("-h", "--help"):
            raise _HelpRequested()
        elif arg == "--":
            i += 1
            break
        elif arg in ("-m", "-c") or not arg.startswith("-") or arg == "-":
            break
        else:
            raise UsageError(f"unknown option {arg!r} for `monotrail run`", hint="see `monotrail run --help`")
    return _with_target(values, args[i:])


def _with_target(values: dict, target: list[str]) -> RunRequest:
    if not target:
        raise UsageError(
            "nothing to run",
            hint="give a script, `-m MODULE`, `-c CODE`, `python` or a command, e.g. `monotrail run python`",
        )
    head = target[0]
    python_flags: list[str] = []
    if head in ("-m", "-c"):
        if len(target) < 2:
            raise UsageError(f"argument expected for the {head} option")
        kind = "module" if head == "-m" else "code"
    elif head == "python" or _is_python_command(head):
        kind = "python"
        python_flags, target = _split_python(target[1:])
    elif head.endswith((".py", ".pyw")) or os.sep in head or os.path.isfile(head):
        kind = "script"
    else:
        kind = "command"
    extras = tuple(values["extras"]) + _env_extras()
    return RunRequest(
        python=values.get("python"),
        target_kind=kind,
        target=list(target),
        extras=tuple(dict.fromkeys(extras)),
        all_extras=bool(values.get("all_extras")),
        groups=tuple(dict.fromkeys(values["groups"])),
        no_default_groups=bool(values.get("no_default_groups")),
        lock=values.get("lock"),
        offline=bool(values.get("offline")),
        index_url=values.get("index_url"),
        extra_index_urls=tuple(values["extra_index_urls"]),
        find_links=tuple(values["find_links"]),
        quiet=bool(values.get("quiet")),
        verbose=bool(values.get("verbose")),
        python_flags=python_flags,
    )


def _is_python_command(head: str) -> bool:
    """`python3` and `python3.12` mean the interpreter too, as in `uv run python3`."""
    return head in ("python3",) or (head.startswith("python3.") and head[8:].isdigit())


def _split_python(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `python [FLAGS] [TARGET]` with the bootstrap's own parser: one parser for both."""
    from monotrail.bootstrap._monotrail_bootstrap import split_python_argv

    flags, target = split_python_argv(argv)
    return list(flags), list(target)


def _env_extras() -> tuple[str, ...]:
    raw = os.environ.get("MONOTRAIL_EXTRAS", "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


class _HelpRequested(Exception):
    pass


def main(argv: list[str]) -> int:
    try:
        return _dispatch(argv)
    except _HelpRequested:
        sys.stdout.write(USAGE)
        return 0
    except MonotrailError as error:
        return report(error)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as error:  # a bug of ours: still one line, the traceback on request
        from monotrail.log import DEBUG

        if DEBUG:
            raise
        sys.stderr.write(f"error: internal error: {type(error).__name__}: {error}\n")
        sys.stderr.write("hint: rerun with MONOTRAIL_LOG=debug for the traceback, and report it\n")
        return 70


def report(error: MonotrailError) -> int:
    """One line saying what and where, one saying what to do; a traceback only when debugging."""
    from monotrail.log import DEBUG

    if DEBUG:
        import traceback

        traceback.print_exc()
    sys.stderr.write(f"error: {error}\n")
    if error.hint:
        sys.stderr.write(f"hint: {error.hint}\n")
    return error.exit_code


def _dispatch(argv: list[str]) -> int:
    python = None
    if argv and argv[0].startswith("+"):
        python = argv[0][1:]
        if not python:
            raise UsageError("empty Python request after '+'", hint="write e.g. `monotrail +3.12 run app.py`")
        argv = argv[1:]
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        sys.stdout.write(f"monotrail {__version__}\n")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        from monotrail.run import run

        return run(parse_run_args(rest, python))
    if command in ("-p", "--python") and rest:
        return _dispatch([f"+{rest[0]}"] + rest[1:])
    if not command.startswith("-") and (command.endswith((".py", ".pyw")) or os.path.isfile(command)):
        # `monotrail SCRIPT` is `monotrail run SCRIPT`: what a `#!/usr/bin/env monotrail` shebang gives.
        from monotrail.run import run

        return run(parse_run_args(argv, python))
    raise UsageError(f"unknown command {command!r}", hint="see `monotrail --help`")
