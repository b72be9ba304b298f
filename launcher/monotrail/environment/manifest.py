"""The environment as data: which importable name lives in which store entry.

A pure function of the store entries (their marker files already list top-level names, .pth
files and entry points, so nothing here lists a directory) and of the extra sys.path entries
(the project itself, path dependencies). The bootstrap reads the result; see
docs/architecture.md for the format.
"""

from __future__ import annotations

import json
import os
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


# The compact form's first line and section separator (`manifest.txt`, read by the hook).
COMPACT_HEADER = "monotrail-manifest 3"
COMPACT_SEPARATOR = "\x1e"
# What every lib dir of a store entry ends with (`<root>/store/<name>/<version>/<hash>/site-packages`).
_LIB_SUFFIX = "/site-packages"


def compact(manifest: dict) -> str | None:
    """What the hook needs of the manifest, as text it cuts with `str.split` and rebuilds with
    `dict(zip(...))` and slices, all at C speed with no import: `import json` pulls in `re`, and
    even the C scanner of `_json` is a shared library to load on every start (bench/bench_warm.py:
    a 184-package manifest parses in ~0.1 ms, `_json` alone costs ~0.25 ms to import). None when
    a value holds a character the form uses (newline, tab, \\x1e) or the manifest is not of
    `build_manifest`'s shape: the hook then reads manifest.json.

    Six sections joined by COMPACT_SEPARATOR, one value a line: the header, `env`, and the
    PREFIX and SUFFIX every lib dir is made of (`<root>/store/` and `/site-packages`, or empty);
    `paths`; `pth` as LIB INDEX, NAME pairs of lines; `modules` as NAME, INDEX<TAB>INDEX... pairs
    (indices into the lib dirs); the lib dirs, each as its MIDDLE (PREFIX + MIDDLE + SUFFIX); the
    distributions in the same order as NAME<TAB>DIST-INFO (its path is LIB/DIST-INFO; `lib_dirs`
    and `distributions` both come from these, as `build_manifest` makes both from one list of
    entries; the hook splits this last section only when asked about distributions). Each path is
    written once and short: the hook reads and splits every byte at every start (bench/large:
    52 kB in format 1, 16 kB in this one).
    """
    if not all(key in manifest for key in ("env", "modules", "distributions", "lib_dirs", "pth", "paths")):
        return None
    libs = manifest["lib_dirs"]
    distributions = manifest["distributions"]
    by_lib = {path.rpartition("/")[0]: (name, path.rpartition("/")[2]) for name, path in distributions.items()}
    if len(by_lib) != len(libs) or set(by_lib) != set(libs):
        return None  # not the shape build_manifest makes: JSON says it exactly
    index = {lib: str(number) for number, lib in enumerate(libs)}
    if any(lib not in index for item in manifest["pth"] for lib in item[:1]):
        return None
    if any(not dirs or any(lib not in index for lib in dirs) for dirs in manifest["modules"].values()):
        return None
    values = [manifest["env"], *manifest["paths"], *libs, *distributions.values(), *distributions,
              *manifest["modules"], *[part for item in manifest["pth"] for part in item]]
    if any(char in value for value in values for char in "\n\t\x1e"):
        return None
    prefix = os.path.join(os.path.dirname(os.path.dirname(manifest["env"])), "store") + os.sep
    if not all(lib.startswith(prefix) for lib in libs):
        prefix = ""
    suffix = _LIB_SUFFIX if all(lib.endswith(_LIB_SUFFIX) and len(lib) >= len(prefix) + len(_LIB_SUFFIX)
                                for lib in libs) else ""
    middles = [lib[len(prefix):len(lib) - len(suffix)] for lib in libs]
    if not all(middles):
        return None  # an empty line would be no lib dir
    sections = [
        [COMPACT_HEADER, manifest["env"], prefix, suffix],
        list(manifest["paths"]),
        [part for lib, name in manifest["pth"] for part in (index[lib], name)],
        [part for name, dirs in manifest["modules"].items() for part in (name, "\t".join(index[lib] for lib in dirs))],
        middles,
        ["\t".join(by_lib[lib]) for lib in libs],
    ]
    return COMPACT_SEPARATOR.join("\n".join(lines) for lines in sections)
