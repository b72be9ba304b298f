"""The reinstall of an environment's store entries, run by the environment's own hook.

A store entry deleted or damaged by hand (its `RECORD` gone) is found by the hook
(`bootstrap/monotrail_bootstrap/_monotrail_finder.py`) when the program first imports one of its
names; the hook then runs the command `monotrail.environment.install` recorded in
`<env>/repair.json` when it wrote the environment, with the environment's directory added:

    <launcher python> -I -c REPAIR_CODE <sys.path dirs...> <env dir>

which calls `main` here. It installs the environment again from what decided it, as the next
`monotrail run` would: the lock the environment records (`<env>/lock`), the options of the run that
made it (`repair.json`'s `spec`) and the interpreter it runs (its `python`). The install warns
about each entry deleted or damaged (`warning: the store entry ... was deleted; reinstalling it`)
and puts it back at the same path; the environment itself stays as it is (same key, same
manifest), so the hook goes on with the import. Nothing is printed on stdout: it belongs to the
program.
"""

from __future__ import annotations

import json
import os
from typing import Any

from monotrail.errors import MonotrailError, StoreError

__all__ = ["main", "repair"]


def main(argv: list[str]) -> int:
    """`argv`: the environment's directory. Errors are one `error:` line, as for any command."""
    from monotrail.cli import report

    try:
        repair(argv[0])
    except MonotrailError as error:
        return report(error)
    return 0


def repair(env_dir: str) -> None:
    from monotrail.builds.builder import Builds
    from monotrail.environment.install import install_environment
    from monotrail.environment.spec import EnvironmentSpec

    try:
        with open(os.path.join(env_dir, "repair.json"), encoding="utf-8") as file:
            record = json.load(file)
        with open(os.path.join(env_dir, "lock"), encoding="utf-8") as file:
            lock_path = file.readline().rstrip("\n")
        fields: dict[str, Any] = {name: tuple(value) if isinstance(value, list) else value
                                  for name, value in record["spec"].items()}
        spec = EnvironmentSpec(**fields)
        python = record["python"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"cannot reinstall the store entries of the environment {env_dir}: {error}",
                         hint="`monotrail run` in the project reinstalls them") from None
    root = os.path.dirname(os.path.dirname(env_dir))
    install_environment(spec, os.path.dirname(lock_path), lock_path, f"cli:{python}", root, env_dir, builder=Builds())
