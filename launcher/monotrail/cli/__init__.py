"""The command line: argv -> a request (`RunRequest`), the usage texts, and the one way errors
are printed (`report`). `monotrail.__main__` dispatches to the commands; the commands use this
package's parsers (`usage`, `python_argv`), so it sits below them.

`monotrail [+VERSION] run [OPTIONS] TARGET [ARGS...]` is parsed by hand, not with argparse:
the warm path of `run` must not pay for argparse's import, and TARGET ends option parsing
exactly like python's own command line (everything after it belongs to the target).
"""

from __future__ import annotations

import os
import sys

from monotrail.errors import MonotrailError, UsageError

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: the warm path does not import typing
if TYPE_CHECKING:
    from monotrail.environment.spec import EnvironmentSpec

USAGE = """\
usage: monotrail [+VERSION] run [OPTIONS] TARGET [ARGS...]
       monotrail [+VERSION] SCRIPT [ARGS...]
       monotrail +VERSION +VERSION... run|SCRIPT ...   once per Python, then a summary
       monotrail python list [--all] [--json] [--managed] | find [REQ] | pin REQ | install [REQ...] | uninstall REQ...
       monotrail shims install|uninstall|list [--dir DIR]
       monotrail store path | list [--json] | verify [--repair] | gc [--dry-run] [--older-than 30d] | clean [--yes]
       monotrail lock [--python REQ] [--extra X] [--group G] [--script FILE] [--upgrade] [--refresh] [--offline]
       monotrail x [--from PKG==V] TOOL [ARGS...]
       monotrail kernel install [--name NAME] [--display-name TEXT] [-G GROUP] [--with REQ] | list | uninstall NAME
       monotrail env python | info [--json]
       monotrail ide [vscode | pyright]
       monotrail install [--venv DIR | --python PATH] WHEEL|NAME==VERSION|NAME @ URL...
       monotrail sync [--venv DIR] [--lock PATH] [--extra X] [--group G]
       monotrail poetry-install [-E EXTRA] [--with GROUP] [--no-root]

Run Python code with the exact dependencies of a lockfile, without a virtualenv.

Commands (each takes --help):
  run TARGET [ARGS]             run a script, -m MODULE, -c CODE, python or a console script in
                                the lock's environment (`monotrail run --help` for TARGET and options)
  SCRIPT [ARGS]                 `run SCRIPT`: what a `#!/usr/bin/env monotrail` shebang gives
  python list [--all] [--json]  the Pythons found (version, implementation, source, path);
                                * marks the one this directory's project would run
  python find [REQ]             print the path of the Python REQ gets (exit 1 if none)
  python pin REQ                write .python-version here (checked against the lock's requires-python)
  python install [REQ...]       download python-build-standalone builds (3.13, 3.12.7, 3.13t, pypy3.10;
                                default: the project's); a run downloads a missing one by itself unless
                                MONOTRAIL_PYTHON_DOWNLOADS=never or --no-python-downloads (docs/how-to/pythons.md)
  python uninstall REQ...       remove Pythons monotrail installed
  shims install [--dir DIR]     write python, python3, python3.X shims (default DIR: ~/.local/bin)
  shims uninstall [--dir DIR]   remove them
  shims list [--dir DIR]        show them
  store path|list|verify|gc|clean  inspect, verify and clean the global store (docs/how-to/store.md)
  lock [--script FILE]          resolve pyproject.toml (or a PEP 723 script) into pylock.toml
                                (FILE.lock for a script); see docs/how-to/locking.md
  x TOOL [ARGS]                 run a tool's console script from the index, venv-less (like uvx);
                                `x --from PKG==V CMD [ARGS]` when the command is named differently
  kernel install [--name NAME]  write a Jupyter kernelspec that runs this project's lock venv-less
  kernel list|uninstall NAME    the kernels monotrail installed (docs/how-to/editors.md, "Jupyter")
  env python                    print an interpreter path for editors and tools: it follows the
                                lock, its sys.path holds the locked packages (docs/how-to/editors.md)
  env info [--json]             the lock, Python, environment, lib dirs and console scripts
  ide [vscode|pyright]          point .vscode/settings.json or pyright's config at `env python`
                                (merged into the file, comments kept); `ide` alone lists the targets
  install WHEEL|REQ...          link wheels from the store into $VIRTUAL_ENV (or --venv/--python);
                                pins, wheel files and `name @ URL` only (no resolver yet)
  sync [--venv DIR]             make a virtualenv match the lock exactly (created if missing)
  poetry-install                `sync` of a poetry project into .venv, the project editable
                                (see docs/how-to/venv.md)

+VERSION (or -p REQ) before the command chooses the Python: 3.12, 3.8.18, cpython@3.12, >=3.10,
a path. Several (`+3.8 +3.12 run -m pytest`) run the target once per Python, each with its own
selection of the same lock, then print a summary; the exit code is 1 if any run failed.

Environment: MONOTRAIL_ROOT (store location), MONOTRAIL_EXTRAS, MONOTRAIL_PYTHON,
MONOTRAIL_LOG=debug (decisions and timings, tracebacks on errors).
"""

# `run`'s options: (names, RunRequest field, metavar or None for a flag, description). Both the
# hand parser below and `monotrail run --help` read this table, so they cannot drift apart.
RUN_OPTIONS = (
    (("-p", "--python"), "python", "REQ", "the Python to use: 3.12, 3.8.18, cpython@3.12, >=3.10, a path (also "
     "+REQ before `run`; default: MONOTRAIL_PYTHON, .python-version, the newest fitting the lock's requires-python)"),
    (("-E", "--extra"), "extras", "NAME", "include an extra (repeatable; also MONOTRAIL_EXTRAS=a,b)"),
    (("--all-extras",), "all_extras", None, "include every extra the lock defines"),
    (("-G", "--group"), "groups", "NAME", "include a dependency group (repeatable)"),
    (("--no-default-groups",), "no_default_groups", None, "leave out the lock's default groups"),
    (("--lock",), "lock", "PATH", "use this lockfile instead of searching for one"),
    (("--project",), "project", "DIR", "search the lock (and .python-version) from DIR instead of the working "
     "directory, which stays the program's (as `uv run --project`)"),
    (("-w", "--with"), "with_requirements", "REQ",
     "an extra requirement for this run (repeatable; resolved with the lock's pins)"),
    (("--offline",), "offline", None, "never touch the network (use the store and the cache only)"),
    (("-i", "--index-url"), "index_url", "URL",
     "the package index (default: the lock's, PIP_INDEX_URL, UV_INDEX_URL, PyPI)"),
    (("--extra-index-url",), "extra_index_urls", "URL", "another index (repeatable)"),
    (("-f", "--find-links"), "find_links", "PATH|URL", "a directory or page of wheels (repeatable)"),
    (("--refresh",), "refresh", None, "refetch index pages younger than the cache TTL when resolving"),
    (("-U", "--upgrade"), "upgrade", None, "resolve without preferring versions already in the store"),
    (("-q", "--quiet"), "quiet", None, "no progress display"),
    (("-v", "--verbose"), "verbose", None, "name the lock, interpreter and environment used (and what was installed)"),
    (("-h", "--help"), "help", None, "show this help and exit"),
)

RUN_USAGE = """\
usage: monotrail run [OPTIONS] TARGET [ARGS...]
       monotrail [+VERSION] run [OPTIONS] TARGET [ARGS...]
       monotrail [+VERSION] SCRIPT [ARGS...]

Run TARGET with the packages of the lock found from the script's directory (else the working
directory) upwards, installed once into the global store: no virtualenv. Options come before
TARGET; everything after TARGET is the target's (`monotrail run -G dev -m pytest -x`).

TARGET is one of:
  SCRIPT [ARGS]             a Python file: its PEP 723 `# /// script` block if it has one (resolved
                            once, cached in the store), else the lock searched from its directory
                            upwards (a pyproject.toml [project] without a lock is locked first)
  -m MODULE [ARGS]          a module, as `python -m`
  -c CODE [ARGS]            a program string, as `python -c`
  python [PYTHON-ARGS]      the interpreter itself, with any python flags (`python` alone: a REPL)
  COMMAND [ARGS]            a console script of the locked packages (or any command, with the
                            environment's bin/ first on PATH)

Options:
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
        with_requirements: tuple[str, ...] = (),  # `--with REQ`: extra requirements for this run
        refresh: bool = False,
        upgrade: bool = False,
        project: str | None = None,  # `--project DIR`: where the lock search starts
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
        self.with_requirements = with_requirements
        self.refresh = refresh
        self.upgrade = upgrade
        self.project = project

    def __repr__(self) -> str:
        return f"RunRequest({self.__dict__!r})"

    def environment_spec(self) -> EnvironmentSpec:
        """What the environment is made of: the install below the CLI takes this, not the request."""
        from monotrail.environment.spec import EnvironmentSpec

        return EnvironmentSpec(
            lock=self.lock, extras=self.extras, all_extras=self.all_extras, groups=self.groups,
            no_default_groups=self.no_default_groups, index_url=self.index_url,
            extra_index_urls=self.extra_index_urls, find_links=self.find_links, offline=self.offline,
            quiet=self.quiet, verbose=self.verbose,
        )


_VALUE_OPTIONS = {name: key for names, key, metavar, _ in RUN_OPTIONS if metavar for name in names}
_FLAG_OPTIONS = {name: key for names, key, metavar, _ in RUN_OPTIONS if not metavar and key != "help" for name in names}
_REPEATABLE = {"extras", "groups", "extra_index_urls", "find_links", "with_requirements"}


def parse_run_args(args: list[str], python: str | None) -> RunRequest:
    """Parse `run`'s options up to TARGET; everything from TARGET on is the target's."""
    values: dict = {"python": python, "extras": [], "groups": [], "extra_index_urls": [], "find_links": [],
                    "with_requirements": []}
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
            raise HelpRequested()
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
        with_requirements=tuple(values["with_requirements"]),
        refresh=bool(values.get("refresh")),
        upgrade=bool(values.get("upgrade")),
        project=values.get("project"),
    )


def _is_python_command(head: str) -> bool:
    """`python3` and `python3.12` mean the interpreter too, as in `uv run python3`."""
    return head in ("python3",) or (head.startswith("python3.") and head[8:].isdigit())


def _split_python(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `python [FLAGS] [TARGET]` as CPython does (`monotrail.cli.python_argv`)."""
    from monotrail.cli.python_argv import split_python_argv

    flags, target = split_python_argv(argv)
    return list(flags), list(target)


def _env_extras() -> tuple[str, ...]:
    raw = os.environ.get("MONOTRAIL_EXTRAS", "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


class HelpRequested(Exception):
    """`run --help`: answered by the dispatcher with the run options' help."""


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
