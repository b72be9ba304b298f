"""`monotrail kernel install|list|uninstall`: a Jupyter kernelspec that runs the project's lock (issue 15).

Offline: a stand-in `ipykernel` wheel (its `ipykernel_launcher` reports what it sees) over a local
find-links directory. The real kernel started by jupyter_client is in test_jupyter_network.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cli_checks import clean_error, ok
from conftest import Monotrail, base_env
from index_fixtures import build_wheel, write_find_links_requirements

LAUNCHER = """
import json, os, sys
import importlib.metadata as metadata
print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:], "prefix": sys.prefix,
                  "app": metadata.version("app-lib"), "root": os.environ.get("MONOTRAIL_ROOT")}))
"""


def make_project(directory: Path, with_ipykernel: bool = True) -> Path:
    wheels = directory / "wheels"
    wheels.mkdir(parents=True)
    built = [build_wheel(wheels, "app-lib", "2.5", {"app_lib/__init__.py": "VERSION = '2.5'\n"})]
    if with_ipykernel:
        built.append(build_wheel(wheels, "ipykernel", "6.29.0", {
            "ipykernel/__init__.py": "",
            "ipykernel/resources/logo-32x32.png": b"\x89PNG fake",
            "ipykernel_launcher.py": LAUNCHER,
        }))
    write_find_links_requirements(directory, built)
    (directory / ".python-version").write_text("3.12\n")
    return directory


@pytest.fixture
def jupyter_env(tmp_path: Path) -> dict[str, str]:
    return {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data")}


def test_install_writes_a_kernelspec_that_runs_the_lock(monotrail: Monotrail, tmp_path: Path, py312: Path,
                                                       jupyter_env: dict[str, str]) -> None:
    project = make_project(tmp_path / "my-project")
    result = ok(monotrail.run("kernel", "install", "--display-name", "My project", cwd=project, env=jupyter_env))
    kernel = Path(jupyter_env["JUPYTER_DATA_DIR"]) / "kernels" / "my-project"
    assert f"installed kernelspec my-project in {kernel}" in result.stderr
    spec = json.loads((kernel / "kernel.json").read_text())
    assert spec["display_name"] == "My project"
    assert spec["language"] == "python"
    assert spec["metadata"]["monotrail"] == {"project": str(project), "lock": str(project / "requirements.txt")}
    assert spec["env"] == {"MONOTRAIL_ROOT": str(monotrail.root)}
    argv = spec["argv"]
    assert argv[-4:] == ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    # The lock and .python-version are searched from the project, whatever the kernel's working directory.
    assert argv[argv.index("--project") + 1] == str(project)
    assert "--lock" not in argv and "-p" not in argv
    assert (kernel / "logo-32x32.png").read_bytes() == b"\x89PNG fake"  # ipykernel's logos, as its installer copies

    # What Jupyter does: run argv in the notebook's directory (here outside the project), with env.
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    command = [word.replace("{connection_file}", "/tmp/kernel-x.json") for word in argv]
    environ = {**base_env(tmp_path / "unused-root"), **spec["env"]}
    completed = subprocess.run(command, cwd=elsewhere, env=environ, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    assert seen["app"] == "2.5"
    assert seen["cwd"] == str(elsewhere)  # Jupyter's working directory is kept, as a venv's kernel keeps it
    assert seen["argv"] == ["-f", "/tmp/kernel-x.json"]
    assert seen["root"] == str(monotrail.root)
    # The project's own environment, not one of its own.
    prefix = ok(monotrail.run("run", "python", "-c", "import sys; print(sys.prefix)", cwd=project)).stdout.strip()
    assert seen["prefix"] == prefix


def test_a_python_request_and_a_lock_given_are_written_down(monotrail: Monotrail, tmp_path: Path, py312: Path,
                                                             jupyter_env: dict[str, str]) -> None:
    """Jupyter starts kernels without the command line's `+VERSION` or MONOTRAIL_PYTHON."""
    project = make_project(tmp_path / "proj")
    (project / ".python-version").unlink()
    ok(monotrail.run("+3.12", "kernel", "install", "--name", "k", "--lock", "requirements.txt", cwd=project,
                     env=jupyter_env))
    argv = json.loads((Path(jupyter_env["JUPYTER_DATA_DIR"]) / "kernels" / "k" / "kernel.json").read_text())["argv"]
    assert argv[argv.index("-p") + 1] == "3.12"
    assert argv[argv.index("--lock") + 1] == str(project / "requirements.txt")


def test_list_and_uninstall_touch_only_monotrails_kernels(monotrail: Monotrail, tmp_path: Path, py312: Path,
                                                          jupyter_env: dict[str, str]) -> None:
    project = make_project(tmp_path / "proj")
    ok(monotrail.run("kernel", "install", "--name", "Demo.1", cwd=project, env=jupyter_env))
    kernels = Path(jupyter_env["JUPYTER_DATA_DIR"]) / "kernels"
    foreign = kernels / "python3"
    foreign.mkdir()
    (foreign / "kernel.json").write_text(json.dumps({"argv": ["python"], "display_name": "Python 3", "language": "python"}))

    listed = ok(monotrail.run("kernel", "list", "--json", env=jupyter_env))
    assert [(row["name"], row["lock"]) for row in json.loads(listed.stdout)] == [("demo.1", str(project / "requirements.txt"))]
    assert "demo.1" in ok(monotrail.run("kernel", "list", env=jupyter_env)).stdout

    error = clean_error(monotrail.run("kernel", "uninstall", "python3", env=jupyter_env))
    assert "was not installed by monotrail" in error
    assert foreign.is_dir()
    assert "no kernel 'nope'" in clean_error(monotrail.run("kernel", "uninstall", "nope", env=jupyter_env))

    ok(monotrail.run("kernel", "uninstall", "demo.1", env=jupyter_env))
    assert sorted(os.listdir(kernels)) == ["python3"]


def test_a_lock_without_ipykernel_is_one_error_with_the_way_out(monotrail: Monotrail, tmp_path: Path, py312: Path,
                                                                jupyter_env: dict[str, str]) -> None:
    project = make_project(tmp_path / "proj", with_ipykernel=False)
    result = monotrail.run("kernel", "install", cwd=project, env=jupyter_env)
    error = clean_error(result)
    assert "has no ipykernel" in error and "requirements.txt" in error
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert len(hint) == 1 and "--with ipykernel" in hint[0] and "dependency group" in hint[0]
    assert not Path(jupyter_env["JUPYTER_DATA_DIR"]).exists()


def test_the_user_data_dir_is_jupyters(monotrail: Monotrail, tmp_path: Path, py312: Path) -> None:
    """No JUPYTER_DATA_DIR: `$XDG_DATA_HOME/jupyter`, else `~/.local/share/jupyter` (jupyter_core on Linux)."""
    if os.uname().sysname != "Linux":
        pytest.skip("SKIPPED LOUDLY: the Linux default of jupyter_core's data dir is checked here")
    project = make_project(tmp_path / "proj")
    home = tmp_path / "home"
    ok(monotrail.run("kernel", "install", "--name", "a", cwd=project, env={"HOME": str(home)}))
    assert (home / ".local" / "share" / "jupyter" / "kernels" / "a" / "kernel.json").is_file()
    ok(monotrail.run("kernel", "install", "--name", "b", cwd=project,
                     env={"HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "xdg")}))
    assert (tmp_path / "xdg" / "jupyter" / "kernels" / "b" / "kernel.json").is_file()


def test_a_bad_name_is_a_usage_error(monotrail: Monotrail, tmp_path: Path, py312: Path, jupyter_env: dict[str, str]) -> None:
    project = make_project(tmp_path / "proj")
    assert "invalid kernel name 'a b'" in clean_error(monotrail.run("kernel", "install", "--name", "a b", cwd=project,
                                                                    env=jupyter_env))
