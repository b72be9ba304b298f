# monotrail bootstrap entry script. Keep this line a comment: `python -x` skips it.
"""Entry script of every monotrail run: ``python -S [flags] THIS MANIFEST [--shim] ARGV...``.

The launcher starts the interpreter with ``-S`` so that no site-packages is ever seen; the
runtime in ``_monotrail_finder`` recreates the rest of ``site``, installs a finder for the locked
packages and runs the target (docs/architecture.md, "Bootstrap command line").

CPython compiles a script on every start but caches a module's bytecode, so this file only
imports the runtime from its own directory and hands over. Run as ``__main__``, its globals then
become the user's clean ``__main__`` namespace. Imported instead (by the launcher, by file path or
as ``monotrail.bootstrap._monotrail_bootstrap``), it runs nothing and offers
:func:`split_python_argv`. Stdlib only, Python 3.8+.
"""

import os
import sys

if __name__ == "__main__":
    # CPython put this file's directory at sys.path[0], except under -I (3.8+) or -P (3.11+).
    # It must not stay there, but it is where the runtime is imported from. The runtime's
    # bytecode is cached even under -B / PYTHONDONTWRITEBYTECODE, which are about user files.
    if getattr(sys.flags, "safe_path", sys.flags.isolated):
        sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    _dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, False
    try:
        import _monotrail_finder
    finally:
        del sys.path[0]
        sys.dont_write_bytecode = _dont_write_bytecode
    # The runtime clears this module's globals for the user's program: nothing after this call.
    _monotrail_finder.main(os.path.abspath(__file__))
elif __package__:
    from ._monotrail_finder import split_python_argv
else:
    def _load_runtime():
        """The sibling runtime module, for an import of this file by path."""
        import importlib.util
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_monotrail_finder.py")
        spec = importlib.util.spec_from_file_location("_monotrail_finder", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    split_python_argv = _load_runtime().split_python_argv
