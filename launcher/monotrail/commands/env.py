"""`monotrail env python | info`: an interpreter for editors and tools, and what it runs.

The path `env python` prints is a per-project shim, `<root>/ide/<dir name>-<hash>/bin/python`,
not an environment's own `bin/python`: an environment is named by the lock's content and the
interpreter, so its path changes with every `monotrail lock` and an editor's setting would go
stale. The shim is one line of sh, `monotrail run --project DIR [OPTIONS] python ARGS` (the front door):
the lock (and `.python-version`) found from the project whatever directory the editor starts it
in, the environment created when missing, the working directory the caller's. Whatever runs it
gets the interpreter of `monotrail run python`, whose `sys.path` ends with the store's lib dirs
(the environment's hook puts them there for exactly such tools: mypy, pyright, jedi, pylint).

Beside it, `lib/pythonX.Y/site-packages/_monotrail_lib_dirs.pth` lists that search path for the
tools that read a venv's site-packages instead of running its interpreter (pyright's
`venvPath`/`venv`, written by `monotrail ide pyright`). Only a file can say that, and a file can
go stale: every `monotrail env` and `monotrail ide` command rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monotrail import store_root
from monotrail.environment import sh_quote
from monotrail.errors import MonotrailError, SettingsError, UsageError

__all__ = ["IdeInterpreter", "ide_interpreter", "main", "prepare"]

PTH_NAME = "_monotrail_lib_dirs.pth"

# Run through the shim: what the environment's interpreter reports, as a tool would ask it.
_FACTS = (
    "import json, os, sys; print(json.dumps({'prefix': sys.prefix, 'version': '%d.%d.%d' % sys.version_info[:3], "
    "'python': os.path.realpath(sys.executable), 'path': sys.path[1:]}))"
)


@dataclass(frozen=True)
class IdeInterpreter:
    """The per-project interpreter shim: where it lives and what it runs."""

    project: Path  # the lock's directory (or the pyproject's, before the first lock)
    directory: Path  # <root>/ide/<name>-<hash>
    run_options: tuple[str, ...]  # `monotrail run` options baked in (extras, groups, python)

    @property
    def python(self) -> Path:
        return self.directory / "bin" / "python"


@dataclass(frozen=True)
class Facts:
    """What the environment behind the shim is, as of now."""

    lock: str
    python: str  # the real interpreter
    version: str
    environment: str
    search_path: list[str]  # sys.path after the environment's site-packages: paths, .pth dirs, lib dirs
    lib_dirs: list[str]
    scripts: dict[str, str]  # console script (or a wheel's data script) -> its file in the environment's bin/


def ide_interpreter(run_options: Sequence[str], python: str | None) -> IdeInterpreter:
    """The shim for the project of the working directory; `run_options` are checked as `run`'s."""
    from monotrail.cli import parse_run_args

    options = _absolute_paths(run_options)
    if python is not None:
        options = ["--python", python, *options]
    try:
        request = parse_run_args([*options, "python"], None)
    except UsageError as error:
        # `-G` last took our "python" as its value
        message = f"option {options[-1]} needs a value" if error.message == "nothing to run" else error.message
        raise UsageError(message.replace("`monotrail run`", "`monotrail env` and `monotrail ide`"),
                         hint="they take `monotrail run`'s options (see `monotrail run --help`)") from None
    if request.target_kind != "python" or request.target or request.python_flags:
        unexpected = [word for word in options if not word.startswith("-")][-1:] or options
        raise UsageError(f"unexpected argument {unexpected[0]!r}: `monotrail env` and `monotrail ide` take only "
                         "`monotrail run`'s options", hint="see `monotrail env --help`")
    if request.project is not None or request.with_requirements:
        raise UsageError("`monotrail env` takes no --project or --with",
                         hint="run it in the project's directory; put tools in the lock (a dependency group)")
    project = _project_dir(request.lock)
    digest = hashlib.sha256("\0".join([str(project), *options]).encode()).hexdigest()[:12]
    directory = Path(store_root()) / "ide" / f"{project.name or 'root'}-{digest}"
    return IdeInterpreter(project=project, directory=directory, run_options=tuple(options))


def _absolute_paths(options: Sequence[str]) -> list[str]:
    """`--lock` and `--find-links` paths made absolute: the shim runs from the editor's directory."""
    result: list[str] = []
    for i, word in enumerate(options):
        name, _, value = word.partition("=")
        previous = options[i - 1] if i else ""
        if previous in ("--lock", "-f", "--find-links") and os.path.exists(word):
            word = os.path.abspath(word)
        elif name in ("--lock", "--find-links") and value and os.path.exists(value):
            word = f"{name}={os.path.abspath(value)}"
        result.append(word)
    return result


def _project_dir(lock: str | None) -> Path:
    """Where `run` would find the lock from here: its directory, or a pyproject's before it has one."""
    from monotrail.errors import LockError
    from monotrail.lock import find_lock

    if lock is not None:
        return Path(os.path.abspath(lock)).parent
    try:
        return Path(find_lock(os.getcwd())).parent
    except LockError as error:
        from monotrail.commands.lock import find_project

        project = find_project(Path.cwd())
        if project is None:
            raise SettingsError(f"no project here: {error}", hint=error.hint) from None
        return project.path.parent


def prepare(ide: IdeInterpreter) -> Facts:
    """Write the shim, run it once (creating the environment if missing), and refresh the
    site-packages file beside it; the environment's facts as the interpreter reports them."""
    _write_shim(ide)
    facts = environment_facts(ide)
    _write_site_packages(ide, facts)
    return facts


def _write_shim(ide: IdeInterpreter) -> None:
    from monotrail.atomic import write_atomic
    from monotrail.commands.shims import front_door

    # The front door, not the launcher beside it: it serves `run --project DIR python ...` from its
    # warm entry without a Python start first (an editor asks its interpreter again and again), and
    # hands the rest to that launcher. Named absolutely, so PATH need not hold it.
    door, _ = front_door()
    command = " ".join(sh_quote(word) for word in [door, "run", "--project", str(ide.project), *ide.run_options,
                                             "python"])
    text = (
        "#!/bin/bash -p\n"
        f"# monotrail: the Python of the project {ide.project} for editors and tools (`monotrail env python`).\n"
        "# It runs `monotrail run python` there, whatever the working directory: the environment of the\n"
        "# lock as it is now, created if missing. bash -p, as monotrail's shims: dash drops environment\n"
        "# names that are not shell identifiers when it execs; SHLVL is left as the caller had it.\n"
        f'[ -z "${{BASH_VERSION-}}" ] || [ "${{SHLVL-}}" != 1 ] || exec /usr/bin/env -u SHLVL {command} "$@"\n'
        f'exec {command} "$@"\n'
    )
    bin_dir = ide.python.parent
    bin_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(ide.python, text, mode=0o755)
    python3 = bin_dir / "python3"
    if not python3.is_symlink():
        python3.unlink(missing_ok=True)
        python3.symlink_to("python")




def environment_facts(ide: IdeInterpreter) -> Facts:
    """Run the shim as an editor would; its errors (no lock, a failed install) reach the user's
    terminal as `monotrail run` prints them."""
    result = subprocess.run([str(ide.python), "-c", _FACTS], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, cwd=ide.project)
    if result.returncode != 0:
        raise MonotrailError(f"the project's environment could not be started (exit code {result.returncode})",
                             hint="the lines above say why; `monotrail run python` in the project shows the same")
    # All from what the interpreter reports and the environment's layout, not its manifest, whose
    # format is the hook's business.
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    environment = reported["prefix"]
    lock = Path(environment, "lock").read_text(encoding="utf-8").splitlines()[0]
    path = reported["path"]
    inside = [i for i, entry in enumerate(path) if entry.startswith(environment + os.sep)]
    search_path = path[inside[-1] + 1:] if inside else path
    store = os.path.join(store_root(), "store") + os.sep
    bin_dir = Path(environment, "bin")
    scripts = sorted(entry.name for entry in bin_dir.iterdir()
                     if not entry.is_symlink() and not entry.name.startswith(("python", "activate")))
    return Facts(
        lock=lock, python=reported["python"], version=reported["version"], environment=environment,
        search_path=search_path, lib_dirs=[entry for entry in search_path if entry.startswith(store)],
        scripts={name: str(bin_dir / name) for name in scripts},
    )


def site_packages(ide: IdeInterpreter, facts: Facts) -> Path:
    minor = ".".join(facts.version.split(".")[:2])
    return ide.directory / "lib" / f"python{minor}" / "site-packages"


def _write_site_packages(ide: IdeInterpreter, facts: Facts) -> None:
    """`lib/pythonX.Y/site-packages/_monotrail_lib_dirs.pth` with the search path, one directory a
    line (the `.pth` lines pyright reads); another Python's `lib/python*` from before goes."""
    from monotrail.atomic import write_atomic

    target = site_packages(ide, facts)
    lib = ide.directory / "lib"
    if lib.is_dir():
        for old in lib.iterdir():
            if old != target.parent:
                shutil.rmtree(old, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    write_atomic(target / PTH_NAME, "".join(entry + "\n" for entry in facts.search_path))


def main(args: Sequence[str], python: str | None) -> int:
    args = list(args)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    action, rest = args[0], args[1:]
    if action not in ("python", "info"):
        from monotrail.cli.usage import unknown_command

        raise unknown_command(action, ("python", "info"), "monotrail env")
    if "-h" in rest or "--help" in rest:
        sys.stdout.write(USAGE)
        return 0
    as_json = action == "info" and "--json" in rest
    rest = [word for word in rest if not (action == "info" and word == "--json")]
    ide = ide_interpreter(rest, python)
    facts = prepare(ide)
    if action == "python":
        sys.stdout.write(f"{ide.python}\n")
        return 0
    sys.stdout.write(_render_info(ide, facts, as_json))
    return 0


USAGE = """\
usage: monotrail [+VERSION] env python [RUN OPTIONS]
       monotrail [+VERSION] env info [--json] [RUN OPTIONS]

For editors and tools: the interpreter of this directory's project, venv-less.

  python   print the path of an interpreter for editor settings (VS Code, PyCharm, pyright,
           jedi): a per-project shim under the monotrail root that runs `monotrail run python`
           in the project, so it follows the lock (`monotrail lock` does not make it stale); the
           environment is created now if missing
  info     the project, lock, Python, environment, the lib dirs on its sys.path and the console
           scripts (--json: machine-readable)

RUN OPTIONS are `monotrail run`'s (-E EXTRA, -G GROUP, --all-extras, --no-default-groups, --lock,
-p/--python, --offline, -i/-f ...), baked into the shim: `env python -G dev` is another path than
`env python`. See docs/how-to/editors.md.
"""


def _render_info(ide: IdeInterpreter, facts: Facts, as_json: bool) -> str:
    if as_json:
        document = {
            "project": str(ide.project), "lock": facts.lock, "python": facts.python,
            "python_version": facts.version, "interpreter": str(ide.python), "environment": facts.environment,
            "lib_dirs": facts.lib_dirs, "search_path": facts.search_path, "console_scripts": facts.scripts,
            "site_packages": str(site_packages(ide, facts)),
        }
        return json.dumps(document, indent=2) + "\n"
    lines = [
        f"project          {ide.project}",
        f"lock             {facts.lock}",
        f"python           {facts.python} ({facts.version})",
        f"interpreter      {ide.python}  (for editors: follows the lock)",
        f"environment      {facts.environment}",
        f"lib dirs         {len(facts.lib_dirs)} (at the end of sys.path)",
        *(f"  {entry}" for entry in facts.lib_dirs),
    ]
    others = [entry for entry in facts.search_path if entry not in facts.lib_dirs]
    if others:
        lines += [f"other paths      {len(others)} (path sources, .pth lines)", *(f"  {entry}" for entry in others)]
    lines.append(f"console scripts  {', '.join(facts.scripts) or '(none)'}")
    return "\n".join(lines) + "\n"
