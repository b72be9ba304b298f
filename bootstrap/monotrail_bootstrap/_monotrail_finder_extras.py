"""What the environment's hook does on paths a start does not take: the rest of ``_monotrail_finder``.

``_monotrail_finder`` is imported by every start of every environment, and a start pays for each
function of it (the bytecode unmarshalled, the objects made: bench/bench_warm.py); what few
programs reach, and those only where they pay far more anyway, lives here, loaded from beside it
when first needed (``_monotrail_finder._extras``, ~0.25 ms): ``pkg_resources`` (whose own import
costs ~100 ms), ``pkgutil`` listings of every module, a manifest.json that is not in the compact
form, and the reinstall of a store entry deleted by hand. ``importlib.metadata`` and namespace
packages, which many programs use, stay in ``_monotrail_finder``. Copied into each environment with it; stdlib only,
Python 3.8+.
"""

import os
import sys


class _JSONContext:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # 'NaN', 'Infinity', '-Infinity' are what float() accepts too


def load_json(text):
    """manifest.json, which the launcher writes alone when a path holds a tab or newline, parsed
    with the C scanner directly: ``import json`` pulls in ``re`` and its dependencies. Any JSON
    problem falls back to ``json`` for its error message."""
    try:
        import _json
        start = len(text) - len(text.lstrip())
        manifest, end = _json.make_scanner(_JSONContext())(text, start)  # type: ignore[arg-type]  # duck-typed, as json.scanner's
        if text[end:].strip() or not isinstance(manifest, dict):
            raise ValueError
        return manifest
    except (ImportError, ValueError, StopIteration):
        import json
        return json.loads(text)


class PkgResourcesLoader:
    """Wraps the loader of ``pkg_resources`` to add the locked distributions to its working set.

    ``pkg_resources`` builds its master working set from ``sys.path`` at import, where the store
    is not. Adding each lib dir afterwards (with the activation callbacks muted, since activating
    a distribution inserts its location into ``sys.path``) makes ``require``,
    ``get_distribution`` and ``iter_entry_points`` see exactly the locked distributions.
    ``dir_finder``: the type of the lib dirs' path entry finders (``_StoreDirFinder``).
    """

    def __init__(self, loader, lib_dirs, dir_finder):
        self._loader = loader
        self._lib_dirs = lib_dirs
        self._dir_finder = dir_finder

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # pkg_resources picks a resource provider by the type of its own __loader__.
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        working_set = module.working_set
        # pkg_resources picks a distribution finder by the type of a sys.path entry's importer.
        module.register_finder(self._dir_finder, module.find_on_path)
        callbacks, working_set.callbacks = working_set.callbacks, []
        try:
            for lib_dir in self._lib_dirs:
                if lib_dir in working_set.entries:  # read from sys.path before that registration
                    for dist in module.find_distributions(lib_dir, True):
                        working_set.add(dist, lib_dir, False)
                else:
                    working_set.add_entry(lib_dir)
        finally:
            working_set.callbacks = callbacks


def iter_modules(finder, prefix):
    """What ``pkgutil.iter_modules()`` lists for meta path finders: ``(name, ispkg)``."""
    for name in sorted(finder._modules):
        ispkg = any(os.path.isdir(os.path.join(d, name)) for d in finder._dirs_of(name))
        yield prefix + name, ispkg


def repair(env_dir, lib_dirs):
    """Store entries of this environment are gone or damaged (deleted by hand: the store's
    invariant 4, docs/architecture.md): run the launcher's repair of the environment, which says
    `warning: the store entry ... was deleted; reinstalling it` (or `is damaged`) and reinstalls
    them as the next `monotrail run` would, then let the import go on. The command is the one the
    launcher recorded in ``ENV/repair.json`` when it wrote the environment (``argv``, to which the
    environment's directory is added); its output goes to stderr, the program's stdout stays
    the program's.

    When there is no such command, or it fails (offline and the wheel not kept, the launcher
    moved), the import fails as it would have, and the environment's ``launch`` file is removed:
    an environment without it is unfinished, so the next run, even one the front door would have
    served, goes to the launcher, which rebuilds it (and says what stops it)."""
    import json
    import subprocess

    problem = None
    try:
        with open(os.path.join(env_dir, "repair.json"), encoding="utf-8") as file:
            argv = json.load(file)["argv"]
    except (OSError, TypeError, ValueError, KeyError):
        problem = "the store entry of %s is missing or damaged" % ", ".join(lib_dirs)
    else:
        root = os.path.dirname(os.path.dirname(env_dir))
        environ = dict(os.environ, MONOTRAIL_ROOT=root)
        try:
            done = subprocess.run(list(argv) + [env_dir], stdin=subprocess.DEVNULL, stdout=2, env=environ, check=False)
        except OSError as exc:
            problem = "cannot start the launcher to reinstall %s: %s" % (", ".join(lib_dirs), exc)
        else:
            if done.returncode != 0:
                problem = "could not reinstall %s" % ", ".join(lib_dirs)
    if problem is not None:
        try:
            os.unlink(os.path.join(env_dir, "launch"))
        except OSError:
            pass
        sys.stderr.write("monotrail: %s; the next `monotrail run` rebuilds the environment\n" % problem)
