"""`monotrail x TOOL [ARGS]` / `monotrail x --from PKG==V CMD [ARGS]`: a tool from the index, venv-less.

The tool's requirements are resolved once into a lock kept in the store (keyed by the request
and the Python request, see `monotrail.environment.resolved_lock_path`); later calls are warm runs of its
console script. `--upgrade`/`--refresh` resolve again.
"""

from __future__ import annotations

import os
import sys

from monotrail.errors import UsageError

# (names, key, metavar or None for a flag, description): the parser below and `x --help` read it.
OPTIONS = (
    (("--from",), "from", "REQ", "the package providing the command, when it is named differently "
     "(`monotrail x --from httpie http GET ...`)"),
    (("-w", "--with"), "with", "REQ", "another requirement installed beside the tool (repeatable)"),
    (("-p", "--python"), "python", "REQ", "the Python to run the tool on: 3.12, cpython@3.12, >=3.10, a path "
     "(also +REQ before `x`)"),
    (("-i", "--index-url"), "index_url", "URL", "the package index (default: PIP_INDEX_URL, UV_INDEX_URL, PyPI)"),
    (("--extra-index-url",), "extra_index_urls", "URL", "another index (repeatable)"),
    (("-f", "--find-links"), "find_links", "PATH|URL", "a directory or page of wheels (repeatable)"),
    (("--offline",), "offline", None, "never touch the network (resolve from the index cache and the store only)"),
    (("--refresh",), "refresh", None, "resolve again, refetching index pages younger than the cache TTL"),
    (("-U", "--upgrade"), "upgrade", None, "resolve again, without preferring versions already in the store"),
    (("-q", "--quiet"), "quiet", None, "no progress display"),
    (("-h", "--help"), "help", None, "show this help and exit"),
)
USAGE = """\
usage: monotrail x [OPTIONS] TOOL [ARGS...]
       monotrail x [OPTIONS] --from REQ COMMAND [ARGS...]

Run a tool's console script from the index without installing it anywhere (like uvx): TOOL is a
requirement (`ruff`, `ruff==0.8.0`) whose console script of the same name runs with ARGS. Its
requirements are resolved once into a lock kept in the store; later calls are warm runs. Options
come before TOOL.

Options:
"""
_VALUE = {name: key for names, key, metavar, _ in OPTIONS if metavar for name in names}
_FLAGS = {name: key for names, key, metavar, _ in OPTIONS if not metavar and key != "help" for name in names}
_LISTS = {"with", "extra_index_urls", "find_links"}


def main(args: list[str], python: str | None = None) -> int:
    values: dict = {"python": python, "with": [], "extra_index_urls": [], "find_links": []}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, _, inline = args[i].partition("=")
        if name in _FLAGS:
            values[_FLAGS[name]] = True
        elif name in _VALUE:
            if not inline:
                if i + 1 >= len(args):
                    raise UsageError(f"option {name} needs a value", hint="see `monotrail x --help`")
                i += 1
                inline = args[i]
            key = _VALUE[name]
            values[key] = values[key] + [inline] if key in _LISTS else inline
        elif name in ("-h", "--help"):
            from monotrail.cli.usage import options_help

            sys.stdout.write(USAGE + options_help(OPTIONS))
            return 0
        else:
            raise UsageError(f"unknown option {args[i]!r} for `monotrail x`", hint="see `monotrail x --help`")
        i += 1
    if i >= len(args):
        raise UsageError("no tool given", hint="e.g. `monotrail x ruff check .`")
    tool, tool_args = args[i], args[i + 1:]
    spec = values.get("from") or tool
    command = tool if values.get("from") else _command_of(tool)
    return _run(spec, command, tool_args, values)


def _command_of(tool: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(tool).name
    except InvalidRequirement as error:
        raise UsageError(f"invalid tool {tool!r}: {error}", hint="e.g. `monotrail x ruff` or `monotrail x 'ruff==0.8'`") from None


def _run(spec: str, command: str, args: list[str], values: dict) -> int:
    from pathlib import Path

    from monotrail.cli import RunRequest
    from monotrail.environment import python_request_key, resolved_lock_path
    from monotrail.commands.lock import ResolveOptions, lock_requirements
    from monotrail import store_root
    from monotrail.commands.run import run

    root = store_root()
    python_key, _ = python_request_key(values.get("python"), os.getcwd())
    requirements = [spec, *values["with"]]
    sources = [values.get("index_url") or "", *values["extra_index_urls"], "|", *values["find_links"]]
    lock = resolved_lock_path(root, "tool", "\0".join(requirements), python_key, *sources)
    if not os.path.isfile(lock) or values.get("refresh") or values.get("upgrade"):
        options = ResolveOptions(
            python=values.get("python"), index_url=values.get("index_url"),
            extra_index_urls=tuple(values["extra_index_urls"]), find_links=tuple(values["find_links"]),
            offline=bool(values.get("offline")), refresh=bool(values.get("refresh")),
            upgrade=bool(values.get("upgrade")), quiet=bool(values.get("quiet")),
        )
        lock_requirements(requirements, options, Path(lock), Path.cwd())
    request = RunRequest(
        python=values.get("python"), target_kind="command", target=[command, *args], lock=lock,
        offline=bool(values.get("offline")), index_url=values.get("index_url"),
        extra_index_urls=tuple(values["extra_index_urls"]), find_links=tuple(values["find_links"]),
        quiet=bool(values.get("quiet")),
    )
    return run(request)
