"""The store's lib dirs at the end of `sys.path`, on every CPython: for tools that read it (issue 15).

Type checkers and language servers search `sys.path` themselves; the finder still decides every
import. These check what they see, and that the block of lib dirs changes no import: not after
the import caches are invalidated or cleared, not for `pkgutil` listings of one directory, not
for `importlib.metadata` (each distribution once).
"""

from __future__ import annotations

import json
import pytest

from bootstrap_fixtures import SUPPORTED_MINORS, build_store, find_python, make_env


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("monotrail"))


@pytest.fixture(scope="module", params=SUPPORTED_MINORS, ids=lambda minor: "py3.%d" % minor)
def env(request, store):
    found = find_python(request.param)
    if found is None:
        pytest.skip("!!! CPython 3.%d NOT FOUND by monotrail's discovery (pyenv, uv, system): the "
                    "bootstrap is untested on it" % request.param)
    return make_env(store, found, found.parent.parent.name + "-search-path")


PROBE = """
import importlib, importlib.metadata, json, os, pkgutil, sys
lib_dirs = json.loads(sys.argv[1])
out = {"tail": sys.path[-len(lib_dirs):] == lib_dirs,
       "before": [p for p in sys.path[:-len(lib_dirs)] if p in lib_dirs]}
# what a type checker does with them: look for files, import nothing
out["found"] = sorted(os.path.relpath(os.path.join(d, n), d) for d in sys.path if os.path.isdir(d)
                      for n in os.listdir(d) if n in ("alpha", "beta.py", "nsp"))
out["listed"] = sorted(m.name for m in pkgutil.iter_modules([lib_dirs[0]]))
out["distributions"] = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
importlib.invalidate_caches()
import alpha, nsp.one
sys.path_importer_cache.clear()
import beta, nsp.two, colorsys
out["imports"] = [alpha.VALUE, beta.VALUE, nsp.one.VALUE, nsp.two.VALUE, hasattr(colorsys, "SHADOW"),
                  len(list(nsp.__path__))]
print(json.dumps(out))
"""


def test_tools_find_the_lib_dirs_at_the_end_of_sys_path_and_imports_do_not_change(env, store, tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    result = env.run(str(script), json.dumps(store.lib_dirs()), flags=("-I",))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["tail"] is True and out["before"] == []
    assert out["found"] == ["alpha", "beta.py", "nsp", "nsp"]
    assert out["listed"] == ["alpha"]  # as for any directory (pth_extra has no __init__.py)
    assert out["distributions"] == ["alpha", "beta", "nsp.one", "nsp.two"]
    assert out["imports"] == ["alpha", "store", "one", "two", False, 2]


def test_the_lib_dirs_are_not_searched_for_names_they_do_not_hold(env, store, tmp_path):
    """A name imported from nowhere does not make a FileFinder (a stat, a listdir) per lib dir."""
    code = ("import sys, json\ntry:\n    import not_anywhere\nexcept ImportError:\n    pass\n"
            "print(json.dumps([type(sys.path_importer_cache[d]).__name__ for d in json.loads(sys.argv[1])]))")
    result = env.run("-c", code, json.dumps(store.lib_dirs()))
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"_StoreDirFinder"}

