"""A fast subset of the compatibility suite (bench/compat.py, docs/compatibility.md) against the real index.

Each project's sdist is downloaded at run time, locked with its own tool (uv, installed into
bench/.venv-compat-tools on first use, never a dependency of monotrail), and its own test suite runs
once in the venv uv makes and once with `monotrail run -m pytest`: pytest's counts must be the same.
The scenario starts a real tool both ways and checks what a user would see.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, base_env

# A flat project on the oldest Python, a src-layout project with its own C extension, a project
# its own test dependencies depend on, and a tool that re-executes itself through sys.executable:
# about a minute on two cores.
PROJECTS = ("more-itertools-py38", "markupsafe", "pluggy")
SCENARIOS = ("flask-reload",)


@pytest.fixture(scope="module")
def compat(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    monotrail = Path(sys.executable).parent / "monotrail"
    if not monotrail.is_file():
        pytest.skip(f"SKIPPED LOUDLY: {monotrail} is absent; install this checkout (pip install -e .) to run it")
    tmp = tmp_path_factory.mktemp("compat")
    env = base_env(tmp / "root")
    for version in ("3.8", "3.12"):
        found = subprocess.run([str(monotrail), "python", "find", version], env=env, capture_output=True, text=True)
        if found.returncode != 0:
            pytest.skip(f"SKIPPED LOUDLY: no CPython {version} found by `monotrail python find {version}`")
    results = tmp / "results.json"
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "compat.py"), "--only", ",".join(PROJECTS + SCENARIOS),
         "--work", str(tmp / "work"), "--runs", str(tmp / "runs"), "--monotrail", str(monotrail),
         "--json", str(results), "--no-docs"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    data = json.loads(results.read_text())
    return {row.get("project", {}).get("key") or row["scenario"]: row for row in data["projects"] + data["scenarios"]}


@pytest.mark.network
@pytest.mark.parametrize("key", PROJECTS)
def test_project_suite_counts_match_its_venv(compat: dict[str, dict], key: str) -> None:
    row = compat[key]
    assert "error" not in row, row["error"]
    venv, monotrail = row["venv"], row["monotrail"]
    assert venv["counts"] and venv["counts"]["passed"] > 0, venv["note"]
    assert monotrail["counts"] == venv["counts"], (monotrail["note"], row["differences"][:5])
    assert monotrail["exit_code"] == venv["exit_code"]


@pytest.mark.network
@pytest.mark.parametrize("key", SCENARIOS)
def test_scenario_works_as_in_its_venv(compat: dict[str, dict], key: str) -> None:
    row = compat[key]
    assert "error" not in row, row["error"]
    assert row["venv"]["ok"], row["venv"]["detail"]
    assert row["monotrail"]["ok"], row["monotrail"]["detail"]
