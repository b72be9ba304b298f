"""The environment on every supported CPython: run the real interpreters against a fake store.

An environment is a venv whose site-packages hook (bootstrap/_monotrail_finder.py) reads the
manifest. Most tests run the same target under plain python and under the environment's python
and compare what the program sees; the rest check the store-specific behaviour (finder, metadata,
.pth, children, sys.prefix) through one printed JSON document per run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from bootstrap_fixtures import (BOOTSTRAP_DIR, HOOK, SUPPORTED_MINORS, build_store, clean_env,
                                find_python, make_env, run, write)


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("monotrail"))


@pytest.fixture(scope="session", params=SUPPORTED_MINORS, ids=lambda minor: "py3.%d" % minor)
def python(request) -> Path:
    found = find_python(request.param)
    if found is None:
        pytest.skip("!!! CPython 3.%d NOT FOUND by monotrail's discovery (pyenv, uv, system): the "
                    "bootstrap is untested on it" % request.param)
    return found


@pytest.fixture(scope="session")
def env(store, python):
    return make_env(store, python, python.parent.parent.name)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    """Programs for the comparisons with plain python, in the cwd of those runs."""
    root = tmp_path_factory.mktemp("work")
    write(root / "where.py", WHERE)
    write(root / "app" / "__main__.py", WHERE)
    with zipfile.ZipFile(root / "app.zip", "w") as archive:
        archive.writestr("__main__.py", textwrap.dedent(WHERE).lstrip())
    (root / "linkdir").mkdir()
    (root / "linkdir" / "where.py").symlink_to(root / "where.py")
    write(root / "boom.py", """
        def inner():
            raise ValueError("boom")

        def outer():
            inner()

        outer()
    """)
    write(root / "bad.py", "def broken(:\n    pass\n")
    return root


def load_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


# What a program sees of its start: compared between plain python and the bootstrap.
WHERE = """
    import builtins, json, sys
    g = globals()
    loader = g["__loader__"]
    print(json.dumps({
        "argv": sys.argv,
        "path0": sys.path[0],
        "name": __name__,
        "file": g.get("__file__"),
        "cached": g.get("__cached__"),
        "package": g.get("__package__"),
        "spec": getattr(g.get("__spec__"), "name", None),
        "keys": sorted(g),
        "loader": loader.__name__ if isinstance(loader, type) else type(loader).__name__,
        "interactivehook": hasattr(sys, "__interactivehook__"),
        "builtins": [type(getattr(builtins, name)).__name__
                     for name in ("exit", "quit", "help", "copyright", "credits", "license")],
    }))
"""

TARGETS = [
    pytest.param((), ("./where.py", "a"), None, id="relative-script"),
    pytest.param((), ("linkdir/where.py", "a"), None, id="symlinked-script"),
    pytest.param((), ("-c", textwrap.dedent(WHERE), "a"), None, id="c"),
    pytest.param((), ("-m", "where", "a"), None, id="m"),
    pytest.param((), ("-", "a"), textwrap.dedent(WHERE), id="stdin-dash"),
    pytest.param((), (), textwrap.dedent(WHERE), id="stdin"),
    pytest.param((), ("app", "a"), None, id="directory"),
    pytest.param((), ("app.zip", "a"), None, id="zip"),
    pytest.param(("-I",), ("./where.py", "a"), None, id="isolated-script"),
    pytest.param(("-I",), ("-c", textwrap.dedent(WHERE)), None, id="isolated-c"),
    pytest.param(("-P",), ("-c", textwrap.dedent(WHERE)), None, id="safe-path-c"),
]


@pytest.mark.parametrize("flags, target, stdin", TARGETS)
def test_target_sees_what_plain_python_gives(env, workdir, flags, target, stdin):
    if "-P" in flags and sys_version(env.python) < (3, 11):
        pytest.skip("-P is new in 3.11")
    plain = load_json(run([str(env.python), *flags, *target], input=stdin, cwd=workdir))
    ours = load_json(env.run(*target, flags=flags, input=stdin, cwd=workdir))
    if target[:1] == ("-m",):
        plain.pop("cached")  # a __pycache__ path: same file, written by whichever ran first
        ours.pop("cached")
    assert ours == plain


def sys_version(python: Path) -> tuple:
    return tuple(int(part) for part in python.parent.parent.name.split(".")[:2])


PROBE = """
    import sys
    STARTUP_MODULES = sorted(sys.modules)
    import builtins, importlib, json, os, pkgutil

    out = {"startup_modules": STARTUP_MODULES, "argv": sys.argv, "sys_path": sys.path,
           "executable": sys.executable, "prefix": [sys.prefix, sys.exec_prefix, sys.base_prefix],
           "meta_path": [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path],
           "help": type(builtins.help).__module__ + "." + type(builtins.help).__name__,
           "pth": getattr(sys, "monotrail_pth", None),
           "sitecustomize": getattr(sys, "monotrail_sitecustomize", False)}
    import alpha, alpha.sub, beta, colorsys, gamma, projmod, pthmod
    out.update(alpha=alpha.__file__, sub=alpha.sub.VALUE, beta=beta.VALUE, gamma=gamma.VALUE,
               projmod=projmod.VALUE, pthmod=pthmod.VALUE,
               colorsys=[colorsys.__file__, hasattr(colorsys, "SHADOW")])

    import nsp.one, nsp.two
    out["nsp"] = [nsp.one.VALUE, nsp.two.VALUE, list(nsp.__path__)]
    # A portion of the same namespace appearing on sys.path later joins the store's portions.
    sys.path.append(os.path.join(os.path.dirname(__file__), "extra_ns"))
    import nsp.three
    out["nsp_after"] = [nsp.three.VALUE, list(nsp.__path__)]

    import importlib.resources
    if sys.version_info >= (3, 9):
        out["data"] = importlib.resources.files("alpha").joinpath("data.txt").read_text()
    else:
        out["data"] = importlib.resources.read_text("alpha", "data.txt")

    import importlib.metadata as md
    eps = md.entry_points()
    if sys.version_info >= (3, 10):
        group = eps.select(group="monotrail.test")
        scripts = md.entry_points(group="console_scripts")
    else:
        group = eps.get("monotrail.test", ())
        scripts = eps["console_scripts"]
    out["entry_points"] = sorted([ep.name, ep.value, ep.load()()] for ep in group)
    out["console_scripts"] = sorted(ep.name for ep in scripts)
    out["versions"] = [md.version("alpha"), md.version("Nsp_One"), md.distribution("NSP.two").version]
    out["files"] = sorted(str(path) for path in md.files("alpha"))
    out["distributions"] = sorted(dist.metadata["Name"] for dist in md.distributions())
    try:
        md.version("not-locked")
    except md.PackageNotFoundError:
        out["not_locked"] = "PackageNotFoundError"
    out["iter_modules"] = sorted([m.name, m.ispkg] for m in pkgutil.iter_modules()
                                 if m.name in ("alpha", "beta", "nsp", "gamma", "sitecustomize"))
    out["main"] = [__name__, __file__, __spec__, __cached__]
    print(json.dumps(out))
"""


def test_locked_packages_import_with_site_behaviour(env, store, tmp_path):
    probe_dir = tmp_path / "scripts"
    probe = write(probe_dir / "probe.py", PROBE)
    write(probe_dir / "gamma.py", "VALUE = 'script dir'\n")  # shadows the locked gamma
    # A bare data directory named like a locked module is only a namespace portion: as with
    # site-packages, the store's regular module wins over it.
    write(probe_dir / "beta" / "notes.txt", "not a package\n")
    write(probe_dir / "extra_ns" / "nsp" / "three" / "__init__.py", "VALUE = 'three'\n")
    out = load_json(env.run(str(probe), "x"))

    assert out["argv"] == [str(probe), "x"]
    assert out["main"] == ["__main__", str(probe), None, None]
    stdlib = [i for i, entry in enumerate(out["sys_path"]) if "lib-dynload" in entry]
    assert out["sys_path"][0] == str(probe_dir.resolve())
    assert str(BOOTSTRAP_DIR) not in out["sys_path"]
    assert out["sys_path"].index(str(store.project_src)) > stdlib[0]
    assert str(store.alpha / "pth_extra") in out["sys_path"]
    # The lib dirs end sys.path, where tools that read it look for site-packages (issue 15);
    # nowhere else: the finder, not sys.path order, decides the imports.
    # (the probe appended extra_ns after them)
    lib_dirs = store.lib_dirs()
    start = out["sys_path"].index(lib_dirs[0])
    assert out["sys_path"][start:] == lib_dirs + [str(probe_dir / "extra_ns")]
    assert not any(str(store.root / "store") in entry for entry in out["sys_path"][:start]
                   if not entry.endswith("pth_extra"))
    assert out["executable"] == str(env.bin / "python")
    assert out["prefix"][:2] == [str(env.path)] * 2 and out["prefix"][2] != str(env.path)
    # Just before PathFinder: it answers as PathFinder would with the store as site-packages.
    assert out["meta_path"][-2:] == ["MonotrailFinder", "PathFinder"]
    assert out["help"] == "_sitebuiltins._Helper"
    # sorted by file name across lib dirs; the import line imported `beta` from the store
    assert out["pth"] == ["first", "alpha:store"]
    assert out["sitecustomize"] == [[str(probe), "x"], False]  # runs before __main__ is set up
    assert out["alpha"] == str(store.alpha / "alpha" / "__init__.py")
    assert [out["sub"], out["beta"], out["gamma"], out["projmod"], out["pthmod"]] == [
        "sub", "store", "script dir", "project", "pth"]
    assert out["colorsys"][1] is False and "lib/python3" in out["colorsys"][0]
    assert out["nsp"] == ["one", "two", [str(store.nsp_one / "nsp"), str(store.nsp_two / "nsp")]]
    assert out["nsp_after"] == ["three", [str(probe_dir / "extra_ns" / "nsp"),
                                          str(store.nsp_one / "nsp"), str(store.nsp_two / "nsp")]]
    assert out["data"] == "alpha data\n"
    assert out["entry_points"] == [["hello", "alpha:hello", "hello"]]
    assert out["console_scripts"] == ["alpha-cli", "beta"]
    assert out["versions"] == ["1.0", "1.0", "1.0"]
    assert "alpha/__init__.py" in out["files"] and "alpha/data.txt" in out["files"]
    assert out["distributions"] == ["alpha", "beta", "nsp.one", "nsp.two"]
    assert out["not_locked"] == "PackageNotFoundError"
    assert out["iter_modules"] == [["alpha", True], ["beta", False], ["gamma", False],
                                   ["nsp", True], ["sitecustomize", False]]
    # the warm path stays small: these load only when the program asks for them
    heavy = {"importlib", "warnings", "json", "re", "runpy", "pkgutil", "importlib.metadata", "importlib.util", "pathlib",
             "subprocess", "zipfile", "typing", "linecache"}
    assert heavy & set(out["startup_modules"]) == set()


PREFIXES = "import json, sys; print(json.dumps([sys.prefix, sys.exec_prefix, sys.base_prefix, sys.executable]))"


@pytest.mark.parametrize("start", ["-c", "-m", "script", "stdin", "isolated", "child"])
def test_sys_prefix_is_the_environment_however_the_program_starts(env, store, tmp_path, start):
    """A venv's facts on every Python: 3.8-3.10 take sys.prefix from site.venv(), 3.11+ from
    getpath; either way sys.prefix is the environment and sys.base_prefix the installation."""
    write(tmp_path / "prefixes.py", PREFIXES)
    python = str(env.bin / "python")
    command = {
        "-c": [python, "-c", PREFIXES],
        "-m": [python, "-m", "prefixes"],
        "script": [python, "prefixes.py"],
        "stdin": [python],
        "isolated": [python, "-I", str(tmp_path / "prefixes.py")],
        "child": [python, "-c", "import subprocess, sys; sys.exit(subprocess.call("
                           "[sys.executable, '-c', %r]))" % PREFIXES],
    }[start]
    out = load_json(run(command, cwd=tmp_path, input=PREFIXES if start == "stdin" else None))
    base = load_json(run([str(env.python), "-c", PREFIXES]))[2]
    assert out == [str(env.path), str(env.path), base, python]


def test_the_repl_on_a_terminal_runs_in_the_environment(env):
    session = "import sys, alpha; print(sys.prefix == %r, alpha.VALUE)\nexit()\n" % str(env.path)
    rc, output = run_on_terminal(env.command(), session.encode(), clean_env(PYTHON_BASIC_REPL="1", TERM="dumb"))
    assert rc == 0, output
    assert "True alpha" in output


def test_console_script_calls_the_function_and_exits_with_its_result(env):
    """A venv's console script: a Python file whose shebang is the environment's python, which
    also runs as `python SCRIPT` (what reloaders do with `[sys.executable] + sys.argv`)."""
    script = str(env.bin / "alpha-cli")
    for command in ([script, "x", "--flag"], [str(env.bin / "python"), script, "x", "--flag"]):
        result = run(command)
        assert result.returncode == 3, result.stderr
        out = json.loads(result.stdout)
        assert out["argv"] == [script, "x", "--flag"]
        assert out["path0"] == os.path.realpath(str(env.bin))


@pytest.mark.parametrize("target", [
    pytest.param(("boom.py",), id="script"),
    pytest.param(("-m", "boom"), id="m"),
    pytest.param(("bad.py",), id="syntax-error"),
    pytest.param(("-c", "import sys\nraise KeyboardInterrupt"), id="keyboard-interrupt"),
    pytest.param(("-c", "raise SystemExit('bye')"), id="system-exit"),
    pytest.param(("missing.py",), id="missing-script"),
])
def test_errors_exit_and_print_like_plain_python(env, workdir, target):
    plain = run([str(env.python), *target], cwd=workdir)
    ours = env.run(*target, cwd=workdir)
    assert ours.returncode == plain.returncode != 0
    assert "_monotrail" not in ours.stderr
    if target[0] == "missing.py":  # names the interpreter: the real one vs the env's python
        assert ours.stderr.replace(str(env.bin / "python"), "") == \
            plain.stderr.replace(str(env.python), "")
    else:
        assert ours.stderr == plain.stderr


@pytest.mark.parametrize("flags", [("-i",), ("-i", "-q")], ids=["banner", "quiet"])
def test_interactive_mode_prints_banner_and_exit_works(env, flags, tmp_path):
    session = "print(1 + 1)\nprint(type(help).__name__, type(exit).__name__)\nexit()\nprint('not reached')\n"
    plain = run([str(env.python), *flags], input=session, cwd=tmp_path)
    ours = env.run(flags=flags, input=session, cwd=tmp_path)
    assert ours.stdout == plain.stdout == "2\n_Helper Quitter\n"
    assert ours.stderr == plain.stderr
    assert ours.returncode == plain.returncode == 0
    if "-q" not in flags:
        assert ours.stderr.startswith("Python %s" % env.python.parent.parent.name)


CHILDREN = """
    import concurrent.futures, json, multiprocessing, subprocess, sys

    def where(_):
        import alpha
        return [alpha.__file__, sys.prefix]

    def output(*argv, **kwargs):
        return subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                              check=True, **kwargs).stdout

    def main():
        out = {"child": output("-c", "import alpha, sys; print(alpha.__file__, sys.prefix)").strip()}
        out["flags"] = json.loads(output(
            "-u", "-B", "-X", "utf8", "-Wignore", "-c",
            "import json, sys, alpha; print(json.dumps([sys.stdout.write_through, "
            "sys.flags.dont_write_bytecode, sys.flags.utf8_mode, sys.warnoptions, sys.argv, "
            "alpha.VALUE, sys.executable, sys.prefix]))", "a"))
        out["clustered"] = output("-uBc", "import sys, beta; print(sys.stdout.write_through, sys.argv, beta.VALUE)", "z").strip()
        out["stdin"] = output(input="import beta; print(beta.VALUE)").strip()
        out["version"] = output("-V")
        for method in ("spawn", "forkserver"):
            with multiprocessing.get_context(method).Pool(2) as pool:
                out[method] = pool.map(where, range(2))
        with concurrent.futures.ProcessPoolExecutor(2) as executor:
            out["executor"] = list(executor.map(where, range(2)))
        print(json.dumps(out))

    if __name__ == "__main__":
        main()
"""


def test_children_started_through_sys_executable_see_the_environment(env, store, tmp_path):
    script = write(tmp_path / "children.py", CHILDREN)
    out = load_json(env.run(str(script), cwd=tmp_path))
    alpha = str(store.alpha / "alpha" / "__init__.py")
    assert out["child"] == "%s %s" % (alpha, env.path)
    assert out["flags"] == [True, 1, 1, ["ignore"], ["-c", "a"], "alpha", str(env.bin / "python"), str(env.path)]
    assert out["clustered"] == "True ['-c', 'z'] store"
    assert out["stdin"] == "store"
    real = run([str(env.python), "-V"])
    assert out["version"] == real.stdout
    assert out["spawn"] == out["forkserver"] == out["executor"] == [[alpha, str(env.path)]] * 2


PKG_RESOURCES = """
    import sys, json, warnings
    warnings.simplefilter("ignore")
    before = list(sys.path)
    out = {"distutils_hack": "_distutils_hack" in sys.modules}
    import pkg_resources
    out["sys_path_unchanged"] = sys.path == before
    out["file"] = pkg_resources.__file__
    out["loader"] = type(pkg_resources.__loader__).__name__
    out["alpha"] = pkg_resources.get_distribution("alpha").version
    out["require"] = sorted(dist.project_name for dist in pkg_resources.require("alpha"))
    out["entry_points"] = sorted(ep.name for ep in pkg_resources.iter_entry_points("monotrail.test"))
    out["provider"] = pkg_resources.resource_string("alpha", "data.txt").decode()
    import distutils
    out["distutils"] = distutils.__file__
    print(json.dumps(out))
"""


def test_pkg_resources_and_distutils_hack_from_the_store(store, python, tmp_path):
    if store.setuptools is None:
        pytest.skip("SKIPPED LOUDLY: no setuptools wheel in the test data of any Python found here")
    env = make_env(store, python, python.parent.parent.name + "-setuptools", with_setuptools=True)
    script = write(tmp_path / "pr.py", PKG_RESOURCES)
    out = load_json(env.run(str(script)))
    assert out["distutils_hack"] is True  # distutils-precedence.pth imported it from the store
    assert out["sys_path_unchanged"] is True
    assert out["file"].startswith(str(store.setuptools))
    assert out["loader"] == "SourceFileLoader"
    assert out["alpha"] == "1.0"
    assert out["require"] == ["alpha"]
    assert out["entry_points"] == ["hello"]
    assert out["provider"] == "alpha data\n"
    assert out["distutils"].startswith(str(store.setuptools / "setuptools" / "_distutils"))


def test_the_hook_module_runs_nothing_on_import():
    """The .pth line imports it, then calls activate(): importing alone changes nothing."""
    code = ("import sys; sys.path.insert(0, %r); before = (list(sys.meta_path), list(sys.path[1:])); "
            "import _monotrail_finder; print(before == (list(sys.meta_path), list(sys.path[1:])))" % str(BOOTSTRAP_DIR))
    result = run([sys.executable, "-c", code])
    assert result.stdout.strip() == "True", result.stderr


def test_the_hook_run_as_a_program_says_the_front_door_is_stale():
    """A front door of format 1 (`python -S <hook dir>/... MANIFEST TARGET`) must not run nothing quietly."""
    result = run([sys.executable, "-S", str(HOOK), "/nowhere/manifest.json", "app.py"])
    assert result.returncode == 1 and "front door that started it is older than its launcher" in result.stderr


def run_on_terminal(command: list, session: bytes, env: dict) -> tuple:
    """Run ``command`` with a pty as stdin/stdout/stderr, type ``session``, return (rc, output)."""
    import pty
    import select
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                               close_fds=True)
    os.close(slave)
    os.write(master, session)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:  # a hung REPL: fail instead of blocking the run
                process.kill()
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
    return process.wait(timeout=60), output.decode(errors="replace")


def test_terminal_without_target_starts_the_repl_with_banner(env):
    command = env.command()
    # 3.13's new REPL redraws the line with escape sequences; the basic one echoes plainly.
    rc, output = run_on_terminal(command, b"print(6 * 7)\nexit()\n",
                                 clean_env(PYTHON_BASIC_REPL="1", TERM="dumb"))
    assert rc == 0, output
    assert "Python %s" % env.python.parent.parent.name in output
    assert 'Type "help", "copyright", "credits" or "license" for more information.' in output
    assert "\n42" in output.replace("\r", "")


CLAIM = """
    import json, os, sys
    env = sys.argv[1]
    own = set()
    for name in os.listdir(env):
        info = os.stat(os.path.join(env, name))
        own.add((info.st_dev, info.st_ino))
    held = []
    for fd in range(3, 1024):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in own:
            held.append(os.get_inheritable(fd))
    print(json.dumps(held), flush=True)
    if len(sys.argv) == 2:  # now the same process without the hook (-S): what the exec kept
        os.execv(sys.executable, [sys.executable, "-S", os.path.abspath(__file__), env, "exec'd"])
"""


def test_the_hook_keeps_the_manifest_open_and_inheritable_as_the_processes_claim(env, tmp_path):
    """`store gc` keeps an environment whose files a live process holds open: the hook keeps its
    manifest open, inheritable so that an exec keeps it; closing it at exit raises no ResourceWarning."""
    script = write(tmp_path / "claim.py", CLAIM)
    result = env.run(str(script), str(env.path), flags=("-X", "dev", "-W", "error"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[true]", "[true]"]
    assert result.stderr == ""


REPAIR = r"""
import json, os, sys
record, env = sys.argv[1:]
with open(record, "w") as file:
    file.write("restored\n")
print("on the repair's stdout")
sys.stderr.write("warning: reinstalled %s\n" % json.dumps([env, os.environ["MONOTRAIL_ROOT"]]))
"""


@pytest.mark.parametrize("entry", ["imported", "with a .pth"])
def test_an_entry_whose_record_is_gone_is_repaired_by_the_recorded_command(python, tmp_path, entry):
    """The hook checks a store entry's RECORD when a name of it is first imported (an entry with
    a .pth file: before site would run it), runs `ENV/repair.json`'s command with the environment's
    directory (stdout to stderr, MONOTRAIL_ROOT the environment's root) once, and the import goes on;
    an entry whose RECORD is there runs nothing."""
    store = build_store(tmp_path)
    env = make_env(store, python, "repairing")
    broken = store.nsp_one if entry == "imported" else store.alpha
    record = next(broken.glob("*.dist-info")) / "RECORD"
    record.unlink()
    script = write(tmp_path / "repair.py", REPAIR)
    (env.path / "repair.json").write_text(json.dumps({"argv": [sys.executable, str(script), str(record)]}))
    code = "import beta, nsp.one, nsp.two, alpha; print(nsp.one.VALUE, nsp.two.VALUE, alpha.VALUE)"
    result = env.run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one two alpha\n"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: reinstalled %s" % json.dumps([str(env.path), str(store.root)])], result.stderr
    assert "on the repair's stdout" in result.stderr
    assert record.read_text() == "restored\n"
    again = env.run("-c", code)  # whole again: nothing to repair
    assert again.returncode == 0 and again.stderr == "", again.stderr


def test_a_start_loads_the_hooks_extras_only_when_a_program_needs_them(env):
    """Every start imports `_monotrail_finder`; what few programs reach (pkg_resources, pkgutil
    listings of every module, a JSON manifest, a repair) is in `_monotrail_finder_extras`, loaded
    from beside it when first needed, even with sys.path changed by the program. Locked imports,
    importlib.metadata and namespace packages do not load it."""
    code = ("import sys; extras = lambda: '_monotrail_finder_extras' in sys.modules; seen = [extras()]; "
            "import alpha, beta, nsp.one, importlib.metadata as md; seen += [md.version('alpha'), extras()]; "
            "sys.path[:] = [entry for entry in sys.path if not entry.startswith(sys.prefix)]; "
            "import pkgutil; seen.append('alpha' in {name for _, name, _ in pkgutil.iter_modules()}); "
            "seen.append(sys.modules['_monotrail_finder_extras'].__file__.startswith(sys.prefix)); print(seen)")
    result = env.run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[False, '1.0', False, True, True]"


def test_the_hooks_extras_are_compiled_once_even_under_dont_write_bytecode(store, python):
    """As the .pth line does for the hook, its extras' bytecode is cached in the environment when
    first loaded whatever PYTHONDONTWRITEBYTECODE says (it is about the user's files)."""
    env = make_env(store, python, "bytecode-%s" % python.parent.parent.name)
    result = env.run("-c", "import pkgutil; print('alpha' in {name for _, name, _ in pkgutil.iter_modules()})",
                     env=clean_env(PYTHONDONTWRITEBYTECODE="1"))
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr
    [site] = env.path.glob("lib/*/site-packages")
    assert len(list(site.glob("__pycache__/_monotrail_finder_extras.*.pyc"))) == 1


@pytest.mark.parametrize("command", ["fails", "none"])
def test_an_entry_that_cannot_be_repaired_leaves_the_environment_for_the_launcher_to_rebuild(python, tmp_path, command):
    """The recorded reinstall fails (or there is none): the import fails as it would have, and
    the environment's `launch` file is removed, so that the next run, even through the front door,
    goes to the launcher (an environment without it is unfinished)."""
    store = build_store(tmp_path)
    env = make_env(store, python, "unrepairable")
    (env.path / "launch").write_text("whatever the launcher wrote\n")
    shutil.rmtree(store.nsp_one.parent)
    if command == "fails":
        (env.path / "repair.json").write_text(json.dumps({"argv": [sys.executable, "-c", "raise SystemExit(3)"]}))
    result = env.run("-c", "import nsp.one")
    assert result.returncode == 1 and "No module named 'nsp.one'" in result.stderr, result.stderr
    assert "the next `monotrail run` rebuilds the environment" in result.stderr
    assert not (env.path / "launch").exists()
