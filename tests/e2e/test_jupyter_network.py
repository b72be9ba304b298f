"""JupyterLab and a Jupyter kernel from PyPI, venv-less (issue 15): network-marked.

`monotrail run jupyter lab` serves `/lab` and its assets (the store's data files are linked under
the environment's prefix, where JupyterLab looks: monotrail/environment/data_files.py); a prebuilt
labextension shipped as data files (a tiny wheel built here) is listed by `jupyter labextension
list`; jupyter_client starts the kernel `monotrail kernel install` wrote and gets the locked
version back, in the directory Jupyter starts it in.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import Monotrail, base_env
from index_fixtures import build_wheel

pytestmark = pytest.mark.network

LABEXT = "share/jupyter/labextensions/fake-labext/"

KERNEL_CHECK = """
import json, sys
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=180, cwd=sys.argv[2])
try:
    out = []
    reply = client.execute_interactive(
        "import json, os, sys, jupyterlab; print(json.dumps([jupyterlab.__version__, os.getcwd(), sys.prefix]))",
        output_hook=lambda msg: out.append(msg["content"]["text"]) if msg["msg_type"] == "stream" else None,
        timeout=60)
    print(json.dumps({"status": reply["content"]["status"], "output": "".join(out)}))
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
"""


def fake_labextension(directory: Path) -> Path:
    """A prebuilt (federated) labextension as a Python package ships it: `.data/data/share/...`."""
    data = "fake_labext-0.1.0.data/data/" + LABEXT
    package = {"name": "fake-labext", "version": "0.1.0",
               "jupyterlab": {"_build": {"load": "static/remoteEntry.abc.js", "extension": "./extension"}}}
    install = {"packageManager": "python", "packageName": "fake_labext", "uninstallInstructions": "pip uninstall"}
    return build_wheel(directory, "fake-labext", "0.1.0", {
        "fake_labext/__init__.py": "",
        data + "package.json": json.dumps(package),
        data + "install.json": json.dumps(install),
        data + "static/remoteEntry.abc.js": "var _JUPYTERLAB = _JUPYTERLAB || {};\n",
    })


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Monotrail, Path, dict[str, str]]:
    """A project locking jupyterlab, ipykernel (PyPI) and the fake labextension (find-links)."""
    tmp = tmp_path_factory.mktemp("jupyter")
    monotrail = Monotrail(tmp / "root")
    project = tmp / "project"
    (project / "wheels").mkdir(parents=True)
    fake_labextension(project / "wheels")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "lab-project"\nversion = "0.1"\nrequires-python = ">=3.12"\n'
        'dependencies = ["jupyterlab", "ipykernel", "fake-labext"]\n')
    (project / ".python-version").write_text("3.12\n")
    (project / "notebooks").mkdir()
    jupyter = {"JUPYTER_DATA_DIR": str(tmp / "jupyter-data"), "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
               "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"), "IPYTHONDIR": str(tmp / "ipython")}
    ok(monotrail.run("lock", "-f", "wheels", cwd=project, timeout=600))
    ok(monotrail.run("run", "python", "-c", "import jupyterlab", cwd=project, env=jupyter, timeout=900))
    return monotrail, project, jupyter


def locked_version(project: Path, name: str) -> str:
    from monotrail.lock.tomlfile import load_toml

    lock = load_toml(project / "pylock.toml")
    return next(package["version"] for package in lock["packages"] if package["name"] == name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_jupyter_lab_serves_its_ui_and_assets(lab: tuple[Monotrail, Path, dict[str, str]]) -> None:
    monotrail, project, jupyter = lab
    port = free_port()
    command = [sys.executable, "-m", "monotrail", "run", "jupyter", "lab", "--no-browser", f"--port={port}",
               "--ServerApp.token=", "--ServerApp.password=", *(["--allow-root"] if os.geteuid() == 0 else [])]
    log = project / "lab.log"
    with open(log, "w") as output:
        server = subprocess.Popen(command, cwd=project, env=base_env(monotrail.root, **jupyter),
                                  stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        status, page = 0, b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, page = fetch(f"http://127.0.0.1:{port}/lab")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, log.read_text()
        text = page.decode()
        main = text.split('src="', 1)[1].split('"', 1)[0] if 'src="' in text else ""
        assert "/static/lab/main." in main, text[:2000]
        asset_status, asset = fetch(f"http://127.0.0.1:{port}{main}")
        assert asset_status == 200 and len(asset) > 10_000
        assert "fake-labext" in text  # the federated extension is in the page config
        ext_status, _ = fetch(f"http://127.0.0.1:{port}/lab/extensions/fake-labext/static/remoteEntry.abc.js")
        assert ext_status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    output = log.read_text()
    assert "assets not found" not in output
    assert "JupyterLab application directory is " + str(monotrail.root / "envs") in output


def test_a_labextension_shipped_as_data_files_is_listed(lab: tuple[Monotrail, Path, dict[str, str]]) -> None:
    monotrail, project, jupyter = lab
    listed = ok(monotrail.run("run", "jupyter", "labextension", "list", cwd=project, env=jupyter))
    text = listed.stdout + listed.stderr
    assert "fake-labext v0.1.0" in text and "enabled" in text and "OK" in text, text
    paths = ok(monotrail.run("run", "jupyter", "--paths", "--json", cwd=project, env=jupyter))
    data = json.loads(paths.stdout)["data"]
    assert any(path.startswith(str(monotrail.root / "envs")) and path.endswith("share/jupyter") for path in data), data


def test_the_installed_kernel_runs_the_locked_packages(lab: tuple[Monotrail, Path, dict[str, str]]) -> None:
    monotrail, project, jupyter = lab
    ok(monotrail.run("kernel", "install", "--name", "lab-project", cwd=project, env=jupyter, timeout=300))
    check = project / "check_kernel.py"
    check.write_text(KERNEL_CHECK)
    for cwd in (project, project / "notebooks"):  # the notebook's directory, as JupyterLab starts kernels
        result = ok(monotrail.run("run", "python", str(check), "lab-project", str(cwd), cwd=project, env=jupyter,
                                  timeout=300))
        reply = json.loads(result.stdout.strip().splitlines()[-1])
        assert reply["status"] == "ok", reply
        version, kernel_cwd, prefix = json.loads(reply["output"])
        assert version == locked_version(project, "jupyterlab")
        assert kernel_cwd == str(cwd)
        assert prefix.startswith(str(monotrail.root / "envs"))
