"""An environment's directory written in-process (`monotrail.environment`, `monotrail.environment.layout`):
what its bin/ may hold, and when its launch file says it is stale."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import REPO


def test_console_scripts_never_replace_the_interpreter_or_leave_bin(tmp_path: Path, py312: Path) -> None:
    """A wheel's console script named `python`, or with a slash in its name, writes nothing: bin/python
    links the real interpreter, and writing through that link would overwrite it."""
    from types import SimpleNamespace

    from monotrail.environment.layout import write_layout

    env = tmp_path / "env"
    env.mkdir()
    interpreter = SimpleNamespace(path=str(py312), version=(3, 12, 0), implementation="cpython", free_threaded=False)
    scripts = {"python": {"entry_point": "evil:main"}, "python3": {"entry_point": "evil:main"},
               "../escape": {"entry_point": "evil:main"}, "tool": {"entry_point": "pkg.cli:main"}}
    before = py312.read_bytes()[:64]
    write_layout(env, str(env), interpreter, str(REPO / "bootstrap" / "monotrail_bootstrap" / "_monotrail_finder.py"), scripts)
    assert sorted(p.name for p in (env / "bin").iterdir()) == ["python", "python3", "python3.12", "tool"]
    assert os.path.realpath(env / "bin" / "python") == os.path.realpath(py312)
    assert py312.read_bytes()[:64] == before and not (tmp_path / "escape").exists()
    assert (env / "bin" / "tool").read_text().startswith(f"#!{env}/bin/python\n")


def test_an_environment_is_rebuilt_when_the_hook_changes(tmp_path: Path, py312: Path) -> None:
    """The hook is copied into each environment; a changed original (an upgrade in place, a
    developer's edit) makes the environment stale instead of leaving the old copy in use."""
    import time
    from types import SimpleNamespace

    from monotrail.environment import read_launch, write_env

    hook = _hook_copy(tmp_path)
    interpreter = SimpleNamespace(path=str(py312), version=(3, 12, 0), implementation="cpython", free_threaded=False)
    for changed in (hook, hook.with_name("_monotrail_finder_extras.py")):  # either of its two files
        env = tmp_path / "envs" / changed.stem
        manifest = json.dumps({"version": 1, "env": str(env), "distributions": {}, "scripts": {}})
        write_env(str(env), manifest, interpreter, str(hook), {}, str(tmp_path / "tmp"))
        assert read_launch(str(env)) is not None
        time.sleep(0.01)
        changed.write_text(changed.read_text() + "\n# changed\n")
        assert read_launch(str(env)) is None


def _hook_copy(directory: Path) -> Path:
    """The hook's two files copied into `directory`: the path of its main file."""
    for name in ("_monotrail_finder.py", "_monotrail_finder_extras.py"):
        (directory / name).write_text((REPO / "bootstrap" / "monotrail_bootstrap" / name).read_text())
    return directory / "_monotrail_finder.py"


def test_a_new_environment_reuses_the_hooks_bytecode_of_another(tmp_path: Path, py312: Path) -> None:
    """The hook's pyc, compiled by the first start of one environment, is copied into the next
    environment of the same Python (its first start then compiles nothing); a changed hook is
    compiled again."""
    import subprocess
    import time
    from types import SimpleNamespace

    from monotrail.environment import write_env

    hook = _hook_copy(tmp_path)
    os.utime(hook, (time.time() - 10, time.time() - 10))
    interpreter = SimpleNamespace(path=str(py312), version=(3, 12, 0), implementation="cpython", free_threaded=False)

    def environment(key: str) -> Path:
        env = tmp_path / "envs" / key
        manifest = json.dumps({"version": 1, "env": str(env), "distributions": {}, "scripts": {}})
        write_env(str(env), manifest, interpreter, str(hook), {}, str(tmp_path / "tmp"))
        return env / "lib" / "python3.12" / "site-packages" / "__pycache__"

    def start(pycache: Path) -> dict[str, bytes]:
        subprocess.run([str(pycache.parents[3] / "bin" / "python"), "-c", "pass"], check=True)
        return {path.name: path.read_bytes() for path in pycache.iterdir()}

    first = environment("a" * 24)
    assert not list(first.iterdir())
    compiled = start(first)  # the hook, and its second file for this JSON manifest
    assert "_monotrail_finder.cpython-312.pyc" in compiled
    assert all(str(first.parent).encode() in data for data in compiled.values())
    second = environment("b" * 24)
    assert {path.name: path.read_bytes() for path in second.iterdir()} == compiled  # copied, not compiled
    assert start(second) == compiled  # valid: the interpreter kept it
    hook.write_text(hook.read_text() + "\n# changed\n")
    third = environment("c" * 24)
    assert "_monotrail_finder.cpython-312.pyc" not in {path.name for path in third.iterdir()}  # the changed file


def test_activation_scripts_are_quoted_as_the_templates_venv_ask_for() -> None:
    """CPython's venv templates changed in gh-124651: old ones quote the placeholders and venv
    inserts values as they are; new ones leave them bare and venv quotes each value for its shell.
    A venv path with a quote in it must not break out of either."""
    from monotrail.environment.layout import _render_activation

    context = {"__VENV_DIR__": "/tmp/it's here", "__VENV_PROMPT__": "(x) "}
    old = 'export VIRTUAL_ENV="__VENV_DIR__"\nPS1="__VENV_PROMPT__${PS1:-}"\n'
    assert _render_activation("activate", old, context) == 'export VIRTUAL_ENV="/tmp/it\'s here"\nPS1="(x) ${PS1:-}"\n'
    new = "export VIRTUAL_ENV=__VENV_DIR__\n"
    assert _render_activation("activate", new, context) == "export VIRTUAL_ENV='/tmp/it'\"'\"'s here'\n"
    assert _render_activation("Activate.ps1", "$d = __VENV_DIR__", context) == "$d = '/tmp/it''s here'"


@pytest.mark.parametrize("python", ["/env/bin/python", "/with space/bin/python", "/long" * 40 + "/bin/python"],
                         ids=["plain", "space", "long"])
@pytest.mark.parametrize("entry_point", ["pkg.cli:main", "pkg:Tool.run", " pkg.cli : main "])
def test_console_scripts_are_the_bytes_installer_writes(python: str, entry_point: str) -> None:
    """The environment writes console scripts itself (importing installer's package costs a new
    environment ~25 ms): byte for byte what `installer.scripts.Script` generates."""
    from installer.scripts import Script

    from monotrail.environment.layout import _console_script

    module, _, attribute = entry_point.partition(":")
    _, expected = Script("tool", module.strip(), attribute.strip(), section="console").generate(python, "posix")
    assert _console_script("tool", entry_point, python) == expected


def _hook_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_monotrail_finder_under_test", REPO / "bootstrap" / "monotrail_bootstrap" / "_monotrail_finder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manifest(tmp: str) -> dict:
    libs = [f"{tmp}/store/a/1/x/site-packages", f"{tmp}/store/b/2/y/site-packages", f"{tmp}/store/c/3/z/site-packages"]
    return {
        "version": 1, "python": "/usr/bin/python3", "python_mtime": 1.5, "env": f"{tmp}/envs/k",
        "modules": {"a": [libs[0]], "google": [libs[1], libs[2]], "_b__mypyc": [libs[1]], "é": [libs[2]]},
        "distributions": {"a": f"{libs[0]}/a-1.dist-info", "b": f"{libs[1]}/b-2.dist-info", "c": f"{libs[2]}/c-3.dist-info"},
        "lib_dirs": libs, "pth": [[libs[1], "b.pth"], [libs[0], "distutils-precedence.pth"]],
        "paths": [f"{tmp}/project/src", f"{tmp}/other"], "scripts": {"a": {"entry_point": "a:main"}},
    }


@pytest.mark.parametrize("empty", ["", "paths", "pth", "modules", "packages"])
def test_the_compact_manifest_reads_back_as_the_json_one(empty: str) -> None:
    """The hook reads manifest.txt (str.split, no json import) into what manifest.json holds."""
    from monotrail.environment.manifest import compact

    manifest = _manifest("/tmp/a b'c")
    if empty == "packages":
        manifest.update(modules={}, distributions={}, lib_dirs=[], pth=[])
    elif empty:
        manifest[empty] = {} if empty == "modules" else []
    text = compact(manifest)
    assert text is not None
    hook = _hook_module()
    read = hook._load_compact(text)
    assert {key: read[key] for key in ("version", "env", "paths", "pth", "lib_dirs")} == {
        key: manifest[key] for key in ("version", "env", "paths", "pth", "lib_dirs")}
    # Module dirs and distributions as the finder resolves them when first asked.
    finder = hook.MonotrailFinder(read["modules"], read.get("distributions"), read["lib_dirs"], read["env"],
                                  read["dists"])
    assert list(read["modules"]) == list(manifest["modules"])
    assert {name: finder._dirs_of(name) for name in manifest["modules"]} == manifest["modules"]
    assert list(finder._dists().items()) == list(manifest["distributions"].items())
    from_json = hook.MonotrailFinder(manifest["modules"], manifest["distributions"], manifest["lib_dirs"])
    for each in (hook.MonotrailFinder(read["modules"], None, read["lib_dirs"], read["env"], read["dists"]),
                 from_json):  # the entry a lib dir's RECORD is checked in, without _dists() first
        assert {lib: each._dist_info_of(lib) for lib in manifest["lib_dirs"]} == {
            path.rpartition("/")[0]: path for path in manifest["distributions"].values()}
        assert each._dist_info_of("/elsewhere") is None


def test_the_compact_manifest_writes_each_store_path_once() -> None:
    """Lib dirs as the part between `<root>/store/` and `/site-packages`, modules by index."""
    from monotrail.environment.manifest import compact

    text = compact(_manifest("/tmp/r"))
    assert text is not None
    assert text.count("/tmp/r/store/") == 1 and text.count("/site-packages") == 1


@pytest.mark.parametrize("where", ["env", "paths", "lib_dirs", "modules", "pth"])
def test_a_manifest_with_a_tab_or_newline_stays_json(where: str) -> None:
    """A value holding the compact form's separators: no manifest.txt, the hook reads manifest.json."""
    from monotrail.environment.manifest import compact

    manifest = _manifest("/tmp/x")
    if where == "env":
        manifest["env"] += "\tnew"
    elif where == "paths":
        manifest["paths"].append("/tmp/x/a\nb")
    elif where == "lib_dirs":
        old = manifest["lib_dirs"][0]
        manifest["lib_dirs"][0] = old.replace("/a/", "/a\t/")
        manifest["distributions"]["a"] = manifest["distributions"]["a"].replace("/a/", "/a\t/")
    elif where == "modules":
        manifest["modules"]["x\ty"] = [manifest["lib_dirs"][0]]
    else:
        manifest["pth"].append([manifest["lib_dirs"][0], "a\x1e.pth"])
    assert compact(manifest) is None
    assert compact({**_manifest("/tmp/x"), "modules": {"a": []}}) is None


def test_a_damaged_compact_manifest_is_a_value_error() -> None:
    hook = _hook_module()
    assert hook._load_compact("monotrail-manifest 3\n/e\n\n\x1e\x1e\x1e\x1e\x1e")["env"] == "/e"
    for text in ["", "monotrail-manifest 3\n/env\n\n", "monotrail-manifest 2\n/e\n\n\x1e\x1e\x1e\x1e\x1e",
                 "monotrail-manifest 3\n/e\n\n\x1e\x1e\x1e\x1e", "monotrail-manifest 3\n/e\n\n\x1e\x1e\x1ename\x1e\x1e",
                 "monotrail-manifest 3\n/e\n\n\x1e\x1e3\na.pth\x1e\x1e\x1e"]:
        with pytest.raises(ValueError):
            hook._load_compact(text)


@pytest.mark.parametrize("script", [b"#!python\nprint(1)\n", b"#!python3 -u\nx\r\ny", b"#!pythonw", b"#!/bin/sh\necho\n",
                                    b"#! python\n", b"", b"print(1)\n"])
def test_data_scripts_get_the_shebang_installer_writes(script: bytes) -> None:
    import io

    from installer.utils import fix_shebang

    from monotrail.environment.layout import _fixed_shebang

    with fix_shebang(io.BytesIO(script), "/env/bin/python") as fixed:
        assert _fixed_shebang(script, "/env/bin/python") == fixed.read()


def test_file_digest_hashes_a_settled_file_once_per_process_and_sees_any_rewrite(tmp_path, monkeypatch):
    """A cold run asks for the lock's digest three times; a 600 kB lock costs ~5 ms each."""
    import hashlib

    import monotrail.environment as environment

    calls = []
    real = environment.new_sha256
    monkeypatch.setattr(environment, "new_sha256", lambda: calls.append(1) or real())
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"version = 1\n")
    old = lock.stat().st_mtime - 60
    os.utime(lock, (old, old))
    assert environment.file_digest(str(lock)) == hashlib.sha256(b"version = 1\n").hexdigest()
    assert environment.file_digest(str(lock)) == hashlib.sha256(b"version = 1\n").hexdigest()
    assert len(calls) == 1
    lock.write_bytes(b"version = 2\n")  # same size, even given the old mtime back
    os.utime(lock, (old, old))
    assert environment.file_digest(str(lock)) == hashlib.sha256(b"version = 2\n").hexdigest()
    fresh = tmp_path / "pyproject.toml"  # written just now: hashed every time
    fresh.write_bytes(b"[project]\n")
    environment.file_digest(str(fresh))
    environment.file_digest(str(fresh))
    assert len(calls) == 4
    assert environment.file_digest(str(tmp_path / "absent")) == "-"
