"""Building a wheel from an sdist with its PEP 517 backend, venv-less.

The build requirements are resolved for the target interpreter and installed into the store like
any lock's packages; the backend runs in that environment through `pyproject-hooks` (its hook
runner is started as `<env>/bin/python`, the environment's shim). The built wheel is cached under
`<root>/built/<sha256 of the sdist>/`: building is slow, and a given sdist is built once.

A failing backend is one error naming the package with the log's tail; the whole log is kept in
`<root>/built/logs/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Sequence

from monotrail.errors import MonotrailError
from monotrail.lock.model import Artifact
from monotrail.store.direct import interpreter_key

if TYPE_CHECKING:
    from monotrail.environment.install import EnvironmentBuilder

DEFAULT_BACKEND = ("setuptools.build_meta:__legacy__", ["setuptools>=40.8.0"])
MAX_NESTING = 2  # a build whose build requirements need builds whose build requirements need builds: refused


class BuildError(MonotrailError):
    """A PEP 517 backend failed, or the sdist cannot be unpacked or has no usable build-system."""


def built_wheel(sdist: Path, artifact: Artifact, interpreter, sources, root: Path,
                building: tuple[str, ...], builder: EnvironmentBuilder) -> Path:
    """The wheel built from `sdist` (a verified download of `artifact`) for `interpreter`.

    `building`: the builds this one serves, outermost first (empty for a package a user asked
    for; see `cached_or_built`)."""
    digest = artifact.sha256 or sdist.name.split(".")[0]

    def build(cache: Path, work: Path) -> Path:
        source = _unpack(sdist, artifact.filename, work / "src")
        return _build_tree(source, artifact.filename, interpreter, sources, root, cache, work, building, builder)

    cache = root / "built" / digest / interpreter_key(interpreter)
    return cached_or_built(cache, artifact.filename, root, build, building)


def built_tree_wheel(source: Path, key: str, label: str, interpreter, sources, root: Path,
                     building: tuple[str, ...], builder: EnvironmentBuilder) -> Path:
    """The wheel built from the source tree `source` (a local directory or a git checkout) for
    `interpreter`, cached under `<root>/built/<key>/` (`key`: the tree's content hash or the commit).
    `label` names the tree in messages and in the build log's file name; `building` as in `built_wheel`."""

    def build(cache: Path, work: Path) -> Path:
        tree = work / "src"
        shutil.copytree(source, tree, symlinks=True, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".venv"))
        return _build_tree(tree, label, interpreter, sources, root, cache, work, building, builder)

    return cached_or_built(root / "built" / key / interpreter_key(interpreter), label, root, build, building)


def cached_or_built(cache: Path, label: str, root: Path, build, building: tuple[str, ...]) -> Path:
    """The wheel in `cache`, else `build(cache, work)` in a scratch dir under `<root>/tmp/`.

    Builds nest: a backend's own build requirements may need building. The chain of builds is
    passed down explicitly (`building`, as uv's build stack) rather than counted in one place,
    because unrelated builds run side by side in the install threads and must not add up; two
    levels are allowed, deeper means a cycle or a backend without any wheel, and is refused."""
    found = sorted(cache.glob("*.whl")) if cache.is_dir() else []
    if found:
        return found[0]
    if len(building) >= MAX_NESTING:
        raise BuildError(f"{label}: build requirements need source builds several levels deep "
                         f"({' -> '.join((*building, label))})",
                         hint="install a wheel of the build backend")
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=root / "tmp"))
    try:
        return build(cache, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_tree(source: Path, label: str, interpreter, sources, root: Path, cache: Path, work: Path,
                building: tuple[str, ...], builder: EnvironmentBuilder) -> Path:
    """Run the backend of the tree at `source` (a scratch copy) and move its wheel into `cache`."""
    backend, backend_path, requires = build_system(source, label)
    chain = (*building, label)
    python = build_env(requires, interpreter, sources, root, label, chain, builder)
    caller = hook_caller(source, backend, backend_path, python)
    extra = [r for r in _hook(caller.get_requires_for_build_wheel, label, backend, root) if r not in requires]
    if extra:
        python = build_env(requires + extra, interpreter, sources, root, label, chain, builder)
        caller = hook_caller(source, backend, backend_path, python)
    out = work / "out"
    out.mkdir()
    name = _hook(lambda: caller.build_wheel(str(out)), label, backend, root)
    staged = work / "cache"
    staged.mkdir()
    shutil.move(str(out / name), staged / name)
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staged, cache)
    except OSError:
        if not any(cache.glob("*.whl")):
            raise
    return sorted(cache.glob("*.whl"))[0]


def _unpack(sdist: Path, filename: str, target: Path) -> Path:
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for member in archive.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise BuildError(f"{filename} has an unsafe member {member!r}")
                archive.extractall(target)
        else:
            with tarfile.open(sdist) as archive:
                archive.extractall(target, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as error:
        raise BuildError(f"cannot unpack {filename}: {error}") from None
    children = [child for child in target.iterdir() if child.is_dir()]
    if len(children) != 1:
        raise BuildError(f"{filename} does not hold exactly one top-level directory")
    return children[0]


def build_system(source: Path, filename: str) -> tuple[str, list[str] | None, list[str]]:
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file():
        return DEFAULT_BACKEND[0], None, list(DEFAULT_BACKEND[1])
    from monotrail.lock.tomlfile import load_toml

    table = load_toml(pyproject).get("build-system", {})
    if not isinstance(table, dict):
        raise BuildError(f"{filename}: [build-system] is not a table")
    requires = table.get("requires", DEFAULT_BACKEND[1] if "build-backend" not in table else [])
    backend = table.get("build-backend", DEFAULT_BACKEND[0])
    backend_path = table.get("backend-path")
    if not isinstance(requires, list) or not isinstance(backend, str):
        raise BuildError(f"{filename}: invalid [build-system] in pyproject.toml")
    return backend, backend_path, list(requires)


def build_env(requires: Sequence[str], interpreter, sources, root: Path, filename: str,
              building: tuple[str, ...], builder: EnvironmentBuilder) -> str:
    """An environment (in the store, like a run's) holding the build requirements; its python shim.
    `building`: the chain of builds it serves, handed to the builds its requirements may need, by
    `builder` (the caller's: this module never names the builder, which calls it)."""
    import hashlib

    from monotrail.environment.spec import EnvironmentSpec
    from monotrail.environment import env_key, read_launch
    from monotrail.environment.install import install_environment
    from monotrail.resolve import pylock_writer
    from monotrail.resolve.resolver import resolve

    key = hashlib.sha256("\0".join([interpreter.path, *sorted(requires)]).encode()).hexdigest()[:24]
    lock = root / "resolved" / "build" / key / "pylock.toml"
    if not lock.is_file():
        resolution = resolve({"": list(requires)}, interpreter, sources, root, where=f"build requirements of {filename}",
                             building=building, builder=builder)
        pylock_writer.write(lock, pylock_writer.render(resolution, interpreter))
    python_key = f"cli:{interpreter.path}"
    env_dir = os.path.join(root, "envs", env_key(str(lock), python_key, (), False, (), False))
    launch = read_launch(env_dir)
    if launch is None:
        spec = EnvironmentSpec(lock=str(lock), quiet=True, offline=sources.offline)
        launch = install_environment(spec, str(lock.parent), str(lock), python_key, str(root), env_dir,
                                     builder=builder, building=building)
    return os.path.join(launch.bin, "python")


def hook_caller(source: Path, backend: str, backend_path, python: str):
    from pyproject_hooks import BuildBackendHookCaller

    _quiet_backend_warnings()
    return BuildBackendHookCaller(str(source), backend, backend_path, runner=_runner, python_executable=python)


def _quiet_backend_warnings() -> None:
    """pyproject-hooks (1.1+) raises the warnings a backend emitted again in the caller, as
    `BuildBackendWarning`s: setuptools' deprecation banners, dozens of lines per build. A build
    that succeeds says nothing of its backend's output, as with uv (MONOTRAIL_LOG=debug shows it);
    a failed one keeps the output in its log. One process-wide filter: builds run in threads,
    where `warnings.catch_warnings` is not safe."""
    import warnings

    import pyproject_hooks

    from monotrail.log import DEBUG

    category = getattr(pyproject_hooks, "BuildBackendWarning", None)  # absent before pyproject-hooks 1.1
    if category is not None and not DEBUG:
        warnings.filterwarnings("ignore", category=category)


def _runner(cmd, cwd=None, extra_environ=None) -> None:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    # The build environment's bin/ first on PATH, as pip's and uv's build isolation put the build
    # venv's scripts: backends run their requirements' executables (maturin, cmake, ninja) by name.
    env["PATH"] = os.pathsep.join([os.path.dirname(cmd[0]), env.get("PATH", os.defpath)])
    if extra_environ:
        env.update(extra_environ)
    result = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise BackendFailed(result.stdout.decode("utf-8", "replace"))
    if result.stdout.strip():
        from monotrail.log import debug

        debug(f"build backend output ({cwd}):\n{result.stdout.decode('utf-8', 'replace').rstrip()}")


class BackendFailed(Exception):
    def __init__(self, log: str) -> None:
        super().__init__("backend failed")
        self.log = log


def _hook(call, label: str, backend: str, root: Path):
    from pyproject_hooks import BackendUnavailable

    try:
        return call()
    except BackendFailed as failed:
        log = keep_log(root, label, failed.log)
        tail = " | ".join(line for line in failed.log.strip().splitlines()[-3:])
        raise BuildError(f"building a wheel from {label} failed: {tail}",
                         hint=f"the full build log is in {log}") from None
    except BackendUnavailable as error:
        # pyproject-hooks 1.0 gives only `traceback` (the hook process' import error, empty when the
        # module is missing from backend-path); 1.1+ put a message first in str(error), and there
        # is no `message` attribute in either.
        traceback = (getattr(error, "traceback", "") or "").strip()
        said = str(error).strip()
        cause = traceback.splitlines()[-1] if traceback else said.splitlines()[0] if said else "the import failed"
        log = keep_log(root, label, traceback or said)
        raise BuildError(f"building a wheel from {label} failed: its build backend {backend!r} cannot be imported "
                         f"({cause})",
                         hint=f"the sdist's pyproject.toml [build-system] must list what provides {backend!r} in "
                              f"`requires`: report it to the package's maintainers, or pin a version that has a "
                              f"wheel; the traceback is in {log}") from None


def keep_log(root: Path, label: str, text: str) -> Path:
    logs = root / "built" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{label.replace('/', '_')}.log"
    log.write_text(text, "utf-8")
    return log
