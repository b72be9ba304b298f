"""`monotrail x TOOL [ARGS]` / `monotrail x --from PKG==V CMD [ARGS]`: a tool from the index, venv-less.

The tool's requirements are resolved once into a lock kept in the store (keyed by the request
and the Python request, see `monotrail.envs.resolved_lock_path`); later calls are warm runs of its
console script. `--upgrade`/`--refresh` resolve again.
"""

from __future__ import annotations

import os
from typing import List, Optional

from monotrail.errors import UsageError

_VALUE = {"--from": "from", "--with": "with", "-w": "with", "-p": "python", "--python": "python",
          "-i": "index_url", "--index-url": "index_url", "--extra-index-url": "extra_index_urls",
          "-f": "find_links", "--find-links": "find_links"}
_FLAGS = {"--offline": "offline", "--refresh": "refresh", "-U": "upgrade", "--upgrade": "upgrade",
          "-q": "quiet", "--quiet": "quiet"}
_LISTS = {"with", "extra_index_urls", "find_links"}


def main(args: List[str], python: Optional[str] = None) -> int:
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
            print("usage: monotrail x [--from PKG==V] [--with REQ] [-p PY] [--offline] [--refresh] [--upgrade] TOOL [ARGS...]")
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


def _run(spec: str, command: str, args: List[str], values: dict) -> int:
    from pathlib import Path

    from monotrail.cli import RunRequest
    from monotrail.envs import python_request_key, resolved_lock_path
    from monotrail.lock_command import ResolveOptions, lock_requirements
    from monotrail.root import store_root
    from monotrail.run import run

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
