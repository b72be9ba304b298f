"""`python -m monotrail`, `monotrail-launcher`: which command answers argv.

The dispatcher sits above the commands it calls (each imported only when its word is given) and
the parsing in `monotrail.cli` below them; the warm path goes straight to `monotrail.commands.run`.
"""

from __future__ import annotations

import os
import sys

from monotrail import __version__
from monotrail.cli import RUN_OPTIONS, RUN_USAGE, USAGE, HelpRequested, parse_run_args, report
from monotrail.errors import InterpreterNotFound, MonotrailError, UsageError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Answer `argv` (default: this process's; the console script calls `sys.exit(main())`); stdout is flushed here, inside the handler, not at interpreter exit.

    `monotrail store list | head`: the reader left. Output is buffered, so the write that meets
    the closed pipe is often the last flush; at exit it would print `Exception ignored ...
    BrokenPipeError`. Say nothing more, as `ls | head` does (argparse's `--help` exits through
    SystemExit, which the `finally` flushes too).
    """
    if argv is None:
        argv = sys.argv[1:]
    try:
        try:
            return _answer(argv)
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _answer(argv: list[str]) -> int:
    try:
        return _dispatch(argv)
    except HelpRequested:
        from monotrail.cli.usage import options_help

        sys.stdout.write(RUN_USAGE + options_help(RUN_OPTIONS))
        return 0
    except MonotrailError as error:
        return report(error)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except BrokenPipeError:
        raise
    except Exception as error:  # a bug of ours: still one line, the traceback on request
        from monotrail.log import DEBUG

        if DEBUG:
            raise
        sys.stderr.write(f"error: internal error: {type(error).__name__}: {error}\n")
        sys.stderr.write("hint: rerun with MONOTRAIL_LOG=debug for the traceback, and report it\n")
        return 70


def _dispatch(argv: list[str]) -> int:
    """Answer once; a command that found no Python fitting a version request gets one downloaded
    (`monotrail.store.pythons`) and runs again, as uv downloads a missing Python and goes on."""
    tried: set[str] = set()
    while True:
        try:
            return _dispatch_once(argv)
        except InterpreterNotFound as missing:  # discovery is not imported here: the warm path must not pay for it
            from monotrail.interpreters.discovery import NoMatchingPython
            from monotrail.store.pythons import install_missing

            if (not isinstance(missing, NoMatchingPython) or missing.message in tried or _offline(argv)
                    or not install_missing(missing)):
                raise
            tried.add(missing.message)


def _offline(argv: list[str]) -> bool:
    """`--offline` among the command's own options (`run`'s before its target): no Python download
    either, as uv's --offline; a target's or a tool's own `--offline` is theirs."""
    _, words = _leading_pythons(argv)
    if words[:1] == ["run"]:
        try:
            return parse_run_args(words[1:], None).offline
        except MonotrailError:
            return False
    return bool(words) and words[0] in ("lock", *_VENV_COMMANDS) and "--offline" in words


def _dispatch_once(argv: list[str]) -> int:
    pythons, argv = _leading_pythons(argv)
    if len(pythons) > 1:
        return _run_each(pythons, argv)
    python = pythons[0] if pythons else None
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        sys.stdout.write(f"monotrail {__version__}\n")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        from monotrail.commands.run import run

        return run(parse_run_args(rest, python))
    if command in ("python", "shims"):
        if python is not None:
            raise UsageError(f"`monotrail {command}` takes no +VERSION", hint=f"see `monotrail {command} --help`")
        return _subcommand(command, rest)
    if command == "store":
        if python is not None:
            raise UsageError("`monotrail store` takes no +VERSION", hint="see `monotrail store --help`")
        from monotrail.commands.store import main as store_main

        return store_main(rest)
    if command in _VENV_COMMANDS:
        return _venv_command(command, rest, python)
    if command == "lock":
        from monotrail.commands.relock import up_to_date

        unchanged = up_to_date(rest, python)  # before argparse and the lock command's imports
        if unchanged is not None:
            from monotrail.log import info

            info(f"up to date: {unchanged}", quiet="-q" in rest or "--quiet" in rest)
            return 0
        from monotrail.commands.lock import main as lock_main

        return lock_main(rest, python)
    if command == "x":
        from monotrail.commands.tool import main as tool_main

        return tool_main(rest, python)
    if command == "kernel":
        from monotrail.commands.kernel import main as kernel_main

        return kernel_main(rest, python)
    if command == "env":
        from monotrail.commands.env import main as env_main

        return env_main(rest, python)
    if command == "ide":
        from monotrail.commands.ide import main as ide_main

        return ide_main(rest, python)
    if _is_script(command):
        # `monotrail SCRIPT` is `monotrail run SCRIPT`: what a `#!/usr/bin/env monotrail` shebang gives.
        from monotrail.commands.run import run

        return run(parse_run_args(argv, python))
    from monotrail.cli.usage import unknown_command

    raise unknown_command(command, _COMMANDS, "monotrail")


_VENV_COMMANDS = ("install", "sync", "poetry-install")
_COMMANDS = ("run", "python", "shims", "store", "lock", "x", *_VENV_COMMANDS, "kernel", "env", "ide", "help")


def _venv_command(command: str, rest: list[str], python: str | None) -> int:
    """`monotrail install|sync|poetry-install`: the store's files into a real virtualenv."""
    if python is not None:
        rest = ["--python", python] + rest
    if command == "install":
        from monotrail.commands.install import main as install_main

        return install_main(rest)
    from monotrail.commands.sync import main_poetry_install, main_sync

    return main_sync(rest) if command == "sync" else main_poetry_install(rest)


def _leading_pythons(argv: list[str]) -> tuple[list[str], list[str]]:
    """The `+REQ` / `-p REQ` / `--python=REQ` words before the command, in order."""
    pythons: list[str] = []
    while argv:
        head = argv[0]
        if head == "--no-python-downloads":  # as uv's: also for the children of `-p A -p B run`
            os.environ["MONOTRAIL_PYTHON_DOWNLOADS"] = "never"
            argv = argv[1:]
            continue
        if head.startswith("+"):
            value, argv = head[1:], argv[1:]
        elif head in ("-p", "--python") and len(argv) > 1:
            value, argv = argv[1], argv[2:]
        elif head.startswith("--python="):
            value, argv = head.split("=", 1)[1], argv[1:]
        else:
            break
        if not value.strip():
            raise UsageError(f"empty Python request in {head!r}", hint="write e.g. `monotrail +3.12 run app.py`")
        pythons.append(value)
    return pythons, argv


def _is_script(command: str) -> bool:
    return not command.startswith("-") and (command.endswith((".py", ".pyw")) or os.path.isfile(command))


def _run_each(pythons: list[str], argv: list[str]) -> int:
    """`monotrail -p 3.8 -p 3.12 run ...`: once per Python (see `monotrail.commands.matrix`)."""
    if not argv or not (argv[0] == "run" or _is_script(argv[0])):
        raise UsageError(
            "several Pythons are for `run` or a script",
            hint="e.g. `monotrail -p 3.8 -p 3.12 run -m pytest`",
        )
    if argv[0] == "run":
        parse_run_args(argv[1:], None)  # a usage error once, not once per Python
    else:
        parse_run_args(argv, None)
    from monotrail.commands.matrix import run_each

    return run_each(pythons, argv)


def _subcommand(command: str, args: list[str]) -> int:
    """`monotrail python ...` and `monotrail shims ...`: argparse is fine off the warm path."""
    parser = _subcommand_parser(command)
    options = parser.parse_args(args)
    if options.action is None:
        parser.print_help()
        return 2
    if command == "python":
        from monotrail.commands import python as python_command

        if options.action == "list":
            return python_command.list_command(show_all=options.all, as_json=options.json, managed=options.managed)
        if options.action == "install":
            return python_command.install_command(requests=options.requests, reinstall=options.reinstall)
        if options.action == "uninstall":
            return python_command.uninstall_command(requests=options.requests)
        if options.action == "find":
            return python_command.find_command(request=options.request)
        return python_command.pin_command(request=options.request)
    from monotrail.commands import shims

    if options.action == "install":
        return shims.install_command(directory=options.dir)
    if options.action == "uninstall":
        return shims.uninstall_command(directory=options.dir)
    return shims.list_command(directory=options.dir)


def _subcommand_parser(command: str):
    from monotrail.cli.usage import Parser

    if command == "python":
        parser = Parser(prog="monotrail python", description="The Pythons monotrail finds, pinning one, and "
                        "installing them.")
        actions = parser.add_subparsers(dest="action", metavar="COMMAND", help="one of:")
        text = "the Pythons discovery finds (* = what this directory runs)"
        listing = actions.add_parser("list", help=text, description=text)
        listing.add_argument("--all", action="store_true", help="also unusable ones, and why")
        listing.add_argument("--json", action="store_true", help="machine-readable output")
        listing.add_argument("--managed", action="store_true", help="only the Pythons monotrail installed")
        text = "print the path of the Python a request gets (exit 1 if none)"
        find = actions.add_parser("find", help=text, description=text)
        find.add_argument("request", nargs="?", help="3.12, cpython@3.12, >=3.10, a path (default: this directory's)")
        text = "write .python-version here (checked against the lock's requires-python)"
        pin = actions.add_parser("pin", help=text, description=text)
        pin.add_argument("request", help="3.12, 3.12.1, cpython@3.12, >=3.10, a path")
        text = "download and install python-build-standalone builds (default: what the project asks for)"
        install = actions.add_parser("install", help=text, description=text)
        install.add_argument("requests", nargs="*", metavar="REQUEST", help="3.13, 3.12.7, 3.13t, pypy3.10, >=3.11")
        install.add_argument("--reinstall", action="store_true", help="download again what is installed")
        text = "remove Pythons that `monotrail python install` installed"
        uninstall = actions.add_parser("uninstall", help=text, description=text)
        uninstall.add_argument("requests", nargs="+", metavar="REQUEST", help="3.13 (every 3.13.x), 3.12.7, pypy3.10")
        return parser
    parser = Parser(prog="monotrail shims", description="`python`, `python3`, `python3.X` shims that run "
                    "monotrail inside a project and the plain interpreter outside one.")
    actions = parser.add_subparsers(dest="action", metavar="COMMAND", help="one of:")
    for name, text in (("install", "write python, python3, python3.X shims"),
                       ("uninstall", "remove monotrail's shims"), ("list", "show the shims and their Pythons")):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("--dir", default=None, help="the shim directory (default: ~/.local/bin)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
