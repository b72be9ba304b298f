"""Runtime of the monotrail bootstrap: the command line (``--shim`` included), the locked-package
finder, ``site`` minus site-packages, and running the target in ``__main__``.

Imported by ``_monotrail_bootstrap.py`` from its own directory rather than kept in that script:
a script is compiled on every start (about 1 ms for this much code on 3.12) while a module's
bytecode is cached. Stdlib only, Python 3.8+. It imports little: what a particular target or
API needs (``runpy``, ``importlib.metadata``, ``pathlib``) is imported where it is used, and
``-X importtime`` of a run shows only ``os`` and ``site`` (as plain python), ``_json`` and this
module.
"""

import os
import site
import sys
# The objects importlib.machinery re-exports, taken from the frozen modules the interpreter
# already runs on: `import importlib` would add the package (and `warnings`, 3.12+) to every
# start, and plain python imports neither.
from _frozen_importlib import BuiltinImporter
from _frozen_importlib_external import (MAGIC_NUMBER, PathFinder, SourceFileLoader,
                                        SourcelessFileLoader)

_BANNER_HINT = 'Type "help", "copyright", "credits" or "license" for more information.'
_OWN_FILE = os.path.normcase(os.path.abspath(__file__))


def _normalize(name):
    """PEP 503 normalization (``re.sub(r"[-_.]+", "-", name).lower()`` without importing re)."""
    return "-".join(filter(None, name.lower().replace("_", "-").replace(".", "-").split("-")))


class _JSONContext:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # 'NaN', 'Infinity', '-Infinity' are what float() accepts too


def _load_manifest(path):
    """Parse the manifest with the C scanner directly: ``import json`` pulls in ``re`` and its
    dependencies, about half of a bare interpreter's startup time. Any problem falls back to
    ``json`` for its error message."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    try:
        import _json
        start = len(text) - len(text.lstrip())
        manifest, end = _json.make_scanner(_JSONContext())(text, start)
        if text[end:].strip() or not isinstance(manifest, dict):
            raise ValueError
        return manifest
    except (ImportError, ValueError, StopIteration):
        import json
        return json.loads(text)


class _PkgResourcesLoader:
    """Wraps the loader of ``pkg_resources`` to add the locked distributions to its working set.

    ``pkg_resources`` builds its master working set from ``sys.path`` at import, where the store
    is not. Adding each lib dir afterwards (with the activation callbacks muted, since activating
    a distribution inserts its location into ``sys.path``) makes ``require``,
    ``get_distribution`` and ``iter_entry_points`` see exactly the locked distributions.
    """

    def __init__(self, loader, lib_dirs):
        self._loader = loader
        self._lib_dirs = lib_dirs

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # pkg_resources picks a resource provider by the type of its own __loader__.
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        working_set = module.working_set
        callbacks, working_set.callbacks = working_set.callbacks, []
        try:
            for lib_dir in self._lib_dirs:
                working_set.add_entry(lib_dir)
        finally:
            working_set.callbacks = callbacks


def _is_namespace(spec):
    return spec.loader is None and spec.submodule_search_locations is not None


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

    def __init__(self, modules, distributions, lib_dirs):
        self._modules = modules
        self._distributions = distributions
        self._lib_dirs = lib_dirs

    def __repr__(self):
        return "<MonotrailFinder: %d modules>" % len(self._modules)

    def find_spec(self, fullname, path=None, target=None):
        dirs = self._modules.get(fullname)
        if dirs is None or path is not None:
            return None
        on_sys_path = PathFinder.find_spec(fullname, None, target)
        if on_sys_path is not None and not _is_namespace(on_sys_path):
            return on_sys_path
        spec = PathFinder.find_spec(fullname, dirs, target)
        if spec is None:
            return on_sys_path
        if _is_namespace(spec):
            if on_sys_path is not None:
                spec = PathFinder.find_spec(fullname, list(sys.path) + list(dirs), target)
            self._keep_namespace_portions(spec.submodule_search_locations, dirs)
        elif fullname == "pkg_resources":
            spec.loader = _PkgResourcesLoader(spec.loader, self._lib_dirs)
        return spec

    @staticmethod
    def _keep_namespace_portions(namespace_path, dirs):
        """A top-level ``_NamespacePath`` recomputes itself from ``sys.path`` whenever
        ``sys.path`` changes (all of 3.8-3.13), which would drop the store portions as soon as a
        ``sys.path`` entry holds a portion too; search the store dirs after ``sys.path``."""
        if not hasattr(namespace_path, "_path_finder"):
            return

        def find_portions(name, parent_path):
            return PathFinder._get_spec(name, list(parent_path) + dirs)

        namespace_path._path_finder = find_portions

    def find_distributions(self, context=None):
        """The locked distributions, for ``importlib.metadata`` (entry points, versions, files).

        A caller that passes an explicit ``path`` asks about those directories only; the stdlib
        ``PathFinder`` answers that.
        """
        if context is not None and "path" in vars(context):
            return iter(())
        name = getattr(context, "name", None)
        if name is None:
            paths = list(self._distributions.values())
        else:
            path = self._distributions.get(_normalize(name))
            paths = [path] if path else []
        if not paths:
            return iter(())
        import pathlib
        from importlib.metadata import PathDistribution
        return iter([PathDistribution(pathlib.Path(path)) for path in paths])

    def iter_modules(self, prefix=""):
        """What ``pkgutil.iter_modules()`` lists for meta path finders: ``(name, ispkg)``."""
        for name in sorted(self._modules):
            ispkg = any(os.path.isdir(os.path.join(d, name)) for d in self._modules[name])
            yield prefix + name, ispkg


# Interpreter options that consume the next argument (or the rest of their cluster: ``-Wignore``).
_OPTIONS_WITH_VALUE = "WX"
# Options that end option parsing; what follows is the target and its arguments.
_TARGET_OPTIONS = "cm"
# Options whose whole job is printing something: the real interpreter handles them directly.
_INFO_OPTIONS = frozenset(["-h", "-?", "-V", "--help", "--version", "--help-env",
                           "--help-xoptions", "--help-all"])


def split_python_argv(argv):
    """Split a full python command line (without the executable) into ``(flags, target)``.

    ``flags`` are the interpreter options, one option per item and each value as its own item
    (``-uB`` -> ``['-u', '-B']``, ``-Wignore`` -> ``['-W', 'ignore']``), so they can be passed on
    unchanged. ``target`` is what the bootstrap accepts as a target: ``['-c', CODE, *args]``,
    ``['-m', MODULE, *args]``, ``[SCRIPT, *args]``, ``['-', *args]`` or ``[]``.

    This mirrors CPython's own getopt (Python/getopt.c): short options cluster, an option that
    takes a value takes the rest of its cluster or the next argument, ``-c``/``-m`` end option
    parsing, ``--`` ends it too and ``-`` alone means stdin. Unknown options are kept as flags so
    that the interpreter, once re-executed with them, reports them with its own message.
    """
    flags = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return flags, argv[i + 1:]
        if arg == "-" or not arg.startswith("-"):
            return flags, argv[i:]
        if arg.startswith("--"):
            flags.append(arg)
            # The only long option with a value (3.7+); CPython takes it as the next argument.
            if arg == "--check-hash-based-pycs" and i + 1 < len(argv):
                flags.append(argv[i + 1])
                i += 1
            i += 1
            continue
        j = 1
        while j < len(arg):
            option = arg[j]
            if option in _TARGET_OPTIONS or option in _OPTIONS_WITH_VALUE:
                value = arg[j + 1:]
                if not value:
                    i += 1
                    if i >= len(argv):
                        # `python -c` without a value: let the interpreter print its usage error.
                        flags.append("-" + option)
                        return flags, []
                    value = argv[i]
                if option in _TARGET_OPTIONS:
                    return flags, ["-" + option, value] + argv[i + 1:]
                flags += ["-" + option, value]
                break
            flags.append("-" + option)
            j += 1
        i += 1
    return flags, []


def _stdin_wants_repl(target):
    """Whether plain python would start its interactive loop for this target."""
    if target[:1] not in ([], ["-"]):
        return False
    try:
        return os.isatty(0)
    except OSError:
        return False


def _split_shim_argv(bootstrap, manifest, argv):
    """Turn ``--shim`` argv (a full python command line) into a target, re-executing if needed.

    ``sys.executable`` is the real interpreter here: the shim exec'd it directly. Every flag but
    ``-S`` (already in effect, and added to children's command lines by
    ``subprocess._args_from_interpreter_flags`` because ``sys.flags.no_site`` is set) changes how
    the interpreter itself starts, so it needs a fresh interpreter. ``-x`` would make that
    interpreter skip the entry script's first line instead of the user's, hence the comment there.
    """
    flags, target = split_python_argv(argv)
    flags = [flag for flag in flags if flag != "-S"]
    if any(flag in _INFO_OPTIONS for flag in flags):
        os.execv(sys.executable, [sys.executable] + argv)
    # A bare `python` on a terminal is the REPL; the REPL after a script needs `-i` (CPython only
    # enters it after running the "script", which here is this bootstrap).
    if _stdin_wants_repl(target) and "-i" not in flags:
        flags.append("-i")
    if flags:
        os.execv(sys.executable,
                 [sys.executable, "-S"] + flags + [bootstrap, manifest] + target)
    return target


def _prepend_bin_to_path(bin_dir):
    path = os.environ.get("PATH")
    entries = (path if path is not None else os.defpath).split(os.pathsep)
    if entries[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir] + entries)


def _process_pth_files(pth):
    """``.pth`` files in the order ``site.addsitedir`` would read one site-packages: by name.

    ``site.addpackage`` itself does the work, so each Python version keeps its own rules
    (3.13 skips hidden files and decodes utf-8-sig before the locale encoding). The lib dir is
    the "sitedir" for relative path lines but, unlike ``addsitedir``, is not put on sys.path.
    """
    for lib_dir, name in sorted(pth, key=lambda entry: (entry[1], entry[0])):
        if not name.startswith("."):
            site.addpackage(lib_dir, name, None)


def _setup_site(manifest):
    """What ``site.main()`` does in a venv without system site-packages, same order."""
    site.removeduppaths()
    for path in manifest.get("paths", ()):
        if path not in sys.path:
            sys.path.append(path)
    finder = MonotrailFinder(manifest.get("modules", {}), manifest.get("distributions", {}),
                             manifest.get("lib_dirs", []))
    sys.meta_path.insert(sys.meta_path.index(PathFinder) if PathFinder in sys.meta_path else len(sys.meta_path), finder)
    # After the finder: setuptools' distutils-precedence.pth imports _distutils_hack from the store.
    _process_pth_files(manifest.get("pth", ()))
    site.ENABLE_USER_SITE = False
    site.setquit()
    site.setcopyright()
    site.sethelper()
    if not sys.flags.isolated:
        site.enablerlcompleter()
    site.execsitecustomize()


def _parse_target(argv):
    """``(kind, value, sys.argv)`` for the target forms of the bootstrap command line."""
    if not argv or argv[0] == "-":
        return "stdin", None, argv or [""]
    head = argv[0]
    if head in ("-c", "-m"):
        if len(argv) < 2:
            sys.exit("monotrail bootstrap: %s needs an argument" % head)
        return head, argv[1], [head] + argv[2:]
    if head == "--entry-point":
        if len(argv) < 3 or ":" not in argv[1]:
            sys.exit("monotrail bootstrap: usage: --entry-point MODULE:ATTR ARGV0 [ARGS]")
        return "entry-point", argv[1], argv[2:]
    return "script", head, list(argv)


def _main_importer(path):
    """CPython runs a directory or zip file with ``__main__.py`` when a ``sys.path_hooks`` entry
    accepts the script path (``pymain_get_importer``)."""
    for hook in sys.path_hooks:
        try:
            return hook(path)
        except ImportError:
            continue
    return None


def _path0(kind, value, argv, importer):
    """``sys.path[0]`` as CPython computes it (``_PyPathConfig_ComputeSysPath0``), or None under
    ``-P`` (3.11+) / ``-I``. A directory or zip to run is inserted even under those, made
    absolute like ``__file__`` of a script."""
    if importer is not None:
        return _script_file_name(value)
    if getattr(sys.flags, "safe_path", sys.flags.isolated):
        return None
    if kind == "script":
        return os.path.dirname(os.path.realpath(value))
    if kind == "-m":
        return os.getcwd()
    if kind == "entry-point":
        # A venv's console script is a file in bin/, so bin/ is its sys.path[0].
        return os.path.dirname(os.path.realpath(argv[0])) if os.sep in argv[0] else None
    return ""


def _reset_main(**attributes):
    """Turn the real ``__main__`` (this bootstrap's script module) into what CPython gives a
    program: the same module object, so ``sys.modules['__main__']`` stays the one and only."""
    namespace = sys.modules["__main__"].__dict__
    namespace.clear()
    namespace.update(__name__="__main__", __doc__=None, __package__=None,
                     __loader__=BuiltinImporter, __spec__=None, __annotations__={},
                     __builtins__=sys.modules["builtins"])
    namespace.update(attributes)
    return namespace


def _run_code(code, filename, **attributes):
    namespace = _reset_main(**attributes)
    exec(compile(code, filename, "exec", dont_inherit=True), namespace)


def _script_file_name(path):
    """``__file__`` of a script: as given on 3.8, made absolute without normalizing on 3.9+."""
    if sys.version_info < (3, 9) or os.path.isabs(path):
        return path
    return os.path.join(os.getcwd(), path)


def _run_script(path, importer):
    if importer is not None:
        import runpy
        _reset_main()
        runpy._run_module_as_main("__main__", False)
        return
    filename = _script_file_name(path)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        sys.stderr.write("%s: can't open file '%s': [Errno %d] %s\n"
                         % (sys.executable, filename, exc.errno, exc.strerror))
        sys.exit(2)
    # CPython also runs compiled files given as scripts (maybe_pyc_file).
    if source[:4] == MAGIC_NUMBER:
        import marshal
        namespace = _reset_main(__file__=filename, __cached__=None,
                                __loader__=SourcelessFileLoader("__main__", filename))
        exec(marshal.loads(source[16:]), namespace)
        return
    _run_code(source, filename, __file__=filename, __cached__=None,
              __loader__=SourceFileLoader("__main__", filename))


def _run_entry_point(value):
    _reset_main()
    module_name, _, attribute = value.partition(":")
    module_name = module_name.strip()
    __import__(module_name)
    obj = sys.modules[module_name]
    for part in attribute.strip().split("."):
        obj = getattr(obj, part)
    sys.exit(obj())


def _run_startup_file(namespace):
    """PYTHONSTARTUP, which CPython runs only for the REPL it enters without a script."""
    path = None if sys.flags.ignore_environment else os.environ.get("PYTHONSTARTUP")
    if not path:
        return
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        sys.stderr.write("Could not open PYTHONSTARTUP\n%s: %s\n" % (type(exc).__name__, exc))
        return
    namespace.update(__file__=path, __cached__=None)
    try:
        exec(compile(source, path, "exec", dont_inherit=True), namespace)
    except SystemExit:
        raise
    except BaseException as exc:
        _strip_own_frames(exc)
        sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        namespace.pop("__file__", None)
        namespace.pop("__cached__", None)


def _reexec_interactive(real_python, bootstrap, manifest_path, argv):
    """A terminal without ``-i``: the launcher normally adds it; without it CPython would not
    enter its REPL after this "script", so start again with it."""
    import subprocess
    flags = subprocess._args_from_interpreter_flags()
    os.execv(real_python, [real_python] + flags + ["-i", bootstrap, manifest_path] + argv)


def _enter_repl_or_run_stdin(real_python, bootstrap, manifest_path, argv):
    try:
        terminal = os.isatty(0)
    except OSError:
        terminal = False
    if not (terminal or sys.flags.interactive):
        source = sys.stdin.buffer.read() if sys.stdin is not None else b""
        _run_code(source, "<stdin>", __file__="<stdin>", __cached__=None)
        return
    if not sys.flags.inspect:
        _reexec_interactive(real_python, bootstrap, manifest_path, argv)
    namespace = _reset_main()
    # Under -S CPython prints neither line itself (pymain_header: the hint needs site_import)
    # and here it sees a script anyway; returning lets `-i` start the REPL on this __main__.
    if not sys.flags.quiet:
        sys.stderr.write("Python %s on %s\n%s\n" % (sys.version, sys.platform, _BANNER_HINT))
    _run_startup_file(namespace)


def _strip_own_frames(exc):
    """Drop this module's frames from a traceback so the user sees only their own."""
    kept = []
    tb = exc.__traceback__
    while tb is not None:
        if os.path.normcase(tb.tb_frame.f_code.co_filename) != _OWN_FILE:
            kept.append(tb)
        tb = tb.tb_next
    for tb, tb_next in zip(kept, kept[1:] + [None]):
        tb.tb_next = tb_next
    exc.__traceback__ = kept[0] if kept else None


def _reraise_reported(exc):
    """Report ``exc`` through ``sys.excepthook`` without our frames, then re-raise it so that
    CPython still handles the exit: code 1, `-i` entering the REPL, and for KeyboardInterrupt
    the SIGINT death (3.8+) that shells expect. The re-raise adds our frames back, so the hook
    CPython calls next skips that one exception."""
    _strip_own_frames(exc)
    hook = sys.excepthook
    hook(type(exc), exc, exc.__traceback__)

    def already_reported(exc_type, value, tb):
        sys.excepthook = hook
        if value is not exc:
            hook(exc_type, value, tb)

    sys.excepthook = already_reported
    raise exc


def _rewrite_orig_argv(flags_end, target_argv):
    """``sys.orig_argv`` (3.10+) as if the program had been started through the env's python."""
    orig_argv = getattr(sys, "orig_argv", None)
    if not orig_argv:
        return
    flags = [arg for arg in orig_argv[1:flags_end] if arg != "-S"]
    sys.orig_argv = [sys.executable] + flags + target_argv


def _claim(env):
    """``ENV/pids/PID`` while this process runs: ``monotrail store gc`` keeps an environment that
    a live process claims (it checks liveness, so a killed process's claim expires). Removed at
    exit; an ``os.exec*`` keeps the pid, and with it the claim, alive. About 20 us."""
    path = os.path.join(env, "pids", str(os.getpid()))
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
    except OSError:
        return  # an environment from before pids/ existed, or a read-only store: no claim
    import atexit
    atexit.register(_release, path, os.getpid(), os.getpid, os.unlink)


def _release(path, pid, getpid, unlink):
    if getpid() != pid:
        return  # a forked child exiting normally: the claim is its parent's
    try:
        unlink(path)
    except OSError:
        pass


def main(bootstrap):
    """Parse ``MANIFEST [--shim] ARGV...`` (after the bootstrap in sys.argv) and run it."""
    if len(sys.argv) < 2:
        sys.exit("usage: python -S %s MANIFEST [--shim] ARGV..." % sys.argv[0])
    manifest = sys.argv[1]
    target = sys.argv[2:]
    if target[:1] == ["--shim"]:
        target = _split_shim_argv(bootstrap, manifest, target[1:])
    run(manifest, target, bootstrap)


def run(manifest_path, target, bootstrap):
    """Set the interpreter up from the manifest and run ``target`` in ``__main__``."""
    kind, value, argv = _parse_target(target)
    try:
        manifest = _load_manifest(manifest_path)
    except (OSError, ValueError) as exc:
        sys.exit("monotrail bootstrap: cannot read manifest %s: %s" % (manifest_path, exc))
    if manifest.get("version") != 1:
        sys.exit("monotrail bootstrap: unsupported manifest version %r in %s"
                 % (manifest.get("version"), manifest_path))

    real_python = sys.executable
    flags_end = len(getattr(sys, "orig_argv", ())) - len(sys.argv)
    _claim(manifest["env"])
    bin_dir = os.path.join(manifest["env"], "bin")
    sys.executable = os.path.join(bin_dir, "python")
    _prepend_bin_to_path(bin_dir)
    _rewrite_orig_argv(flags_end, argv if kind == "entry-point" else target)
    # CPython sets sys.argv and an empty __main__ before site runs, so .pth lines and
    # sitecustomize see those rather than the bootstrap's.
    sys.argv = argv
    _reset_main()
    _setup_site(manifest)

    importer = _main_importer(value) if kind == "script" else None
    path0 = _path0(kind, value, argv, importer)
    if path0 is not None:
        sys.path.insert(0, path0)
    try:
        if kind == "-c":
            if sys.version_info >= (3, 13):
                # 3.13 shows -c source lines in tracebacks by registering them in linecache.
                import linecache
                linecache.cache["<string>"] = (
                    len(value), None, [line + "\n" for line in value.splitlines()], "<string>")
            _run_code(value, "<string>")
        elif kind == "-m":
            import runpy
            _reset_main()
            runpy._run_module_as_main(value, True)
        elif kind == "script":
            _run_script(value, importer)
        elif kind == "entry-point":
            _run_entry_point(value)
        else:
            _enter_repl_or_run_stdin(real_python, bootstrap, manifest_path, target)
    except SystemExit:
        raise
    except BaseException as exc:
        _reraise_reported(exc)
