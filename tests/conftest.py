"""Shared fixtures for the end-to-end tests of the CLI (tests/e2e/test_run.py).

`monotrail` runs as a subprocess (`python -m monotrail`) with its own MONOTRAIL_ROOT under the
test's tmp_path and an environment stripped of anything that would reach a real index or change
how Python starts; wheels are built in the test and served from a local `IndexServer`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap_fixtures import discovery_environ, find_python
from index_fixtures import IndexServer

REPO = Path(__file__).resolve().parents[1]


def _python(minor: int) -> Path:
    """The newest CPython 3.<minor> monotrail finds (pyenv, uv, the system); a loud skip without one."""
    found = find_python(minor)
    if found is None:
        pytest.skip(f"SKIPPED LOUDLY: monotrail finds no CPython 3.{minor} (pyenv, uv or the system dirs); "
                    f"install it (`pyenv install 3.{minor}`, `uv python install 3.{minor}`) to run these tests")
    return found


@pytest.fixture(scope="session")
def py38() -> Path:
    return _python(8)


@pytest.fixture(scope="session")
def py312() -> Path:
    return _python(12)


@pytest.fixture(scope="session")
def uv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv, the peer whose `uv pip install -r pylock.toml` checks the locks monotrail writes: bench/.venv's
    (bench/bench_run.py makes it), else installed from the index into a venv of this test session, never
    a monotrail dependency; a loud skip when neither can be had (an offline machine)."""
    bench = REPO / "bench" / ".venv" / "bin" / "uv"
    if bench.is_file():
        return bench
    venv = tmp_path_factory.mktemp("uv-peer") / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--retries", "1", "--timeout", "30", "uv"], check=True, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"SKIPPED LOUDLY: uv, the peer these tests compare with, is not in bench/.venv and could not "
                    f"be installed from the index ({error})")
    return venv / "bin" / "uv"


def front_door_bin(directory: Path, launcher: str | None = None) -> Path:
    """`directory` (made here) holding the repo's front door `monotrail` beside a
    `monotrail-launcher` that runs this checkout's monotrail (`launcher`: that file's text
    instead), both executable, as the installer lays out `~/.monotrail/bin`."""
    directory.mkdir(parents=True)
    shutil.copy(REPO / "shims" / "monotrail", directory / "monotrail")
    if launcher is None:
        launcher = f'#!/bin/sh\nexec {sys.executable} -m monotrail "$@"\n'
    (directory / "monotrail-launcher").write_text(launcher)
    for name in ("monotrail", "monotrail-launcher"):
        (directory / name).chmod(0o755)
    return directory


def base_env(root: Path, **extra: str) -> dict[str, str]:
    """The test process' environment without pip/uv index settings, venvs or Python start-up knobs,
    and with the pyenv root and uv directory named, so that a test may reduce PATH (or HOME) and
    monotrail still finds the Pythons the fixtures found."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PIP_", "UV_", "MONOTRAIL_")) and key != "VIRTUAL_ENV"
    }
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(discovery_environ())
    env["MONOTRAIL_ROOT"] = str(root)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


class Monotrail:
    """`python -m monotrail ...` against one MONOTRAIL_ROOT."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "monotrail", *args],
            cwd=cwd,
            env=base_env(self.root, **(env or {})),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def store_listing(self) -> list[str]:
        """Every file and directory under <root>/store, relative, sorted."""
        store = self.root / "store"
        if not store.exists():
            return []
        return sorted(str(path.relative_to(store)) for path in store.rglob("*"))

    def envs(self) -> list[str]:
        envs = self.root / "envs"
        return sorted(p.name for p in envs.iterdir()) if envs.exists() else []


@pytest.fixture
def monotrail(tmp_path: Path) -> Monotrail:
    return Monotrail(tmp_path / "root")


@pytest.fixture
def index():
    with IndexServer() as server:
        yield server
