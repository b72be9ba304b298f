"""Helpers for tests/bootstrap/test_bootstrap.py: the interpreters to test on and a fake store + env.

The store is written as plain files, the way the launcher leaves unpacked wheels, and the
manifest by hand per docs/architecture.md; the environment around it is the launcher's own
(`monotrail.environment.layout`: a venv whose site-packages hook reads the manifest), so these tests
depend on the hook and the environment's shape, not on resolving or installing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "bootstrap" / "monotrail_bootstrap"
HOOK = BOOTSTRAP_DIR / "_monotrail_finder.py"  # what every environment's site-packages links
SUPPORTED_MINORS = (8, 9, 10, 11, 12, 13)
# What tests that run monotrail with a reduced PATH give it (the shims' and the launcher's tests):
# the system's tools, no Python a test did not choose.
REDUCED_PATH = "/usr/bin:/bin"


def discovery_environ() -> dict:
    """Where monotrail finds Pythons for this test run, as variables a child honours whatever its
    PATH and HOME: the pyenv root and uv's directory, resolved from this process' environment
    (PYENV_ROOT, pyenv's shims on PATH, HOME) exactly as the product resolves them."""
    from monotrail.interpreters.discovery import SearchDirs

    search = SearchDirs.from_environ(os.environ)
    return {"PYENV_ROOT": search.pyenv_root, "UV_PYTHON_INSTALL_DIR": search.uv_dir}


_FOUND: list = []


def discovered() -> list:
    """Every Python a monotrail child with REDUCED_PATH and `discovery_environ()` finds, probed
    by the product's own discovery (`monotrail.interpreters.discovery.list_interpreters`) once per session."""
    if not _FOUND:
        import atexit
        import shutil
        import tempfile

        from monotrail.interpreters.discovery import list_interpreters

        probes = tempfile.mkdtemp(prefix="monotrail-test-probes-")
        atexit.register(shutil.rmtree, probes, True)
        _FOUND.extend(list_interpreters(Path(probes), {"PATH": REDUCED_PATH, **discovery_environ()}))
    return _FOUND


def find_python(minor: int) -> Path | None:
    """The newest CPython 3.<minor> (not free-threaded) that monotrail finds, or None."""
    found = [entry.interpreter for entry in discovered() if entry.interpreter is not None]
    matching = [i for i in found if i.implementation == "cpython" and i.version[:2] == (3, minor)
                and not i.free_threaded]
    if not matching:
        return None
    return Path(max(matching, key=lambda interpreter: interpreter.version).path)


def python_facts(path: Path):
    """The discovered `Found` (interpreter, source, problem) of a path `find_python` returned."""
    return next(entry for entry in discovered() if entry.path == str(path))


def find_setuptools_wheel() -> Path | None:
    """A setuptools wheel with ``pkg_resources`` that runs on 3.8-3.13 (CPython's test data)."""
    stdlibs = sorted({Path(entry.interpreter.stdlib) for entry in discovered() if entry.interpreter is not None})
    for pattern in ("test/wheeldata/setuptools-*.whl", "test/setuptools-*.whl"):
        for stdlib in stdlibs:
            for wheel in sorted(stdlib.glob(pattern)):
                return wheel
    return None


def clean_env(**extra: str) -> dict:
    """The test process' environment without anything that changes how python starts."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PYTHON") and key not in ("VIRTUAL_ENV",)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(extra)
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def dist_info(lib: Path, name: str, version: str, entry_points: str = "",
              files: tuple = ()) -> Path:
    directory = lib / ("%s-%s.dist-info" % (re.sub(r"[-.]+", "_", name), version))
    write(directory / "METADATA", "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
    if entry_points:
        write(directory / "entry_points.txt", entry_points)
    record = [f + ",," for f in files] + [directory.name + "/METADATA,,", directory.name + "/RECORD,,"]
    write(directory / "RECORD", "\n".join(record) + "\n")
    return directory


@dataclass
class Store:
    root: Path
    alpha: Path
    beta: Path
    nsp_one: Path
    nsp_two: Path
    setuptools: Path | None
    project_src: Path

    def modules(self) -> dict:
        return {
            "alpha": [str(self.alpha)],
            "beta": [str(self.beta)],
            "gamma": [str(self.beta)],
            "colorsys": [str(self.beta)],  # also a stdlib module: must not shadow it
            "sitecustomize": [str(self.beta)],
            "nsp": [str(self.nsp_one), str(self.nsp_two)],
        }

    def distributions(self) -> dict:
        return {
            "alpha": str(self.alpha / "alpha-1.0.dist-info"),
            "beta": str(self.beta / "beta-2.0.dist-info"),
            "nsp-one": str(self.nsp_one / "nsp_one-1.0.dist-info"),
            "nsp-two": str(self.nsp_two / "nsp_two-1.0.dist-info"),
        }

    def lib_dirs(self) -> list:
        return [str(self.alpha), str(self.beta), str(self.nsp_one), str(self.nsp_two)]


def build_store(root: Path) -> Store:
    """Four unpacked "wheels", a path source and, if one is on disk, setuptools."""
    store = root / "store"
    alpha = store / "alpha" / "1.0" / "a1a1a1a1a1a1a1a1" / "site-packages"
    write(alpha / "alpha" / "__init__.py", """
        import json, sys
        VALUE = "alpha"

        def cli():
            print(json.dumps({"argv": sys.argv, "path0": sys.path[0],
                              "main": sorted(vars(sys.modules["__main__"]))}))
            return 3

        def hello():
            return "hello"
    """)
    write(alpha / "alpha" / "sub.py", "VALUE = 'sub'\n")
    write(alpha / "alpha" / "data.txt", "alpha data\n")
    dist_info(alpha, "alpha", "1.0", entry_points="""
        [console_scripts]
        alpha-cli = alpha:cli

        [monotrail.test]
        hello = alpha:hello
    """, files=("alpha/__init__.py", "alpha/sub.py", "alpha/data.txt"))
    # Sorted by file name across lib dirs: 00_first.pth (beta) runs before this one. Its
    # import line imports a locked module, which needs the finder installed first.
    write(alpha / "alpha_hooks.pth", """
        # a comment
        import sys; sys.monotrail_pth = getattr(sys, "monotrail_pth", []) + ["alpha:" + __import__("beta").VALUE]
        pth_extra
    """)
    write(alpha / "pth_extra" / "pthmod.py", "VALUE = 'pth'\n")

    beta = store / "beta" / "2.0" / "b2b2b2b2b2b2b2b2" / "site-packages"
    write(beta / "beta.py", "VALUE = 'store'\n")
    write(beta / "gamma.py", "VALUE = 'store'\n")
    write(beta / "colorsys.py", "SHADOW = True\n")
    write(beta / "sitecustomize.py", """
        import sys
        sys.monotrail_sitecustomize = [list(sys.argv), hasattr(sys.modules["__main__"], "__file__")]
    """)
    write(beta / "00_first.pth",
          'import sys; sys.monotrail_pth = getattr(sys, "monotrail_pth", []) + ["first"]\n')
    dist_info(beta, "beta", "2.0", entry_points="""
        [console_scripts]
        beta = beta:main
    """, files=("beta.py",))

    nsp_one = store / "nsp-one" / "1.0" / "c3c3c3c3c3c3c3c3" / "site-packages"
    write(nsp_one / "nsp" / "one" / "__init__.py", "VALUE = 'one'\n")
    dist_info(nsp_one, "nsp.one", "1.0")
    nsp_two = store / "nsp-two" / "1.0" / "d4d4d4d4d4d4d4d4" / "site-packages"
    write(nsp_two / "nsp" / "two" / "__init__.py", "VALUE = 'two'\n")
    dist_info(nsp_two, "nsp.two", "1.0")

    project_src = root / "project" / "src"
    write(project_src / "projmod.py", "VALUE = 'project'\n")

    setuptools = None
    wheel = find_setuptools_wheel()
    if wheel is not None:
        setuptools = store / "setuptools" / wheel.name.split("-")[1] / "e5e5e5e5e5e5e5e5" / "site-packages"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(setuptools)
    return Store(alpha=alpha, beta=beta, nsp_one=nsp_one, nsp_two=nsp_two,
                 setuptools=setuptools, project_src=project_src, root=root)


@dataclass
class Env:
    """One environment: a manifest, the venv around it, and how to run things in it."""
    python: Path  # the real interpreter
    path: Path
    manifest: Path

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def command(self, *argv: str, flags: tuple = ()) -> list:
        """What `monotrail run` execs: the environment's python, as a venv's."""
        return [str(self.bin / "python"), *flags, *argv]

    def run(self, *argv: str, flags: tuple = (), **kwargs) -> subprocess.CompletedProcess:
        return run(self.command(*argv, flags=flags), **kwargs)


def run(command: list, input: str | None = None, cwd: Path | None = None,
        env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(command, input=input, cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


def make_env(store: Store, python: Path, name: str, with_setuptools: bool = False) -> Env:
    """Write ``envs/<name>/manifest.json``, its compact form ``manifest.txt`` and the venv around
    it, as the launcher would."""
    from types import SimpleNamespace

    from monotrail.environment.layout import write_layout
    from monotrail.environment.manifest import compact

    env_dir = store.root / "envs" / name
    env_dir.mkdir(parents=True)
    (env_dir / "pids").mkdir()
    modules = store.modules()
    distributions = store.distributions()
    lib_dirs = store.lib_dirs()
    pth = [[str(store.alpha), "alpha_hooks.pth"], [str(store.beta), "00_first.pth"]]
    if with_setuptools:
        lib = str(store.setuptools)
        for top_level in ("setuptools", "pkg_resources", "_distutils_hack"):
            modules[top_level] = [lib]
        info = next(store.setuptools.glob("setuptools-*.dist-info"))
        distributions["setuptools"] = str(info)
        lib_dirs.append(lib)
        pth.append([lib, "distutils-precedence.pth"])
    manifest = {
        "version": 1,
        "python": str(python),
        "python_mtime": python.stat().st_mtime,
        "env": str(env_dir),
        "modules": modules,
        "distributions": distributions,
        "lib_dirs": lib_dirs,
        "pth": pth,
        "paths": [str(store.project_src)],
        "scripts": {"alpha-cli": {"entry_point": "alpha:cli"}},
    }
    manifest_path = env_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2))
    facts = json.loads(subprocess.run(
        [str(python), "-S", "-c", "import json, sys, sysconfig; print(json.dumps([list(sys.version_info[:3]), "
         "sys.implementation.name, bool(sysconfig.get_config_var('Py_GIL_DISABLED'))]))"],
        capture_output=True, text=True, check=True).stdout)
    interpreter = SimpleNamespace(path=str(python), version=tuple(facts[0]), implementation=facts[1],
                                  free_threaded=facts[2])
    # The hook reads the compact form, as in the launcher's environments (manifest.json stays beside it).
    text = compact(manifest)
    assert text is not None
    (env_dir / "manifest.txt").write_text(text)
    write_layout(env_dir, str(env_dir), interpreter, str(HOOK), manifest["scripts"], manifest_name="manifest.txt")
    return Env(python=python, path=env_dir, manifest=env_dir / "manifest.txt")
