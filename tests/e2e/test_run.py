"""End-to-end tests of `monotrail run`: the CLI as a subprocess, real interpreters, no network.

Every test builds its wheels with `build_wheel`, serves them from a local `IndexServer` (or a
find-links directory), writes a lock inline and runs `python -m monotrail` with its own
MONOTRAIL_ROOT. The `network` tests at the end run the demo and the shared benchmark project
against the real PyPI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from cli_checks import ok
from conftest import REPO, Monotrail, base_env
from index_fixtures import IndexServer, build_wheel, sha256_of

PROBE = "import json, sys; print(json.dumps({})); sys.stdout.flush()"


# --- wheels and locks ----------------------------------------------------------------------------

LOCKED_MOD_CLI = """
import json, sys

def main():
    print(json.dumps({"argv": sys.argv, "version": __import__("locked_mod").VERSION}))
    return int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0
"""
SHOW = "import json, sys\nprint(json.dumps({'argv': sys.argv, 'name': __name__}))\n"


def locked_mod(directory: Path, version: str = "1.0") -> Path:
    return build_wheel(
        directory,
        "locked-mod",
        version,
        {
            "locked_mod/__init__.py": f"VERSION = {version!r}\n",
            "locked_mod/cli.py": LOCKED_MOD_CLI,
            "locked_mod/show.py": SHOW,
        },
        entry_points="[console_scripts]\nlocked-cli = locked_mod.cli:main\n",
    )


def simple_wheel(directory: Path, name: str, version: str = "1.0") -> Path:
    module = name.replace("-", "_")
    return build_wheel(directory, name, version, {f"{module}.py": f"NAME = {name!r}\n"})


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    path = tmp_path / "wheels"
    path.mkdir()
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def requirements(project: Path, index_url: str, lines: list[str]) -> Path:
    """A hashed requirements.txt whose index is `index_url`."""
    return write(project / "requirements.txt", "\n".join([f"--index-url {index_url}", *lines]) + "\n")


def pin(wheel: Path, marker: str = "", sha: str | None = None) -> str:
    name, version = wheel.name.split("-")[:2]
    marker = f" ; {marker}" if marker else ""
    return f"{name.replace('_', '-')}=={version}{marker} --hash=sha256:{sha or sha256_of(wheel)}"


APP = """
import json, os, sys
import locked_mod
print(json.dumps({
    "argv": sys.argv,
    "prefix": sys.prefix,
    "locked_mod": locked_mod.__file__,
    "version": locked_mod.VERSION,
}))
sys.exit(int(os.environ.get("APP_EXIT", "0")))
"""


@pytest.fixture
def project(tmp_path: Path, index: IndexServer, wheelhouse: Path) -> Path:
    """`app.py` next to a hashed requirements.txt locking locked-mod 1.0 on the local index."""
    directory = tmp_path / "project"
    wheel = locked_mod(wheelhouse)
    index.add(wheel)
    requirements(directory, f"{index.url}/simple", [pin(wheel)])
    write(directory / "app.py", APP)
    return directory


def last_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_clean_error(result: subprocess.CompletedProcess) -> str:
    """exit != 0, an `error:` line, no traceback; returns the error line(s)."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors, f"no `error:` line in stderr:\n{result.stderr}"
    return "\n".join(errors)


# --- script target -------------------------------------------------------------------------------


ARGV = "import sys; print(sys.argv)\n"


@pytest.mark.parametrize("relative", [True, False], ids=["app.py", "/abs/app.py"])
def test_script_argv_equals_plain_python(monotrail: Monotrail, project: Path, py312: Path, relative: bool) -> None:
    script = write(project / "argv.py", ARGV)
    target = "argv.py" if relative else str(script)
    plain = subprocess.run([str(py312), target, "a", "b"], cwd=project, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    result = ok(monotrail.run("+3.12", "run", target, "a", "b", cwd=project))
    assert result.stdout == plain.stdout
    if relative:
        assert result.stdout.strip() == "['argv.py', 'a', 'b']"


@pytest.mark.parametrize("code", [0, 3, 1])
def test_script_exit_code_is_propagated(monotrail: Monotrail, project: Path, code: int) -> None:
    result = monotrail.run("+3.12", "run", "app.py", cwd=project, env={"APP_EXIT": str(code)})
    assert result.returncode == code, result.stderr
    assert last_json(result)["version"] == "1.0"


def test_script_runs_without_a_venv_from_the_store(monotrail: Monotrail, project: Path) -> None:
    """The program's sys.prefix is the environment (a venv without packages: see
    tests/e2e/test_venv_view.py); the packages are where the store unpacked them."""
    data = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))
    assert Path(data["prefix"]).parent == monotrail.root / "envs"
    assert not any(Path(data["prefix"]).rglob("locked_mod*"))
    assert Path(data["locked_mod"]).is_relative_to(monotrail.root / "store")
    assert "/store/locked-mod/1.0/" in data["locked_mod"]


def test_monotrail_script_shorthand(monotrail: Monotrail, project: Path) -> None:
    """`monotrail SCRIPT` (a shebang line's form) is `monotrail run SCRIPT`."""
    data = last_json(ok(monotrail.run("+3.12", "app.py", "x", cwd=project)))
    assert data["argv"] == ["app.py", "x"] and data["version"] == "1.0"


# --- -m, -c, python ------------------------------------------------------------------------------


def test_module_target_with_args(monotrail: Monotrail, project: Path) -> None:
    data = last_json(ok(monotrail.run("+3.12", "run", "-m", "locked_mod.show", "a", "-b", cwd=project)))
    assert data["name"] == "__main__"
    assert data["argv"][1:] == ["a", "-b"]
    assert data["argv"][0].endswith("locked_mod/show.py")
    assert Path(data["argv"][0]).is_relative_to(monotrail.root / "store")


@pytest.mark.parametrize(
    "target",
    [["-c"], ["python", "-c"], ["python3", "-c"]],
    ids=["-c", "python -c", "python3 -c"],
)
def test_code_target_with_args(monotrail: Monotrail, project: Path, target: list[str]) -> None:
    code = "import json, sys, locked_mod; print(json.dumps([sys.argv, locked_mod.VERSION]))"
    result = ok(monotrail.run("+3.12", "run", *target, code, "a", "--b", cwd=project))
    assert json.loads(result.stdout) == [["-c", "a", "--b"], "1.0"]


@pytest.mark.parametrize(
    ("flags", "expression", "expected"),
    [
        (["-u"], "sys.stdout.write_through", True),
        (["-O"], "sys.flags.optimize", 1),
        (["-OO"], "sys.flags.optimize", 2),
        (["-B"], "sys.flags.dont_write_bytecode", 1),
        (["-X", "monotrail_test=1"], "sys._xoptions.get('monotrail_test')", "1"),
        (["-W", "error::DeprecationWarning"], "sys.warnoptions", ["error::DeprecationWarning"]),
    ],
    ids=["-u", "-O", "-OO", "-B", "-X", "-W"],
)
def test_python_flags_reach_the_interpreter(
    monotrail: Monotrail, project: Path, flags: list[str], expression: str, expected: object
) -> None:
    code = f"import json, sys, locked_mod; print(json.dumps([{expression}, sys.argv, locked_mod.VERSION]))"
    result = ok(monotrail.run("+3.12", "run", "python", *flags, "-c", code, "arg", cwd=project))
    assert json.loads(result.stdout) == [expected, ["-c", "arg"], "1.0"]


def test_unbuffered_is_off_without_u(monotrail: Monotrail, project: Path) -> None:
    """The counterpart of `-u`: stdout to a pipe is block-buffered when nothing asks otherwise."""
    result = ok(monotrail.run("+3.12", "run", "python", "-c", "import sys; print(sys.stdout.write_through)", cwd=project))
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("args", "argv"),
    [([], [""]), (["-"], ["-"]), (["-", "a", "b"], ["-", "a", "b"])],
    ids=["python", "python -", "python - a b"],
)
def test_python_reads_the_program_from_piped_stdin(monotrail: Monotrail, project: Path, args: list[str], argv: list[str]) -> None:
    program = "import json, sys, locked_mod\nprint(json.dumps([sys.argv, locked_mod.VERSION]))\n"
    result = ok(monotrail.run("+3.12", "run", "python", *args, cwd=project, input=program))
    assert json.loads(result.stdout) == [argv, "1.0"]


# --- console scripts -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 4])
def test_console_script_of_a_locked_wheel(monotrail: Monotrail, project: Path, code: int) -> None:
    result = monotrail.run("+3.12", "run", "locked-cli", "x", "--flag", str(code), cwd=project)
    assert result.returncode == code, result.stderr
    data = last_json(result)
    assert data["version"] == "1.0"
    assert data["argv"][1:] == ["x", "--flag", str(code)]
    assert Path(data["argv"][0]).name == "locked-cli"


def test_unknown_command_is_an_error(monotrail: Monotrail, project: Path) -> None:
    result = monotrail.run("+3.12", "run", "no-such-command-xyz", cwd=project)
    assert "no-such-command-xyz" in assert_clean_error(result)


# --- extras and groups (uv.lock) -----------------------------------------------------------------


def uv_entry(index: IndexServer, wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    artifact = index.add(wheel)
    return textwrap.dedent(
        f"""
        [[package]]
        name = "{name.replace('_', '-')}"
        version = "{version}"
        source = {{ registry = "{index.url}/simple" }}
        wheels = [{{ url = "{artifact.url}", hash = "sha256:{sha256_of(wheel)}" }}]
        """
    )


@pytest.fixture
def uv_project(tmp_path: Path, index: IndexServer, wheelhouse: Path) -> Path:
    """A uv.lock: locked-mod always, extras feat-a / feat-b, groups dev (default) and lint."""
    directory = tmp_path / "uvproject"
    wheels = {name: simple_wheel(wheelhouse, name) for name in ("extra-a", "extra-b", "dev-tool", "lint-tool")}
    body = textwrap.dedent(
        """
        version = 1
        revision = 3
        requires-python = ">=3.8"

        [[package]]
        name = "app"
        version = "0.1.0"
        source = { virtual = "." }
        dependencies = [{ name = "locked-mod" }]

        [package.optional-dependencies]
        feat-a = [{ name = "extra-a" }]
        feat-b = [{ name = "extra-b" }]

        [package.dev-dependencies]
        dev = [{ name = "dev-tool" }]
        lint = [{ name = "lint-tool" }]
        """
    )
    body += uv_entry(index, locked_mod(wheelhouse))
    body += "".join(uv_entry(index, wheel) for wheel in wheels.values())
    write(directory / "uv.lock", body)
    return directory


CANDIDATES = ["locked_mod", "extra_a", "extra_b", "dev_tool", "lint_tool"]
FIND = "import importlib.util, json; print(json.dumps([n for n in %r if importlib.util.find_spec(n)]))" % CANDIDATES


@pytest.mark.parametrize(
    ("options", "env", "expected"),
    [
        ([], {}, ["locked_mod", "dev_tool"]),
        (["-E", "feat-a"], {}, ["locked_mod", "extra_a", "dev_tool"]),
        (["--extra", "feat-a", "-E", "feat-b"], {}, ["locked_mod", "extra_a", "extra_b", "dev_tool"]),
        ([], {"MONOTRAIL_EXTRAS": "feat-a,feat-b"}, ["locked_mod", "extra_a", "extra_b", "dev_tool"]),
        (["--all-extras"], {}, ["locked_mod", "extra_a", "extra_b", "dev_tool"]),
        (["--no-default-groups"], {}, ["locked_mod"]),
        (["--no-default-groups", "-G", "dev"], {}, ["locked_mod", "dev_tool"]),
        (["-G", "lint"], {}, ["locked_mod", "dev_tool", "lint_tool"]),
        (["--no-default-groups", "--group", "lint", "-E", "feat-b"], {}, ["locked_mod", "extra_b", "lint_tool"]),
    ],
    ids=["default", "-E", "two extras", "MONOTRAIL_EXTRAS", "--all-extras", "--no-default-groups",
         "-G dev", "-G lint", "mixed"],
)
def test_extras_and_groups(
    monotrail: Monotrail, uv_project: Path, options: list[str], env: dict[str, str], expected: list[str]
) -> None:
    result = ok(monotrail.run("+3.12", "run", *options, "-c", FIND, cwd=uv_project, env=env))
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(
    ("options", "env", "named"),
    [
        (["-E", "nope"], {}, "nope"),
        ([], {"MONOTRAIL_EXTRAS": "feat-a,nope"}, "nope"),
    ],
    ids=["-E", "MONOTRAIL_EXTRAS"],
)
def test_unknown_extra_names_the_defined_extras(
    monotrail: Monotrail, uv_project: Path, options: list[str], env: dict[str, str], named: str
) -> None:
    result = monotrail.run("+3.12", "run", *options, "-c", "pass", cwd=uv_project, env=env)
    errors = assert_clean_error(result).splitlines()
    assert len(errors) == 1, result.stderr
    assert named in errors[0] and "feat-a" in errors[0] and "feat-b" in errors[0], errors[0]
    assert monotrail.store_listing() == []


def test_unknown_group_names_the_defined_groups(monotrail: Monotrail, uv_project: Path) -> None:
    result = monotrail.run("+3.12", "run", "-G", "nope", "-c", "pass", cwd=uv_project)
    errors = assert_clean_error(result).splitlines()
    assert len(errors) == 1 and "nope" in errors[0] and "dev" in errors[0] and "lint" in errors[0], result.stderr


# --- markers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("python", "installed"), [("3.8", True), ("3.12", False)])
def test_marker_selects_per_interpreter(
    monotrail: Monotrail, tmp_path: Path, index: IndexServer, wheelhouse: Path, py38: Path, py312: Path,
    python: str, installed: bool,
) -> None:
    directory = tmp_path / "markers"
    mod, old = locked_mod(wheelhouse), simple_wheel(wheelhouse, "old-only")
    index.add(mod)
    index.add(old)
    requirements(directory, f"{index.url}/simple", [pin(mod), pin(old, "python_version < '3.11'")])
    code = "import importlib.util, json, sys; print(json.dumps([sys.version_info[:2], bool(importlib.util.find_spec('old_only')), bool(importlib.util.find_spec('locked_mod'))]))"
    result = ok(monotrail.run(f"+{python}", "run", "-c", code, cwd=directory))
    assert json.loads(result.stdout) == [[int(part) for part in python.split(".")], installed, True]
    assert any(name.startswith("old-only") for name in monotrail.store_listing()) is installed
    assert ("/files/old_only-1.0-py3-none-any.whl" in index.state.log) is installed


# --- warm path, offline, lock changes ------------------------------------------------------------


def test_warm_run_does_not_contact_the_index(monotrail: Monotrail, project: Path, index: IndexServer) -> None:
    first = ok(monotrail.run("+3.12", "run", "app.py", "a", cwd=project))
    requests = list(index.state.log)
    assert requests, "the cold run should have used the index"
    second = ok(monotrail.run("+3.12", "run", "app.py", "a", cwd=project))
    assert index.state.log == requests
    assert second.stdout == first.stdout


def test_warm_run_works_with_the_index_gone(monotrail: Monotrail, project: Path, index: IndexServer) -> None:
    first = ok(monotrail.run("+3.12", "run", "app.py", cwd=project))
    index.__exit__(None, None, None)
    second = ok(monotrail.run("+3.12", "run", "app.py", cwd=project))
    assert second.stdout == first.stdout


@pytest.mark.parametrize("drop_envs", [False, True], ids=["env kept", "envs deleted"])
def test_offline_on_a_warm_store(monotrail: Monotrail, project: Path, index: IndexServer, drop_envs: bool) -> None:
    first = ok(monotrail.run("+3.12", "run", "app.py", cwd=project))
    index.__exit__(None, None, None)
    store = monotrail.store_listing()
    if drop_envs:  # the cold path, with everything it needs already in the store
        shutil.rmtree(monotrail.root / "envs")
    second = ok(monotrail.run("+3.12", "run", "--offline", "app.py", cwd=project))
    assert second.stdout == first.stdout
    assert monotrail.store_listing() == store


def test_second_project_with_stored_wheels_needs_no_index(monotrail: Monotrail, project: Path, index: IndexServer) -> None:
    """Another project's hashed requirements.txt (what `uv export` writes) whose wheels are all in
    the store runs with the index down and its cached pages gone: entries are found by hash."""
    first = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))
    second = project.parent / "second"
    shutil.copytree(project, second)
    pinned = (second / "requirements.txt").read_text()  # and the hash of a file not stored (an sdist, another wheel)
    (second / "requirements.txt").write_text(pinned.replace("--hash=", f"--hash=sha256:{'5' * 64} --hash=", 1))
    index.__exit__(None, None, None)
    requests = list(index.state.log)
    shutil.rmtree(monotrail.root / "cache" / "simple")
    store = monotrail.store_listing()
    result = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=second)))
    assert (result["version"], result["locked_mod"]) == (first["version"], first["locked_mod"])
    assert index.state.log == requests
    assert monotrail.store_listing() == store


DOWNLOAD_ONLY_MODULES = {"httpx", "rich", "resolvelib", "installer", "urllib.request", "http.client", "ssl", "email"}
# What writing an environment of stored entries does without: removing or copying trees (shutil,
# with bz2 and lzma), temp names (tempfile, random), the unpackers' lock (threading).
UNPACK_ONLY_MODULES = {"shutil", "bz2", "lzma", "tempfile", "random", "threading"}
# Its records are monotrail.records.Record, not dataclasses: the dataclasses module imports inspect,
# ast, dis and tokenize (~7 ms), and making each dataclass cost ~0.7 ms.
RECORD_ONLY_MODULES = {"dataclasses", "inspect", "ast", "dis", "tokenize"}


def test_second_project_with_stored_wheels_imports_nothing_downloads_need(
    monotrail: Monotrail, project: Path, index: IndexServer, wheelhouse: Path
) -> None:
    """The path "every entry already stored" writes an environment from markers: no HTTP client,
    no progress bar, no resolver, no wheel installer (`-X importtime` lists what the launcher
    imported), also for a console script and a `.data/scripts` file in its bin/."""
    tool = build_wheel(wheelhouse, "tool", "1.0", {"tool.py": "def main():\n    pass\n",
                                                  "tool-1.0.data/scripts/tool-sh": "#!python\nprint('data script')\n"},
                       entry_points="[console_scripts]\ntool = tool:main\n")
    index.add(tool)
    with open(project / "requirements.txt", "a") as file:
        file.write(pin(tool) + "\n")
    ok(monotrail.run("+3.12", "run", "app.py", cwd=project))
    second = project.parent / "second"
    shutil.copytree(project, second)
    (second / "pyproject.toml").write_text("[tool.other]\n")  # another recipe: no copy of the first environment
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monotrail", "+3.12", "run", "app.py"], cwd=second,
        env=base_env(monotrail.root), capture_output=True, text=True, timeout=60,
    )
    ok(result)
    imported = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "monotrail.environment.install" in imported  # the cold path ran
    assert imported & DOWNLOAD_ONLY_MODULES == set()
    assert imported & UNPACK_ONLY_MODULES == set()
    assert imported & RECORD_ONLY_MODULES == set()
    assert "monotrail.store.index" not in imported  # every entry stored: no index is configured
    assert {path.name for path in (monotrail.root / "envs").glob("*/bin/tool*")} == {"tool", "tool-sh"}


def env_files(env: Path) -> dict[str, str]:
    """An environment's files, its own key written KEY, the `lock` record and compiled hooks left out."""
    return {str(path.relative_to(env)): (os.readlink(path) if path.is_symlink() else path.read_text("utf-8")
                                         if path.is_file() else "dir").replace(env.name, "KEY")
            for path in sorted(env.rglob("*")) if path.name != "lock" and "__pycache__" not in path.parts}


def test_a_second_project_with_the_same_lock_gets_a_copy_of_the_first_environment(
    monotrail: Monotrail, project: Path, index: IndexServer, wheelhouse: Path
) -> None:
    """Same lock and pyproject bytes, request and interpreter, every package stored: the second
    environment is the first's copied with its key replaced (monotrail.environment.clone), file for
    file what the full cold path writes, without importing it."""
    tool = build_wheel(wheelhouse, "tool", "1.0", {"tool.py": "def main():\n    print('tool ran')\n",
                                                  "tool-1.0.data/scripts/tool-sh": "#!python\nprint('data script')\n"},
                       entry_points="[console_scripts]\ntool = tool:main\n")
    index.add(tool)
    with open(project / "requirements.txt", "a") as file:
        file.write(pin(tool) + "\n")
    first = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))
    assert list((monotrail.root / "cache" / "recipes").iterdir())
    copies = []
    for name in ("second", "third"):
        copies.append(project.parent / name)
        shutil.copytree(project, copies[-1])
    index.__exit__(None, None, None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monotrail", "+3.12", "run", "app.py"], cwd=copies[0],
        env=base_env(monotrail.root, MONOTRAIL_LOG="debug"), capture_output=True, text=True, timeout=60,
    )
    assert last_json(ok(result))["locked_mod"] == first["locked_mod"]
    assert "copied from an environment of the same lock" in result.stderr
    imported = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"monotrail.environment.install", "monotrail.store.entries", "monotrail.selection",
                           "monotrail.interpreters.discovery", "monotrail.lock.model"}
    assert ok(monotrail.run("+3.12", "run", "tool", cwd=copies[0])).stdout == "tool ran\n"
    assert ok(monotrail.run("+3.12", "run", "tool-sh", cwd=copies[0])).stdout == "data script\n"
    shutil.rmtree(monotrail.root / "cache" / "recipes")  # the third one takes the full cold path
    ok(monotrail.run("+3.12", "run", "app.py", cwd=copies[1]))
    envs = {(env / "lock").read_text().splitlines()[0]: env for env in (monotrail.root / "envs").iterdir()}
    copied, written = (envs[str(directory / "requirements.txt")] for directory in copies)
    assert env_files(copied) == env_files(written)
    assert (copied / "lock").read_text().splitlines()[0] == str(copies[0] / "requirements.txt")


def test_a_copied_project_whose_pyproject_differs_where_no_reader_looks_gets_a_copy(
    monotrail: Monotrail, project: Path, index: IndexServer
) -> None:
    """A copy of a project with a comment or `[tool.ruff]` added to its pyproject.toml gets the
    first environment copied; one whose dependencies changed gets an environment of its own."""
    (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\ndependencies = ["locked-mod"]\n')
    first = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))
    index.__exit__(None, None, None)
    edits = {"comment": "# a copy\n", "ruff": "[tool.ruff]\nline-length = 99\n",
             "dependencies": '[project]\nname = "app"\nversion = "1"\ndependencies = ["locked-mod", "six"]\n'}
    for name, text in edits.items():
        copy = project.parent / name
        shutil.copytree(project, copy)
        pyproject = copy / "pyproject.toml"
        pyproject.write_text(text if name == "dependencies" else pyproject.read_text() + text)
        result = monotrail.run("+3.12", "run", "app.py", cwd=copy, env={"MONOTRAIL_LOG": "debug"})
        assert last_json(ok(result))["locked_mod"] == first["locked_mod"]
        assert ("copied from an environment" in result.stderr) is (name != "dependencies"), name


def test_an_environment_is_not_copied_from_one_whose_store_entry_is_gone(
    monotrail: Monotrail, project: Path, index: IndexServer
) -> None:
    ok(monotrail.run("+3.12", "run", "app.py", cwd=project))
    for entry in (monotrail.root / "store" / "locked-mod").glob("*/*"):
        shutil.rmtree(entry)
    second = project.parent / "second"
    shutil.copytree(project, second)
    result = monotrail.run("+3.12", "run", "app.py", cwd=second, env={"MONOTRAIL_LOG": "debug"})
    assert "/store/locked-mod/1.0/" in last_json(ok(result))["locked_mod"]
    assert "copied from an environment" not in result.stderr


def test_changed_lock_gives_a_new_environment(monotrail: Monotrail, project: Path, index: IndexServer, wheelhouse: Path) -> None:
    newer = locked_mod(wheelhouse, "2.0")
    index.add(newer)  # on the index from the start: the index page cached by the first run lists it
    first = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))
    assert first["version"] == "1.0"
    envs = monotrail.envs()
    requirements(project, f"{index.url}/simple", [pin(newer)])
    second = last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))
    assert second["version"] == "2.0"
    assert "/store/locked-mod/2.0/" in second["locked_mod"]
    assert len(monotrail.envs()) == len(envs) + 1
    assert any(name.startswith("locked-mod/1.0/") for name in monotrail.store_listing())


def test_lock_bumped_to_a_version_published_after_the_last_run(
    monotrail: Monotrail, project: Path, index: IndexServer, wheelhouse: Path
) -> None:
    assert last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))["version"] == "1.0"
    newer = locked_mod(wheelhouse, "2.0")
    index.add(newer)  # released after the first run cached the project page
    requirements(project, f"{index.url}/simple", [pin(newer)])
    assert last_json(ok(monotrail.run("+3.12", "run", "app.py", cwd=project)))["version"] == "2.0"


def test_find_links_directory(monotrail: Monotrail, tmp_path: Path, index: IndexServer, wheelhouse: Path) -> None:
    """The index does not have the project: the wheel comes from a `--find-links` directory."""
    directory = tmp_path / "flat"
    wheel = locked_mod(wheelhouse)  # not served by the index
    requirements(directory, f"{index.url}/simple", [pin(wheel)])
    code = "import locked_mod; print(locked_mod.VERSION, locked_mod.__file__)"
    result = ok(monotrail.run("+3.12", "run", "--find-links", str(wheelhouse), "-c", code, cwd=directory))
    version, path = result.stdout.split()
    assert version == "1.0" and Path(path).is_relative_to(monotrail.root / "store")
    assert index.requests("/files/") == []


# --- children ------------------------------------------------------------------------------------


CHILD = """
import subprocess, sys
child = subprocess.run([sys.executable, "-c", "import locked_mod, sys; print(locked_mod.VERSION, sys.prefix == %r)" % sys.prefix],
                       capture_output=True, text=True)
print(child.returncode, child.stdout.strip(), child.stderr.strip())
"""


@pytest.mark.parametrize("python", ["3.8", "3.12"])
def test_subprocess_children_see_the_locked_packages(
    monotrail: Monotrail, project: Path, py38: Path, py312: Path, python: str
) -> None:
    write(project / "child.py", CHILD)
    result = ok(monotrail.run(f"+{python}", "run", "child.py", cwd=project))
    assert result.stdout.strip() == "0 1.0 True"


# --- bad input -----------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Case:
    """Set up a project in `directory`; return (cwd, monotrail args, text the error must contain)."""

    def __init__(self, setup: Callable, warm: bool = True) -> None:
        self.setup = setup
        self.warm = warm  # put another package into the store first, so "unchanged" means something


def _no_lockfile(directory: Path, index: IndexServer, wheels: Path):
    write(directory / "deep" / "app.py", "print('hi')\n")
    return directory / "deep", ["+3.12", "run", "app.py"], [str(directory / "deep"), str(directory)]


def _malformed_toml(directory: Path, index: IndexServer, wheels: Path):
    write(directory / "pylock.toml", 'lock-version = "1.0"\ncreated-by = "test"\n[[packages]\nname = "x"\n')
    write(directory / "app.py", "print('hi')\n")
    return directory, ["+3.12", "run", "app.py"], [f"{directory / 'pylock.toml'}:3"]


def _hash_mismatch(directory: Path, index: IndexServer, wheels: Path):
    wheel = locked_mod(wheels)
    index.add(wheel)
    requirements(directory, f"{index.url}/simple", [pin(wheel, sha="0" * 64)])
    return directory, ["+3.12", "run", "-c", "import locked_mod"], ["locked-mod==1.0", "allowed hash"]


def _hash_mismatch_on_download(directory: Path, index: IndexServer, wheels: Path):
    """A pylock.toml whose wheel URL serves bytes with another hash than the lock's."""
    wheel = locked_mod(wheels)
    artifact = index.add(wheel)
    write(
        directory / "pylock.toml",
        f"""
        lock-version = "1.0"
        created-by = "test"

        [[packages]]
        name = "locked-mod"
        version = "1.0"
        wheels = [{{ name = "{wheel.name}", url = "{artifact.url}", hashes = {{ sha256 = "{'1' * 64}" }} }}]
        """,
    )
    return directory, ["+3.12", "run", "-c", "import locked_mod"], [f"hash mismatch for {wheel.name}", "1" * 64]


def _missing_on_index(directory: Path, index: IndexServer, wheels: Path):
    wheel = locked_mod(wheels)  # built but never served
    requirements(directory, f"{index.url}/simple", [pin(wheel)])
    return directory, ["+3.12", "run", "-c", "import locked_mod"], ["locked-mod"]


def _index_unreachable(directory: Path, index: IndexServer, wheels: Path):
    wheel = locked_mod(wheels)
    requirements(directory, f"http://127.0.0.1:{closed_port()}/simple", [pin(wheel)])
    return directory, ["+3.12", "run", "-c", "import locked_mod"], ["127.0.0.1"]


def _offline_empty_store(directory: Path, index: IndexServer, wheels: Path):
    wheel = locked_mod(wheels)
    index.add(wheel)
    requirements(directory, f"{index.url}/simple", [pin(wheel)])
    return directory, ["+3.12", "run", "--offline", "-c", "import locked_mod"], ["offline"]


def _missing_script(directory: Path, index: IndexServer, wheels: Path):
    requirements(directory, f"{index.url}/simple", [])
    return directory, ["+3.12", "run", "nope.py"], ["nope.py"]


def _no_such_python(directory: Path, index: IndexServer, wheels: Path):
    requirements(directory, f"{index.url}/simple", [])
    write(directory / "app.py", "print('hi')\n")
    return directory, ["+3.99", "run", "app.py"], ["3.99"]


def _unknown_option(directory: Path, index: IndexServer, wheels: Path):
    requirements(directory, f"{index.url}/simple", [])
    write(directory / "app.py", "print('hi')\n")
    return directory, ["+3.12", "run", "--bogus", "app.py"], ["--bogus"]


def _requires_python_excludes(directory: Path, index: IndexServer, wheels: Path):
    wheel = locked_mod(wheels)
    artifact = index.add(wheel)
    write(
        directory / "pylock.toml",
        f"""
        lock-version = "1.0"
        created-by = "test"
        requires-python = ">=3.10"

        [[packages]]
        name = "locked-mod"
        version = "1.0"
        wheels = [{{ name = "{wheel.name}", url = "{artifact.url}", hashes = {{ sha256 = "{sha256_of(wheel)}" }} }}]
        """,
    )
    write(directory / "app.py", "import locked_mod\n")
    return directory, ["+3.8", "run", "app.py"], [">=3.10"]


BAD_INPUT = {
    "no lockfile": Case(_no_lockfile),
    "malformed TOML": Case(_malformed_toml),
    "hash mismatch": Case(_hash_mismatch),
    "hash mismatch on download": Case(_hash_mismatch_on_download),
    "missing on index": Case(_missing_on_index),
    "index unreachable": Case(_index_unreachable),
    "offline empty store": Case(_offline_empty_store, warm=False),
    "missing script": Case(_missing_script),
    "no such python": Case(_no_such_python),
    "unknown option": Case(_unknown_option),
    "requires-python excludes": Case(_requires_python_excludes),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_one_clean_error(
    monotrail: Monotrail, tmp_path: Path, index: IndexServer, wheelhouse: Path, py38: Path, py312: Path, case: str
) -> None:
    spec = BAD_INPUT[case]
    if spec.warm:
        warm = tmp_path / "warm"
        other = simple_wheel(wheelhouse, "other-pkg")
        index.add(other)
        requirements(warm, f"{index.url}/simple", [pin(other)])
        ok(monotrail.run("+3.12", "run", "-c", "import other_pkg", cwd=warm))
    before = monotrail.store_listing()
    assert bool(before) is spec.warm
    cwd, args, mentions = spec.setup(tmp_path / "bad", index, wheelhouse)
    result = monotrail.run(*args, cwd=cwd)
    errors = assert_clean_error(result)
    for text in mentions:
        assert text in errors, f"{text!r} not in the error:\n{result.stderr}"
    assert monotrail.store_listing() == before


# --- debug log -----------------------------------------------------------------------------------


def test_debug_log_prints_decisions(monotrail: Monotrail, project: Path) -> None:
    debug = {"MONOTRAIL_LOG": "debug"}
    cold = ok(monotrail.run("+3.12", "run", "app.py", cwd=project, env=debug))
    assert "cold" in cold.stderr and "interpreter" in cold.stderr and "requirements.txt" in cold.stderr
    assert all(line.startswith("monotrail ") for line in cold.stderr.splitlines() if line.strip()), cold.stderr
    warm = ok(monotrail.run("+3.12", "run", "app.py", cwd=project, env=debug))
    assert "warm" in warm.stderr and "exec" in warm.stderr
    quiet = ok(monotrail.run("+3.12", "run", "app.py", cwd=project))
    assert quiet.stderr == ""


# --- real PyPI -----------------------------------------------------------------------------------

SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def network_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network") / "root"


@pytest.mark.network
@pytest.mark.parametrize("python", ["3.8", "3.12"])
def test_network_demo(network_root: Path, py38: Path, py312: Path, python: str) -> None:
    result = ok(Monotrail(network_root).run(f"+{python}", "run", "-q", str(REPO / "examples" / "demo" / "demo.py"), timeout=300))
    assert "13.9.4" in result.stdout and python in result.stdout
    assert re.search(r"rich copied into a venv\s*\S\s*False", result.stdout), result.stdout


@pytest.mark.network
def test_network_data_science_uv_lock(network_root: Path, py312: Path) -> None:
    project = SHARED / "bench" / "data-science"
    if not (project / "uv.lock").is_file():
        pytest.skip(f"SKIPPED LOUDLY: {project}/uv.lock is absent")
    result = ok(
        Monotrail(network_root).run(
            "+3.12", "run", "-q", "--lock", "uv.lock", "-c", "import numpy, pandas; print(numpy.__version__)",
            cwd=project, timeout=600,
        )
    )
    assert result.stdout.strip()[:1].isdigit(), result.stdout
