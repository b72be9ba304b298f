"""Benchmarks of resolving and locking (issue 6), side by side with uv, pip lock and poetry lock.

    python bench/bench_lock.py [--runs 3]

For temp copies of ../shared/bench/data-science and django-app (pyproject.toml and
.python-version only, no lock):
1. cold lock: `monotrail lock` with an empty store vs `uv lock`, `pip lock` and `poetry lock` with
   empty caches;
2. warm re-lock, the lock present and its inputs unchanged;
3. warm resolve, the lock deleted but the caches full;
then PEP 723 scripts (dependencies rich + httpx, and six alone): the first run on an empty
store/cache and later runs, `monotrail run script.py` vs `uv run --script script.py`.

Cold figures are one run each (the median of `--runs` fresh runs), warm ones the median of
`--runs` runs. uv is the peer from bench/.venv (see bench_run.py), never a monotrail dependency;
poetry from bench/.venv-peers; pip >= 25.1 (`pip lock`) from bench/.venv-pip, made here when
missing. `pip lock -r reqs.in` gets the project's dependencies plus every group and extra (what
`monotrail lock` locks by default), with `PIP_CONFIG_FILE=/dev/null` (this machine's pip.conf adds
local indexes and a constraints file). PYTHONDONTWRITEBYTECODE is removed from the environment.
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
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV") and not k.startswith("PIP_")}
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


def requirements_in(project: Path) -> Path:
    """The pyproject's dependencies, extras and groups as one requirements file, for `pip lock`."""
    import tomllib

    data = tomllib.loads((project / "pyproject.toml").read_text())
    lines = list(data["project"].get("dependencies", []))
    for items in data["project"].get("optional-dependencies", {}).values():
        lines += items
    for items in data.get("dependency-groups", {}).values():
        lines += [item for item in items if isinstance(item, str)]
    path = project / "reqs.in"
    path.write_text("\n".join(lines) + "\n")
    return path


def median(values: list) -> float:
    return statistics.median(values)


TOOLS = ("monotrail", "uv", "pip", "poetry")
LOCK_FILES = {"monotrail": "pylock.toml", "uv": "uv.lock", "pip": "pylock.toml", "poetry": "poetry.lock"}


def bench_project(name: str, commands: dict, runs: int, work: Path) -> list:
    """Rows (what, {tool: ms}) for one project: cold lock, warm re-lock, warm resolve."""
    python = os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12")
    times = {phase: {tool: [] for tool in TOOLS} for phase in ("cold", "relock", "resolve")}
    for attempt in range(runs):
        base = work / f"{name}-{attempt}"
        base.mkdir()
        for tool in TOOLS:
            if tool not in commands:
                continue
            project = project_copy(name, base / tool)
            env = environment(
                MONOTRAIL_ROOT=str(base / "root"), UV_CACHE_DIR=str(base / "uvcache"), UV_PYTHON_DOWNLOADS="never",
                UV_PYTHON=python, PIP_CACHE_DIR=str(base / "pipcache"), PIP_CONFIG_FILE=os.devnull,
                PIP_DISABLE_PIP_VERSION_CHECK="1", POETRY_CACHE_DIR=str(base / "poetrycache"),
            )
            command = list(commands[tool])
            if tool == "pip":
                command += ["-r", str(requirements_in(project))]
            for phase in ("cold", "relock", "resolve"):
                if phase == "resolve":
                    (project / LOCK_FILES[tool]).unlink()
                times[phase][tool].append(run(command, env, project))
    labels = {"cold": "cold lock (empty store / cache)", "relock": "warm re-lock (lock present, inputs unchanged)",
              "resolve": "warm resolve (lock deleted, caches full)"}
    return [(f"{name}: {labels[phase]}", {tool: median(values) for tool, values in times[phase].items() if values})
            for phase in ("cold", "relock", "resolve")]


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
        (f"PEP 723 script ({label}): first run, empty store / cache", {"monotrail": median(first_m), "uv": median(first_u)}),
        (f"PEP 723 script ({label}): later run (median of 7)", {"monotrail": median(second_m), "uv": median(second_u)}),
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
    commands = {"monotrail": [monotrail, "lock", "-q"], "uv": [uv, "lock", "-q"]}
    names = {"monotrail": "monotrail", "uv": _version([uv, "--version"])}
    pip = peer_pip()
    if pip is not None:
        commands["pip"] = [pip, "lock", "-q", "-o", "pylock.toml"]
        names["pip"] = "pip " + _version([pip, "--version"]).split()[1] + " lock"
    poetry = HERE / ".venv-peers" / "bin" / "poetry"
    if poetry.exists():
        commands["poetry"] = [str(poetry), "lock", "-q", "--no-interaction"]
        names["poetry"] = "poetry " + _version([str(poetry), "--version"]).split()[-1].rstrip(")") + " lock"
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-lock-") as tmp:
        work = Path(tmp)
        for name in ("data-science", "django-app"):
            rows += bench_project(name, commands, options.runs, work)
        for label, text in SCRIPTS.items():
            rows += bench_script(label, text, monotrail, uv, options.runs, work)
    tools = [tool for tool in TOOLS if tool in commands]
    print(f"| what | {' | '.join(names[tool] for tool in tools)} | vs uv | vs pip | vs poetry |")
    print("|---|" + "---:|" * (len(tools) + 3))
    for what, figures in rows:
        cells = [f"{figures[tool]:.0f} ms" if tool in figures else "-" for tool in tools]
        ratios = [f"{figures['monotrail'] / figures[tool]:.2f}x" if tool in figures else "-" for tool in ("uv", "pip", "poetry")]
        print(f"| {what} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


def _version(command: list) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def peer_pip() -> "str | None":
    """pip >= 25.1 (it has `pip lock`) in bench/.venv-pip, made with the bench interpreter if missing."""
    pip = HERE / ".venv-pip" / "bin" / "pip"
    if not pip.exists():
        python = os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12")
        made = subprocess.run([python, "-m", "venv", str(HERE / ".venv-pip")])
        if made.returncode != 0 or subprocess.run([str(pip), "install", "-q", "-U", "pip>=25.1"]).returncode != 0:
            return None
    return str(pip)


if __name__ == "__main__":
    raise SystemExit(main())
