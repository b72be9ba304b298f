"""`monotrail run`: from a request to an exec of the target interpreter.

Two paths lead to the same exec:
- warm: the environment for this key exists (see `monotrail.environment`): read three lines, exec.
  Nothing heavy is imported (no httpx, packaging, rich, json for most targets), nothing is
  probed, resolved, downloaded or listed.
- cold: read the lock, find the interpreter, select, install into the store, write the
  environment, then exec exactly as the warm path does.
"""

from __future__ import annotations

import os
import sys

from monotrail.cli import RunRequest
from monotrail.environment import Launch, env_key, python_request_key, read_launch, watched_files, write_warm_entry
from monotrail import store_root
from monotrail.errors import MonotrailError, UsageError
from monotrail.log import debug


def run(request: RunRequest) -> int:
    start_dir = _start_dir(request)
    python_key, python_source = python_request_key(request.python, start_dir)
    root = store_root()
    try:
        lock_path, lock_checks = _lock_path(request, start_dir, root, python_key)
    except MonotrailError:
        _check_python_request(request, start_dir, root)
        raise
    key = env_key(lock_path, python_key, request.extras, request.all_extras, request.groups, request.no_default_groups)
    env_dir = os.path.join(root, "envs", key)
    debug(f"lock {lock_path}, python request {python_key!r} from {python_source}, env {env_dir}")
    launch = read_launch(env_dir)
    if launch is None:
        debug("cold: environment missing, installing")
        launch = _cold(request, start_dir, lock_path, python_key, root, env_dir)
    else:
        debug("warm: environment exists")
    if request.verbose:
        from monotrail.log import info

        info(f"monotrail: lock {lock_path}, interpreter {launch.python}, environment {env_dir}")
    if _front_door_can_serve(request):
        watched = watched_files(start_dir, lock_path, launch.python, request.python is not None, launch.inputs)
        watched += lock_checks
        name = "run"
        if request.target_kind == "script":
            # One entry per script, watching the script itself: a PEP 723 block added, edited
            # or removed sends the next run back here (see shims/monotrail).
            name = "script-" + os.path.basename(request.target[0])
            watched.append(os.path.realpath(request.target[0]))
        write_warm_entry(root, start_dir, request.python, launch, watched, name=name)
        spelled = _door_start_dir(request, start_dir)
        if spelled is not None:
            write_warm_entry(root, start_dir, request.python, launch, watched, name=name, spelled=spelled)
    return _exec(launch, request)


def _front_door_can_serve(request: RunRequest) -> bool:
    """The sh front door handles `[+VERSION] run [--project DIR] TARGET` without other options or
    MONOTRAIL_ env; not a script with --project (a script's entry is keyed by its directory)."""
    plain = RunRequest(python=request.python, target_kind=request.target_kind, target=request.target,
                       python_flags=request.python_flags, project=request.project)
    return (
        vars(plain) == vars(request)
        and not (request.project is not None and request.target_kind == "script")
        and not os.environ.get("MONOTRAIL_EXTRAS")
        and not os.environ.get("MONOTRAIL_PYTHON")
        and not request.python_flags
    )


def _door_start_dir(request: RunRequest, start_dir: str) -> str | None:
    """The start directory as the front door spells it (shims/monotrail), when that is another
    path to `start_dir`: `$PWD` as the shell keeps it (links not resolved, where `os.getcwd()`
    resolves them), `--project DIR` as given, a script's directory as its path names it. The door
    looks its entry up there with no fork; a spelling with `.` or `..` parts it leaves to the
    launcher, and so is not written. The shell's PWD counts only when it names the working
    directory (a stale one inherited from elsewhere does not)."""
    if request.project is not None:
        spelled = request.project
    elif request.target_kind == "script":
        script = request.target[0]
        if os.path.islink(script):
            return None  # the launcher runs the file it links, maybe in another directory
        spelled = script.rpartition("/")[0] if "/" in script else "."
        if not spelled:
            return None
    else:
        spelled = "."
    relative = not spelled.startswith("/")
    if relative:
        pwd = os.environ.get("PWD", "")
        if not pwd.startswith("/"):
            return None
        spelled = pwd if spelled == "." else f"{pwd}/{spelled}"
    if {".", ".."} & set(spelled.split("/")) or os.path.normpath(spelled) == start_dir:
        return None  # the common case: no link on the way, the launcher's own entry is the door's
    try:
        if relative and not os.path.samefile(pwd, "."):
            return None
        return spelled if os.path.samefile(spelled, start_dir) else None
    except OSError:
        return None


def _check_python_request(request: RunRequest, start_dir: str, root: str) -> None:
    """Say what is wrong with the Python request before what is wrong with the lock: `+3.99` or
    `+abc` in a directory without a lock is about the request. Only on the lock's error path: a
    warm run never looks at interpreters, and the cold path checks the request when it picks one."""
    from pathlib import Path

    from monotrail.interpreters.discovery import find_interpreter, python_request_source

    if python_request_source(request.python, start_dir=Path(start_dir)).text is None:
        return
    find_interpreter(request.python, requires_python=None, start_dir=Path(start_dir), root=Path(root))


def _start_dir(request: RunRequest) -> str:
    """Locks are searched from `--project` (as `uv run --project`: the working directory stays the
    caller's), else from the script's directory, else from the working directory."""
    if request.project is not None:
        if not os.path.isdir(request.project):
            raise UsageError(f"--project {request.project}: no such directory", hint="give the project's directory")
        return os.path.realpath(request.project)
    if request.target_kind == "script":
        script = request.target[0]
        if not os.path.exists(script):
            raise UsageError(
                f"can't open file {os.path.abspath(script)!r}: no such file", hint="check the script's path"
            )
        return os.path.dirname(os.path.realpath(script))
    return os.getcwd()


def _lock_path(request: RunRequest, start_dir: str, root: str, python_key: str) -> tuple[str, list[str]]:
    """The lock that decides the environment: `--lock`, a PEP 723 script's own (which wins over a
    lock found upwards, as in uv), the nearest lock, or a pylock.toml written for a project that
    has none. `--with` requirements make a resolution of their own on top of that lock's pins.

    Also what the sh front door must check to know the search would find the same lock (see
    `monotrail.lock.search_checks`): a script's lock beside it not appearing, no lock appearing
    between the start directory and the lock found, a lock kept in the store for a read-only
    project watching that project."""
    from monotrail.errors import LockError
    from monotrail.lock import find_lock, search_checks

    checks: list[str] = []
    if request.lock:
        path = os.path.abspath(request.lock)
        if not os.path.isfile(path):
            raise LockError(f"lockfile {request.lock} does not exist", hint="check the path given to --lock")
    elif request.target_kind == "script" and _has_block(request.target[0]):
        path = _script_lock(request, start_dir, root, python_key)
        sibling = os.path.realpath(request.target[0]) + ".lock"
        return path, [] if path == sibling else [sibling if os.path.exists(sibling) else "!" + sibling]
    else:
        try:
            path = find_lock(start_dir)
            checks = search_checks(start_dir, path)
        except LockError as error:
            path, checks = _lock_new_project(request, start_dir, error, root, python_key)
    if request.with_requirements:
        return _with_lock(request, path, start_dir, root, python_key), checks
    return path, checks


def _has_block(script: str) -> bool:
    """The `# /// script` opener anywhere in the file (`monotrail.lock.script_block.MARKER`, inlined:
    this runs on the warm path of every script). A false positive only costs the block parse."""
    try:
        with open(script, "rb") as file:
            return b"# /// script" in file.read()
    except OSError:
        return False


def _script_lock(request: RunRequest, start_dir: str, root: str, python_key: str) -> str:
    """`tool.py.lock` beside the script (`monotrail lock --script`), else a resolution cached in
    the store, keyed by the block's text and the Python request: the second run is a warm run."""
    from monotrail.environment import resolved_lock_path
    from monotrail.lock.script_block import read_block

    script = request.target[0]
    sibling = os.path.realpath(script) + ".lock"
    if not request.with_requirements and os.path.isfile(sibling):
        return sibling
    block = read_block(script)
    text = block[0] if block is not None else ""
    path = resolved_lock_path(root, "script", text, python_key, *_sources_key(request), "\0".join(request.with_requirements))
    if not os.path.isfile(path) or request.refresh or request.upgrade:
        from pathlib import Path

        from monotrail.commands.lock import lock_script

        lock_script(Path(script), _resolve_options(request), Path(path), request.with_requirements)
    return path


def _with_lock(request: RunRequest, lock_path: str, start_dir: str, root: str, python_key: str) -> str:
    """The lock's packages for this target, pinned, plus `--with` requirements, resolved once."""
    from monotrail.environment import file_digest, resolved_lock_path

    extras = ",".join(sorted(request.extras)) + ("+all" if request.all_extras else "")
    groups = ",".join(sorted(request.groups)) + ("-defaults" if request.no_default_groups else "")
    path = resolved_lock_path(root, "with", lock_path, file_digest(lock_path), python_key, extras, groups,
                              *_sources_key(request), "\0".join(request.with_requirements))
    if not os.path.isfile(path) or request.refresh or request.upgrade:
        from monotrail.commands.lock import lock_with

        lock_with(request, lock_path, start_dir, _resolve_options(request), path)
    return path


def _lock_new_project(request: RunRequest, start_dir: str, error: Exception, root: str,
                      python_key: str) -> tuple[str, list[str]]:
    """No lock anywhere up: a pyproject.toml with [project] gets its pylock.toml (as `uv run`
    writes uv.lock); anything else is the original error.

    A project that cannot be written (a read-only checkout or container) gets its lock kept in
    the store instead, keyed by the pyproject's bytes and the Python request as a script's is, so
    later runs use it without resolving; they come back here while the project has no lock."""
    from pathlib import Path

    from monotrail.environment import file_digest, resolved_lock_path
    from monotrail.commands.lock import find_project, lock_project
    from monotrail.lock import search_checks

    project = find_project(Path(start_dir))
    if project is None:
        raise error
    out = project.path.parent / "pylock.toml"
    kept = resolved_lock_path(root, "project", str(project.path), file_digest(str(project.path)), python_key,
                              *_sources_key(request))
    # The front door's checks while the lock is the one kept in the store: no lock appears
    # anywhere up, the project's pyproject.toml is unchanged, and no pyproject.toml appears
    # between the start directory and it (find_project would read it first).
    watched = [*search_checks(start_dir, None), str(project.path),
               *_pyprojects_between(start_dir, str(project.path.parent))]
    if os.path.isfile(kept) and not (request.refresh or request.upgrade):
        debug(f"{out} could not be written before: using the lock kept in the store, {kept}")
        return kept, watched
    lock_project(project, _resolve_options(request), out, fallback=Path(kept))
    if not out.is_file():
        return kept, watched
    if not request.quiet:
        from monotrail.log import info

        info(f"monotrail: wrote {out}")
    return str(out), search_checks(start_dir, str(out))


def _pyprojects_between(start_dir: str, top: str) -> list[str]:
    """The front door's checks for the `pyproject.toml` of each directory from `start_dir` up to,
    not including, `top`: absent (`!PATH`), or watched (one without [project], which
    `find_project` passed over)."""
    checks = []
    directory = os.path.realpath(start_dir)
    while directory != top and os.path.dirname(directory) != directory:
        path = os.path.join(directory, "pyproject.toml")
        checks.append(path if os.path.exists(path) else "!" + path)
        directory = os.path.dirname(directory)
    return checks


def _sources_key(request: RunRequest) -> list:
    return [request.index_url or "", *request.extra_index_urls, "|", *request.find_links]


def _resolve_options(request: RunRequest):
    from monotrail.commands.lock import ResolveOptions

    return ResolveOptions(
        python=request.python, index_url=request.index_url, extra_index_urls=request.extra_index_urls,
        find_links=request.find_links, offline=request.offline, refresh=request.refresh,
        upgrade=request.upgrade, quiet=request.quiet,
    )


def _cold(request: RunRequest, start_dir: str, lock_path: str, python_key: str, root: str, env_dir: str) -> Launch:
    # Python's cyclic garbage collector runs after every 700 net new container objects: ~26 times
    # (3-10 ms) while a new environment's run imports the cold path and reads a big lock (~18,000
    # objects, nearly all alive until the exec). With a threshold of 100,000 it does not run on that
    # path; a long cold install still collects now and then, and refcounting frees all that is not
    # in a cycle. Once the environment is written, what exists is frozen (left out of later
    # collections: it lives until the exec) and the thresholds are put back.
    import gc

    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, *thresholds[1:])
    try:
        return _make_environment(request, start_dir, lock_path, python_key, root, env_dir)
    finally:
        gc.freeze()
        gc.set_threshold(*thresholds)


def _make_environment(request: RunRequest, start_dir: str, lock_path: str, python_key: str, root: str,
                      env_dir: str) -> Launch:
    if not (request.refresh or request.upgrade):
        # Another project's environment of the same recipe, copied, before the cold path's imports.
        from monotrail.environment.clone import clone_environment, recipe_key

        launch = clone_environment(root, recipe_key(root, lock_path, python_key, request), env_dir, lock_path)
        if launch is not None:
            debug("cold: copied from an environment of the same lock, request and interpreter")
            return launch
    from monotrail.builds.builder import Builds
    from monotrail.environment.install import install_environment

    return install_environment(request.environment_spec(), start_dir, lock_path, python_key, root, env_dir,
                               builder=Builds())


def _exec(launch: Launch, request: RunRequest) -> int:
    """Start the target as it starts in a venv: `<env>/bin/python [FLAGS] TARGET...`, or a console
    script's file in `<env>/bin/` (whose shebang names that python), with the environment's bin/
    first on PATH. The interpreter itself handles scripts, -c, -m, stdin and the REPL."""
    os.environ["PATH"] = launch.bin + os.pathsep + os.environ.get("PATH", os.defpath)
    # A shim's loop guard (see monotrail.commands.shims) ends where a real interpreter starts: the target's
    # own `python3` children go through the shim again, legitimately.
    os.environ.pop("MONOTRAIL_SHIM", None)
    if request.target_kind == "command":
        name, args = request.target[0], request.target[1:]
        path = os.path.join(launch.bin, name)
        argv = [path, *args]
        if not os.path.isfile(path):
            return _exec_foreign_command(request.target)
    else:
        from monotrail.cli.python_argv import python_command_line

        path = os.path.join(launch.bin, "python")
        argv = [path, *python_command_line(request.python_flags, request.target)]
    debug(f"exec {argv}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(path, argv)
    return 0  # not reached


def _exec_foreign_command(target: list[str]) -> int:
    """A command that is not a Python entry point: run it with the environment's bin/ on PATH."""
    import shutil

    path = shutil.which(target[0])
    if path is None:
        raise MonotrailError(
            f"command {target[0]!r} not found: it is neither a file, a console script of the locked packages, nor on PATH",
            hint="for a script give its path (./name.py); `monotrail run python -c ...` runs code",
        )
    os.execv(path, [target[0], *target[1:]])
    return 0  # not reached
