"""A second environment of a recipe made before, copied from the first: the cold path, lean.

Two environments of the same lock bytes, pyproject (what the lock readers read of it), Python
request, extras, groups and sources, with every package already in the store, differ only in
their key: the text files name their own directory (`manifest.json`, `manifest.txt`, the `.pth`
hook, console scripts' shebangs), and `lock` names the lock's path. So when a second project
(another checkout, a copy, a worktree) needs such an environment, it is copied from the first
with the key replaced, instead of importing the cold path (dataclasses, pathlib, the lock model,
selection, the store, the layout: ~45 ms here) to compute the same files again.

    <root>/cache/recipes/<recipe key>   two lines: the key of an environment written for the
                                        recipe, and the key of the interpreter choice it used
                                        (monotrail.interpreters.choices)

The recipe key hashes what the selections' lock key hashes (the lock's bytes, what the lock
readers read of the pyproject (`pyproject_key`), the lock's format, monotrail's version), the
Python request as the environment key has it, the environment's options (`SPEC_FIELDS`), the
environment variables interpreter discovery reads, and the environment format. A recipe is used
only when the environment it names still passes `read_launch` (its interpreter binary unchanged,
the hook unchanged, every store entry's RECORD present) and the interpreter choice still answers
that same binary with nothing it watched changed (a newer patch installed picks again). Only
recipes whose every input those keys cover are written (`monotrail.environment.install` decides:
a lock kept by the selections cache, no editable or local sources, an interpreter found by a
version request). Anything unexpected is a miss: the run takes the full cold path, which writes
the environment as before.

Stdlib only, imported on the cold path before anything heavy (tomli only when a pyproject
not seen before must be parsed: `pyproject_key`).
"""

from __future__ import annotations

import os

from monotrail import __version__
from monotrail.atomic import fsync_directory
from monotrail.environment import ENV_FORMAT, Launch, file_digest, read_launch

__all__ = ["DISCOVERY_VARIABLES", "SPEC_FIELDS", "clone_environment", "pyproject_key", "recipe_key", "remember_recipe"]

FORMAT = 1
# The options of an environment (`monotrail.environment.spec.EnvironmentSpec`, `RunRequest`
# alike) that may change what it holds; quiet/verbose do not.
SPEC_FIELDS = ("lock", "extras", "all_extras", "groups", "no_default_groups", "index_url", "extra_index_urls",
               "find_links", "offline")
# What `monotrail.interpreters.discovery.SearchDirs.from_environ` reads.
DISCOVERY_VARIABLES = ("PATH", "HOME", "PYENV_ROOT", "XDG_DATA_HOME", "UV_PYTHON_INSTALL_DIR",
                       "MONOTRAIL_PYTHON_INSTALL_DIR", "MONOTRAIL_ROOT")


def recipe_key(root: str, lock_path: str, python_key: str, spec: object) -> str:
    """The recipe of an environment; `spec`: a RunRequest or an EnvironmentSpec."""
    from monotrail import sha256_hex
    from monotrail.lock import lock_format

    options = []
    for name in SPEC_FIELDS:
        value = getattr(spec, name)
        if isinstance(value, (list, tuple)):  # a request's lists are the spec's tuples
            value = sorted(value) if name in ("extras", "groups") else list(value)
        options.append(value)
    variables = [os.environ.get(name) for name in DISCOVERY_VARIABLES]
    parts = [FORMAT, __version__, ENV_FORMAT, lock_format(lock_path), file_digest(lock_path),
             pyproject_key(root, os.path.dirname(lock_path)), python_key, options, variables]
    return sha256_hex(repr(parts).encode("utf-8", "surrogateescape"))[:32]


def pyproject_key(root: str, directory: str) -> str:
    """What the lock readers read of `directory`'s pyproject.toml, as a digest
    (`monotrail.lock.pyproject_view`): a comment, the description or `[tool.ruff]` changed
    leave it as it was, so a copied or edited project still finds its selection and recipe.
    `-` when there is none.

    Parsing TOML costs this path its first heavy import (tomli, re, datetime: ~5 ms here), so
    the answer is kept in `<root>/cache/pyprojects/`, keyed by the file's text without its
    comment lines and blank lines (`_text_key`): a project whose pyproject differs from one seen
    before only by comments parses nothing."""
    from monotrail.lock.pyproject_view import FORMAT as VIEW_FORMAT

    try:
        with open(os.path.join(directory, "pyproject.toml"), "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return "-"
    except OSError:  # reading the lock says what is wrong; a key no other run has: a miss
        return f"unreadable:{os.urandom(16).hex()}"
    text_key = _text_key(data, VIEW_FORMAT)
    kept = os.path.join(root, "cache", "pyprojects", text_key)
    try:
        with open(kept, encoding="utf-8") as file:
            digest = file.read()
        if digest.startswith(("view:", "bytes:")) and len(digest.split(":", 1)[1]) == 64:
            return digest
    except (OSError, ValueError):
        pass
    from monotrail.lock.pyproject_view import view_digest
    from monotrail.atomic import write_atomic

    digest = view_digest(data)
    try:
        write_atomic(kept, digest, temp_dir=os.path.join(root, "tmp"))
    except OSError:
        pass  # a cache
    return digest


def _text_key(data: bytes, view_format: str) -> str:
    """The file's bytes without its comment lines and blank lines: two files with the same key
    parse to the same TOML. Only where that is certain: a file with a multi-line string (where
    `#` starts content, not a comment) keeps every line, and a line is dropped only when it is
    a valid TOML comment or blank line (no control character, valid UTF-8), so that an invalid
    file never shares a key with a valid one."""
    from monotrail import sha256_hex

    lines = data.split(b"\n")
    if b'"""' not in data and b"'''" not in data and not data.endswith(b"\r"):
        lines = [line for line in lines if not _comment_or_blank(line)]
    return sha256_hex(b"\0".join([view_format.encode(), __version__.encode(), b"\n".join(lines)]))


def _comment_or_blank(line: bytes) -> bool:
    body = line[:-1] if line.endswith(b"\r") else line
    body = body.lstrip(b" \t")
    if body and not body.startswith(b"#"):
        return False
    if any((byte < 32 and byte != 9) or byte == 127 for byte in body):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _recipe_file(root: str, key: str) -> str:
    return os.path.join(root, "cache", "recipes", key)


def remember_recipe(root: str, key: str, env_dir: str, choice_key: str) -> None:
    from monotrail.atomic import write_atomic

    try:
        write_atomic(_recipe_file(root, key), f"{os.path.basename(env_dir)}\n{choice_key}\n",
                     temp_dir=os.path.join(root, "tmp"))
    except OSError:
        pass  # a cache


def clone_environment(root: str, key: str, env_dir: str, lock_path: str) -> Launch | None:
    """The environment `env_dir` copied from the one the recipe `key` names, or None (a miss)."""
    from monotrail.interpreters.choices import read_choice

    try:
        with open(_recipe_file(root, key), encoding="utf-8") as file:
            source_key, choice_key = file.read().split("\n")[:2]
    except (OSError, ValueError):
        return None
    source = os.path.join(root, "envs", source_key)
    if not source_key or source == env_dir:
        return None
    launch = read_launch(source)
    chosen = read_choice(root, choice_key)
    if launch is None or chosen is None or chosen[0] != launch.python:
        return None
    descriptor = _gc_lock_shared(root)
    if descriptor is None:
        return None
    try:
        return _copy(root, source, env_dir, lock_path)
    finally:
        os.close(descriptor)


def _gc_lock_shared(root: str) -> int | None:
    """`monotrail.store.entries.gc_lock(root, shared=True)` without waiting: `store gc` running
    (or a failure to take the lock) is a miss, and the full cold path waits for it and says so."""
    import fcntl

    path = os.path.join(root, "locks", "gc.lock")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _copy(root: str, source: str, env_dir: str, lock_path: str) -> Launch | None:
    """Copy `source` to a temp dir with its key replaced, then rename it into place, as
    `write_env` does (the temp dir is named as write_env's, so gc removes what a crash leaves)."""
    old = ("/envs/" + os.path.basename(source)).encode()
    new = ("/envs/" + os.path.basename(env_dir)).encode()
    tmp_root = os.path.join(root, "tmp")
    tmp = os.path.join(tmp_root, f"env-{os.getpid()}-{os.urandom(6).hex()}")
    umask = os.umask(0o022)
    os.umask(umask | 0o022)  # nothing the store writes is group- or world-writable (private_umask)
    try:
        os.makedirs(tmp_root, exist_ok=True)
        os.mkdir(tmp, 0o755)
        _copy_tree(source, tmp, old, new)
        if read_launch(source) is None:  # changed while it was copied: the copy may be partial
            raise OSError("the source environment changed")
        with open(os.path.join(tmp, "lock"), "w", encoding="utf-8") as file:
            file.write(f"{lock_path}\n{file_digest(lock_path)}\n")
        os.makedirs(os.path.dirname(env_dir), exist_ok=True)
        os.rename(tmp, env_dir)
    except OSError:  # another run renamed the same environment into place first, or a failure
        _remove(tmp)
        return read_launch(env_dir, check_inputs=False)
    finally:
        os.umask(umask)
    fsync_directory(os.path.dirname(env_dir))
    return read_launch(env_dir, check_inputs=False)


def _copy_tree(source: str, target: str, old: bytes, new: bytes, top: bool = True) -> None:
    """Directories as directories (`pids/` empty), links as links with the key replaced,
    hard-linked data files linked again, every other file rewritten with the key replaced.

    A file the key does not occur in keeps its mtime, and `__pycache__` files are copied as
    they are: the hook's bytecode (`site-packages/__pycache__/_monotrail_finder.*.pyc`, compiled
    by the source's first start) stays valid for the copied hook (same bytes, same mtime: what
    the pyc records), so the copy's first start does not compile the hook again (~6 ms of CPU
    here). A pyc's file name inside is the source's; the interpreter sets it to the file it
    loads the code for (`importlib`'s `_fix_co_filename`)."""
    with os.scandir(source) as entries:
        for entry in entries:
            path = os.path.join(target, entry.name)
            if entry.is_symlink():
                os.symlink(os.fsencode(os.readlink(entry.path)).replace(old, new), path)
            elif entry.is_dir():
                os.mkdir(path, entry.stat().st_mode & 0o7777)
                if not (top and entry.name == "pids"):  # one file per live process of the source
                    _copy_tree(entry.path, path, old, new, top=False)
            else:
                info = entry.stat()
                if info.st_nlink > 1:  # a package's data file (monotrail.environment.data_files)
                    try:
                        os.link(entry.path, path)
                        continue
                    except OSError:
                        pass
                with open(entry.path, "rb") as file:
                    data = original = file.read()
                if os.path.basename(source) != "__pycache__":
                    data = original.replace(old, new)
                elif not entry.name.endswith(".pyc"):
                    continue  # an interpreter's temp file, renamed into place by its writer
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, info.st_mode & 0o7777)
                with open(descriptor, "wb") as file:
                    file.write(data)
                if data is original or data == original:
                    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))



def _remove(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
