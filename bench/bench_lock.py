"""Benchmarks of resolving and locking (issue 6), side by side with uv, as ratios.

    python bench/bench_lock.py [--runs 3]

For temp copies of ../shared/bench/data-science and django-app (pyproject.toml and
.python-version only, no lock):
1. cold lock: `monotrail lock` with an empty store vs `uv lock` with an empty cache;
2. warm re-lock, the lock present and its inputs unchanged: `monotrail lock` vs `uv lock`;
3. warm resolve, the lock deleted but the caches full: `monotrail lock` vs `uv lock`;
then PEP 723 scripts (dependencies rich + httpx, and six alone): the first run on an empty
store/cache and later runs, `monotrail run script.py` vs `uv run --script script.py`.

Cold figures are one run each (the median of `--runs` fresh runs), warm ones the median of
`--runs` runs. uv is the peer from bench/.venv (see bench_run.py), never a monotrail dependency.
PYTHONDONTWRITEBYTECODE is removed from the environment (see bench_run.py).
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

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
SCRIPTS = {
    "rich, httpx": '# /// script\n# requires-python = "==3.12.*"\n# dependencies = ["rich", "httpx"]\n# ///\nimport httpx, rich\n',
    "six": '# /// script\n# requires-python = "==3.12.*"\n# dependencies = ["six"]\n# ///\nimport six\n',
}


def environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def run(command: list, env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
    return elapsed


def project_copy(name: str, work: Path) -> Path:
    target = work / name
    target.mkdir(parents=True)
    for file in ("pyproject.toml", ".python-version"):
        if (SHARED / name / file).exists():
            shutil.copy(SHARED / name / file, target / file)
    return target


def median(values: list) -> float:
    return statistics.median(values)


def bench_project(name: str, monotrail: str, uv: str, runs: int, work: Path) -> list:
    rows = []
    cold_m, cold_u, relock_m, relock_u, resolve_m, resolve_u = [], [], [], [], [], []
    for attempt in range(runs):
        base = work / f"{name}-{attempt}"
        base.mkdir()
        ours, theirs = project_copy(name, base / "m"), project_copy(name, base / "u")
        m_env = environment(MONOTRAIL_ROOT=str(base / "root"))
        u_env = environment(UV_CACHE_DIR=str(base / "uvcache"), UV_PYTHON_DOWNLOADS="never",
                            UV_PYTHON=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12"))
        cold_m.append(run([monotrail, "lock", "-q"], m_env, ours))
        cold_u.append(run([uv, "lock", "-q"], u_env, theirs))
        relock_m.append(run([monotrail, "lock", "-q"], m_env, ours))
        relock_u.append(run([uv, "lock", "-q"], u_env, theirs))
        (ours / "pylock.toml").unlink()
        (theirs / "uv.lock").unlink()
        resolve_m.append(run([monotrail, "lock", "-q"], m_env, ours))
        resolve_u.append(run([uv, "lock", "-q"], u_env, theirs))
    rows.append((f"{name}: cold lock (empty store / cache)", median(cold_m), median(cold_u)))
    rows.append((f"{name}: warm re-lock (lock up to date)", median(relock_m), median(relock_u)))
    rows.append((f"{name}: warm resolve (lock deleted, caches full)", median(resolve_m), median(resolve_u)))
    return rows


def bench_script(label: str, text: str, monotrail: str, uv: str, runs: int, work: Path) -> list:
    """`.python-version` beside the script (both tools read it): it also bounds the directories
    monotrail's warm entry watches, which otherwise reach up to /tmp (see docs/architecture.md)."""
    first_m, first_u, second_m, second_u = [], [], [], []
    for attempt in range(runs):
        tag = f"{label.replace(', ', '-')}-{attempt}"
        base = work / f"script-{tag}"
        base.mkdir()
        script = base / "tool.py"
        script.write_text(text)
        (base / ".python-version").write_text("3.12\n")
        old = time.time() - 10
        for path in (script, base / ".python-version", base):
            os.utime(path, (old, old))
        # store and cache outside the script's directory: writing them would change its mtime,
        # which the warm entry watches (a new lock appearing there changes it too)
        m_env = environment(MONOTRAIL_ROOT=str(work / f"root-{tag}"))
        u_env = environment(UV_CACHE_DIR=str(work / f"uvcache-{tag}"), UV_PYTHON_DOWNLOADS="never",
                            UV_PYTHON=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12"))
        first_m.append(run([monotrail, "run", "-q", str(script)], m_env, base))
        first_u.append(run([uv, "run", "-q", "--script", str(script)], u_env, base))
        for path in (work / f"root-{tag}" / "resolved").rglob("pylock.toml"):
            os.utime(path, (old, old))  # the warm entry is not written for files younger than 2 s
        run([monotrail, "run", str(script)], m_env, base)
        second_m.append(median([run([monotrail, "run", str(script)], m_env, base) for _ in range(7)]))
        second_u.append(median([run([uv, "run", "-q", "--script", str(script)], u_env, base) for _ in range(7)]))
    return [
        (f"PEP 723 script ({label}): first run, empty store / cache", median(first_m), median(first_u)),
        (f"PEP 723 script ({label}): later run (median of 7)", median(second_m), median(second_u)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    venv = HERE / ".venv"
    uv = str(venv / "bin" / "uv")
    monotrail = str(venv / "bin" / "monotrail")
    if not Path(uv).exists():
        sys.exit("bench/.venv has no uv: run bench/bench_run.py once (it sets up bench/.venv)")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--force-reinstall", "--no-deps", str(HERE.parent)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(HERE.parent)], check=True)
    version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lock-") as tmp:
        work = Path(tmp)
        for name in ("data-science", "django-app"):
            rows += bench_project(name, monotrail, uv, options.runs, work)
        for label, text in SCRIPTS.items():
            rows += bench_script(label, text, monotrail, uv, options.runs, work)
    print(f"| what | monotrail | {version} | ratio |")
    print("|---|---:|---:|---:|")
    for what, ours, theirs in rows:
        print(f"| {what} | {ours:.0f} ms | {theirs:.0f} ms | {ours / theirs:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
