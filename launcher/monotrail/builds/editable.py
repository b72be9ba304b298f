"""Editable installs of local projects (PEP 660), as `uv sync` and `pip install -e` make them.

The project itself, workspace members and path dependencies marked editable are built with the
project's own build backend (`build_editable`, through pyproject-hooks, build requirements
installed venv-less as for sdists: `monotrail.builds.sdist`), in place, so the project's
metadata (dist-info), entry points and compiled extensions exist. The editable wheel is then a
wheel like any other: the store unpacks it, and its `.pth` file or `__editable__` finder goes
through the bootstrap's `.pth` processing.

The wheel is cached under `<root>/built/editable-<key>/<interpreter tag>/`, the key hashing what
decides it, as uv's cache keys do: the project's directory, the contents of pyproject.toml,
setup.py, setup.cfg and MANIFEST.in, whether `src/` exists, and the files named by
`[tool.uv] cache-keys = [{ file = "glob" }]`. Sources are not watched: an editable install
reads them in place, except what the backend compiles (C extensions, Rust): list those in
`cache-keys` to rebuild when they change, as with uv. The same files, with their mtime and size,
are recorded in the environment (`monotrail.environment`), so the warm path notices an edit with one
stat per file and never hashes or builds anything.

An editable build may leave files in the project tree that the install needs: setuptools compiles
extensions there (`build_ext --inplace`), setuptools-scm writes its version file there. The
cached wheel does not bring them back when the tree is made again at the same path (a fresh
clone, `git clean -xdf`) or when they are deleted: the build inputs, hence the key, are the same.
So the tree is listed before and after the build, and what the build created or changed is kept
beside the wheel (`products`); a cache hit whose products are not all there is built again, and
the environment lists them (`=+` lines, `?` in the front door's entry) so that both warm paths
notice a deleted one with one stat.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Sequence

from monotrail.environment import PRODUCT, input_state
from monotrail.lock.model import Artifact
from monotrail.log import debug, info
from monotrail.builds.sdist import BuildError
from monotrail.names import normalize

if TYPE_CHECKING:
    from monotrail.environment.install import EnvironmentBuilder

INPUTS = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "src")
POETRY_BACKEND = ("poetry.core.masonry.api", ["poetry-core>=1.0.8"])  # the first with build_editable
PRODUCTS = "products"  # beside the cached wheel: what the build left in the tree, a relative path a line
# A build's products checked for (one stat each on the warm path): compiled extensions and Python
# files first, as they decide what imports. A tree made again or cleaned misses all of them.
MAX_PRODUCTS = 32
_EXTENSIONS = (".so", ".pyd", ".dylib", ".dll")
# Not listed around a build: version control, bytecode and tool caches (and any venv, by its pyvenv.cfg).
_NOT_LISTED = frozenset({".git", ".hg", ".svn", ".bzr", "__pycache__", "node_modules", ".tox", ".nox",
                         ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def resolve_editables(selected: Sequence, interpreter, sources, root: Path, building: tuple[str, ...] = (),
                      quiet: bool = False, *, builder: EnvironmentBuilder) -> tuple[list, list[tuple[str, str]]]:
    """`selected` with each editable project replaced by a selection of its editable wheel (built,
    or found in the cache), and the (path, state) of every input file and build product
    (state `PRODUCT`), for the warm path. `builder` builds what the build requirements need."""
    from monotrail.store.wheel import name_version

    out, watched = [], []
    for item in selected:
        if item.editable is None:
            out.append(item)
            continue
        directory = Path(item.editable)
        inputs = watched_inputs(directory)  # stat first: an edit after this is seen on the next run
        wheel, products = editable_wheel(directory, item.name, inputs, interpreter, sources, root, builder, building, quiet)
        name, version = name_version(wheel.name)
        artifact = Artifact(filename=wheel.name, path=str(wheel), hashes=(("sha256", _file_sha256(wheel)),))
        out.append(item.replace(name=normalize(name), version=version, artifact=artifact, editable=None,
                                direct_url=direct_url(directory)))
        watched += inputs + [(str(path), PRODUCT) for path in products]
    return out, watched


def direct_url(directory: Path) -> str:
    """PEP 610 `direct_url.json` of an editable install, as pip and uv write it: tools read it to
    tell an editable project (pytest rewrites the asserts of an editable plugin only with it)."""
    return json.dumps({"url": directory.absolute().as_uri(), "dir_info": {"editable": True}}, sort_keys=True)


def watched_inputs(directory: Path) -> list[tuple[str, str]]:
    """(path, state) of each file that decides the editable wheel of `directory`."""
    paths = [directory / name for name in INPUTS] + _cache_key_files(directory)
    return [(str(path), input_state(str(path))) for path in dict.fromkeys(paths)]


def _cache_key_files(directory: Path) -> list[Path]:
    """Files of `[tool.uv] cache-keys` `{ file = "glob" }` entries (`dir`, `git` and `env` entries
    are not read: see docs/how-to/projects.md)."""
    from monotrail.lock.tomlfile import read_pyproject

    try:
        pyproject = read_pyproject(directory) or {}
    except Exception:  # a broken pyproject.toml is the backend's to report, with its own words
        return []
    uv = pyproject.get("tool", {}).get("uv", {})
    keys = uv.get("cache-keys", []) if isinstance(uv, dict) else []
    found: list[Path] = []
    for key in keys if isinstance(keys, list) else []:
        pattern = key.get("file") if isinstance(key, dict) else None
        if isinstance(pattern, str) and pattern and not Path(pattern).is_absolute():
            found += sorted(path for path in directory.glob(pattern) if path.is_file())
    return found


def editable_key(directory: Path, inputs: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256(str(directory.absolute()).encode("utf-8", "surrogateescape") + b"\0")
    for path, state in inputs:
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
        if state in ("-", "dir"):
            digest.update(state.encode())
        else:
            try:
                digest.update(b"F" + Path(path).read_bytes())
            except OSError:
                digest.update(b"-")
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def editable_wheel(directory: Path, name: str, inputs: Sequence[tuple[str, str]], interpreter, sources, root: Path,
                   builder: EnvironmentBuilder, building: tuple[str, ...] = (), quiet: bool = False) -> tuple[Path, list[Path]]:
    """The editable wheel of the project at `directory` for `interpreter`, and the files its build
    left in the tree: cached while those are all there, else built in place by its backend (one
    build at a time per project and inputs)."""
    import time

    from monotrail.builds.sdist import cached_or_built
    from monotrail.store.direct import interpreter_key
    from monotrail.store.entries import artifact_lock

    if not any((directory / marker).is_file() for marker in ("pyproject.toml", "setup.py", "setup.cfg")):
        raise BuildError(f"cannot install {name} editable: {directory} has no pyproject.toml or setup.py",
                         hint="check the path the lock gives for it")
    key = "editable-" + editable_key(directory, inputs)
    cache = root / "built" / key / interpreter_key(interpreter)
    found = _cached(cache, directory)
    if found is not None:
        return found
    with artifact_lock(root, key):
        found = _cached(cache, directory)
        if found is not None:
            return found
        if cache.is_dir():
            debug(f"editable: {cache} is stale: a file its build left in {directory} is gone; building again")
            _discard(cache, root)
        started = time.perf_counter()

        def build(cache: Path, work: Path) -> Path:
            return _build_in_place(directory, name, interpreter, sources, root, cache, work, builder, building, quiet)

        try:
            wheel = cached_or_built(cache, name, root, build, building)
        finally:
            if not quiet:
                _progress("")
        if not quiet:
            info(f"monotrail: built {name} @ {directory.absolute().as_uri()} in {time.perf_counter() - started:.1f} s")
        return wheel, _read_products(cache, directory)


def _cached(cache: Path, directory: Path) -> tuple[Path, list[Path]] | None:
    """The cached wheel and the build's products, if the cache has a wheel and every product is there."""
    found = sorted(cache.glob("*.whl")) if cache.is_dir() else []
    if not found or not (cache / PRODUCTS).is_file():  # none: cached before products were recorded
        return None
    products = _read_products(cache, directory)
    if not all(path.is_file() for path in products):
        return None
    return found[0], products


def _read_products(cache: Path, directory: Path) -> list[Path]:
    try:
        lines = (cache / PRODUCTS).read_text("utf-8").splitlines()
    except OSError:
        return []
    return [directory / line for line in lines if line]


def _discard(cache: Path, root: Path) -> None:
    """Move a stale cache entry out of the way (we hold its lock), then delete it."""
    import shutil

    from monotrail.store.entries import new_temp_dir

    aside = new_temp_dir(root, create=False)
    aside.parent.mkdir(parents=True, exist_ok=True)
    os.rename(cache, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _build_in_place(directory: Path, name: str, interpreter, sources, root: Path, cache: Path, work: Path,
                    builder: EnvironmentBuilder, building: tuple[str, ...], quiet: bool = False) -> Path:
    """Run `build_editable` of the project's backend in the project's directory (extensions are
    compiled there, as `pip install -e` compiles them) and move the wheel into `cache`, with the
    list of what the build created or changed in the tree."""
    import shutil

    from monotrail.builds.sdist import build_env, hook_caller

    if not quiet:
        _progress(f"monotrail: building {name} @ {directory.absolute().as_uri()}")
    backend, backend_path, requires = _build_system(directory, name)
    chain = (*building, name)
    python = build_env(requires, interpreter, sources, root, name, chain, builder)
    before = _tree_listing(directory)
    caller = hook_caller(directory, backend, backend_path, python)
    extra = [r for r in _hook(caller.get_requires_for_build_editable, name, directory, backend, root) if r not in requires]
    if extra:
        caller = hook_caller(directory, backend, backend_path, build_env(requires + extra, interpreter, sources, root, name, chain, builder))
    out = work / "out"
    out.mkdir()
    wheel = _hook(lambda: caller.build_editable(str(out)), name, directory, backend, root)
    products = build_products(before, _tree_listing(directory))
    debug(f"editable: {backend} built {wheel} for {directory}; it left {len(products)} files in the tree to check")
    staged = work / "cache"
    staged.mkdir()
    shutil.move(str(out / wheel), staged / wheel)
    (staged / PRODUCTS).write_text("".join(f"{os.path.relpath(path, directory)}\n" for path in products), "utf-8")
    cache.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, cache)  # we hold the project's lock: nobody else renames into it
    return cache / wheel


def _tree_listing(directory: Path) -> dict[str, tuple[int, int]]:
    """Each file of the project tree with its (mtime, size); links are not followed."""
    listing: dict[str, tuple[int, int]] = {}
    for top, directories, files in os.walk(directory):
        directories[:] = [name for name in directories
                          if name not in _NOT_LISTED and not os.path.isfile(os.path.join(top, name, "pyvenv.cfg"))]
        for name in files:
            path = os.path.join(top, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            listing[path] = (info.st_mtime_ns, info.st_size)
    return listing


def build_products(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """The files a build created or changed that the install needs: compiled extensions and
    Python files when there are any, else whatever else it left outside its metadata scratch
    (`*.egg-info`), at most MAX_PRODUCTS."""
    changed = [path for path, state in after.items()
               if before.get(path) != state and not any(part.endswith(".egg-info") for part in Path(path).parts)]
    code = [path for path in changed if path.endswith(_EXTENSIONS + (".py",))]
    return sorted(code or changed, key=lambda path: (not path.endswith(_EXTENSIONS), path))[:MAX_PRODUCTS]


def _progress(line: str) -> None:
    """A line that stays only while a build runs, on a terminal (as uv's `Building ...` spinner)."""
    import sys

    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{line}")
        sys.stderr.flush()


def _build_system(directory: Path, name: str) -> tuple[str, list[str] | None, list[str]]:
    """The project's [build-system]. Without one: poetry-core for a `[tool.poetry]` project
    (poetry installs those with its own builder, which poetry-core is), else setuptools' legacy
    backend, as pip and uv do (`monotrail.builds.sdist`)."""
    from monotrail.lock.tomlfile import read_pyproject
    from monotrail.builds.sdist import build_system as declared

    pyproject = read_pyproject(directory) or {}
    if "build-system" not in pyproject and isinstance(pyproject.get("tool", {}).get("poetry"), dict):
        return POETRY_BACKEND[0], None, list(POETRY_BACKEND[1])
    return declared(directory, name)


def _hook(call, name: str, directory: Path, backend: str, root: Path):
    """One backend hook; its failure is one BuildError naming the project, the backend and the log."""
    from pyproject_hooks import BackendUnavailable, HookMissing

    from monotrail.builds.sdist import BackendFailed, keep_log

    what = f"building {name} ({directory}) editable with {backend}"
    try:
        return call()
    except BackendFailed as failed:
        log = keep_log(root, f"{name}-editable", failed.log)
        tail = " | ".join(line for line in failed.log.strip().splitlines()[-3:])
        raise BuildError(f"{what} failed (log: {log}): {tail}",
                         hint="fix the project's build (see the log), or mark it not a package "
                              "(`[tool.uv] package = false`) to install nothing for it") from None
    except HookMissing:
        raise BuildError(f"{what} failed: the backend has no build_editable hook (PEP 660)",
                         hint="use a backend version with editable support (setuptools >= 64, hatchling, "
                              "flit-core >= 3.4, poetry-core >= 1.0.8, maturin, pdm-backend)") from None
    except BackendUnavailable as error:
        said = (getattr(error, "traceback", "") or str(error) or "").strip()
        log = keep_log(root, f"{name}-editable", said)
        raise BuildError(f"{what} failed (log: {log}): the backend cannot be imported",
                         hint="check [build-system] build-backend, requires and backend-path in pyproject.toml") from None


def _file_sha256(path: Path) -> str:
    from monotrail.store.index import file_sha256

    return file_sha256(path)

