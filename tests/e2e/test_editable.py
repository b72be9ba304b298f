"""The project itself, workspace members and editable path dependencies: installed editable through
their own build backend (PEP 660), as `uv sync` installs them, so their metadata, entry points and
compiled extensions exist (issue 11, "The project itself").

Offline: setuptools comes from the wheel virtualenv (a monotrail dependency) embeds, served from a
local index; other projects carry an in-tree backend (`backend-path = ["."]`, no requirements).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from types import MappingProxyType
from collections.abc import Iterator, Mapping

import pytest

from cli_checks import clean_error, ok
from conftest import Monotrail, base_env, front_door_bin
from index_fixtures import IndexServer

VERSION_OF = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture(scope="module")
def setuptools_index() -> Iterator[dict[str, str]]:
    """An index serving setuptools (the wheel virtualenv seeds 3.12 venvs with): the environment
    variables that point a run's build requirements at it."""
    try:
        from virtualenv.seed.wheels.embed import BUNDLE_FOLDER, BUNDLE_SUPPORT
    except ImportError:
        pytest.skip("SKIPPED LOUDLY: virtualenv's embedded wheels are not importable: no offline setuptools")
    wheel = Path(BUNDLE_FOLDER) / BUNDLE_SUPPORT["3.12"]["setuptools"]
    if not wheel.is_file():
        pytest.skip(f"SKIPPED LOUDLY: {wheel} is missing: no offline setuptools")
    with IndexServer() as server:
        server.add(wheel, metadata=False)  # its vendored packages' dist-infos confuse the fixture's METADATA
        yield {"UV_INDEX_URL": f"{server.url}/simple"}


def setuptools_project(directory: Path, name: str = "app", version: str = "0.1.0", extra: str = "") -> Path:
    """A src-layout setuptools project with a console script `<name>-hello`."""
    write(directory / "pyproject.toml", f"""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "{version}"

        [project.scripts]
        {name}-hello = "{name}.cli:main"
        {extra}
        """)
    write(directory / "src" / name / "__init__.py", "GREETING = 'hello'\n")
    write(directory / "src" / name / "cli.py", f"""
        import sys
        from {name} import GREETING

        def main():
            print(GREETING, sys.argv[1:])
        """)
    return directory


def uv_lock(directory: Path, name: str = "app", version: str = "0.1.0", source: str = 'editable = "."',
            members: str = "") -> Path:
    dependencies = "".join(f'{{ name = "{member}" }}, ' for member in members.split()) if members else ""
    body = f"""
        version = 1
        requires-python = ">=3.8"

        [[package]]
        name = "{name}"
        version = "{version}"
        source = {{ {source} }}
        dependencies = [{dependencies}]
        """
    for member in members.split():
        body += f"""
        [[package]]
        name = "{member}"
        version = "1.0"
        source = {{ editable = "packages/{member}" }}
        """
    return write(directory / "uv.lock", body)


# The editable wheel of an in-tree backend: a `.pth` naming the project directory, as flit and
# hatchling write it, and the project's console scripts.
TREE_BACKEND = '''
import base64, hashlib, os, zipfile

NAME, VERSION, SCRIPTS, FAIL = {name!r}, {version!r}, {scripts!r}, {fail!r}
GENERATE, NOISE = {generate!r}, {noise!r}
HERE = os.path.dirname(os.path.abspath(__file__))

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    if FAIL:
        print("compiling speedups.c")
        raise RuntimeError("the compiler exploded")
    if NOISE:  # what setuptools prints: progress on stdout, deprecation banners as warnings
        import sys, warnings
        print("running build_editable\\n" * 20)
        sys.stderr.write("!!\\n" * 20)
        for banner in range(3):
            warnings.warn(f"********** this option is deprecated ({{banner}}) **********\\n" * 5)
    if GENERATE:  # a file the build leaves in the tree, as setuptools-scm's version file or build_ext --inplace
        with open(os.path.join(HERE, GENERATE), "w") as file:
            file.write("VALUE = 'generated'\\n")
    dist = NAME.replace("-", "_")
    info = f"{{dist}}-{{VERSION}}.dist-info"
    files = {{
        f"_{{dist}}_editable.pth": HERE + "\\n",
        f"{{info}}/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n",
        f"{{info}}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        f"{{info}}/entry_points.txt": "[console_scripts]\\n" + "".join(f"{{k}} = {{v}}\\n" for k, v in SCRIPTS.items()),
    }}
    record = [f"{{p}},sha256={{base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()}},{{len(d)}}"
              for p, d in files.items()] + [f"{{info}}/RECORD,,"]
    files[f"{{info}}/RECORD"] = "\\n".join(record) + "\\n"
    name = f"{{dist}}-{{VERSION}}-0.editable-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
'''


def tree_project(directory: Path, name: str, version: str = "1.0", code: str = "", scripts: Mapping[str, str] = MappingProxyType({}),
                 fail: bool = False, generate: str = "", noise: bool = False) -> Path:
    """A flat project whose in-tree backend makes `<name>.py` importable from the directory."""
    write(directory / "pyproject.toml", f"""
        [build-system]
        requires = []
        build-backend = "editable_backend"
        backend-path = ["."]

        [project]
        name = "{name}"
        version = "{version}"
        """)
    (directory / "editable_backend.py").write_text(
        TREE_BACKEND.format(name=name, version=version, scripts=dict(scripts), fail=fail, generate=generate,
                            noise=noise))
    (directory / f"{name.replace('-', '_')}.py").write_text(code or f"NAME = {name!r}\n")
    return directory


# --- the project itself, with setuptools -----------------------------------------------------------


def test_uv_project_has_its_metadata(monotrail: Monotrail, tmp_path: Path, setuptools_index: dict[str, str]) -> None:
    project = setuptools_project(tmp_path / "app")
    uv_lock(project)
    result = ok(monotrail.run("+3.12", "run", "python", "-c", VERSION_OF, "app", cwd=project, env=setuptools_index))
    assert result.stdout.strip() == "0.1.0"


def test_project_console_script_runs_and_reads_the_source(monotrail: Monotrail, tmp_path: Path,
                                                          setuptools_index: dict[str, str]) -> None:
    project = setuptools_project(tmp_path / "app")
    uv_lock(project)
    run = lambda *args: ok(monotrail.run("+3.12", "run", *args, cwd=project, env=setuptools_index))  # noqa: E731
    # [project.scripts] through the same entry-point machinery as any package's
    assert run("app-hello", "a", "b").stdout.strip() == "hello ['a', 'b']"
    # editable: the source is read in place, no rebuild needed for a code change
    write(project / "src" / "app" / "__init__.py", "GREETING = 'bonjour'\n")
    assert run("app-hello").stdout.strip() == "bonjour []"
    assert len(list((monotrail.root / "built").glob("editable-*"))) == 1


def test_editing_the_build_inputs_rebuilds_and_nothing_else_does(monotrail: Monotrail, tmp_path: Path,
                                                                  setuptools_index: dict[str, str]) -> None:
    project = setuptools_project(tmp_path / "app")
    uv_lock(project)
    run = lambda *args: ok(monotrail.run("+3.12", "run", *args, cwd=project, env=setuptools_index))  # noqa: E731
    assert run("-c", VERSION_OF, "app").stdout.strip() == "0.1.0"
    # the warm path neither builds nor hashes: a second run finds the environment as it was
    second = run("-v", "-c", VERSION_OF, "app")
    assert "building" not in second.stderr and second.stdout.strip() == "0.1.0"
    # setup.cfg decides the wheel too (it is not part of the environment's key): seen, rebuilt
    write(project / "setup.cfg", "[metadata]\nkeywords = changed\n")
    run("-c", "pass")
    assert len(list((monotrail.root / "built").glob("editable-*"))) == 2
    pyproject = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(pyproject.replace('version = "0.1.0"', 'version = "0.2.0"'))
    assert run("-c", VERSION_OF, "app").stdout.strip() == "0.2.0"


def front_door(directory: Path) -> Path:
    """A bin/ with the sh front door and a launcher running this checkout's monotrail."""
    return front_door_bin(directory / "bin")


def test_front_door_notices_an_edited_setup_cfg(monotrail: Monotrail, tmp_path: Path,
                                                 setuptools_index: dict[str, str]) -> None:
    bin_dir = front_door(tmp_path)
    project = setuptools_project(tmp_path / "app")
    # metadata from setup.cfg: the environment's key (lock + pyproject.toml) does not see it
    write(project / "pyproject.toml", '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n')
    setup_cfg = "[metadata]\nname = app\nversion = 0.1.0\ndescription = one\n[options]\npackage_dir =\n    = src\npackages = app\n"
    write(project / "setup.cfg", setup_cfg)
    uv_lock(project)
    write(project / ".python-version", "3.12\n")
    env = base_env(monotrail.root, **setuptools_index)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    code = "import importlib.metadata as m; print(m.metadata('app')['Summary'])"

    def run() -> str:
        result = ok(subprocess.run(["monotrail", "run", "python", "-c", code], cwd=project, env=env,
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120))
        for path in [project, *project.rglob("*")]:  # older than 2 s: the warm entry gets written
            os.utime(path, (1_600_000_000, 1_600_000_000))
        return result.stdout.strip()

    assert run() == "one"
    assert run() == "one"
    assert list((monotrail.root / "warm").rglob("run"))
    write(project / "setup.cfg", setup_cfg.replace("one", "two"))
    assert run() == "two"


def test_sync_venv_installs_the_project_editable(monotrail: Monotrail, tmp_path: Path,
                                                  setuptools_index: dict[str, str]) -> None:
    project = setuptools_project(tmp_path / "app")
    uv_lock(project)
    ok(monotrail.run("sync", "--venv", ".venv", "-p", "3.12", cwd=project, env=setuptools_index))
    python = project / ".venv" / "bin" / "python"
    imported = subprocess.run([str(python), "-c", "import app, importlib.metadata as m; print(app.__file__, m.version('app'))"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == [str(project / "src" / "app" / "__init__.py"), "0.1.0"]
    script = subprocess.run([str(project / ".venv" / "bin" / "app-hello"), "x"], capture_output=True, text=True)
    assert script.stdout.strip() == "hello ['x']", script.stderr
    again = ok(monotrail.run("sync", "--venv", ".venv", cwd=project, env=setuptools_index))
    assert "nothing to do" in again.stderr
    # a new console script in pyproject.toml: same version, another wheel, reinstalled
    pyproject = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(pyproject.replace("[project.scripts]", '[project.scripts]\napp-bye = "app.cli:main"'))
    ok(monotrail.run("sync", "--venv", ".venv", cwd=project, env=setuptools_index))
    assert (project / ".venv" / "bin" / "app-bye").is_file()
    # as uv's option: the dependencies only (and an installed project is left alone)
    ok(monotrail.run("sync", "--venv", ".venv", "--no-install-project", cwd=project, env=setuptools_index))
    assert (project / ".venv" / "bin" / "app-bye").is_file()
    ok(monotrail.run("sync", "--venv", "bare", "-p", "3.12", "--no-install-project", cwd=project, env=setuptools_index))
    gone = subprocess.run([str(project / "bare" / "bin" / "python"), "-c", VERSION_OF, "app"], capture_output=True,
                          text=True, cwd=project / "bare")
    assert "PackageNotFoundError" in gone.stderr


@pytest.mark.slow
def test_c_extension_of_the_project_is_built(monotrail: Monotrail, tmp_path: Path,
                                              setuptools_index: dict[str, str]) -> None:
    if shutil.which("cc") is None:
        pytest.skip("SKIPPED LOUDLY: no C compiler (cc) to build the project's extension")
    project = setuptools_project(tmp_path / "app")
    write(project / "setup.py", """
        from setuptools import Extension, setup

        setup(ext_modules=[Extension("app._speedups", ["src/app/_speedups.c"])])
        """)
    write(project / "src" / "app" / "_speedups.c", """
        #include <Python.h>

        static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
        static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
        static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};
        PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
        """)
    uv_lock(project)
    result = ok(monotrail.run("+3.12", "run", "-c", "from app import _speedups; print(_speedups.answer())",
                              cwd=project, env=setuptools_index, timeout=300))
    assert result.stdout.strip() == "42"


@pytest.mark.slow
def test_c_extension_comes_back_when_deleted_or_the_tree_is_made_again(monotrail: Monotrail, tmp_path: Path,
                                                                       setuptools_index: dict[str, str]) -> None:
    """setuptools' build_editable compiles into the source tree (`build_ext --inplace`); the cached
    editable wheel only points there. A deleted extension, `git clean -xdf` or a fresh clone at the
    same path (same build inputs, same cache key) must not leave the project without it."""
    if shutil.which("cc") is None:
        pytest.skip("SKIPPED LOUDLY: no C compiler (cc) to build the project's extension")
    pristine = setuptools_project(tmp_path / "pristine")
    write(pristine / "setup.py", """
        from setuptools import Extension, setup

        setup(ext_modules=[Extension("app._speedups", ["src/app/_speedups.c"])])
        """)
    write(pristine / "src" / "app" / "_speedups.c", """
        #include <Python.h>

        static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, NULL};
        PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
        """)
    uv_lock(pristine)
    project = tmp_path / "app"
    shutil.copytree(pristine, project)
    code = "import app._speedups as s; print(s.__file__.startswith(sys.argv[1]))"
    run = lambda: ok(monotrail.run("+3.12", "run", "python", "-c", "import sys\n" + code, str(project / "src"),  # noqa: E731
                                   cwd=project, env=setuptools_index, timeout=300)).stdout.strip()
    assert run() == "True"
    assert run() == "True"
    (built,) = (project / "src" / "app").glob("_speedups*.so")
    built.unlink()
    assert run() == "True"
    shutil.rmtree(project)  # a fresh copy, as a new clone or `git clean -xdf` leaves it
    shutil.copytree(pristine, project)
    assert run() == "True"
    assert len(list((monotrail.root / "built").glob("editable-*"))) == 1


def test_project_without_build_system_in_a_pylock_is_not_installed(monotrail: Monotrail, tmp_path: Path) -> None:
    """uv's rule: no [build-system] (and no `[tool.uv] package = true`) is a virtual project."""
    project = tmp_path / "app"
    write(project / "pyproject.toml", '[project]\nname = "app"\nversion = "1"\n')
    write(project / "pylock.toml", 'lock-version = "1.0"\ncreated-by = "test"\npackages = []\n')
    write(project / "src" / "app" / "__init__.py", "")
    code = "import importlib.metadata as m\ntry:\n    m.version('app')\nexcept m.PackageNotFoundError:\n    print('none')"
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout.strip() == "none"
    assert not (monotrail.root / "built").exists()


# --- what the lock says, in each format (in-tree backend: no index) --------------------------------


def test_virtual_uv_project_installs_nothing(monotrail: Monotrail, tmp_path: Path) -> None:
    """`virtual = "."` (`[tool.uv] package = false`): no dist-info, no build, and not on sys.path."""
    project = tree_project(tmp_path / "app", "app")
    uv_lock(project, version="1.0", source='virtual = "."')
    (project / "sub").mkdir()
    code = "import importlib.util as u, importlib.metadata as m; print(u.find_spec('app'), list(m.distributions()))"
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project / "sub")).stdout.strip() == "None []"
    assert not (monotrail.root / "built").exists()


def test_uv_workspace_members_are_editable(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tree_project(tmp_path / "ws", "app", scripts={"app-cli": "app:main"},
                           code="def main():\n    print('app main')\n")
    tree_project(project / "packages" / "lib", "lib", code="VALUE = 7\n")
    uv_lock(project, version="1.0", members="lib")
    code = "import importlib.metadata as m, lib; print(m.version('app'), m.version('lib'), lib.VALUE)"
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout.strip() == "1.0 1.0 7"
    assert ok(monotrail.run("+3.12", "run", "app-cli", cwd=project)).stdout.strip() == "app main"


def test_poetry_develop_path_dependency_and_package_mode(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tree_project(tmp_path / "proj", "proj")
    tree_project(tmp_path / "lib", "lib", code="VALUE = 3\n")
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text()
                                            + '\n[tool.poetry]\nname = "proj"\nversion = "1.0"\n')
    write(project / "poetry.lock", """
        [[package]]
        name = "lib"
        version = "1.0"
        description = ""
        optional = false
        python-versions = "*"
        files = []
        develop = true

        [package.source]
        type = "directory"
        url = "../lib"

        [metadata]
        lock-version = "2.0"
        python-versions = ">=3.8"
        content-hash = "x"
        """)
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text()
                                            + '\n[tool.poetry.dependencies]\nlib = { path = "../lib", develop = true }\n')
    code = "import importlib.metadata as m, lib; print(sorted(d.metadata['Name'] for d in m.distributions()))"
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout.strip() == "['lib', 'proj']"
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text()
                                            .replace('name = "proj"\nversion', 'name = "proj"\npackage-mode = false\nversion'))
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout.strip() == "['lib']"


def test_poetry_install_installs_the_root_through_its_backend_unless_no_root(monotrail: Monotrail,
                                                                           tmp_path: Path) -> None:
    project = tree_project(tmp_path / "proj", "proj", scripts={"proj-cli": "proj:main"},
                           code="def main():\n    print('proj main')\n")
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text()
                                            + '\n[tool.poetry]\nname = "proj"\nversion = "1.0"\n')
    write(project / "poetry.lock", """
        package = []

        [metadata]
        lock-version = "2.0"
        python-versions = ">=3.8"
        content-hash = "x"
        """)
    ok(monotrail.run("poetry-install", "--venv", "full", "-p", "3.12", cwd=project))
    # the backend's entry points, not pyproject's [project.scripts] (there are none)
    cli = subprocess.run([str(project / "full" / "bin" / "proj-cli")], capture_output=True, text=True, cwd=tmp_path)
    assert cli.stdout.strip() == "proj main", cli.stderr
    ok(monotrail.run("poetry-install", "--no-root", "--venv", "bare", "-p", "3.12", cwd=project))
    assert not (project / "bare" / "bin" / "proj-cli").exists()


def test_requirements_editable_line(monotrail: Monotrail, tmp_path: Path) -> None:
    tree_project(tmp_path / "lib", "lib", scripts={"lib-tool": "lib:main"}, code="def main():\n    print('lib tool')\n")
    project = tmp_path / "work"
    write(project / "requirements.txt", "-e ../lib\n")
    assert ok(monotrail.run("+3.12", "run", "lib-tool", cwd=project)).stdout.strip() == "lib tool"


def test_a_file_the_build_left_in_the_tree_is_built_again_when_it_is_gone(monotrail: Monotrail,
                                                                         tmp_path: Path) -> None:
    """What a backend writes into the project (setuptools' in-place extensions, setuptools-scm's
    version file) is part of the install: when it is gone (deleted, `git clean -xdf`, a fresh clone
    at the same path: the same build inputs, the same cached wheel), the project is built again.
    Both warm paths notice a deleted file with one stat: the launcher's and the sh front door's."""
    bin_dir = front_door(tmp_path)
    project = tree_project(tmp_path / "app", "app", generate="app_generated.py")
    uv_lock(project, version="1.0")
    write(project / ".python-version", "3.12\n")
    env = base_env(monotrail.root)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    code = "import app_generated; print(app_generated.VALUE)"

    def front(*args: str) -> str:
        result = ok(subprocess.run(["monotrail", "run", *args], cwd=project, env=env, capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL, timeout=120))
        for path in [project, *project.rglob("*")]:  # older than 2 s: the warm entry gets written
            os.utime(path, (1_600_000_000, 1_600_000_000))
        return result.stdout.strip()

    assert front("python", "-c", code) == "generated"
    assert front("python", "-c", code) == "generated"
    (entry,) = (monotrail.root / "warm").rglob("run")
    assert f"-f '{project / 'app_generated.py'}'" in entry.read_text()  # a check of the entry's `[[ ]]`
    (project / "app_generated.py").unlink()  # the sh front door's warm path
    assert front("python", "-c", code) == "generated"
    (project / "app_generated.py").unlink()  # the Python launcher's warm path
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout.strip() == "generated"
    shutil.rmtree(project)
    tree_project(project, "app", generate="app_generated.py")
    uv_lock(project, version="1.0")
    assert ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout.strip() == "generated"
    (project / "app_generated.py").unlink()  # `sync --venv` uses the same cache
    ok(monotrail.run("sync", "--venv", ".venv", "-p", "3.12", cwd=project))
    synced = subprocess.run([str(project / ".venv" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert synced.stdout.strip() == "generated", synced.stderr
    assert len(list((monotrail.root / "built").glob("editable-*"))) == 1


def test_editable_dist_info_says_it_is_editable(monotrail: Monotrail, tmp_path: Path) -> None:
    """PEP 610 `direct_url.json` with `dir_info.editable`, as pip and uv write it for every editable:
    pytest rewrites the asserts of an editable plugin only when it is there
    (`_pytest.config._is_editable_install`)."""
    project = tree_project(tmp_path / "app", "app")
    uv_lock(project, version="1.0")
    code = "import importlib.metadata as m; print(m.distribution('app').read_text('direct_url.json'))"
    shown = ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout
    assert json.loads(shown) == {"url": project.as_uri(), "dir_info": {"editable": True}}
    verified = monotrail.run("store", "verify")  # the file is in the entry's RECORD
    assert verified.returncode == 0, verified.stdout + verified.stderr
    ok(monotrail.run("sync", "--venv", ".venv", "-p", "3.12", cwd=project))
    (info,) = (project / ".venv").glob("lib/python3.12/site-packages/app-1.0.dist-info")
    assert json.loads((info / "direct_url.json").read_text()) == {"url": project.as_uri(), "dir_info": {"editable": True}}
    assert "app-1.0.dist-info/direct_url.json," in (info / "RECORD").read_text()


def test_a_successful_build_says_one_line_and_a_failed_one_names_its_log(monotrail: Monotrail,
                                                                         tmp_path: Path) -> None:
    """As `uv sync`: one line per build, the backend's output (setuptools' deprecation banners,
    which pyproject-hooks hands back as warnings) only in the log of a failed build."""
    project = tree_project(tmp_path / "app", "app", noise=True)
    uv_lock(project, version="1.0")
    result = ok(monotrail.run("+3.12", "run", "-c", "print('ran')", cwd=project))
    assert result.stdout == "ran\n"
    assert len(result.stderr.splitlines()) == 1 and "app" in result.stderr, result.stderr
    assert "deprecated" not in result.stderr
    quiet = ok(monotrail.run("+3.12", "run", "-q", "-c", "print('ran')", cwd=project))
    assert quiet.stderr == ""


def test_failed_editable_build_is_one_error(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tree_project(tmp_path / "app", "app", fail=True)
    uv_lock(project, version="1.0")
    line = clean_error(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))
    assert "app" in line and "editable_backend" in line and "the compiler exploded" in line, line
    log = Path(line.split("(log: ", 1)[1].split(")", 1)[0])
    assert "compiling speedups.c" in log.read_text()
    assert monotrail.store_listing() == []
    assert not list((monotrail.root / "built").glob("editable-*"))
    # the only environment is the (empty) one of the backend's build requirements
    assert [(monotrail.root / "envs" / env / "lock").read_text().split()[0] for env in monotrail.envs()] == [
        str(path) for path in (monotrail.root / "resolved" / "build").glob("*/pylock.toml")]


def test_backend_without_build_editable_is_one_error(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tree_project(tmp_path / "app", "app")
    (project / "editable_backend.py").write_text("def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
                                                 "    raise NotImplementedError\n")
    uv_lock(project, version="1.0")
    line = clean_error(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))
    assert "app" in line and "editable_backend" in line and "build_editable" in line and "PEP 660" in line, line
    assert monotrail.store_listing() == []


# --- maturin (network: maturin and its Rust toolchain) ---------------------------------------------


# An extension module in Rust without crates.io (only maturin comes from the index): the CPython
# C API declared by hand, as pyo3 would generate it; maturin knows the bindings by a dependency
# named pyo3, here an empty local crate.
RUST_EXTENSION = """
use std::os::raw::{c_char, c_int, c_long, c_void};

#[repr(C)]
pub struct PyModuleDef {
    ob_refcnt: isize, ob_type: *mut c_void, m_init: *mut c_void, m_index: isize, m_copy: *mut c_void,
    m_name: *const c_char, m_doc: *const c_char, m_size: isize, m_methods: *mut c_void,
    m_slots: *mut c_void, m_traverse: *mut c_void, m_clear: *mut c_void, m_free: *mut c_void,
}

extern "C" {
    fn PyModule_Create2(def: *mut PyModuleDef, api: c_int) -> *mut c_void;
    fn PyModule_AddIntConstant(module: *mut c_void, name: *const c_char, value: c_long) -> c_int;
}

static mut DEF: PyModuleDef = PyModuleDef {
    ob_refcnt: 1, ob_type: std::ptr::null_mut(), m_init: std::ptr::null_mut(), m_index: 0,
    m_copy: std::ptr::null_mut(), m_name: b"_native\\0".as_ptr() as *const c_char, m_doc: std::ptr::null(),
    m_size: -1, m_methods: std::ptr::null_mut(), m_slots: std::ptr::null_mut(), m_traverse: std::ptr::null_mut(),
    m_clear: std::ptr::null_mut(), m_free: std::ptr::null_mut(),
};

#[no_mangle]
pub unsafe extern "C" fn PyInit__native() -> *mut c_void {
    let module = PyModule_Create2(std::ptr::addr_of_mut!(DEF), 1013);
    if !module.is_null() {
        PyModule_AddIntConstant(module, b"ANSWER\\0".as_ptr() as *const c_char, 42);
    }
    module
}
"""


@pytest.mark.network
def test_maturin_python_source_project_is_importable(monotrail: Monotrail, tmp_path: Path) -> None:
    """maturin's `python-source = "python"`: the import root is not the project's directory nor
    `src/`; only the backend's editable wheel knows it (and builds the extension)."""
    if shutil.which("cargo") is None:
        pytest.skip("SKIPPED LOUDLY: maturin builds need cargo (the Rust toolchain), which is not installed")
    project = tmp_path / "rusty"
    write(project / "pyproject.toml", """
        [build-system]
        requires = ["maturin>=1.5,<2"]
        build-backend = "maturin"

        [project]
        name = "rusty"
        version = "0.1.0"

        [tool.maturin]
        python-source = "python"
        module-name = "rusty._native"
        """)
    write(project / "Cargo.toml", """
        [package]
        name = "rusty"
        version = "0.1.0"
        edition = "2021"

        [lib]
        name = "_native"
        crate-type = ["cdylib"]

        [dependencies]
        pyo3 = { path = "pyo3-stub" }
        """)
    write(project / "pyo3-stub" / "Cargo.toml", '[package]\nname = "pyo3"\nversion = "0.22.0"\nedition = "2021"\n')
    write(project / "pyo3-stub" / "src" / "lib.rs", "")
    write(project / "src" / "lib.rs", RUST_EXTENSION)
    write(project / "python" / "rusty" / "__init__.py", "from rusty._native import ANSWER\n")
    uv_lock(project, name="rusty")
    env = {"PATH": f"{Path(shutil.which('cargo') or '').parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    result = ok(monotrail.run("+3.12", "run", "-c", "import rusty; print(rusty.ANSWER)", cwd=project, env=env,
                              timeout=900))
    assert result.stdout.strip() == "42"
