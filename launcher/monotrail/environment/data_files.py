"""The locked packages' data files, placed under the environment's prefix as an installer would.

A wheel's `.data/data/` files belong under the installation's prefix (`share/jupyter/lab/static`,
`etc/jupyter/jupyter_server_config.d/*.json`, `share/jupyter/kernels/...`, `share/man/...`), its
`.data/headers/` files under `<prefix>/include/site/pythonX.Y/<Name>/` (pip's venv scheme). The
store keeps them in each entry's `data/` and `include/`; a run's `sys.prefix` is its environment
(a venv-shaped directory), so linking them into it makes everything that looks under
`sys.prefix` find them as in a venv: `sysconfig.get_paths()['data']`, jupyter_core's
`jupyter --paths` (`{sys.prefix}/share/jupyter`, `{sys.prefix}/etc/jupyter`), JupyterLab's
application directory, kernelspecs shipped as data files.

Hard links, not symlinks: a program that resolves links (`os.path.realpath`, JupyterLab's
extension listing) still sees paths inside the prefix, as in a venv, and an entry removed by
`store gc` leaves no dangling name. Across filesystems (an environment directory moved to another
device), a symlink instead. Directories are real directories of the environment: a program that
writes under its prefix (`jupyter labextension develop`, a kernelspec installed with
`--sys-prefix`) writes into the environment, never into the store.

Cold path only: called while an environment is written, one `isdir` per entry without data files.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monotrail.log import debug

if TYPE_CHECKING:  # pragma: no cover
    from monotrail.store.entries import StoreEntry

# The environment's own files (monotrail.environment.write_env and layout): a data file never
# takes one of these names at the top of the prefix.
OWN_NAMES = frozenset({"pyvenv.cfg", "manifest.json", "manifest.txt", "launch", "lock", "repair.json", "pids"})


def data_trees(entries: Sequence["StoreEntry"], python_version: str) -> list[tuple[str, str, str]]:
    """(package, source directory, destination relative to the prefix) of every entry that has
    data files or headers, in the order conflicts are settled: by package name, first wins.

    pip and uv overwrite in install order, which depends on the resolver; a name order gives the
    same environment for the same lock every time."""
    trees: list[tuple[str, str, str]] = []
    for entry in sorted(entries, key=lambda item: str(item.meta["name"])):
        name = str(entry.meta["name"])
        data = os.path.join(entry.path, "data")
        if os.path.isdir(data):
            trees.append((name, data, ""))
        headers = os.path.join(entry.path, "include")
        if os.path.isdir(headers):
            trees.append((name, headers, os.path.join("include", "site", f"python{python_version}", _metadata_name(entry))))
    return trees


def link_data_files(prefix: str, trees: Sequence[tuple[str, str, str]]) -> int:
    """Link each tree's files under `prefix` (the environment being written, before its rename);
    return how many were linked. A path already taken (the environment's own files and console
    scripts, an earlier package's data file) is kept, with a debug line naming both packages."""
    owners: dict[str, str] = {}
    linked = 0
    for package, source, destination in trees:
        base = os.path.join(prefix, destination) if destination else prefix
        for directory, subdirectories, files in os.walk(source):
            if directory == source and not destination:
                subdirectories[:] = [name for name in subdirectories if name not in OWN_NAMES]  # pids/
            subdirectories.sort()
            relative = os.path.relpath(directory, source)
            target_dir = base if relative == "." else os.path.join(base, relative)
            if files and not _make_dirs(target_dir):
                debug(f"data files of {package} in {relative} not linked: a file of the environment or of an "
                      "earlier package is where their directory goes")
                continue
            top = target_dir == prefix
            for name in sorted(files):
                path = os.path.join(target_dir, name)
                key = name if top else path[len(prefix) + 1:]
                if key in OWN_NAMES:
                    debug(f"data file {key} of {package} not linked: the environment's own file has that name")
                    continue
                if _link(os.path.join(directory, name), path):
                    owners[key] = package
                    linked += 1
                else:
                    holder = owners.get(key, "the environment")
                    debug(f"data file {key} of {package} not linked: {holder} has it")
    return linked


def _make_dirs(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        return True
    except (FileExistsError, NotADirectoryError):
        return False


def _link(source: str, path: str) -> bool:
    """Hard link `source` at `path` (a symlink across devices); False when `path` is taken."""
    try:
        os.link(source, path, follow_symlinks=False)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    try:
        os.symlink(source, path)
        return True
    except FileExistsError:
        return False


def _metadata_name(entry: "StoreEntry") -> str:
    """The project name as METADATA spells it (pip names the headers directory so)."""
    from installer.utils import parse_metadata_file

    try:
        with open(os.path.join(entry.lib, str(entry.meta["dist_info"]), "METADATA"), encoding="utf-8") as file:
            name = parse_metadata_file(file.read()).get("Name")
    except OSError:
        name = None
    return str(name or entry.meta["name"])
