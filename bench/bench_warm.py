"""The warm run, part by part: `monotrail run hello.py` against `python3.12 hello.py`, and where the
difference goes.

    python bench/bench_warm.py [--runs 40] [--work DIR] [--project NAME ...]

For each project (copies of ../shared/bench/data-science and django-app, and bench/large, each
pinned to 3.12 with a .python-version so that both sides run the same interpreter) it installs the
environment once (network on the first use of a --work dir), checks that the run is served by the
front door alone (a launcher beside it that refuses), then times, interleaved (A, B, C, D, A, ...):

    python3.12 hello.py                 the interpreter as users start it (its own site-packages)
    <venv>/bin/python hello.py          a venv-shaped copy of the environment without the hook
    <env>/bin/python hello.py           the environment: + the .pth hook (bootstrap)
    monotrail run hello.py              + the sh front door (bash, the warm entry's checks, exec)

Wall time (median, min) and the children's CPU time (user+sys from wait4, less sensitive to a
loaded machine) are printed in ms, then the parts as differences in µs, then the hook's own steps
in µs measured inside fresh processes with perf_counter_ns (import of the hook module, manifest
read, finder set-up, the claim (the manifest's descriptor kept open; part of the manifest read),
the packages' .pth files). PYTHONDONTWRITEBYTECODE is removed: users do not have it. Print
`uptime` next to the figures; ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "bench"
REFUSED = 97
PROJECTS = ("data-science", "django-app", "large")


def base_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "PYTHONPATH")
           and not key.startswith(("PIP_", "MONOTRAIL_", "UV_"))}
    env.update(extra)
    return env


def python312() -> Path:
    found = sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob("3.12.*/bin/python3.12"))
    which = shutil.which("python3.12")
    if found:
        return found[-1]
    if not which:
        sys.exit("no python3.12 found (pyenv's ~/.pyenv/versions/3.12.* or on PATH)")
    return Path(which)


def doors(work: Path) -> tuple[Path, Path]:
    """bin/monotrail (this checkout's front door, a launcher running this checkout beside it) and
    refuse/monotrail (the same door, a launcher that exits REFUSED: only warm runs succeed)."""
    made = []
    for name, launcher in (("bin", f'#!/bin/sh\nexec {sys.executable} -m monotrail "$@"\n'),
                           ("refuse", f"#!/bin/sh\nexit {REFUSED}\n")):
        directory = work / name
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "shims" / "monotrail", directory / "monotrail")
        (directory / "monotrail-launcher").write_text(launcher)
        for path in directory.iterdir():
            path.chmod(0o755)
        made.append(directory / "monotrail")
    return made[0], made[1]


def project(work: Path, name: str) -> Path:
    target = work / "projects" / name
    if not target.exists():
        shutil.copytree(HERE / "large" if name == "large" else SHARED / name, target)
        (target / ".python-version").write_text("3.12\n")
        (target / "hello.py").write_text('print("hello")\n')
        old = time.time() - 10  # no warm entry is written while a watched file is younger than 2 s
        for path in [target, *target.iterdir()]:
            os.utime(path, (old, old))
    writer = target / "writer.py"
    if not writer.exists():
        # A program that writes into its directory on every run, by rename as editors save: the
        # directory's mtime changes each time (the row "warm whatever the program writes").
        writer.write_text('import os\nwith open("out.tmp", "w") as f:\n    f.write("x")\n'
                          'os.replace("out.tmp", "out.txt")\nprint("hello")\n')
        os.utime(writer, (time.time() - 10, time.time() - 10))
    return target


def environment_of(root: Path, start: Path) -> Path:
    entry = root / "warm" / str(start).lstrip("/") / "script-hello.py"
    for line in entry.read_text().splitlines():  # env_dir='...' (monotrail.environment.write_warm_entry)
        for prefix in ("mt_env_dir='", "env_dir='"):
            if line.startswith(prefix):
                return Path(line[len(prefix):-1].replace("'\\''", "'"))
    return Path(entry.read_text().splitlines()[0])  # an entry of the format before


def hookless_copy(env_dir: Path, work: Path) -> Path:
    """A venv-shaped copy of the environment (pyvenv.cfg, bin/python) whose site-packages is empty."""
    target = work / "hookless" / env_dir.name
    if not target.exists():
        (target / "bin").mkdir(parents=True)
        shutil.copy(env_dir / "pyvenv.cfg", target / "pyvenv.cfg")
        os.symlink(os.readlink(env_dir / "bin" / "python"), target / "bin" / "python")
        for site in env_dir.glob("lib/*/site-packages"):
            (target / site.relative_to(env_dir)).mkdir(parents=True)
    return target


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """(wall ms, child CPU ms) of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"{argv} failed with {process.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def interleaved(commands: dict[str, list[str]], cwd: Path, env: dict, runs: int) -> dict[str, dict[str, float]]:
    for argv in commands.values():
        timed(argv, cwd, env)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            wall, cpu = timed(argv, cwd, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {name: {"wall": statistics.median(walls[name]), "wall_min": min(walls[name]),
                   "cpu": statistics.median(cpus[name]), "cpu_min": min(cpus[name])} for name in commands}


# Run in a fresh hookless interpreter: the hook's steps, timed by wrapping its functions.
STEPS = r"""
import sys, time
t = time.perf_counter_ns
site_packages, manifest = sys.argv[1], sys.argv[2]
sys.path.insert(0, site_packages)
a = t()
import _monotrail_finder as hook
b = t()
spent = {"import the hook module": b - a}
def wrap(owner, name, label):
    original = getattr(owner, name, None)
    if original is None:
        return
    def timed(*args, **kwargs):
        start = t()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0) + t() - start
    setattr(owner, name, timed)
for name, label in (("_load_manifest", "read the manifest"), ("_read_manifest", "read the manifest"),
                    ("_claim", "claim (manifest fd kept)"), ("_process_pth_files", "packages' .pth files"),
                    ("MonotrailFinder", "finder set-up")):
    wrap(hook, name, label)
c = t()
hook.activate(manifest)
spent["activate(), all of it"] = t() - c
import json
print(json.dumps({key: value / 1000 for key, value in spent.items()}))
"""


def hook_steps(hookless: Path, env_dir: Path, runs: int, env: dict) -> dict[str, float]:
    [site] = env_dir.glob("lib/*/site-packages")
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        manifest = env_dir / "manifest.txt" if (env_dir / "manifest.txt").exists() else env_dir / "manifest.json"
        done = subprocess.run([str(hookless / "bin" / "python"), "-c", STEPS, str(site), str(manifest)],
                              env=env, capture_output=True, text=True, check=True)
        for key, value in json.loads(done.stdout).items():
            samples.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "monotrail-bench-warm",
                        help="projects, store and front doors (kept: the next run reuses the installs)")
    parser.add_argument("--root", type=Path, help="MONOTRAIL_ROOT (default: WORK/root)")
    parser.add_argument("--project", action="append", choices=PROJECTS)
    args = parser.parse_args()
    work = args.work.resolve()
    root = (args.root or work / "root").resolve()
    door, refusing = doors(work)
    env = base_env(MONOTRAIL_ROOT=str(root))
    python = str(python312())
    print(f"uptime: {os.popen('uptime').read().strip()}; cores: {os.cpu_count()}; runs: {args.runs}")
    for name in args.project or PROJECTS:
        start = project(work, name)
        for _ in range(2):  # install, then write the warm entry (the files are older than 2 s)
            subprocess.run([str(door), "run", "hello.py"], cwd=start, env=env, check=True, stdout=subprocess.DEVNULL)
        if subprocess.run([str(refusing), "run", "hello.py"], cwd=start, env=env,
                          stdout=subprocess.DEVNULL).returncode == REFUSED:
            sys.exit(f"{name}: `monotrail run hello.py` is not served by the front door alone")
        env_dir = environment_of(root, start)
        hookless = hookless_copy(env_dir, work)
        packages = len(json.loads((env_dir / "manifest.json").read_text())["distributions"])
        commands = {
            "python3.12 hello.py": [python, "hello.py"],
            "hookless venv python hello.py": [str(hookless / "bin" / "python"), "hello.py"],
            "<env>/bin/python hello.py": [str(env_dir / "bin" / "python"), "hello.py"],
            "monotrail run hello.py": [str(door), "run", "hello.py"],
        }
        figures = interleaved(commands, start, env, args.runs)
        print(f"\n{name}: {packages} packages, manifest {(env_dir / 'manifest.json').stat().st_size} bytes")
        print(f"  {'command':34} {'wall med':>9} {'wall min':>9} {'cpu med':>8} {'cpu min':>8}  (ms)")
        for command, values in figures.items():
            print(f"  {command:34} {values['wall']:9.2f} {values['wall_min']:9.2f} {values['cpu']:8.2f} {values['cpu_min']:8.2f}")
        ours, plain = figures["monotrail run hello.py"], figures["python3.12 hello.py"]
        print(f"  ratio monotrail/python3.12: wall median {ours['wall'] / plain['wall']:.2f}x, "
              f"wall min {ours['wall_min'] / plain['wall_min']:.2f}x, cpu median {ours['cpu'] / plain['cpu']:.2f}x")
        names = list(figures)
        print("  parts (difference of medians, µs; wall / cpu):")
        for label, (high, low) in {"venv start vs the interpreter's own site": (1, 0), "the .pth hook": (2, 1),
                                   "the front door": (3, 2)}.items():
            a, b = figures[names[high]], figures[names[low]]
            print(f"    {label:42} {1000 * (a['wall'] - b['wall']):8.0f} {1000 * (a['cpu'] - b['cpu']):8.0f}")
        for _ in range(2):  # its entry, as for hello.py
            subprocess.run([str(door), "run", "writer.py"], cwd=start, env=env, check=True, stdout=subprocess.DEVNULL)
        writes = interleaved({"python3.12 writer.py": [python, "writer.py"],
                              "monotrail run writer.py": [str(door), "run", "writer.py"]}, start, env, args.runs)
        subprocess.run([str(door), "run", "writer.py"], cwd=start, env=env, check=True, stdout=subprocess.DEVNULL)
        warm = subprocess.run([str(refusing), "run", "writer.py"], cwd=start, env=env,
                              stdout=subprocess.DEVNULL).returncode != REFUSED
        mine, theirs = writes["monotrail run writer.py"], writes["python3.12 writer.py"]
        print(f"  a program writing into its directory (writer.py): {mine['wall']:.2f} ms vs python3.12 "
              f"{theirs['wall']:.2f} ms, {mine['wall'] / theirs['wall']:.2f}x wall median, "
              f"{'served warm after its own write' if warm else 'NOT warm after its own write: the launcher ran'}")
        print("  the hook's steps (median over fresh processes, µs):")
        for label, value in hook_steps(hookless, env_dir, max(10, args.runs // 2), env).items():
            print(f"    {label:42} {value:8.0f}")


if __name__ == "__main__":
    main()
