"""Installing into a virtualenv (issue 4): monotrail vs pip, poetry and uv, side by side, as ratios.

    /work/venv/bin/python bench/bench_venv.py [--runs 2] [--only plotly,seed,data-science,django-app]
    /tmp/ci-venv/bin/python bench/bench_venv.py --only issue13 [--runs 6]   # issue 13's two install rows

Run it with a python that has this checkout's monotrail installed (it runs `python -m monotrail`).
The peers uv 0.13.9 and poetry 2.5.1 live in bench/.venv-peers, a venv of their own (created on
first use); they are never dependencies of monotrail. The prototype's benchmarks reproduced:

1. plotly 5.5.0 wheel: `monotrail install plotly.whl` vs `pip install --no-deps plotly.whl`;
2. ../shared/bench/seed-data-science on 3.8: `monotrail poetry-install -E tqdm_feature` vs
   `pip install -r requirements.txt` vs `poetry install` (which cannot install this lock on this
   machine, see ../shared/bench/README.md: it is attempted and reported);
3. data-science and django-app on 3.12: `monotrail sync --venv` vs `pip install -r requirements.txt`
   vs `poetry install --no-root` vs `uv sync --frozen`.

Each tool gets a fresh venv per run, made before the clock starts (virtualenv on 3.12, `python -m
venv` on 3.8). "warm": the tool's cache (our store, uv's and poetry's caches, pip's cache) filled by
an unmeasured run first; "cold": an empty cache, everything downloaded. All caches, venvs and
project copies are in a temp dir. PYTHONDONTWRITEBYTECODE is removed: pip and poetry byte-compile
by default, uv and monotrail do not (`--compile` to opt in), and that is part of what is compared.
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
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "bench"
PYENV = Path(os.path.expanduser("~/.pyenv/versions"))
PY312 = PYENV / "3.12.1" / "bin" / "python3.12"
PY38 = PYENV / "3.8.18" / "bin" / "python3.8"
PEERS = HERE / ".venv-peers"
MONOTRAIL = [sys.executable, "-m", "monotrail"]

RESULTS: list[dict[str, object]] = []


def environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def peers() -> Path:
    """bench/.venv-peers with uv and poetry: the peers' own venv."""
    if not (PEERS / "bin" / "poetry").exists() or not (PEERS / "bin" / "uv").exists():
        subprocess.run([str(PY312), "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "uv==0.13.9", "poetry==2.5.1"], check=True)
    return PEERS / "bin"


def make_venv(path: Path, python: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    if python == PY38:
        subprocess.run([str(python), "-m", "venv", str(path)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "virtualenv", "-q", "--no-periodic-update", str(path), "-p", str(python)],
                       check=True)
    return path


def timed(command: list[str], env: dict, cwd: Path) -> float | None:
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:  # poetry -q says why on stdout, if at all
        last = ((completed.stderr + completed.stdout).strip().splitlines() or ["no message"])[-1]
        print(f"    FAILED ({completed.returncode}): {last[:200]}")
        return None
    return elapsed


class Tool:
    """One way to install a project: a command line, its cache dir variable and its env."""

    def __init__(self, name: str, command: Callable[[Path], list[str]], cache_env: Callable[[Path], dict],
                 venv_env: Callable[[Path], dict] = lambda venv: {"VIRTUAL_ENV": str(venv)}) -> None:
        self.name, self.command, self.cache_env, self.venv_env = name, command, cache_env, venv_env


def measure(case: str, tool: Tool, project: Path, python: Path, work: Path, runs: int) -> None:
    """Warm: one unmeasured run fills the cache, then `runs` runs; cold: one run, empty cache."""
    for mode in ("warm", "cold"):
        cache = work / f"cache-{case}-{tool.name}-{mode}"
        venv = work / f"venv-{case}-{tool.name}"
        samples = []
        for i in range(runs + 1 if mode == "warm" else 1):
            if mode == "cold" and cache.exists():
                shutil.rmtree(cache)
            make_venv(venv, python)
            env = environment(**tool.cache_env(cache), **tool.venv_env(venv))
            command = tool.command(venv)
            if i == 0:
                print(f"  [{mode}] {tool.name}: {' '.join(command)}", flush=True)
            elapsed = timed(command, env, project)
            if elapsed is None:
                samples = []
                break
            if mode == "cold" or i > 0:
                samples.append(elapsed)
        figure = statistics.median(samples) if samples else None
        RESULTS.append({"case": case, "tool": tool.name, "mode": mode, "seconds": figure,
                        "command": " ".join(tool.command(Path("$VENV")))})
        print(f"    {mode} {tool.name}: " + (f"{figure:.2f} s" if figure is not None else "failed"), flush=True)


def ours_cache(cache: Path) -> dict:
    return {"MONOTRAIL_ROOT": str(cache)}


def pip_cache(cache: Path) -> dict:
    return {"PIP_CACHE_DIR": str(cache), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def copy_project(name: str, work: Path) -> Path:
    target = work / name
    if not target.exists():
        shutil.copytree(SHARED / name, target)
    return target


# --- the cases ----------------------------------------------------------------------------------


def bench_plotly(work: Path, runs: int) -> None:
    wheels = work / "plotly-wheel"
    if not list(wheels.glob("plotly-5.5.0-*.whl")):
        subprocess.run([str(PY312), "-m", "pip", "download", "-q", "--no-deps", "plotly==5.5.0", "-d", str(wheels)],
                       check=True)
    wheel = str(next(wheels.glob("plotly-5.5.0-*.whl")))
    print(f"\nplotly 5.5.0 ({Path(wheel).name}, Python 3.12)")
    tools = [
        Tool("monotrail", lambda venv: [*MONOTRAIL, "install", "-q", wheel], ours_cache),
        Tool("pip", lambda venv: [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", wheel], pip_cache),
    ]
    for tool in tools:
        measure("plotly", tool, work, PY312, work, runs)


def bench_seed(work: Path, runs: int, bin_: Path) -> None:
    project = copy_project("seed-data-science", work)
    print("\nseed-data-science (the prototype's benchmark, poetry.lock 1.1, -E tqdm_feature, Python 3.8)")
    tools = [
        Tool("monotrail", lambda venv: [*MONOTRAIL, "poetry-install", "-q", "-E", "tqdm_feature"], ours_cache),
        Tool("pip", lambda venv: [str(venv / "bin" / "pip"), "install", "-q", "-r", "requirements.txt"], pip_cache),
        Tool("poetry", lambda venv: [str(bin_ / "poetry"), "install", "-q", "--no-root", "-E", "tqdm_feature"],
             lambda cache: {"POETRY_CACHE_DIR": str(cache)}),
    ]
    for tool in tools:
        measure("seed-data-science", tool, project, PY38, work, runs)


def bench_project(name: str, extras: list[str], work: Path, runs: int, bin_: Path) -> None:
    project = copy_project(name, work)
    print(f"\n{name} (uv.lock, main{''.join(' + ' + e for e in extras)}, Python 3.12)")
    extra_args = [arg for extra in extras for arg in ("--extra", extra)]
    tools = [
        Tool("monotrail", lambda venv: [*MONOTRAIL, "sync", "-q", "--venv", str(venv), "--lock", "uv.lock",
                                        "--no-default-groups", *extra_args], ours_cache),
        Tool("pip", lambda venv: [str(venv / "bin" / "pip"), "install", "-q", "-r", "requirements.txt"], pip_cache),
        Tool("poetry", lambda venv: [str(bin_ / "poetry"), "install", "-q", "--no-root",
                                     *[a for e in extras for a in ("-E", e)]],
             lambda cache: {"POETRY_CACHE_DIR": str(cache)}),
        Tool("uv", lambda venv: [str(bin_ / "uv"), "sync", "-q", "--frozen", "--no-dev", *extra_args],
             lambda cache: {"UV_CACHE_DIR": str(cache)},
             lambda venv: {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": str(venv / "bin" / "python")}),
    ]
    for tool in tools:
        measure(name, tool, project, PY312, work, runs)


# --- issue 13's rows: end to end, interleaved ---------------------------------------------------

UV = HERE / ".venv" / "bin" / "uv"  # bench_run.py's tool venv (uv 0.13.9)


def _interleave(commands: dict[str, tuple[list[str], dict, Path, Callable[[], None]]], runs: int) -> dict[str, list]:
    """Each command `runs` times, taking turns (A, B, A, B, ...), `prepare()` before each, unmeasured."""
    samples: dict[str, list] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, env, cwd, prepare) in commands.items():
            prepare()
            elapsed = timed(command, env, cwd)
            if elapsed is not None:
                samples[name].append(elapsed)
    return samples


def _row(what: str, samples: dict[str, list]) -> None:
    (ours_name, ours), (peer_name, peer) = samples.items()
    if not ours or not peer:
        print(f"| {what} | failed | | | |")
        return
    def fig(xs: list) -> str:
        return f"{min(xs) * 1000:.0f} / {statistics.median(xs) * 1000:.0f} / {max(xs) * 1000:.0f} ms"
    ratio = statistics.median(ours) / statistics.median(peer)
    print(f"| {what} | {ours_name}: {fig(ours)} | {peer_name}: {fig(peer)} | {ratio:.2f}x "
          f"(best {min(ours) / min(peer):.2f}x) |", flush=True)


def bench_issue13(work: Path, runs: int) -> None:
    """Issue 13's two rows for installs, each figure process start to exit:

    - `monotrail sync --venv mtvenv --lock uv.lock` of data-science, store warm, venv absent (its
      creation included) vs `uv sync --frozen`, cache warm, `.venv` absent (goal <= 1.5x);
    - cold `monotrail run --lock uv.lock --no-default-groups -c pass` on an empty MONOTRAIL_ROOT
      vs `uv sync --frozen --no-dev` with an empty UV_CACHE_DIR (goal <= 1.0x).

    Nothing is deleted right before a measured run: removing a 400 MB store or cache on this ext4
    (mounted with `discard`) made the next run's writes slow (uv's cold sys time 2.5-3.9 s instead
    of 0.5-0.9 s). Each run gets a fresh directory and the old venv is renamed aside; everything
    goes with the temp dir at the end.
    """
    python = str(PY312)
    ours_project = copy_project("data-science", work)
    uv_project = work / "uv-project"  # its own copy: one tool's files never meet the other's
    if not uv_project.exists():
        shutil.copytree(SHARED / "data-science", uv_project)
    print(f"\nissue 13 rows (data-science, uv.lock, Python 3.12; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f})")
    print("| row | monotrail min / median / max | uv min / median / max | ratio of medians |\n|---|---|---|---|")
    trash = work / "trash"
    trash.mkdir(exist_ok=True)
    counter = iter(range(1_000_000))

    def aside(path: Path) -> Callable[[], None]:
        def move() -> None:
            if path.exists():
                path.rename(trash / f"{path.name}-{next(counter)}")
        return move

    ours_env = environment(MONOTRAIL_ROOT=str(work / "i13-root"))
    uv_env = environment(UV_CACHE_DIR=str(work / "i13-uv-cache"), UV_PYTHON=python)
    mtvenv = ours_project / "mtvenv"
    sync = [*MONOTRAIL, "sync", "-q", "--venv", str(mtvenv), "--lock", "uv.lock", "--python", python]
    uv_sync = [str(UV), "sync", "-q", "--frozen"]
    subprocess.run(sync, env=ours_env, cwd=ours_project, check=True, capture_output=True)  # fill the store
    subprocess.run(uv_sync, env=uv_env, cwd=uv_project, check=True, capture_output=True)  # and uv's cache
    samples = _interleave({
        "monotrail": (sync, ours_env, ours_project, aside(mtvenv)),
        "uv": (uv_sync, uv_env, uv_project, aside(uv_project / ".venv")),
    }, runs)
    _row("`sync --venv mtvenv` warm store, venv absent vs `uv sync --frozen` warm, .venv absent (goal <= 1.5x)", samples)

    cold: dict[str, list] = {"monotrail": [], "uv": []}
    for _ in range(max(1, runs // 2)):
        number = next(counter)
        aside(uv_project / ".venv")()
        time.sleep(1)
        elapsed = timed([*MONOTRAIL, "run", "--lock", "uv.lock", "--no-default-groups", "-c", "pass"],
                        environment(MONOTRAIL_ROOT=str(work / f"cold-root-{number}")), ours_project)
        if elapsed is not None:
            cold["monotrail"].append(elapsed)
        time.sleep(1)
        elapsed = timed([str(UV), "sync", "-q", "--frozen", "--no-dev"],
                        environment(UV_CACHE_DIR=str(work / f"cold-uv-cache-{number}"), UV_PYTHON=python), uv_project)
        if elapsed is not None:
            cold["uv"].append(elapsed)
    _row("cold: empty store vs `uv sync --frozen --no-dev`, empty cache (goal <= 1.0x)", cold)
    print(f"load after: {os.getloadavg()[0]:.2f}")


# --- the table -----------------------------------------------------------------------------------


def figure(case: str, tool: str, mode: str) -> float | None:
    for row in RESULTS:
        if row["case"] == case and row["tool"] == tool and row["mode"] == mode:
            return row["seconds"]  # type: ignore[return-value]
    return None


def table() -> str:
    lines = ["| case | cache | monotrail | pip | poetry | uv | pip / monotrail | poetry / monotrail | monotrail / uv |",
             "|---|---|---|---|---|---|---|---|---|"]
    cases = list(dict.fromkeys(str(row["case"]) for row in RESULTS))
    for case in cases:
        for mode in ("warm", "cold"):
            ours = figure(case, "monotrail", mode)
            cells = [case, mode]
            for tool in ("monotrail", "pip", "poetry", "uv"):
                value = figure(case, tool, mode)
                present = any(r["case"] == case and r["tool"] == tool for r in RESULTS)
                cells.append(f"{value:.2f} s" if value is not None else ("failed" if present else "-"))
            for peer, inverse in (("pip", False), ("poetry", False), ("uv", True)):
                value = figure(case, peer, mode)
                if value is None or ours is None:
                    cells.append("-")
                else:
                    cells.append(f"{(ours / value if inverse else value / ours):.2f}x")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="measured warm runs per tool (median)")
    parser.add_argument("--only", default="plotly,seed,data-science,django-app",
                        help="cases, comma-separated; `issue13` runs issue 13's sync --venv and cold rows only")
    options = parser.parse_args()
    only = set(options.only.split(","))
    if only == {"issue13"}:
        with tempfile.TemporaryDirectory(prefix="monotrail-bench-i13-") as temp:
            bench_issue13(Path(temp), max(options.runs, 6))
        return 0
    bin_ = peers()
    print(f"monotrail: {' '.join(MONOTRAIL)}; peers: {bin_} (uv 0.13.9, poetry 2.5.1); "
          f"pip: each venv's own", flush=True)
    with tempfile.TemporaryDirectory(prefix="monotrail-bench-venv-") as temp:
        work = Path(temp)
        if "plotly" in only:
            bench_plotly(work, options.runs)
        if "seed" in only:
            bench_seed(work, options.runs, bin_)
        if "data-science" in only:
            bench_project("data-science", ["progress"], work, options.runs, bin_)
        if "django-app" in only:
            bench_project("django-app", [], work, options.runs, bin_)
    print("\n" + table())
    print("\nratios: peer time / monotrail time (higher is better for monotrail); "
          "monotrail / uv: <= 2.00x is the goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
