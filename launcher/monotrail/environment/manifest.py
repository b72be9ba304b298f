"""The environment as data: which importable name lives in which store entry.

A pure function of the store entries (their marker files already list top-level names, .pth
files and entry points, so nothing here lists a directory) and of the extra sys.path entries
(the project itself, path dependencies). The bootstrap reads the result; see
docs/architecture.md for the format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Sequence
from monotrail.names import normalize

if TYPE_CHECKING:
    from monotrail.store.entries import StoreEntry

MANIFEST_VERSION = 1




def build_manifest(
    entries: Sequence["StoreEntry"],
    python: str,
    python_mtime: float,
    env_dir: Path,
    paths: Sequence[str],
) -> dict:
    modules: dict[str, list[str]] = {}
    distributions: dict[str, str] = {}
    pth: list[list[str]] = []
    scripts: dict[str, dict] = {}
    lib_dirs: list[str] = []
    for entry in entries:
        meta = entry.meta
        lib = str(entry.lib)
        lib_dirs.append(lib)
        for name in meta.get("top_level", ()):
            modules.setdefault(name, []).append(lib)
        distributions[normalize(meta["name"])] = f"{lib}/{meta['dist_info']}"
        pth.extend([lib, name] for name in meta.get("pth", ()))
        scripts.update(_scripts_of(entry.path, meta))
    # site.py processes .pth files in sorted order within a directory; we have one logical
    # site-packages, so sort by file name across all entries.
    pth.sort(key=lambda item: item[1])
    return {
        "version": MANIFEST_VERSION,
        "python": python,
        "python_mtime": python_mtime,
        "env": str(env_dir),
        "modules": modules,
        "distributions": distributions,
        "lib_dirs": lib_dirs,
        "pth": pth,
        "paths": list(paths),
        "scripts": scripts,
    }


def _scripts_of(entry_path: Path, meta: dict) -> dict[str, dict]:
    scripts: dict[str, dict] = {}
    for name in meta.get("data_scripts", ()):
        path = entry_path / "bin" / name
        scripts[name] = {"path": str(path)}
    entry_points = meta.get("entry_points", {})
    for group in ("gui_scripts", "console_scripts"):  # console scripts win a name clash, as in pip
        for name, target in entry_points.get(group, {}).items():
            scripts[name] = {"entry_point": target.split("[", 1)[0].strip()}
    return scripts


def dumps(manifest: dict) -> str:
    return json.dumps(manifest, indent=1, sort_keys=True)
