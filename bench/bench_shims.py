"""Overhead of monotrail's python shims outside a project, next to the plain interpreter and a pyenv shim.

    python bench/bench_shims.py [--runs 50]

Writes the shims (`monotrail shims install --dir <tmp>`, this checkout's code) and times
`python3.12 -c pass` in a directory with no lockfile above it, three ways, in one run:

1. the plain interpreter (~/.pyenv/versions/3.12.*/bin/python3.12);
2. our shim, <tmp>/python3.12 (goal: adds <= 3 ms);
3. pyenv's shim, ~/.pyenv/shims/python3.12, with PYENV_VERSION set to that same 3.12 so it is
   the selected version (pyenv's shims fail for versions that are not selected).

Each line prints the command, best and mean wall time over N interleaved runs (after one warm-up), and the
ratio to the plain interpreter; then the two shims against each other. PYTHONDONTWRITEBYTECODE is
removed from the environment, as in bench_run.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYENV = Path(os.path.expanduser("~/.pyenv"))


def python312() -> Path:
    found = sorted(PYENV.glob("versions/3.12.*/bin/python3.12"))
    if not found:
        sys.exit("no ~/.pyenv/versions/3.12.*/bin/python3.12: install one (`pyenv install 3.12`)")
    return found[-1]


def environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "MONOTRAIL_PYTHON", "MONOTRAIL_SHIM")}
    env.update(extra)
    return env


def timed(commands: list[tuple[list[str], dict]], runs: int, cwd: Path) -> list[tuple[float, float]]:
    """Best and mean wall time in ms of each command over `runs` rounds (after one warm-up),
    interleaved round by round so that load on the machine falls on all of them alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for round_ in range(runs + 1):
        for index, (command, env) in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
            if round_:
                samples[index].append((time.perf_counter() - start) * 1000)
    return [(min(each), statistics.mean(each)) for each in samples]


def install_shims(work: Path) -> Path:
    """This checkout's front door + launcher on PATH, then `monotrail shims install`."""
    bin_dir, shim_dir = work / "bin", work / "shims"
    bin_dir.mkdir()
    shutil.copy(REPO / "shims" / "monotrail", bin_dir / "monotrail")
    (bin_dir / "monotrail-launcher").write_text(f'#!/bin/sh\nexec {sys.executable} -m monotrail "$@"\n')
    for name in ("monotrail", "monotrail-launcher"):
        (bin_dir / name).chmod(0o755)
    env = environment(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, "-m", "monotrail", "shims", "install", "--dir", str(shim_dir)],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shim_dir


def line(label: str, best: float, mean: float, base: tuple[float, float]) -> None:
    print(f"{label:<58} best {best:6.1f} ms  mean {mean:6.1f} ms  "
          f"ratio {best / base[0]:5.2f}x / {mean / base[1]:5.2f}x  (+{mean - base[1]:.1f} ms mean)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    plain = python312()
    version = plain.parent.parent.name
    with tempfile.TemporaryDirectory(prefix="bench-shims-") as tmp:
        work = Path(tmp)
        shims = install_shims(work)
        outside = work / "outside"  # no lockfile here or above (checked below)
        outside.mkdir()
        probe = subprocess.run([str(shims / "python3.12"), "-c", "import sys; print(sys.executable)"],
                               env=environment(), cwd=outside, capture_output=True, text=True, check=True)
        if os.path.realpath(probe.stdout.strip()) != os.path.realpath(plain):
            sys.exit(f"the shim ran {probe.stdout.strip()}, not {plain}: a lockfile above {outside}?")
        env = environment()
        pyenv_shim = PYENV / "shims" / "python3.12"
        commands = [([str(plain), "-c", "pass"], env), ([str(shims / "python3.12"), "-c", "pass"], env)]
        if pyenv_shim.exists():
            commands.append(([str(pyenv_shim), "-c", "pass"], environment(PYENV_VERSION=version)))
        print(f"python3.12 -c pass, outside a project, {runs} interleaved runs each (PYTHONDONTWRITEBYTECODE unset)")
        base, ours, *peer = timed(commands, runs, outside)
        line(f"plain: {plain}", *base, base)
        line("monotrail shim: <shims>/python3.12", *ours, base)
        if peer:
            line(f"pyenv shim: {pyenv_shim} (PYENV_VERSION={version})", *peer[0], base)
            print(f"monotrail shim vs pyenv shim (mean): {ours[1]:.1f} ms vs {peer[0][1]:.1f} ms, "
                  f"ratio {ours[1] / peer[0][1]:.2f}x")
        else:
            print(f"pyenv shim: {pyenv_shim} missing, peer not measured")
        overhead = ours[1] - base[1]
        print(f"shim overhead (mean): {overhead:.1f} ms; goal <= 3 ms: {'met' if overhead <= 3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
