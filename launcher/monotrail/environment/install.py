"""The cold path of `monotrail run`: lock -> interpreter -> selection -> store -> environment.

Everything heavy (packaging, httpx, rich) is imported from here down, never from the warm path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol
from collections.abc import Sequence

from monotrail.environment import Launch, write_env
from monotrail.environment.spec import EnvironmentSpec
from monotrail.lock.model import Lock
from monotrail.log import debug, info
from monotrail.store.entries import Builder

if TYPE_CHECKING:  # pragma: no cover
    from monotrail.environment.selections import LockFacts
    from monotrail.interpreters.discovery import Interpreter

__all__ = ["EnvironmentBuilder", "install_environment", "read_lock_for", "select_for"]


class EnvironmentBuilder(Builder, Protocol):
    """A `Builder` that also turns editable projects into wheels (`monotrail.builds.builder.Builds`)."""

    def editables(self, selected: Sequence[Any], interpreter: Any, sources: Any, root: Path,
                  building: tuple[str, ...] = (), quiet: bool = False) -> tuple[list[Any], list[tuple[str, str]]]: ...


def install_environment(
    spec: EnvironmentSpec, start_dir: str | Path, lock_path: str | Path, python_key: str, root: str | Path, env_dir: str | Path,
    *, builder: EnvironmentBuilder, building: tuple[str, ...] = (),
) -> Launch:
    """The environment of `lock_path` for `spec`, installed into the store and written.
    `builder` builds what cannot be downloaded; `building`: the sdist builds this is the build
    environment of (see `monotrail.builds.sdist`)."""
    from monotrail.interpreters.discovery import find_interpreter
    from monotrail.environment.manifest import build_manifest, dumps
    from monotrail.faults import crash_point
    from monotrail.store.entries import ensure_installed, gc_lock, remove_stale_temp, stored_entries

    start_dir, lock_path, root, env_dir = Path(start_dir), Path(lock_path), Path(root), Path(env_dir)
    python_request = python_key.split(":", 1)[1] if python_key.startswith("cli:") else None

    def interpreter_for(requires_python: str | None) -> Interpreter:
        return find_interpreter(python_request, requires_python=requires_python, start_dir=start_dir, root=root)

    def prefetch() -> Callable[[], None] | None:
        return _prefetch_probes(python_request, start_dir, root)

    facts, interpreter, selected = _selection(spec, lock_path, root, interpreter_for, prefetch)
    # Shared: many runs install at once; `monotrail store gc` (exclusive) waits for them, and they
    # for it, so gc never removes an entry between its install here and its environment's write.
    _warn_deleted_entries(env_dir)
    with gc_lock(root, shared=True):
        # Every package stored and nothing to build: no index is configured (the index client's
        # module alone is ~2 ms of imports on this path).
        stored = None if any(item.editable is not None for item in selected) else stored_entries(
            selected, root, interpreter.tags)
        inputs: list[tuple[str, str]] = []
        if stored is not None:
            wheels, entries = list(selected), stored
        else:
            sources = _sources(spec, facts)
            # The editable projects become wheels first (built, or found by their inputs' hash).
            wheels, inputs = builder.editables(selected, interpreter, sources, root, building, quiet=spec.quiet)
            entries = ensure_installed(
                [item for item in wheels if item.directory is None],
                sources,
                root,
                progress=not spec.quiet,
                tags=interpreter.tags,
                interpreter=interpreter,
                building=building,
                builder=builder,
            )
        crash_point("install-entries-ready")
        paths = _extra_paths(wheels)
        manifest = build_manifest(entries, interpreter.path, interpreter.mtime, env_dir, paths)
        launch = write_env(
            str(env_dir), dumps(manifest), interpreter, _bootstrap_path(), manifest["scripts"],
            str(root / "tmp"), lock_path=str(lock_path), inputs=inputs, data=_data_trees(entries, interpreter),
            repair=None if building else repair_record(spec, interpreter),
        )
    if not building and not inputs and not paths:
        _remember_recipe(spec, facts, selected, interpreter, start_dir, lock_path, python_key, python_request, root,
                         env_dir)
    if _has_children(root / "tmp"):
        remove_stale_temp(root)  # what a killed run left, even when this run installed nothing
    if spec.verbose:
        info(f"monotrail: installed an environment of {len(selected)} packages for Python {interpreter.full_version}")
    return launch


# What the hook runs to reinstall this environment's deleted store entries, the environment's
# directory appended (`monotrail.commands.repair`): the launcher's own interpreter, isolated from
# the program's PYTHON* variables, with the directories monotrail and its hook are imported from.
REPAIR_CODE = ("import sys; *path, env = sys.argv[1:]; sys.path[:0] = path; "
               "from monotrail.commands.repair import main; sys.exit(main([env]))")


def repair_record(spec: EnvironmentSpec, interpreter: Interpreter) -> str:
    """`<env>/repair.json`: how the environment's hook has a store entry deleted by hand
    reinstalled (`argv`, the environment's directory appended), and what the reinstall needs
    besides the lock the environment records: the run's options and the interpreter."""
    import json
    import sys

    import monotrail
    import monotrail_bootstrap

    path = [os.path.dirname(os.path.dirname(os.path.abspath(module.__file__ or "")))
            for module in (monotrail, monotrail_bootstrap)]
    fields = spec.fields()
    return json.dumps({"argv": [sys.executable, "-I", "-c", REPAIR_CODE, *dict.fromkeys(path)],
                       "python": interpreter.path, "spec": fields}, indent=1) + "\n"


def _remember_recipe(spec: EnvironmentSpec, facts: LockFacts, selected: Sequence[Any], interpreter: Interpreter,
                     start_dir: Path, lock_path: Path, python_key: str, python_request: str | None, root: Path,
                     env_dir: Path) -> None:
    """Let the next environment of this recipe be copied from this one (monotrail.environment.clone),
    when the recipe's key covers everything that decided it: the lock's bytes alone decided the
    selection, and the interpreter is a version request's remembered choice (not a path)."""
    from monotrail.environment import selections
    from monotrail.environment.clone import recipe_key, remember_recipe
    from monotrail.interpreters.choices import read_choice
    from monotrail.interpreters.discovery import choice_key

    if not selections.keepable(facts, selected) or facts.path != lock_path.absolute():
        return
    key = choice_key(python_request, requires_python=facts.requires_python, start_dir=start_dir)
    chosen = read_choice(str(root), key)
    if chosen is None or chosen[0] != interpreter.path:
        return
    remember_recipe(str(root), recipe_key(str(root), str(lock_path), python_key, spec), str(env_dir), key)


def _data_trees(entries: Sequence[Any], interpreter: Any) -> list[tuple[str, str, str]]:
    """The entries' data files and headers, to link under the environment's prefix."""
    from monotrail.environment.data_files import data_trees

    major, minor = interpreter.version[:2]
    return data_trees(entries, f"{major}.{minor}{'t' if interpreter.free_threaded else ''}")


def _warn_deleted_entries(env_dir: Path) -> None:
    """An environment exists but a store entry it used is gone: say so (store.py warns about
    entries that are there but damaged); the install below puts it back."""
    try:
        sentinels = (env_dir / "launch").read_text("utf-8").splitlines()[3:]
    except OSError:
        return
    for sentinel in sentinels:
        if sentinel.startswith("="):
            continue  # an editable build's input (monotrail.environment.read_launch)
        entry = Path(sentinel).parents[2]  # <entry>/site-packages/<dist-info>/RECORD
        if not entry.exists():
            info(f"warning: the store entry {entry} was deleted; reinstalling it")


def _has_children(directory: Path) -> bool:
    try:
        with os.scandir(directory) as children:
            return any(True for _ in children)
    except OSError:
        return False


def _selection(spec: EnvironmentSpec, lock_path: Path, root: Path,
               interpreter_for: Callable[[str | None], Interpreter],
               prefetch: Callable[[], Callable[[], None] | None] | None = None) -> tuple[LockFacts, Interpreter, tuple]:
    """The lock's facts, the interpreter and the packages selected for it: from the selections
    kept by the lock's content (`monotrail.environment.selections`) when this lock was read and
    selected for this request and interpreter before, else by reading the lock and selecting.
    `prefetch` starts probing the requested Pythons while a lock is parsed, and returns what
    waits for it (`_prefetch_probes`)."""
    from monotrail.environment import selections

    facts = selections.cached_facts(root, lock_path)
    lock = None
    if facts is None:
        wait = prefetch() if prefetch is not None else None
        try:
            lock = read_lock_for(spec, lock_path, root)
        finally:
            if wait is not None:
                wait()
        facts = selections.facts_of(root, lock, lock_path)
    interpreter = interpreter_for(facts.requires_python)
    debug(f"interpreter {interpreter.path} ({'.'.join(map(str, interpreter.version))})")
    selected = selections.cached_selection(root, facts, spec, interpreter)
    if selected is not None:
        debug(f"selected {len(selected)} packages from {lock_path.name} (kept from a run with the same lock)")
        return facts, interpreter, selected
    if lock is None:
        lock = read_lock_for(spec, lock_path, root)
        if lock.requires_python != facts.requires_python:  # a sibling lock stood in for it
            interpreter = interpreter_for(lock.requires_python)
        facts = selections.facts_of(root, lock, lock_path)
    selected = select_for(lock, interpreter, spec)
    debug(f"selected {len(selected)} packages from {lock.path.name}")
    selections.remember(root, facts, spec, interpreter, selected)
    return facts, interpreter, selected


def _prefetch_probes(python_request: str | None, start_dir: Path, root: Path) -> Callable[[], None] | None:
    """Probe the Pythons a version request names in a thread (`discovery.prefetch_probes`), for
    the parse of the lock to overlap: a parse is Python work holding the GIL, a probe a
    subprocess waited for without it, ~30 ms of a cold run's path to its first download that
    came after the parse. Returns the wait for the thread, which the caller calls before
    `find_interpreter`, so no Python is probed twice; None, and no thread, in a store that
    has probed before (`discovery.probes_kept`). The thread's errors are dropped:
    `find_interpreter` meets them again and reports them."""
    from monotrail.interpreters.discovery import prefetch_probes, probes_kept

    if probes_kept(root):
        return None
    import threading

    def probe() -> None:
        try:
            prefetch_probes(python_request, start_dir=start_dir, root=root)
        except Exception as error:  # reported by find_interpreter, which runs the same steps
            debug(f"probing ahead of the lock's parse failed: {error!r}")

    thread = threading.Thread(target=probe, name="monotrail-probe", daemon=True)
    thread.start()
    return thread.join


def read_lock_for(spec: EnvironmentSpec, lock_path: Path, root: Path | None = None) -> Lock:
    """The lock found first, or a sibling lock that defines the requested extras and groups.

    A directory often holds several locks of one project (uv.lock and its flattened export
    pylock.toml); the export has no extras or groups left. When the first lock in the search
    order lacks a requested extra or group and the user did not name the lock, use the next lock
    in the same directory that has them, as a user of both tools would expect.
    """
    from monotrail.lock import read_lock, sibling_locks

    lock = read_lock(lock_path, root)  # the store keeps the parse of a big lock by its content
    wanted_extras, wanted_groups = set(spec.extras), set(spec.groups)
    if spec.lock or _defines(lock, wanted_extras, wanted_groups):
        return lock
    for sibling in map(Path, sibling_locks(str(lock_path))):
        try:
            candidate = read_lock(sibling, root)
        except Exception as error:  # a broken sibling must not hide the first lock's real error
            debug(f"skipping {sibling}: {error}")
            continue
        if _defines(candidate, wanted_extras, wanted_groups):
            debug(f"{lock_path.name} lacks extras {sorted(wanted_extras)} / groups {sorted(wanted_groups)}; using {sibling.name}")
            return candidate
    return lock  # selection raises the error naming what the lock defines


def _defines(lock: Lock, extras: set, groups: set) -> bool:
    return extras <= set(lock.extras) and groups <= set(lock.groups)


def select_for(lock: Lock, interpreter, spec: EnvironmentSpec) -> tuple:
    from monotrail.selection import select

    extras: Sequence[str] = tuple(lock.extras) if spec.all_extras else spec.extras
    return select(lock, interpreter, extras, spec.groups, spec.no_default_groups)


def _sources(spec: EnvironmentSpec, lock: Lock | LockFacts):
    from monotrail.store.index import sources_from_env

    return sources_from_env(
        index_url=spec.index_url,
        extra_index_urls=spec.extra_index_urls,
        find_links=(*spec.find_links, *lock.find_links),
        offline=spec.offline,
        lock_index_urls=lock.index_urls,
    )


def _extra_paths(selected: Sequence) -> list[str]:
    """Local directories the lock installs as they are (a uv `directory` or `virtual` source, a
    poetry path dependency without `develop`): importable from their `src/` or the directory
    itself. Editable projects are not among them: they are built (`monotrail.builds.editable`)."""
    paths: list[str] = []
    for item in selected:
        if item.directory is not None:
            directory = Path(item.directory)
            paths.append(str(directory / "src" if (directory / "src").is_dir() else directory))
    return list(dict.fromkeys(paths))


def _bootstrap_path() -> str:
    """The hook every environment's site-packages links (`monotrail.environment.layout`)."""
    import monotrail_bootstrap

    return os.path.join(os.path.dirname(os.path.abspath(monotrail_bootstrap.__file__)), "_monotrail_finder.py")

