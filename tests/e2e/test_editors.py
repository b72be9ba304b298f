"""Editors and type checkers see the lock's packages with no venv (issue 15, part 1).

`monotrail env python` prints a per-project interpreter; tools run it with their own scripts and
read `sys.path` (pyright's and VS Code's interpreter query, mypy's pyinfo, jedi), then search those
directories themselves. These tests run such scripts through it, from another directory, and check
that the store's lib dirs are there (a typed package, a namespace package split over two wheels, a
`-stubs` distribution), that the path survives a lock change, and that `monotrail ide` merges its
keys into the settings files. The real mypy and basedpyright, from PyPI, are the network tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import Monotrail, base_env
from index_fixtures import build_wheel, write_find_links_requirements

# What pyright runs (packages/pyright-internal/src/common/fullAccessHost.ts, `extractSys`), then
# what mypy's pyinfo.getsearchdirs() returns: sys.path without its first entry, site-packages.
PYRIGHT_QUERY = (
    "import os, os.path, sys; normalize = lambda p: os.path.normcase(os.path.normpath(p)); "
    "cwd = normalize(os.getcwd()); orig_sys_path = [p for p in sys.path if p != '']; "
    "sys.path[:] = [p for p in sys.path if p != '' and normalize(p) != cwd]; "
    "import sys, json; json.dump(dict(path=orig_sys_path, prefix=sys.prefix), sys.stdout)"
)
MYPY_PYINFO = textwrap.dedent("""\
    import json, os, site, sys
    print(json.dumps([site.getsitepackages(), [os.path.abspath(p) for p in sys.path[1:]]]))
    """)

APP = textwrap.dedent("""\
    import typedpkg
    from nsp.one import one
    from nsp.two import two
    from untyped import name
    a: str = typedpkg.double(1)
    b: int = one()
    c: str = two()
    d: int = name("x")
    """)


def wheels_for(directory: Path, version: str = "1.0") -> list[Path]:
    return [
        build_wheel(directory, "typedpkg", version, {
            "typedpkg/__init__.py": f"VERSION = {version!r}\ndef double(x: int) -> int:\n    return 2 * x\n",
            "typedpkg/py.typed": "",
        }),
        # one namespace package, `nsp`, split over two distributions
        build_wheel(directory, "nsp-one", "1.0", {"nsp/one/__init__.py": "def one() -> str:\n    return 'one'\n",
                                                 "nsp/one/py.typed": ""}),
        build_wheel(directory, "nsp-two", "1.0", {"nsp/two/__init__.py": "def two() -> bytes:\n    return b'2'\n",
                                                 "nsp/two/py.typed": ""}),
        build_wheel(directory, "untyped", "1.0", {"untyped/__init__.py": "def name(x):\n    return x\n"}),
        build_wheel(directory, "untyped-stubs", "1.0", {"untyped-stubs/__init__.pyi": "def name(x: str) -> str: ...\n"}),
    ]


@pytest.fixture
def project(tmp_path: Path, py312) -> Path:
    """A hashed requirements.txt over a --find-links directory of the wheels, and src/app.py."""
    directory = tmp_path / "project"
    (directory / "wheels").mkdir(parents=True)
    write_find_links_requirements(directory, wheels_for(directory / "wheels"))
    (directory / ".python-version").write_text("3.12\n")
    (directory / "src").mkdir()
    (directory / "src" / "app.py").write_text(APP)
    return directory


def env_python(monotrail: Monotrail, project: Path, *options: str) -> Path:
    result = monotrail.run("env", "python", *options, cwd=project)
    ok(result)
    return Path(result.stdout.strip())


def run_tool(python: Path, root: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """As an editor starts the interpreter: from its own directory, with its own script."""
    return subprocess.run([str(python), *args], cwd=cwd, env=base_env(root), capture_output=True, text=True,
                          timeout=120)


def manifest_lib_dirs(monotrail: Monotrail, project: Path) -> list[str]:
    info = json.loads(ok(monotrail.run("env", "info", "--json", cwd=project)).stdout)
    return info["lib_dirs"]


def test_env_python_reports_the_locked_lib_dirs_to_tools_from_any_directory(monotrail, project, tmp_path):
    python = env_python(monotrail, project)
    assert python.is_relative_to(monotrail.root / "ide") and os.access(python, os.X_OK)
    assert not list(project.glob(".monotrail*")) and not (project / ".venv").exists()  # nothing written there
    elsewhere = tmp_path / "editor"
    elsewhere.mkdir()
    lib_dirs = manifest_lib_dirs(monotrail, project)
    assert len(lib_dirs) == 5 and all(d.startswith(str(monotrail.root / "store")) for d in lib_dirs)

    pyright = json.loads(ok(run_tool(python, monotrail.root, "-c", PYRIGHT_QUERY, cwd=elsewhere)).stdout)
    assert pyright["path"][-5:] == lib_dirs  # the end of sys.path, where a venv's site-packages would be
    assert pyright["prefix"].startswith(str(monotrail.root / "envs"))
    (elsewhere / "pyinfo.py").write_text(MYPY_PYINFO)
    _, search = json.loads(ok(run_tool(python, monotrail.root, "pyinfo.py", cwd=elsewhere)).stdout)
    # What a type checker looks for in those directories, without importing anything:
    found = {name: [d for d in search if os.path.exists(os.path.join(d, name))] for name in (
        "typedpkg/py.typed", "nsp/one/__init__.py", "nsp/two/__init__.py", "untyped-stubs/__init__.pyi")}
    assert all(len(dirs) == 1 for dirs in found.values()), found
    assert found["nsp/one/__init__.py"] != found["nsp/two/__init__.py"]

    # Code run through it imports like `monotrail run`: the store, and a module of the working
    # directory before it.
    (elsewhere / "untyped.py").write_text("def name(x):\n    return 'shadowed'\n")
    code = "import typedpkg, nsp.one, nsp.two, untyped; print(typedpkg.VERSION, nsp.two.two(), untyped.name(1))"
    assert ok(run_tool(python, monotrail.root, "-c", code, cwd=elsewhere)).stdout.split() == ["1.0", "b'2'", "shadowed"]


def test_env_python_follows_the_lock_and_keeps_its_path(monotrail, project, tmp_path):
    python = env_python(monotrail, project)
    before = manifest_lib_dirs(monotrail, project)
    write_find_links_requirements(project, wheels_for(project / "wheels", version="2.0"))  # as `monotrail lock` would
    code = "import sys, typedpkg; print(typedpkg.VERSION); print('\\n'.join(sys.path))"
    out = ok(run_tool(python, monotrail.root, "-c", code, cwd=tmp_path)).stdout.splitlines()
    assert out[0] == "2.0"
    assert env_python(monotrail, project) == python  # the editor's setting stays right
    after = manifest_lib_dirs(monotrail, project)
    typed_before = [d for d in before if "/typedpkg/" in d]
    assert typed_before and typed_before[0] not in out and [d for d in after if "/typedpkg/2.0/" in d][0] in out


def test_env_info_names_lock_python_environment_lib_dirs_and_scripts(monotrail, project):
    wheel = build_wheel(project / "wheels", "tooly", "1.0", {"tooly/__init__.py": "def main():\n    return 0\n"},
                        entry_points="[console_scripts]\ntooly = tooly:main\n")
    write_find_links_requirements(project, [*wheels_for(project / "wheels"), wheel])
    info = json.loads(ok(monotrail.run("env", "info", "--json", cwd=project)).stdout)
    assert info["project"] == str(project.resolve())
    assert info["lock"] == str(project / "requirements.txt")
    assert info["python_version"].startswith("3.12.")
    assert info["interpreter"] == str(env_python(monotrail, project))
    assert info["environment"].startswith(str(monotrail.root / "envs"))
    assert len(info["lib_dirs"]) == 6 and info["search_path"][-6:] == info["lib_dirs"]
    assert info["console_scripts"] == {"tooly": os.path.join(info["environment"], "bin", "tooly")}
    text = ok(monotrail.run("env", "info", cwd=project)).stdout
    assert f"lock             {project / 'requirements.txt'}" in text and "console scripts  tooly" in text


def test_env_outside_a_project_is_one_error_line(monotrail, tmp_path):
    result = monotrail.run("env", "python", cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("error: no project here: no lockfile found") and "Traceback" not in result.stderr


def test_run_project_searches_the_lock_there_and_keeps_the_working_directory(monotrail, project, tmp_path):
    code = "import os, typedpkg; print(os.getcwd(), typedpkg.VERSION)"
    out = ok(monotrail.run("run", "--project", str(project), "python", "-c", code, cwd=tmp_path)).stdout.split()
    assert out == [str(tmp_path), "1.0"]
    result = monotrail.run("run", "--project", str(tmp_path / "nope"), "python", "-c", "pass", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: --project")


SETTINGS = """\
// my settings
{
    /* editor */
    "editor.tabSize": 2, // two
    "python.defaultInterpreterPath": "/old/python",
    "files.exclude": {"**/.git": true,},
}
"""


def test_ide_vscode_merges_into_settings_keeping_comments(monotrail, project):
    settings = project / ".vscode" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(SETTINGS)
    result = ok(monotrail.run("ide", "vscode", cwd=project))
    python = env_python(monotrail, project)
    assert settings.read_text() == SETTINGS.replace("/old/python", str(python))
    assert result.stdout == f"{settings}: points at {python}\n"
    ok(monotrail.run("ide", "vscode", cwd=project))
    assert settings.read_text() == SETTINGS.replace("/old/python", str(python))  # idempotent

    settings.unlink()
    ok(monotrail.run("ide", "vscode", cwd=project))
    assert json.loads(settings.read_text()) == {"python.defaultInterpreterPath": str(python)}


def test_ide_vscode_refuses_a_file_it_cannot_parse(monotrail, project):
    settings = project / ".vscode" / "settings.json"
    settings.parent.mkdir()
    broken = '{\n    "editor.tabSize": 2\n    "python.defaultInterpreterPath": "/x"\n}\n'
    settings.write_text(broken)
    result = monotrail.run("ide", "vscode", cwd=project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {settings}:3:5: not JSON with comments: ',' or '}}' was expected",
        "hint: fix settings.json (or move it away) and rerun; it was not changed",
    ]
    assert settings.read_text() == broken


def test_ide_lists_its_targets(monotrail, tmp_path):
    out = ok(monotrail.run("ide", cwd=tmp_path)).stdout
    assert "vscode" in out and "pyright" in out
    result = monotrail.run("ide", "emacs", cwd=tmp_path)
    assert result.returncode == 2 and "unknown command 'emacs'" in result.stderr


def test_ide_pyright_points_venv_at_a_site_packages_listing_the_lib_dirs(monotrail, project):
    ok(monotrail.run("ide", "pyright", cwd=project))
    config = json.loads((project / "pyrightconfig.json").read_text())
    assert config["pythonVersion"] == "3.12"  # not what `python3` on PATH is, which pyright would assume
    venv = Path(config["venvPath"]) / config["venv"]
    assert venv == env_python(monotrail, project).parent.parent
    [pth] = venv.glob("lib/python3.12/site-packages/*.pth")  # where pyright reads a venv's packages
    assert pth.read_text().splitlines()[-5:] == manifest_lib_dirs(monotrail, project)

    # pyproject.toml with a [tool.pyright] table (and no pyrightconfig.json): edited in place
    (project / "pyrightconfig.json").unlink()
    pyproject = "[project]\nname = 'app'\n\n[tool.pyright]\n# strict, always\ntypeCheckingMode = \"strict\"\nvenv = \"old\"\n\n[tool.other]\nx = 1\n"
    (project / "pyproject.toml").write_text(pyproject)
    ok(monotrail.run("ide", "pyright", cwd=project))
    assert (project / "pyproject.toml").read_text() == pyproject.replace(
        'venv = "old"\n', f'venv = "{venv.name}"\npythonVersion = "3.12"\nvenvPath = "{venv.parent}"\n')
    assert not (project / "pyrightconfig.json").exists()

    # a pythonVersion the user set stays (pyright checks the code against it)
    (project / "pyrightconfig.json").write_text('{\n  "pythonVersion": "3.9", // the oldest we support\n}\n')
    ok(monotrail.run("ide", "pyright", cwd=project))
    text = (project / "pyrightconfig.json").read_text()
    assert text.startswith('{\n  "pythonVersion": "3.9", // the oldest we support\n  "venvPath": ')


@pytest.mark.network
def test_mypy_under_monotrail_run_reports_real_type_errors(monotrail, project):
    result = monotrail.run("run", "-q", "-f", "wheels", "--with", "mypy", "mypy", "src/", cwd=project, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Cannot find implementation or library stub" not in result.stdout
    errors = [line.split(": error: ")[1] for line in result.stdout.splitlines() if ": error: " in line]
    assert errors == [
        'Incompatible types in assignment (expression has type "int", variable has type "str")  [assignment]',
        'Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]',
        'Incompatible types in assignment (expression has type "bytes", variable has type "str")  [assignment]',
        'Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]',
    ]


@pytest.mark.network
def test_basedpyright_pointed_at_env_python_reports_real_type_errors(monotrail, project):
    python = env_python(monotrail, project)
    for args in (["--pythonpath", str(python)], []):  # the interpreter, then `ide pyright`'s venv
        if not args:
            ok(monotrail.run("ide", "pyright", cwd=project))
        result = monotrail.run("x", "basedpyright", *args, "src/app.py", cwd=project, timeout=600)
        assert "could not be resolved" not in result.stdout, result.stdout
        assert result.stdout.count("reportAssignmentType") == 4, result.stdout + result.stderr


@pytest.mark.network
def test_pylint_under_monotrail_run_resolves_locked_and_namespace_packages(monotrail, project):
    (project / "src" / "lint.py").write_text(textwrap.dedent('''\
        """Lint probe."""
        import typedpkg
        from nsp import two

        typedpkg.nothere()
        two.missing()
        '''))
    result = monotrail.run("run", "-q", "-f", "wheels", "--with", "pylint", "pylint", "--disable=all", "--enable=E",
                           "src/lint.py", cwd=project, timeout=600)
    assert "import-error" not in result.stdout, result.stdout
    assert "E1101: Module 'typedpkg' has no 'nothere' member (no-member)" in result.stdout, result.stdout + result.stderr
    assert "E1101: Module 'nsp.two' has no 'missing' member (no-member)" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["env", "python", "--bogus"], "error: unknown option '--bogus' for `monotrail env` and `monotrail ide`"),
    (["env", "python", "stray"], "error: unexpected argument 'stray': `monotrail env` and `monotrail ide` take only"),
    (["ide", "vscode", "-G"], "error: option -G needs a value"),
    (["env", "python", "--with", "mypy"], "error: `monotrail env` takes no --project or --with"),
    (["env", "bogus"], "error: unknown command 'bogus' for `monotrail env`"),
])
def test_bad_env_and_ide_command_lines_are_one_error_line(monotrail, project, args, message):
    result = monotrail.run(*args, cwd=project)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 2, result.stderr
    assert not (monotrail.root / "ide").exists() and not (project / ".vscode").exists()
