"""monotrail's hook in an environment: the locked-package finder, installed from a ``.pth`` file.

An environment (``<root>/envs/<key>/``) is shaped like a venv: ``pyvenv.cfg``, ``bin/python``
linking the real interpreter, console scripts as Python files, and a site-packages that holds
only ``_monotrail.pth`` and a link to this file. The interpreter starts as it starts in any venv
(``site`` finds ``pyvenv.cfg``, sets ``sys.prefix``, reads the site-packages); the ``.pth`` line
imports this module and calls :func:`activate` with the environment's manifest, which adds what
a site-packages full of packages would have added: the finder for the locked packages (they stay
in the store, one copy for every environment), their own ``.pth`` files and the extra
``sys.path`` entries. Every process started through ``sys.executable`` goes the same way, and
``sys.argv``, ``__main__``, the REPL and exit codes are the interpreter's own
(docs/architecture.md, "The environment").

Stdlib only, Python 3.8+. It imports little and holds little, for every start pays for it (its
bytecode unmarshalled, each function and class made): what few programs reach, and those
only where they pay far more anyway (``pkg_resources``, ``pkgutil`` listings of every module, a
JSON manifest, the reinstall of a deleted store entry), is in ``_monotrail_finder_extras.py``
beside it, loaded when first needed (:func:`_extras`); ``importlib.metadata`` and namespace
packages, which many programs use, stay here. The manifest is read with ``str.split``.
"""

import os
import site
import sys
# What importlib.machinery re-exports, taken from the frozen module the interpreter already
# runs on: `import importlib` would add the package (and `warnings`, 3.12+) to every start.
from _frozen_importlib_external import PathFinder


def _normalize(name):
    """PEP 503 normalization (``re.sub(r"[-_.]+", "-", name).lower()`` without importing re)."""
    return "-".join(filter(None, name.lower().replace("_", "-").replace(".", "-").split("-")))


def _load_compact(text):
    """The manifest from its compact form (``manifest.txt``, written by the launcher's
    ``monotrail.environment.manifest.compact``): six sections of one value a line, cut by
    ``str.split`` and rebuilt by slices and ``dict(zip(...))`` at C speed, where even ``_json``'s
    C scanner is a shared library to load on every start. Each lib dir is written once, as the
    part between a common prefix and suffix; a module names its lib dirs by index and a
    distribution its dist-info by name, both resolved by the finder when first asked
    (``MonotrailFinder._dirs_of``, ``_dists``): every byte read and every object made is paid at
    every start (a page of memory touched costs ~3 µs on the machine measured)."""
    sections = text.split("\x1e")
    if len(sections) != 6:
        raise ValueError("not a compact manifest: %d sections" % len(sections))
    dists = sections.pop()  # split when first asked (MonotrailFinder._dists)
    header, paths, pth, modules, middles = [section.split("\n") if section else [] for section in sections]
    if len(header) != 4 or header[0] != "monotrail-manifest 3" or len(pth) % 2 or len(modules) % 2:
        raise ValueError("not a compact manifest of format 3")
    prefix, suffix = header[2], header[3]
    lib_dirs = [prefix + middle + suffix for middle in middles]
    try:
        pth = [[lib_dirs[int(index)], name] for index, name in zip(pth[0::2], pth[1::2])]
    except IndexError:
        raise ValueError("not a compact manifest of format 3: a .pth file of no lib dir") from None
    return {
        "version": 1,
        "env": header[1],
        "paths": paths,
        "pth": pth,
        "modules": dict(zip(modules[0::2], modules[1::2])),  # NAME: "I<TAB>J", indices into lib_dirs
        "lib_dirs": lib_dirs,
        "dists": dists,  # NAME<TAB>DIST-INFO a line, one per lib dir in its order
    }


def _load_manifest(path):
    """Parse the manifest: the compact form (``manifest.txt``) with ``str.split``; JSON
    (``manifest.json``, which the launcher writes alone when a path holds a tab or newline) with
    ``_monotrail_finder_extras.load_json``.

    The file stays open for the life of the process: that open file is the process's claim on the
    environment (:func:`_claim`)."""
    fd = os.open(path, os.O_RDONLY)
    _claim(fd)
    with open(fd, "rb", closefd=False) as f:
        text = f.read().decode("utf-8", "surrogateescape")
    if not path.endswith(".json"):
        return _load_compact(text)
    return _extras().load_json(text)


def _extras():
    """``_monotrail_finder_extras``, the hook's code for paths a start does not take, loaded from
    beside this file when first needed (not through ``sys.path``, which the program may have
    changed, and which could hold another environment's copy)."""
    extras = sys.modules.get("_monotrail_finder_extras")
    if extras is None:
        from _frozen_importlib import module_from_spec
        from _frozen_importlib_external import spec_from_file_location

        location = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_monotrail_finder_extras.py")
        spec = spec_from_file_location("_monotrail_finder_extras", location)
        extras = module_from_spec(spec)  # type: ignore[arg-type]  # a .py path always has a spec
        sys.modules["_monotrail_finder_extras"] = extras
        # Its bytecode is cached whatever -B / PYTHONDONTWRITEBYTECODE say, as the .pth line has it
        # for this module: they are about the user's files, and a program using importlib.metadata
        # would otherwise compile it at every start.
        dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, False
        try:
            spec.loader.exec_module(extras)  # type: ignore[union-attr]
        except BaseException:
            del sys.modules["_monotrail_finder_extras"]
            raise
        finally:
            sys.dont_write_bytecode = dont_write_bytecode
    return extras


def _is_namespace(spec):
    return spec.loader is None and spec.submodule_search_locations is not None


def _outside_store(path, lib_dirs):
    """``path`` (``sys.path``) without the store's lib dirs that :func:`activate` appended as one
    block: what the finder treats as shadowing the store. C-speed slicing, no Python loop."""
    if lib_dirs:
        try:
            start = path.index(lib_dirs[0])
        except ValueError:
            return list(path)
        if path[start:start + len(lib_dirs)] == lib_dirs:
            return path[:start] + path[start + len(lib_dirs):]
    return list(path)


class _StoreDirFinder:
    """The path entry finder of a store lib dir on ``sys.path`` (in ``sys.path_importer_cache``).

    The lib dirs are on ``sys.path`` for the tools that read it rather than import through it
    (mypy, pyright, jedi, pylint ask the interpreter for its search path). Imports still go
    through :class:`MonotrailFinder`, so this finder answers only for the names the manifest
    puts in its directory, and a name imported from nowhere costs a dict miss per lib dir instead
    of the ``stat`` (and first ``listdir``) a ``FileFinder`` would pay, on every start for
    ``sitecustomize``. ``sys.path_importer_cache.clear()`` brings back plain ``FileFinder``
    objects: same answers, slower misses.
    """

    __slots__ = ("path", "_modules", "_owner", "_finder")  # one per lib dir, made at every start

    def __init__(self, path, owner, finder=None):
        self.path = path
        self._modules = owner._modules
        self._owner = owner
        self._finder = finder

    def __repr__(self):
        return "<monotrail store dir %r>" % self.path

    def _file_finder(self):
        """What PathFinder would cache for the directory; None while it is not one (a store entry
        deleted by hand: no FileFinder is made for a missing directory), asked again next time."""
        if self._finder is None:
            self._finder = PathFinder._path_hooks(self.path)  # type: ignore[attr-defined]
        return self._finder

    def find_spec(self, fullname, target=None):
        name = fullname.rpartition(".")[2]
        if name not in self._modules or self.path not in self._owner._dirs_of(name):
            return None
        finder = self._file_finder()
        return None if finder is None else finder.find_spec(fullname, target)

    def invalidate_caches(self):
        if self._finder is not None:
            self._finder.invalidate_caches()

    def iter_modules(self, prefix=""):
        """For ``pkgutil.iter_modules([lib_dir])``, as for any directory."""
        import pkgutil
        finder = self._file_finder()
        if finder is None:
            return iter(())
        return pkgutil.iter_importer_modules(finder, prefix)  # type: ignore[attr-defined]  # undocumented, as pkgutil itself calls it


class MonotrailFinder:
    """Meta path finder for the locked packages, placed just before ``PathFinder``.

    It answers exactly as ``PathFinder`` would if the store's lib dirs were one site-packages at
    the end of ``sys.path``: a module or regular package on ``sys.path`` (the script's directory,
    the stdlib, the project) shadows the store, as the stdlib shadows site-packages in a venv; but
    a bare directory on ``sys.path`` is only a namespace portion, and a regular package in the
    store wins over it, merging with it when the store's copy is a namespace portion too. Being
    last instead would let a data directory beside a script hide an installed package.

    Names that are not locked cost one dict miss. The search is ``PathFinder.find_spec``
    restricted to that name's lib dirs, so packages, modules, extension modules and namespace
    packages split over several lib dirs all work as usual. Submodules are found by the normal
    machinery through their parent's ``__path__``.
    """

    def __init__(self, modules, distributions, lib_dirs, env_dir=None, dists=""):
        self._modules = modules  # NAME: [LIB, ...], or "I<TAB>J" (indices into lib_dirs) until first asked
        self._distributions = distributions  # NAME: LIB/DIST-INFO, or None until first asked
        self._dists_text = dists  # what _distributions is made of, from manifest.txt
        self._lib_dirs = lib_dirs
        self._env_dir = env_dir
        self._checked = set()  # the lib dirs whose store entry was found whole (or repaired) in this process
        self._by_lib = None  # LIB: LIB/DIST-INFO, made at the first entry check (_dist_info_of)

    def __repr__(self):
        return "<MonotrailFinder: %d modules>" % len(self._modules)

    def find_spec(self, fullname, path=None, target=None):
        dirs = self._modules.get(fullname)
        if dirs is None or path is not None:
            return None
        if dirs.__class__ is str:
            dirs = self._dirs_of(fullname)
        if not self._checked.issuperset(dirs):
            self._check_entries(dirs)
        outside = _outside_store(sys.path, self._lib_dirs)
        on_sys_path = PathFinder.find_spec(fullname, outside, target)
        if on_sys_path is not None and not _is_namespace(on_sys_path):
            return on_sys_path
        spec = PathFinder.find_spec(fullname, dirs, target)
        if spec is None:
            return on_sys_path
        if _is_namespace(spec):
            if on_sys_path is not None:
                spec = PathFinder.find_spec(fullname, outside + list(dirs), target)
            self._keep_namespace_portions(spec.submodule_search_locations, dirs, self._lib_dirs)  # type: ignore[union-attr]  # found in dirs above
        elif fullname == "pkg_resources":
            spec.loader = _extras().PkgResourcesLoader(spec.loader, self._lib_dirs, _StoreDirFinder)
        return spec

    def _check_entries(self, lib_dirs):
        """That each store entry of ``lib_dirs`` still has its ``RECORD`` (one ``stat`` per entry,
        once per process, when one of its names is first imported): an entry deleted or damaged
        by hand is reinstalled by the launcher before the import goes on
        (``_monotrail_finder_extras.repair``).
        Checked here rather than for every entry at every start: a ``stat`` costs 3-7 µs on the
        machines measured (docs/benchmarks.md), a check of every entry up front as much per
        package as the front door's ``[ -f ]`` did."""
        missing = []
        for lib_dir in lib_dirs:
            if lib_dir in self._checked:
                continue
            dist_info = self._dist_info_of(lib_dir)
            if dist_info is not None and not os.path.isfile(dist_info + "/RECORD"):
                missing.append(lib_dir)
            else:
                self._checked.add(lib_dir)
        if missing:
            _extras().repair(self._env_dir, missing)
            self._checked.update(missing)  # repaired, or said why not: once per process
            cache = sys.path_importer_cache
            for lib_dir in missing:
                finder = cache.get(lib_dir)
                if finder is not None and hasattr(finder, "invalidate_caches"):
                    finder.invalidate_caches()

    def _dirs_of(self, name):
        """The lib dirs holding the top-level ``name``, or None."""
        dirs = self._modules.get(name)
        if dirs.__class__ is str:
            lib_dirs = self._lib_dirs
            dirs = self._modules[name] = [lib_dirs[int(index)] for index in dirs.split("\t")]
        return dirs

    def _dists(self):
        """The locked distributions, ``{normalized name: LIB/DIST-INFO}``."""
        if self._distributions is None:
            parts = self._dists_text.replace("\n", "\t").split("\t") if self._dists_text else []
            infos = ["%s/%s" % pair for pair in zip(self._lib_dirs, parts[1::2])]
            self._distributions = dict(zip(parts[0::2], infos))
        return self._distributions

    def _dist_info_of(self, lib_dir):
        """The dist-info directory of the store entry whose site-packages is ``lib_dir``. Asked at
        the first import from each entry (:meth:`_check_entries`): made from manifest.txt's
        ``NAME<TAB>DIST-INFO`` lines, one per lib dir in order, without the whole name mapping."""
        if self._by_lib is None:
            if self._distributions is None:
                lines = self._dists_text.split("\n") if self._dists_text else []
                self._by_lib = {lib: lib + "/" + line.partition("\t")[2] for lib, line in zip(self._lib_dirs, lines)}
            else:
                self._by_lib = {path.rpartition("/")[0]: path for path in self._distributions.values()}
        return self._by_lib.get(lib_dir)

    @staticmethod
    def _keep_namespace_portions(namespace_path, dirs, lib_dirs):
        """A top-level ``_NamespacePath`` recomputes itself from ``sys.path`` whenever
        ``sys.path`` changes (all of 3.8-3.13), which would drop the store portions as soon as a
        ``sys.path`` entry holds a portion too; search the store dirs after the rest of
        ``sys.path``."""
        if not hasattr(namespace_path, "_path_finder"):
            return

        def find_portions(name, parent_path):
            return PathFinder._get_spec(name, _outside_store(list(parent_path), lib_dirs) + dirs)  # type: ignore[attr-defined]

        namespace_path._path_finder = find_portions

    def find_distributions(self, context=None):
        """The locked distributions, for ``importlib.metadata`` (entry points, versions, files).

        A caller that passes an explicit ``path`` asks about those directories only; the stdlib
        ``PathFinder`` answers that. A listing of every distribution leaves out the lib dirs on
        ``sys.path``, which ``PathFinder`` lists in ``sys.path`` order; by name the answer here
        comes first, and costs a dict lookup instead of a scan of every lib dir.
        """
        if context is not None and "path" in vars(context):
            return iter(())
        name = getattr(context, "name", None)
        if name is None:
            on_sys_path = set(sys.path)
            paths = [path for path in self._dists().values() if os.path.dirname(path) not in on_sys_path]
        else:
            path = self._dists().get(_normalize(name))
            paths = [path] if path else []
        if not paths:
            return iter(())
        self._check_entries([path.rpartition("/")[0] for path in paths])
        import pathlib
        from importlib.metadata import PathDistribution
        return iter([PathDistribution(pathlib.Path(path)) for path in paths])

    def iter_modules(self, prefix=""):
        """What ``pkgutil.iter_modules()`` lists for meta path finders: ``(name, ispkg)``."""
        return _extras().iter_modules(self, prefix)


def _process_pth_files(pth):
    """``.pth`` files in the order ``site.addsitedir`` would read one site-packages: by name.

    ``site.addpackage`` itself does the work, so each Python version keeps its own rules
    (3.13 skips hidden files and decodes utf-8-sig before the locale encoding). The store's
    site-packages dir is the "sitedir" for relative path lines but, unlike ``addsitedir``, is
    not put on sys.path: the finder answers for its modules.
    """
    for lib_dir, name in sorted(pth, key=lambda entry: (entry[1], entry[0])):
        if not name.startswith("."):
            site.addpackage(lib_dir, name, None)




def _claim(fd):
    """Keep the manifest open, inheritable, for the life of this process: ``monotrail store gc``
    keeps an environment whose files a live process holds open (it reads the processes' open
    files), so this claim creates no file and needs no exit handler, ends with the process however
    it ends, survives an ``os.exec*`` and is shared by the children that inherit it (conservative:
    they keep the environment too). A program that closes every inherited descriptor (a daemon's
    ``os.closerange``) drops it. A raw descriptor, not a file object: nothing to close at exit, no
    ResourceWarning. An earlier hook wrote ``ENV/pids/PID`` instead; gc still reads those."""
    os.set_inheritable(fd, True)


_active = None  # the manifest path once activated: `site.addsitedir` may read the .pth again


def activate(manifest_path):
    """Make the environment's locked packages importable; called by its ``_monotrail.pth``.

    In the order ``site`` would have processed a site-packages holding them: the extra
    ``sys.path`` entries (the project, path sources) as an editable install's ``.pth`` adds them,
    the finder, then the packages' own ``.pth`` files (after the finder: setuptools'
    ``distutils-precedence.pth`` imports ``_distutils_hack`` from the store). Last the store's lib
    dirs go at the end of ``sys.path``, where the tools that read ``sys.path`` instead of importing
    (type checkers, editors: docs/how-to/editors.md) look for site-packages; the finder still
    decides every import, and treats them as shadowed by everything before them. ``sitecustomize``
    runs after this, from ``site``, and may be a locked module. A manifest that cannot be read is
    one line on stderr: the program then runs without the packages, as in a broken venv, and the
    next ``monotrail run`` rebuilds the environment.
    """
    global _active
    if _active is not None:
        return
    try:
        manifest = _load_manifest(manifest_path)
        if manifest.get("version") != 1:
            raise ValueError("unsupported manifest version %r" % (manifest.get("version"),))
    except (OSError, ValueError) as exc:
        sys.stderr.write("monotrail: cannot read the environment's manifest %s: %s "
                         "(`monotrail run` rebuilds it)\n" % (manifest_path, exc))
        return
    _active = manifest_path
    for path in manifest.get("paths", ()):
        if path not in sys.path:
            sys.path.append(path)
    finder = MonotrailFinder(manifest.get("modules", {}), manifest.get("distributions"), manifest.get("lib_dirs", []),
                             manifest.get("env"), manifest.get("dists", ""))
    position = sys.meta_path.index(PathFinder) if PathFinder in sys.meta_path else len(sys.meta_path)
    sys.meta_path.insert(position, finder)
    pth = manifest.get("pth", ())
    if pth:  # what site would run of an entry before any import: its entry checked first
        finder._check_entries(list(dict.fromkeys(lib_dir for lib_dir, _ in pth)))
    _process_pth_files(pth)
    _report_lib_dirs(finder._lib_dirs, finder)


def _report_lib_dirs(lib_dirs, finder):
    cache = sys.path_importer_cache
    for lib_dir in lib_dirs:
        cache[lib_dir] = _StoreDirFinder(lib_dir, finder, cache.get(lib_dir))
    sys.path.extend(lib_dirs)


if __name__ == "__main__":
    # Started as a program: a front door older than this file (it ran the bootstrap of format 1).
    sys.exit("monotrail: %s is the environments' import hook, not a program; the `monotrail` "
             "front door that started it is older than its launcher: reinstall monotrail" % __file__)
