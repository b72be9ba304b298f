"""Benchmarks of `monotrail run`, side by side with plain python and uv, as ratios.

    python bench/bench_run.py [--runs 20] [--skip-cold]
    python bench/bench_run.py --second [--runs 10] [--projects data-science,django-app] [--monotrail PATH]

Sets up its own tool venv (bench/.venv, with uv in it: uv is a peer, never a dependency of
monotrail) and temp copies of ../shared/bench/data-science, then measures in one run:

1. warm start: `monotrail run hello.py` vs `python3.12 hello.py` vs `uv run --frozen hello.py`
   (goal: <= 1.5x plain python, faster than uv run);
2. import time of numpy+pandas+matplotlib+scipy, venv-less vs in uv's venv (goal <= 1.05x);
3. a second project whose packages are all in the store becoming runnable (goal <= 30 ms, issue 13),
   next to `uv sync --frozen` warm;
4. a cold data-science run on an empty store vs `uv sync --frozen` with an empty cache (goal <= 1.0x).

`--second` measures only row 3, for data-science and django-app and each lock kind their
directories hold (uv.lock, the `uv export` requirements.txt with hashes, the `uv export` pylock.toml),
in two shapes: a project with the same packages but another lock (its pyproject.toml differs, so
nothing of the first project's lock is reused), and a copy with identical bytes in another
directory (the selection kept by the lock's content is reused). Each first run takes turns with
a warm run of the same command in a steady copy; the row is median(first) - median(warm).

Every figure comes from this one run; each line prints the command, our figure, the peer's,
and the ratio. PYTHONDONTWRITEBYTECODE is removed from the environment: with it, every run
recompiles every module, which is not how anyone's machine behaves.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "bench"
PYTHON312 = Path(os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12"))


def environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def tool_venv() -> Path:
    """bench/.venv: monotrail (from this checkout) and uv, the peer."""
    venv = HERE / ".venv"
    if not (venv / "bin" / "uv").exists():
        subprocess.run([str(PYTHON312), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "uv==0.13.9"], check=True)
    # Always this checkout's monotrail, as a user would have it (not editable).
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--force-reinstall", "--no-deps", str(REPO)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], check=True)
    return venv


def timed(command: list, runs: int, env: dict, cwd: Path) -> tuple[float, float]:
    """Mean and min wall time in ms over `runs` runs (after one unmeasured warm-up)."""
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.mean(samples), min(samples)


def interleaved(commands: list, runs: int, env: dict, cwd: Path) -> list:
    """Median and min per command, the commands taking turns so machine noise hits all alike."""
    for command in commands:
        subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    samples: list = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
            samples[index].append((time.perf_counter() - start) * 1000)
    return [(statistics.median(values), min(values)) for values in samples]


def once(command: list, env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def row(what: str, ours: float, peer_name: str, peer: float, goal: str) -> None:
    print(f"| {what} | {ours:.1f} ms | {peer_name}: {peer:.1f} ms | {ours / peer:.2f}x | {goal} |", flush=True)


def copy_project(name: str, into: Path) -> Path:
    target = into / name
    shutil.copytree(SHARED / name, target)
    (target / "hello.py").write_text('print("hello")\n')
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--second", action="store_true", help="only the second-project rows, per lock kind")
    parser.add_argument("--projects", default="data-science,django-app")
    parser.add_argument("--monotrail", help="with --second: this monotrail (e.g. another version's), not this checkout's")
    options = parser.parse_args()
    if options.second:
        command = options.monotrail or str(tool_venv() / "bin" / "monotrail")
        second_project_rows(command, options.projects.split(","), options.runs)
        return
    venv = tool_venv()
    monotrail, uv = str(venv / "bin" / "monotrail"), str(venv / "bin" / "uv")
    work = Path(tempfile.mkdtemp(prefix="monotrail-bench-"))
    root, uv_cache = work / "root", work / "uv-cache"
    env = environment(MONOTRAIL_ROOT=str(root), UV_CACHE_DIR=str(uv_cache), UV_PYTHON=str(PYTHON312))
    project = copy_project("data-science", work)
    print(f"machine: {os.cpu_count()} cores; python {PYTHON312}; work dir {work}\n")
    print("| what | monotrail | peer | ratio | goal |\n|---|---|---|---|---|")

    if not options.skip_cold:
        ours = once([monotrail, "run", "--lock", "uv.lock", "--no-default-groups", "-c", "pass"], env, project)
        shutil.rmtree(project / ".venv", ignore_errors=True)
        theirs = once([uv, "sync", "--frozen", "--no-dev", "--python", str(PYTHON312)], env, project)
        row("cold data-science (empty store / empty uv cache), then `-c pass`", ours, "`uv sync --frozen`", theirs, "<= 1.0x")
    else:
        subprocess.run([monotrail, "run", "--lock", "uv.lock", "--no-default-groups", "-c", "pass"], env=env, cwd=project, check=True)
        subprocess.run([uv, "sync", "--frozen", "--no-dev", "--python", str(PYTHON312)], env=env, cwd=project, check=True)

    # The sh front door only trusts a warm entry whose watched files are older than 2 s (mtime
    # resolution); the project was just copied, so let that pass, then write the entry.
    time.sleep(2.5)
    subprocess.run([monotrail, "run", "hello.py"], env=env, cwd=project, check=True, stdout=subprocess.DEVNULL)
    plain, ours, theirs = interleaved(
        [[str(PYTHON312), "hello.py"], [monotrail, "run", "hello.py"], [uv, "run", "--frozen", "--no-dev", "hello.py"]],
        options.runs, env, project,
    )
    row("warm `monotrail run hello.py` vs plain `python3.12 hello.py` (median)", ours[0], "python", plain[0], "<= 1.5x")
    row("warm `monotrail run hello.py` vs plain `python3.12 hello.py` (best)", ours[1], "python", plain[1], "<= 1.5x")
    row("warm `monotrail run hello.py` vs `uv run --frozen hello.py` (median)", ours[0], "uv run", theirs[0], "< 1.0x")

    probe = "import time; t = time.perf_counter(); import numpy, pandas, matplotlib, scipy; print((time.perf_counter() - t) * 1000)"
    ours_imports, venv_imports = _inner_ms(
        [[monotrail, "run", "-c", probe], [str(project / ".venv" / "bin" / "python"), "-c", probe]],
        options.runs, env, project,
    )
    row("import numpy+pandas+matplotlib+scipy (in-process, median)", ours_imports, "uv's venv", venv_imports, "<= 1.05x")

    second = copy_project("data-science", work / "second")
    with open(second / "pyproject.toml", "a") as file:
        file.write("\n# a second project with the same packages\n")
    first_run = once([monotrail, "run", "--lock", "uv.lock", "--no-default-groups", "-c", "pass"], env, second)
    warm_run = timed([monotrail, "run", "--lock", "uv.lock", "--no-default-groups", "-c", "pass"], options.runs, env, second)[0]
    uv_new_venv = statistics.median(_uv_sync_into_new_venv(uv, env, second) for _ in range(5))
    row("second project, all packages in the store: first run minus warm run", first_run - warm_run,
        "`uv sync --frozen` into a new .venv (warm cache)", uv_new_venv, "<= 30 ms")
    shutil.rmtree(work, ignore_errors=True)


# The selection every lock kind of a benchmark project is measured with (requirements.txt and
# pylock.toml were exported with it: docs of /work/shared/bench).
SELECTION = {"data-science": ["--no-default-groups", "--extra", "progress"], "django-app": ["--no-default-groups"]}
LOCKS = ("uv.lock", "requirements.txt", "pylock.toml")


def second_project_rows(monotrail: str, projects: list, runs: int) -> None:
    """Row 3 per project and lock kind: a new project whose packages are all stored, first run
    minus warm run, with another lock's bytes (`new lock`) and with the same bytes (`same lock`)."""
    work = Path(tempfile.mkdtemp(prefix="monotrail-second-"))
    env = environment(MONOTRAIL_ROOT=str(work / "root"))
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; work dir {work}\n")
    print("| project | lock | shape | first run (median) | warm run (median) | first - warm | goal |\n|---|---|---|---|---|---|---|")
    for name in projects:
        for lock in LOCKS:
            if not (SHARED / name / lock).exists():
                continue
            command = [monotrail, "run", "--lock", lock, *(SELECTION[name] if lock == "uv.lock" else []), "-c", "pass"]
            steady = work / f"{name}-{lock}"
            shutil.copytree(SHARED / name, steady)
            subprocess.run(command, env=env, cwd=steady, check=True)  # fills the store, makes the warm environment
            for shape in ("new lock", "same lock"):
                firsts, warms = [], []
                for number in range(runs):
                    fresh = work / f"{name}-{lock}-{shape.replace(' ', '-')}-{number}"
                    shutil.copytree(steady, fresh)
                    if shape == "new lock":
                        with open(fresh / "pyproject.toml", "a") as file:
                            file.write(f"\n# another project with the same packages: {fresh.name}\n")
                    firsts.append(once(command, env, fresh))
                    warms.append(once(command, env, steady))
                    shutil.rmtree(fresh)
                first, warm = statistics.median(firsts), statistics.median(warms)
                print(f"| {name} | {lock} | {shape} | {first:.0f} ms | {warm:.0f} ms | **{first - warm:.0f} ms** | <= 30 ms |",
                      flush=True)
    print(f"\nload after: {os.getloadavg()[0]:.2f}")
    shutil.rmtree(work, ignore_errors=True)


def _uv_sync_into_new_venv(uv: str, env: dict, project: Path) -> float:
    """What "becoming runnable" costs uv: a new project venv, linked from its warm cache."""
    shutil.rmtree(project / ".venv", ignore_errors=True)
    return once([uv, "sync", "--frozen", "--no-dev"], env, project)


def _inner_ms(commands: list, runs: int, env: dict, cwd: Path) -> list:
    """Median of the figure each command prints itself (import time measured inside the
    process), the commands taking turns; the first round (writing .pyc files) is left out."""
    values: list = [[] for _ in commands]
    for round_number in range(max(5, runs // 2) + 1):
        for index, command in enumerate(commands):
            out = subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True, text=True).stdout
            if round_number:
                values[index].append(float(out.strip().splitlines()[-1]))
    return [statistics.median(v) for v in values]


if __name__ == "__main__":
    main()
