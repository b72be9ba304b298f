"""A run finds its locked packages' data files where a venv has them: under `sys.prefix` (issue 15).

Wheels ship `.data/data/` files (JupyterLab's assets, labextensions, `etc/jupyter` config,
kernelspecs, man pages) and `.data/headers/`; an installer puts them under the prefix. A run's
prefix is its environment, so the environment links them there: `sysconfig.get_paths()['data']`,
`sys.prefix + '/share/...'` and jupyter_core's paths find them. Conflicts between packages are
settled by name order (the first keeps the path), and no data file takes the environment's own
files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import Monotrail
from index_fixtures import build_wheel, write_find_links_requirements

PROBE = """
import json, os, sys, sysconfig
data = sysconfig.get_paths()["data"]
def read(path):
    try:
        with open(path) as file:
            return file.read()
    except OSError as error:
        return type(error).__name__
print(json.dumps({
    "prefix": sys.prefix,
    "data": data,
    "static": read(os.path.join(sys.prefix, "share", "jupyter", "lab", "static", "index.html")),
    "config": read(os.path.join(data, "etc", "jupyter", "jupyter_server_config.d", "assets_pkg.json")),
    "shared": read(os.path.join(sys.prefix, "share", "shared.txt")),
    "header": read(os.path.join(sys.prefix, "include", "site", "python%d.%d" % sys.version_info[:2], "Assets-Pkg", "assets.h")),
    "cfg": read(os.path.join(sys.prefix, "pyvenv.cfg")),
    "import": __import__("assets_pkg").VALUE,
}))
"""


def wheels(directory: Path) -> list[Path]:
    return [
        build_wheel(directory, "Assets-Pkg", "1.0", {
            "assets_pkg/__init__.py": "VALUE = 'assets'\n",
            "Assets_Pkg-1.0.data/data/share/jupyter/lab/static/index.html": "<html>lab</html>\n",
            "Assets_Pkg-1.0.data/data/etc/jupyter/jupyter_server_config.d/assets_pkg.json": '{"ServerApp": {}}\n',
            "Assets_Pkg-1.0.data/data/share/shared.txt": "from assets-pkg\n",
            "Assets_Pkg-1.0.data/data/pyvenv.cfg": "home = /nowhere\n",
            "Assets_Pkg-1.0.data/data/repair.json": "{}\n",
            "Assets_Pkg-1.0.data/data/pids/1": "",
            "Assets_Pkg-1.0.data/headers/assets.h": "#define ASSETS 1\n",
        }),
        build_wheel(directory, "zz-other", "1.0", {
            "zz_other/__init__.py": "",
            "zz_other-1.0.data/data/share/shared.txt": "from zz-other\n",
        }),
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    found = directory / "wheels"
    found.mkdir(parents=True)
    write_find_links_requirements(directory, wheels(found))
    (directory / ".python-version").write_text("3.12\n")
    return directory


def probe(monotrail: Monotrail, project: Path) -> dict:
    return json.loads(ok(monotrail.run("run", "python", "-c", PROBE, cwd=project)).stdout.strip().splitlines()[-1])


def test_data_files_are_under_the_prefix_as_in_a_venv(monotrail: Monotrail, project: Path, py312: Path) -> None:
    seen = probe(monotrail, project)
    assert seen["import"] == "assets"
    assert seen["data"] == seen["prefix"]
    assert seen["static"] == "<html>lab</html>\n"
    assert seen["config"] == '{"ServerApp": {}}\n'
    assert seen["header"] == "#define ASSETS 1\n"  # pip's venv scheme: include/site/pythonX.Y/<Name>/
    # Two packages ship one path: the first by name keeps it, every time.
    assert seen["shared"] == "from assets-pkg\n"
    # A data file never replaces the environment's own files.
    assert seen["cfg"].startswith("home = ") and "/nowhere" not in seen["cfg"]
    assert not Path(seen["prefix"], "pids", "1").exists()  # gc would read it as a live process
    # ... nor is one written through: the environment's repair.json is its own file, the store's untouched.
    repair = Path(seen["prefix"], "repair.json")
    assert repair.stat().st_nlink == 1 and "argv" in json.loads(repair.read_text())
    [stored] = [path for path in (monotrail.root / "store").rglob("repair.json")]
    assert stored.read_text() == "{}\n"
    # Inside the prefix even when links are resolved (hard links), and the store's copy is the same file.
    static = Path(seen["prefix"], "share", "jupyter", "lab", "static", "index.html")
    assert os.path.realpath(static) == str(static)
    assert static.stat().st_nlink == 2
    # A second run is warm and sees the same.
    assert probe(monotrail, project) == seen


def test_writing_under_the_prefix_never_writes_into_the_store(monotrail: Monotrail, project: Path, py312: Path) -> None:
    """`jupyter labextension develop`, `kernelspec install --sys-prefix`: new files land in the
    environment, whose directories are its own."""
    code = ("import os, sys; path = os.path.join(sys.prefix, 'share', 'jupyter', 'lab', 'static', 'new.js'); "
            "open(path, 'w').write('x'); print(os.path.realpath(path))")
    written = ok(monotrail.run("run", "python", "-c", code, cwd=project)).stdout.strip().splitlines()[-1]
    assert written.startswith(str(monotrail.root / "envs"))
    assert not any(name.endswith("new.js") for name in monotrail.store_listing())
