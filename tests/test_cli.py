"""The command line itself: output into a pipe whose reader left, help for every command, and one
`error:` line for a command that does not exist. `python -m monotrail` runs as a subprocess with
its own MONOTRAIL_ROOT and without PYTHONUNBUFFERED (base_env drops PYTHON*), as a user runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_checks import ok  # noqa: E402
from conftest import Monotrail, base_env  # noqa: E402
from index_fixtures import build_wheel, sha256_of  # noqa: E402


@pytest.fixture
def filled(monotrail: Monotrail, tmp_path: Path) -> Monotrail:
    """A store with one entry and one environment, from a hashed requirements.txt and --find-links."""
    project = tmp_path / "project"
    wheels = project / "wheels"
    wheels.mkdir(parents=True)
    wheel = build_wheel(wheels, "some-mod", "1.0", {"some_mod/__init__.py": ""})
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links wheels\nsome-mod==1.0 --hash=sha256:{sha256_of(wheel)}\n"
    )
    ok(monotrail.run("run", "-c", "import some_mod", cwd=project))
    return monotrail


# --- a reader that leaves early (`monotrail store list | head -5`) --------------------------------


@pytest.mark.parametrize("args", [
    ["--help"], ["run", "--help"], ["store", "--help"], ["python", "list"], ["python", "list", "--json"],
    ["store", "path"], ["store", "list"], ["store", "list", "--json"],
])
def test_a_closed_pipe_ends_the_command_quietly(filled: Monotrail, tmp_path: Path, args: List[str]) -> None:
    """Output is buffered (no PYTHONUNBUFFERED), so the write that meets the closed pipe may be the
    flush at exit: it must end as `ls | head` does, without `Exception ignored ... BrokenPipeError`."""
    process = subprocess.Popen([sys.executable, "-m", "monotrail", *args], cwd=tmp_path, env=base_env(filled.root),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader leaves before the first byte
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141, stderr
    assert "BrokenPipeError" not in stderr and "Exception ignored" not in stderr and "Traceback" not in stderr, stderr
