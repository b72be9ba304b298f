"""The compatibility suite (issue 11): real projects' test suites and real tools, in a venv and venv-less.

    /tmp/ci-venv/bin/python bench/compat.py [--only KEY,KEY [--merge]] [--work DIR] [--json FILE] [--docs]

Each project is an sdist from the index that ships its tests. It is locked with its own tool (uv for
uv and generic pyproject projects, poetry for poetry projects, pip-compile for pip-tools ones), then
its tests run twice with the same Python, each in a fresh copy of the locked tree:

- **venv**: in the environment that tool makes (`uv sync --frozen`; `poetry install`, or `poetry
  export` + pip where poetry cannot install; `pip-sync`), activated as `uv run` / `poetry run` do it
  (`VIRTUAL_ENV`, the venv's `bin/` first on PATH): `<venv>/bin/python -m pytest`;
- **monotrail**: `monotrail run -p PYTHON -m pytest` in the tree, no venv.

Both results are pytest's own counts (passed, failed, errors, skipped, xfailed, xpassed) from its
summary line; per-test outcomes come from `--junitxml` to name the tests that differ. The
scenarios run popular tools both ways (pre-commit with a python hook, nox, tox, `flask --reload`,
gunicorn, streamlit, `python -m build`) and check what a user would check.

Everything is kept under bench/.compat-work (gitignored): sdists (verified by the index's sha256),
locked trees (relocked only when their recipe changes), the tools' caches, and MONOTRAIL_ROOT, so
a rerun downloads nothing. The lock tools live in bench/.venv-compat-tools (uv, pip-tools) and
bench/.venv-compat-poetry (poetry + the export plugin), made on first use; they are never
dependencies of monotrail. With `--docs` (the default for a full run), docs/compatibility.md is
rewritten between its `compat:begin`/`compat:end` markers; the text around them is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable
from collections.abc import Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DOC = REPO / "docs" / "compatibility.md"
TOOLS = HERE / ".venv-compat-tools"
POETRY = HERE / ".venv-compat-poetry"
INDEX = "https://pypi.org/simple"
UV_VERSION = "0.13.9"
PIP_TOOLS_VERSION = "7.6.2"
POETRY_VERSION = "2.5.1"
COUNTS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
TIMEOUT = 900  # one command, seconds

POETRY_SOURCE = """
[[tool.poetry.source]]
name = "pypi-simple"
url = "https://pypi.org/simple"
priority = "primary"
"""


# --- what is run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A workspace member: an sdist unpacked at `path` inside the root project's tree."""

    dist: str
    version: str
    path: str


@dataclass(frozen=True)
class Project:
    key: str
    dist: str
    version: str
    python: str
    tool: str  # "uv", "poetry" or "pip-tools"
    shape: str
    extras: tuple[str, ...] = ()
    add_dev: tuple[str, ...] = ()  # test requirements the project does not declare: `uv add --dev`
    pytest_args: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()  # uv workspace members
    edits: tuple[tuple[str, str], ...] = ()  # (old, new) replacements in pyproject.toml before locking
    requirements_in: str = ""  # pip-tools: the requirements.in written at the root


PROJECTS: tuple[Project, ...] = (
    Project("more-itertools", "more-itertools", "10.5.0", "3.12", "uv", "flat layout, flit", add_dev=("pytest",)),
    Project("more-itertools-py38", "more-itertools", "10.5.0", "3.8", "uv", "flat layout, flit", add_dev=("pytest",)),
    Project("markupsafe", "markupsafe", "3.0.2", "3.12", "uv", "src layout, C extension (setuptools)",
            add_dev=("pytest",)),
    Project("pluggy", "pluggy", "1.6.0", "3.12", "uv", "src layout, setuptools-scm, extras", extras=("testing",)),
    Project("pytest-mock", "pytest-mock", "3.14.0", "3.12", "uv", "pytest plugin (pytest11 entry point), src layout",
            add_dev=("pytest", "pytest-asyncio")),
    Project("pytest-mock-py38", "pytest-mock", "3.14.0", "3.8", "uv", "pytest plugin (pytest11 entry point), src layout",
            add_dev=("pytest", "pytest-asyncio")),
    Project("jaraco.functools", "jaraco.functools", "4.1.0", "3.12", "uv",
            "namespace package (jaraco.*), flat, doctest-modules", extras=("test",)),
    Project("blacken-docs", "blacken-docs", "1.19.1", "3.12", "uv", "tool using black (mypyc-compiled), console script",
            add_dev=("pytest",)),
    Project("yamllint", "yamllint", "1.35.1", "3.12", "uv", "console script, tests run `sys.executable -m`",
            add_dev=("pytest",)),
    Project("tomlkit", "tomlkit", "0.13.2", "3.12", "poetry", "poetry project (poetry-core), flat",
            edits=(('PyYAML = "^6.0"\npre-commit = "^2.20.0"\nmypy = "^0.990"\nSphinx = "^4.3.2"\nfuro = "^2022.9.29"\n',
                    'PyYAML = "^6.0"\n'),)),
    Project("jinja2", "jinja2", "3.1.4", "3.12", "pip-tools", "pip-tools project (requirements/*.in), src layout",
            requirements_in="-e .\n-r requirements/tests.in\n"),
    Project("uv-workspace", "jinja2", "3.1.4", "3.12", "uv", "uv workspace: jinja2 root + markupsafe (C) member",
            add_dev=("pytest",), members=(Member("markupsafe", "3.0.2", "packages/markupsafe"),),
            pytest_args=("tests", "packages/markupsafe/tests")),
)


@dataclass
class TestRun:
    """One pytest run: its counts, exit code, time and per-test outcomes."""

    counts: dict[str, int] = field(default_factory=dict)
    exit_code: int | None = None
    setup_s: float = 0.0
    test_s: float = 0.0
    summary: str = ""
    outcomes: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    note: str = ""  # why there are no counts: the setup failed, pytest crashed

    def same_as(self, other: "TestRun") -> bool:
        return bool(self.counts) and self.counts == other.counts and self.exit_code == other.exit_code


# --- small helpers ---------------------------------------------------------------------------------


class Failed(Exception):
    """A setup command failed: the message is its last lines."""


def log(message: str) -> None:
    print(message, flush=True)


def base_env(**extra: str) -> dict[str, str]:
    """The caller's environment as a user has it: no venv, no PYTHON* knobs, no monotrail settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "MONOTRAIL_", "UV_", "POETRY_", "VIRTUAL_ENV", "CONDA_", "NOX_", "TOX_"))
        and key not in ("PIP_REQUIRE_VIRTUALENV",)
    }
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(extra)
    return env


Command = Sequence[Any]  # str or Path items


def run(command: Command, cwd: Path, env: dict[str, str], timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(map(str, command)), cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(error.cmd, -9, _text(error.stdout), _text(error.stderr) + f"\ntimed out after {timeout} s")


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")


def check(command: Command, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    completed = run(command, cwd, env)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        raise Failed(f"`{' '.join(map(str, command))}` exited {completed.returncode}:\n{tail}")
    return completed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 3) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def copy_tree(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    return target


# --- tools, interpreters, sdists -------------------------------------------------------------------


class Context:
    """Paths and commands shared by every project and scenario of one run."""

    def __init__(self, work: Path, runs: Path, monotrail: str) -> None:
        self.work = work
        self.runs = runs
        self.monotrail = monotrail
        self.root = work / "root"
        self.env = base_env(
            MONOTRAIL_ROOT=str(self.root),
            UV_CACHE_DIR=str(work / "cache" / "uv"),
            POETRY_CACHE_DIR=str(work / "cache" / "poetry"),
            PIP_CACHE_DIR=str(work / "cache" / "pip"),
            UV_PYTHON_DOWNLOADS="never",
            UV_SYSTEM_CERTS="1",  # the system's trust store, as monotrail's own client uses (index._ssl_context)
            NO_PROXY="127.0.0.1,localhost",
        )
        self._pythons: dict[str, str] = {}

    def python(self, version: str) -> str:
        """The interpreter as monotrail finds it, so both modes use the very same binary."""
        if version not in self._pythons:
            found = run([self.monotrail, "python", "find", version], self.work, self.env)
            if found.returncode != 0 or not found.stdout.strip():
                raise Failed(f"no CPython {version} found by `monotrail python find {version}`: install it")
            self._pythons[version] = found.stdout.strip().splitlines()[-1]
        return self._pythons[version]

    def tool(self, name: str) -> str:
        """uv, pip-compile, pip-sync (bench/.venv-compat-tools) or poetry (bench/.venv-compat-poetry)."""
        venv, packages = (POETRY, [f"poetry=={POETRY_VERSION}", "poetry-plugin-export"]) if name == "poetry" else (
            TOOLS, [f"uv=={UV_VERSION}", f"pip-tools=={PIP_TOOLS_VERSION}"])
        binary = venv / "bin" / name
        if not binary.exists():
            log(f"  installing {' '.join(packages)} into {venv}")
            check([sys.executable, "-m", "venv", "--clear", venv], HERE, self.env)
            check([venv / "bin" / "python", "-m", "pip", "install", "-q", *packages], HERE, self.env)
        return str(binary)

    def sdist(self, dist: str, version: str) -> Path:
        """The sdist of `dist==version` from the index, verified against the index's sha256."""
        directory = self.work / "sdists"
        directory.mkdir(parents=True, exist_ok=True)
        wanted = re.sub(r"[-_.]+", "-", f"{dist}-{version}").lower()
        for cached in directory.iterdir():
            if _sdist_stem(cached.name) == wanted:
                return cached
        request = urllib.request.Request(f"{INDEX}/{dist}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
        for entry in files:
            if _sdist_stem(entry["filename"]) == wanted:
                with urllib.request.urlopen(entry["url"], timeout=120) as response:
                    data = response.read()
                if hashlib.sha256(data).hexdigest() != entry["hashes"]["sha256"]:
                    raise Failed(f"{entry['filename']}: sha256 differs from the index's")
                target = directory / entry["filename"]
                target.write_bytes(data)
                return target
        raise Failed(f"no sdist of {dist} {version} on {INDEX}")


def _sdist_stem(filename: str) -> str:
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            return re.sub(r"[-_.]+", "-", filename[: -len(suffix)]).lower()
    return ""


def unpack(archive: Path, target: Path) -> Path:
    """The sdist's single top directory, unpacked as `target`."""
    if target.exists():
        shutil.rmtree(target)
    staging = target.with_name(target.name + ".unpack")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        if sys.version_info >= (3, 12):
            tar.extractall(staging, filter="data")
        else:
            tar.extractall(staging)  # noqa: S202 (sdists from the index, checked against its hash)
    (top,) = staging.iterdir()
    top.rename(target)
    staging.rmdir()
    return target


# --- locking ---------------------------------------------------------------------------------------


def locked_tree(ctx: Context, project: Project) -> Path:
    """The project's sources with its lock, made once per recipe (the stamp is the recipe)."""
    tree = ctx.work / "locked" / project.key
    stamp = tree.with_name(project.key + ".stamp")
    recipe = json.dumps(asdict(project), sort_keys=True)
    if tree.is_dir() and stamp.is_file() and stamp.read_text() == recipe:
        return tree
    log(f"  locking {project.key} with {project.tool}")
    unpack(ctx.sdist(project.dist, project.version), tree)
    for member in project.members:
        unpack(ctx.sdist(member.dist, member.version), tree / member.path)
    _edit_pyproject(tree, project)
    python = ctx.python(project.python)
    if project.tool == "uv":
        if project.add_dev:
            check([ctx.tool("uv"), "add", "--dev", "--no-sync", "--python", python, *project.add_dev], tree, ctx.env)
        check([ctx.tool("uv"), "lock", "--python", python], tree, ctx.env)
    elif project.tool == "poetry":
        check([ctx.tool("poetry"), "lock"], tree, ctx.env)
    elif project.tool == "pip-tools":
        (tree / "requirements.in").write_text(project.requirements_in)
        check([ctx.tool("pip-compile"), "--quiet", "--no-header", "--strip-extras", "--no-emit-index-url",
               "-o", "requirements.txt", "requirements.in"], tree, ctx.env)
    else:
        raise ValueError(project.tool)
    stamp.write_text(recipe)
    return tree


def _edit_pyproject(tree: Path, project: Project) -> None:
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text()
    for old, new in project.edits:
        if old not in text:
            raise Failed(f"{project.key}: pyproject.toml lacks the text to replace: {old!r}")
        text = text.replace(old, new)
    if project.tool == "poetry":  # see ../shared/bench/README.md: the mirror serves only the simple API
        text += POETRY_SOURCE
    if project.members:
        paths = ", ".join(f'"{m.path}"' for m in project.members)
        sources = "\n".join(f"{m.dist} = {{ workspace = true }}" for m in project.members)
        text += f"\n[tool.uv.workspace]\nmembers = [{paths}]\n\n[tool.uv.sources]\n{sources}\n"
    pyproject.write_text(text)


# --- the two modes ---------------------------------------------------------------------------------


def make_venv(ctx: Context, project: Project, tree: Path, venv: Path) -> str:
    """The tool's own environment for `tree`; returns how it was made."""
    python = ctx.python(project.python)
    if venv.exists():
        shutil.rmtree(venv)
    if project.tool == "uv":
        extras = [arg for extra in project.extras for arg in ("--extra", extra)]
        env = dict(ctx.env, UV_PROJECT_ENVIRONMENT=str(venv))
        check([ctx.tool("uv"), "sync", "--frozen", "--python", python, *extras], tree, env)
        return "uv sync --frozen"
    if project.tool == "pip-tools":
        check([python, "-m", "venv", venv], tree, ctx.env)
        check([ctx.tool("pip-sync"), "--python-executable", venv / "bin" / "python", "requirements.txt"], tree, ctx.env)
        return "pip-sync requirements.txt"
    return _poetry_venv(ctx, tree, venv, python)


def _poetry_venv(ctx: Context, tree: Path, venv: Path, python: str) -> str:
    """`poetry install` into `venv`; where poetry cannot install here, `poetry export` + pip as it would."""
    env = dict(ctx.env, POETRY_VIRTUALENVS_IN_PROJECT="false", POETRY_VIRTUALENVS_PATH=str(venv.parent / "poetry-envs"))
    check([python, "-m", "venv", venv], tree, ctx.env)
    env_with_venv = dict(env, VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{env['PATH']}")
    installed = run([ctx.tool("poetry"), "install", "--no-interaction"], tree, env_with_venv)
    if installed.returncode == 0:
        return "poetry install"
    exported = check([ctx.tool("poetry"), "export", "--with", "dev", "-f", "requirements.txt"], tree, env)
    (venv / "requirements.txt").write_text(exported.stdout)
    check([venv / "bin" / "pip", "install", "-q", "--no-deps", "-r", venv / "requirements.txt"], tree, ctx.env)
    check([venv / "bin" / "pip", "install", "-q", "--no-deps", "-e", "."], tree, ctx.env)
    return "poetry export + pip install (poetry install failed)"


def monotrail_prefix(ctx: Context, project: Project) -> list[str]:
    extras = [arg for extra in project.extras for arg in ("-E", extra)]
    return [ctx.monotrail, "run", "-q", "-p", ctx.python(project.python), *extras]


def pytest_run(command: list[str], project_args: Sequence[str], tree: Path, env: dict[str, str], junit: Path,
               setup_s: float) -> TestRun:
    args = [*project_args, "-p", "no:cacheprovider", "--color=no", f"--junitxml={junit}"]
    if junit.exists():
        junit.unlink()
    started = time.perf_counter()
    completed = run([*command, "-m", "pytest", *args], tree, env)
    result = TestRun(exit_code=completed.returncode, setup_s=setup_s, test_s=time.perf_counter() - started)
    output = completed.stdout + completed.stderr
    (junit.with_suffix(".log")).write_text(output)
    result.summary, result.counts = parse_summary(output)
    if not result.counts:
        result.note = "no pytest summary: " + _tail(output)
    result.outcomes, result.messages = parse_junit(junit)
    return result


SUMMARY = re.compile(r"^=*\s*(?:(?:\d+ \w+(?: \w+)?,? ?)+|no tests ran) in [\d.]+s")
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")


def parse_summary(output: str) -> tuple[str, dict[str, int]]:
    """pytest's last line: `== 3 failed, 10 passed, 2 skipped in 1.2s ==` -> counts (subtests apart)."""
    for line in reversed(output.splitlines()):
        if SUMMARY.match(line.strip()):
            counts = dict.fromkeys(COUNTS, 0)
            for number, word in COUNT.findall(re.sub(r"\d+ subtests \w+", "", line)):
                counts["errors" if word.startswith("error") else word] += int(number)
            return line.strip("= \n"), counts
    return "", {}


def parse_junit(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    if not path.is_file():
        return outcomes, messages
    for case in ElementTree.parse(path).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or "").strip()
                if message in ("", "collection failure"):  # the cause is the traceback's last `E ` line
                    cause = [line[1:].strip() for line in (child.text or "").splitlines() if line.startswith("E ")]
                    message = cause[-1] if cause else message or (child.text or "").strip()
                break
        outcomes[name] = outcome
        if message:
            messages[name] = message.splitlines()[0][:300] if message else ""
    return outcomes, messages


def run_project(ctx: Context, project: Project) -> dict[str, Any]:
    log(f"{project.key}: {project.dist} {project.version} ({project.tool}, Python {project.python})")
    row: dict[str, Any] = {"project": asdict(project)}
    try:
        locked = locked_tree(ctx, project)
        python = ctx.python(project.python)
        row["python"] = python
    except (Failed, OSError) as error:
        row["error"] = str(error)
        log(f"  lock FAILED: {error}")
        return row
    base = ctx.runs / project.key
    base.mkdir(parents=True, exist_ok=True)

    tree = copy_tree(locked, base / "venv-tree")
    venv = base / "venv"
    started = time.perf_counter()
    try:
        row["venv_how"] = make_venv(ctx, project, tree, venv)
        env = dict(ctx.env, VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{ctx.env['PATH']}")
        venv_run = pytest_run([str(venv / "bin" / "python")], project.pytest_args, tree, env, base / "venv.xml",
                              time.perf_counter() - started)
    except Failed as error:
        venv_run = TestRun(note=f"venv setup failed: {error}")
    log(f"  venv:      {_describe(venv_run)}")

    tree = copy_tree(locked, base / "monotrail-tree")
    prefix = monotrail_prefix(ctx, project)
    started = time.perf_counter()
    prepared = run([*prefix, "-c", "pass"], tree, ctx.env)
    setup_s = time.perf_counter() - started
    if prepared.returncode != 0:
        mt_run = TestRun(exit_code=prepared.returncode,
                         note="monotrail setup failed: " + _tail(prepared.stdout + prepared.stderr))
    else:
        mt_run = pytest_run(prefix, project.pytest_args, tree, ctx.env, base / "monotrail.xml", setup_s)
    log(f"  monotrail: {_describe(mt_run)}")

    row["venv"] = asdict(venv_run)
    row["monotrail"] = asdict(mt_run)
    row["same"] = venv_run.same_as(mt_run)
    row["differences"] = differences(venv_run, mt_run)
    row["versions"] = locked_versions(locked)
    return row


def _describe(result: TestRun) -> str:
    if not result.counts:
        return result.note
    counts = ", ".join(f"{result.counts[k]} {k}" for k in COUNTS if result.counts.get(k))
    return f"{counts or 'nothing'} (exit {result.exit_code}) setup {result.setup_s:.1f} s, tests {result.test_s:.1f} s"


def differences(venv_run: TestRun, mt_run: TestRun) -> list[dict[str, str]]:
    """Tests whose outcome differs, with each side's first message line."""
    found = []
    for name in sorted(set(venv_run.outcomes) | set(mt_run.outcomes)):
        left, right = venv_run.outcomes.get(name, "absent"), mt_run.outcomes.get(name, "absent")
        if left != right:
            found.append({"test": name, "venv": left, "monotrail": right,
                          "venv_message": venv_run.messages.get(name, ""),
                          "monotrail_message": mt_run.messages.get(name, "")})
    return found


def locked_versions(tree: Path) -> dict[str, str]:
    """name -> version of the lock's packages (uv.lock, poetry.lock or requirements.txt)."""
    versions: dict[str, str] = {}
    for lock in ("uv.lock", "poetry.lock"):
        if (tree / lock).is_file():
            text = (tree / lock).read_text()
            for name, version in re.findall(r'^name = "([^"]+)"\nversion = "([^"]+)"', text, re.M):
                versions.setdefault(name, version)
    if (tree / "requirements.txt").is_file():
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (tree / "requirements.txt").read_text(), re.M):
            versions.setdefault(name.lower(), version)
    return versions


# --- scenarios -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    what: str
    dependencies: tuple[str, ...]
    files: tuple[tuple[str, str], ...]
    check: Callable[["Runner", Path], tuple[bool, str]]
    git: bool = False


class Runner:
    """How one mode runs a console script or python in a scenario's tree."""

    def __init__(self, mode: str, ctx: Context, python: str, venv: Path | None) -> None:
        self.mode, self.ctx, self.venv = mode, ctx, venv
        if venv is not None:
            self.env = dict(ctx.env, VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{ctx.env['PATH']}")
            self.prefix: list[str] = []
        else:
            self.env = dict(ctx.env)
            self.prefix = [ctx.monotrail, "run", "-q", "-p", python]

    def script(self, name: str, *args: str) -> list[str]:
        if self.venv is not None:
            return [str(self.venv / "bin" / name), *args]
        return [*self.prefix, name, *args]

    def python(self, *args: str) -> list[str]:
        if self.venv is not None:
            return [str(self.venv / "bin" / "python"), *args]
        return [*self.prefix, "python", *args]


def _tail(text: str, lines: int = 2) -> str:
    """The last error line of a tool's output (else its last lines): what a user would read first."""
    found = [line.strip() for line in text.strip().splitlines() if re.search(r"Error|error:|No module named", line)]
    return " | ".join(found[-1:] or [line.strip() for line in text.strip().splitlines()[-lines:]])[:300]


def check_command(command: Callable[[Runner], list[str]], expect: Callable[[Path, str], str | None]):
    """A scenario that runs one command to its end: exit 0 and `expect` says nothing is wrong."""

    def scenario_check(runner: Runner, tree: Path) -> tuple[bool, str]:
        completed = run(command(runner), tree, runner.env, timeout=600)
        output = completed.stdout + completed.stderr
        (tree / "scenario.log").write_text(output)
        if completed.returncode != 0:
            return False, f"exit {completed.returncode}: {_tail(output)}"
        problem = expect(tree, output)
        return (problem is None), (problem or "ok")

    return scenario_check


class Server:
    """A server started in its own process group, always stopped (SIGTERM, then SIGKILL)."""

    def __init__(self, command: list[str], tree: Path, env: dict[str, str]) -> None:
        self.log = open(tree / "server.log", "w")
        self.process = subprocess.Popen(command, cwd=tree, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.tree = tree

    def wait_for(self, url: str, ok: Callable[[int, str], bool], seconds: float) -> tuple[int, str]:
        deadline = time.monotonic() + seconds
        status, body = 0, ""
        while time.monotonic() < deadline and self.process.poll() is None:
            status, body = http_get(url)
            if ok(status, body):
                return status, body
            time.sleep(0.3)
        return status, body

    def output(self) -> str:
        self.log.flush()
        return (self.tree / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc/<pid>/task/*/children)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            pending.extend(children)
    return found


def flask_reload(runner: Runner, tree: Path) -> tuple[bool, str]:
    """`flask --app app run --reload`: serves, then serves the edited file after the reloader restarts."""
    port = free_port()
    server = Server(runner.script("flask", "--app", "app", "run", "--reload", "--port", str(port)), tree, runner.env)
    try:
        status, body = server.wait_for(f"http://127.0.0.1:{port}/", lambda s, b: s == 200, 60)
        if body != "v1":
            return False, f"GET / answered {status} {body!r} before the edit: {_tail(server.output())}"
        time.sleep(1.1)  # the stat reloader compares mtimes, one-second resolution on some filesystems
        (tree / "app.py").write_text(FLASK_APP.replace('"v1"', '"v2"'))
        status, body = server.wait_for(f"http://127.0.0.1:{port}/", lambda s, b: b == "v2", 30)
        if body != "v2":
            return False, f"not reloaded: GET / answered {status} {body!r} after the edit: {_tail(server.output())}"
        return True, "served v1, reloaded, served v2"
    finally:
        server.stop()


def gunicorn_workers(runner: Runner, tree: Path) -> tuple[bool, str]:
    """gunicorn -w 2: both workers up and serving; USR2 re-executes the master (a new master with workers)."""
    port = free_port()
    server = Server(runner.script("gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"), tree, runner.env)
    try:
        status, body = server.wait_for(f"http://127.0.0.1:{port}/", lambda s, b: s == 200, 60)
        if status != 200:
            return False, f"GET / answered {status}: {_tail(server.output())}"
        deadline = time.monotonic() + 15
        while len(descendants(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = len(descendants(server.process.pid))
        if workers < 2:
            return False, f"{workers} worker processes, expected 2"
        os.kill(server.process.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 20
        while len(descendants(server.process.pid)) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        after = len(descendants(server.process.pid))
        if after < 5:
            return False, f"USR2: {after} processes below the master, expected 2 workers + a new master with 2: {_tail(server.output())}"
        status, _ = http_get(f"http://127.0.0.1:{port}/")
        return status == 200, f"2 workers; USR2 started a new master with its workers; GET / {status}"
    finally:
        server.stop()


def streamlit_serves(runner: Runner, tree: Path) -> tuple[bool, str]:
    """`streamlit run app.py --server.port P --server.headless true`: / answers 200, not in development mode."""
    port = free_port()
    command = runner.script("streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
                            "--browser.gatherUsageStats", "false")
    server = Server(command, tree, runner.env)
    try:
        status, _ = server.wait_for(f"http://127.0.0.1:{port}/_stcore/health", lambda s, b: s == 200, 90)
        page, _ = http_get(f"http://127.0.0.1:{port}/")
        output = server.output()
        if "developmentMode" in output:
            return False, f"development mode: {_tail(output, 2)}"
        if status != 200 or page != 200:
            return False, f"health {status}, GET / {page}: {_tail(output)}"
        return True, "health 200, GET / 200, not in development mode"
    finally:
        server.stop()


def built(tree: Path, output: str) -> str | None:
    names = sorted(p.name for p in (tree / "dist").glob("*")) if (tree / "dist").is_dir() else []
    if not any(n.endswith(".whl") for n in names) or not any(n.endswith(".tar.gz") for n in names):
        return f"dist/ holds {names}"
    return None


def nothing_else(tree: Path, output: str) -> str | None:
    return None


FLASK_APP = '''from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "v1"
'''

PRE_COMMIT_CONFIG = """repos:
- repo: local
  hooks:
  - id: pyflakes
    name: pyflakes
    entry: pyflakes
    language: python
    additional_dependencies: ["pyflakes==3.2.0"]
    types: [python]
"""

NOXFILE = '''import nox


@nox.session
def check(session):
    session.install("six==1.16.0")
    session.run("python", "-c", "import six, sys; print(six.__version__, sys.prefix)")
'''

TOX_INI = """[tox]
env_list = check
skipsdist = true

[testenv:check]
deps = six==1.16.0
commands = python -c "import six, sys; print(six.__version__, sys.prefix)"
"""

TINY_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny"
version = "1.0"
"""

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("pre-commit", "`pre-commit run --all-files`, a `repo: local` hook of `language: python`",
             ("pre-commit",), (("ok.py", "import os\n\nprint(os.sep)\n"), (".pre-commit-config.yaml", PRE_COMMIT_CONFIG)),
             check_command(lambda r: r.script("pre-commit", "run", "--all-files"), nothing_else), git=True),
    Scenario("nox", "`nox -s check`: a session venv, `session.install`, `session.run`", ("nox",),
             (("noxfile.py", NOXFILE),), check_command(lambda r: r.script("nox", "-s", "check"), nothing_else)),
    Scenario("tox", "`tox -e check`: an env with deps, a command in it", ("tox",),
             (("tox.ini", TOX_INI),), check_command(lambda r: r.script("tox", "-e", "check"), nothing_else)),
    Scenario("flask-reload", "`flask --app app run --reload`, edit app.py, GET / again", ("flask",),
             (("app.py", FLASK_APP),), flask_reload),
    Scenario("gunicorn", "`gunicorn -w 2 app:app`, then USR2 (re-exec of the master)", ("gunicorn",),
             (("app.py", "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n"),),
             gunicorn_workers),
    Scenario("streamlit", "`streamlit run app.py --server.port P --server.headless true`", ("streamlit",),
             (("app.py", "import streamlit as st\n\nst.write('hello')\n"),), streamlit_serves),
    Scenario("build", "`python -m build tiny` (virtualenv importable)", ("build", "virtualenv"),
             (("tiny/pyproject.toml", TINY_PYPROJECT), ("tiny/tiny.py", "VALUE = 1\n")),
             check_command(lambda r: r.python("-m", "build", "--outdir", "dist", "tiny"), built)),
)


def scenario_tree(ctx: Context, scenario: Scenario, python: str) -> Path:
    """The scenario's files and a uv-locked pyproject naming its dependencies (a virtual project)."""
    tree = ctx.work / "locked" / f"scenario-{scenario.key}"
    stamp = tree.with_name(f"scenario-{scenario.key}.stamp")
    recipe = json.dumps([scenario.dependencies, scenario.files], sort_keys=True)
    if tree.is_dir() and stamp.is_file() and stamp.read_text() == recipe:
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    deps = ", ".join(f'"{d}"' for d in scenario.dependencies)
    (tree / "pyproject.toml").write_text(
        f'[project]\nname = "scenario-{scenario.key}"\nversion = "0"\nrequires-python = ">=3.12"\n'
        f"dependencies = [{deps}]\n\n[tool.uv]\npackage = false\n")
    for name, text in scenario.files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    check([ctx.tool("uv"), "lock", "--python", python], tree, ctx.env)
    stamp.write_text(recipe)
    return tree


def run_scenario(ctx: Context, scenario: Scenario, python_version: str = "3.12") -> dict[str, Any]:
    log(f"scenario {scenario.key}: {scenario.what}")
    row: dict[str, Any] = {"scenario": scenario.key, "what": scenario.what}
    try:
        python = ctx.python(python_version)
        locked = scenario_tree(ctx, scenario, python)
    except Failed as error:
        row["error"] = str(error)
        log(f"  FAILED: {error}")
        return row
    row["versions"] = {d: locked_versions(locked).get(d, "?") for d in scenario.dependencies}
    base = ctx.runs / f"scenario-{scenario.key}"
    for mode in ("venv", "monotrail"):
        tree = copy_tree(locked, base / f"{mode}-tree")
        venv = base / "venv" if mode == "venv" else None
        started = time.perf_counter()
        try:
            if venv is not None:
                if venv.exists():
                    shutil.rmtree(venv)
                check([ctx.tool("uv"), "sync", "--frozen", "--python", python], tree,
                      dict(ctx.env, UV_PROJECT_ENVIRONMENT=str(venv)))
            else:
                check([ctx.monotrail, "run", "-q", "-p", python, "-c", "pass"], tree, ctx.env)
            runner = Runner(mode, ctx, python, venv)
            runner.env["PRE_COMMIT_HOME"] = str(tree / ".pre-commit-home")
            if scenario.git:
                check(["git", "init", "-q"], tree, ctx.env)
                check(["git", "add", "-A"], tree, ctx.env)
            setup_s = time.perf_counter() - started
            started = time.perf_counter()
            ok, detail = scenario.check(runner, tree)
        except Failed as error:
            ok, detail, setup_s = False, f"setup failed: {error}", time.perf_counter() - started
        row[mode] = {"ok": ok, "detail": detail, "setup_s": setup_s, "run_s": time.perf_counter() - started}
        log(f"  {mode:9s}: {'pass' if ok else 'FAIL'} ({row[mode]['run_s']:.1f} s) {detail}")
    row["same"] = row["venv"]["ok"] == row["monotrail"]["ok"]
    return row


# --- report ----------------------------------------------------------------------------------------


def counts_text(side: dict[str, Any]) -> str:
    counts = side.get("counts") or {}
    if not counts:
        return f"— ({str(side.get('note', ''))[:200]})"
    text = f"{counts['passed']} / {counts['failed']} / {counts['errors']} / {counts['skipped']}"
    extra = ", ".join(f"{counts[k]} {k}" for k in ("xfailed", "xpassed") if counts.get(k))
    return text + (f" ({extra})" if extra else "")


def times_text(side: dict[str, Any]) -> str:
    if not side.get("counts"):
        return "—"
    return f"{side['test_s']:.1f} s (setup {side['setup_s']:.1f} s)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def commits_text(rows: list[dict[str, Any]], default: str) -> str:
    """`A` when every row ran at one commit; else the commit of most rows and the others by row."""
    by_commit: dict[str, list[str]] = {}
    for row in rows:
        key = row["project"]["key"] if "project" in row else row.get("scenario", "?")
        by_commit.setdefault(row.get("commit") or default, []).append(key)
    if len(by_commit) <= 1:
        return f"`{next(iter(by_commit), default)}`"
    main = max(by_commit, key=lambda commit: len(by_commit[commit]))
    others = "; ".join(f"{', '.join(keys)} at `{commit}`" for commit, keys in by_commit.items() if commit != main)
    return f"`{main}` ({others})"


def markdown(projects: list[dict[str, Any]], scenarios: list[dict[str, Any]], monotrail_commit: str) -> str:
    lines = [
        f"Last run: {time.strftime('%Y-%m-%d')}, monotrail at {commits_text(projects + scenarios, monotrail_commit)}, "
        f"uv {UV_VERSION}, pip-tools {PIP_TOOLS_VERSION}, poetry {POETRY_VERSION}. "
        "Results are passed / failed / errors / skipped (xfailed, xpassed when any); times are the pytest run "
        "alone (setup: the tool's sync, or monotrail's first run that installs the environment).",
        "",
        "| project | version | shape | lock tool | Python | venv (made by) | venv result | venv time | monotrail result "
        "| monotrail time | same |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in projects:
        project = row["project"]
        if "error" in row:
            lines.append(f"| {project['dist']} | {project['version']} | {project['shape']} | {project['tool']} | "
                         f"{project['python']} | — | lock failed: {_cell(str(row['error']))[:200]} | | | | no |")
            continue
        venv, mt = row["venv"], row["monotrail"]
        lines.append(
            f"| {project['dist']} | {project['version']} | {project['shape']} | {project['tool']} | {project['python']} "
            f"| {row.get('venv_how', '—')} | {_cell(counts_text(venv))} | {times_text(venv)} "
            f"| {_cell(counts_text(mt))} | {times_text(mt)} | {'yes' if row['same'] else '**no**'} |")
    lines += ["", "### Scenarios", "", "| scenario | what | versions | venv | monotrail | same |", "|---|---|---|---|---|---|"]
    for row in scenarios:
        if "error" in row:
            lines.append(f"| {row['scenario']} | {row['what']} | | setup failed: {_cell(str(row['error']))[:200]} | | no |")
            continue
        versions = ", ".join(f"{k} {v}" for k, v in row["versions"].items())
        cells = []
        for mode in ("venv", "monotrail"):
            side = row[mode]
            cells.append(f"{'pass' if side['ok'] else '**fail**'} ({side['run_s']:.1f} s): {_cell(side['detail'])[:300]}")
        lines.append(f"| {row['scenario']} | {row['what']} | {versions} | {cells[0]} | {cells[1]} "
                     f"| {'yes' if row['same'] else '**no**'} |")
    differing = [row for row in projects if row.get("differences")]
    if differing:
        lines += ["", "### Tests whose outcome differs", "",
                  "Grouped by (venv outcome, monotrail outcome, first line of the message); `absent`: the test "
                  "did not exist in that run (a parametrization or collection that differs).", ""]
        for row in differing:
            diffs = row["differences"]
            lines.append(f"- **{row['project']['key']}** ({len(diffs)} test ids):")
            for (venv, mt, message), (count, example) in group_differences(diffs).items():
                lines.append(f"  - {count} x venv {venv}, monotrail {mt}" + (f": `{_cell(message)[:160]}`" if message else "")
                             + f" (e.g. `{_cell(example)[:100]}`)")
    return "\n".join(lines)


def group_differences(diffs: list[dict[str, str]]) -> dict[tuple[str, str, str], tuple[int, str]]:
    groups: dict[tuple[str, str, str], tuple[int, str]] = {}
    for diff in diffs:
        key = (diff["venv"], diff["monotrail"], diff["monotrail_message"] or diff["venv_message"])
        count, example = groups.get(key, (0, diff["test"]))
        groups[key] = (count + 1, example)
    return groups


def merge_rows(previous: list[dict[str, Any]], new: list[dict[str, Any]], previous_commit: str) -> list[dict[str, Any]]:
    """`previous` in its order with the rows of the same key replaced by `new`'s; rows new here last."""
    def key(row: dict[str, Any]) -> str:
        return row["project"]["key"] if "project" in row else row["scenario"]

    fresh = {key(row): row for row in new}
    merged = [fresh.pop(key(row), None) or dict(row, commit=row.get("commit") or previous_commit) for row in previous]
    return merged + list(fresh.values())


def write_doc(table: str) -> None:
    begin, end = "<!-- compat:begin (written by bench/compat.py) -->", "<!-- compat:end -->"
    text = DOC.read_text() if DOC.exists() else f"# Compatibility\n\n{begin}\n{end}\n"
    if begin not in text or end not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n{table}\n{end}{tail}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated project and scenario keys (default: all)")
    parser.add_argument("--work", type=Path, default=HERE / ".compat-work")
    parser.add_argument("--runs", type=Path, default=Path(tempfile.gettempdir()) / "monotrail-compat-runs",
                        help="where the trees and venvs of the runs go: outside any project, because pytest "
                             "takes the nearest pytest config upwards as its rootdir (default: %(default)s)")
    parser.add_argument("--monotrail", default=None, help="the monotrail front door (default: beside this python)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None,
                        help="rewrite docs/compatibility.md (default: only on a full run)")
    parser.add_argument("--commit", default=None, help="the monotrail commit tested (default: this checkout's HEAD)")
    parser.add_argument("--no-scenarios", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="rewrite the docs from the last results.json")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other rows of the last results.json: the rows run now (--only) replace "
                             "theirs, each row keeps the commit it ran at")
    args = parser.parse_args(argv)

    monotrail = args.monotrail or str(Path(sys.executable).parent / "monotrail")
    if not os.access(monotrail, os.X_OK):
        monotrail = shutil.which("monotrail") or monotrail
    only = {key for key in args.only.split(",") if key}
    known = {p.key for p in PROJECTS} | {s.key for s in SCENARIOS}
    if only - known:
        parser.error(f"unknown keys {sorted(only - known)}; known: {sorted(known)}")
    args.work.mkdir(parents=True, exist_ok=True)
    args.runs.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.work.resolve(), args.runs.resolve(), monotrail)
    if not args.report_only:  # environments are made anew by the monotrail under test; the store is kept
        shutil.rmtree(ctx.root / "envs", ignore_errors=True)

    if args.report_only:
        results = json.loads((ctx.work / "results.json").read_text())
        projects, scenarios, commit = results["projects"], results["scenarios"], results["commit"]
    else:
        projects = [run_project(ctx, p) for p in PROJECTS if not only or p.key in only]
        scenarios = [] if args.no_scenarios else [run_scenario(ctx, s) for s in SCENARIOS if not only or s.key in only]
        commit = args.commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                               text=True).stdout.strip()
        for row in projects + scenarios:
            row["commit"] = commit
        if args.merge and (ctx.work / "results.json").is_file():
            previous = json.loads((ctx.work / "results.json").read_text())
            projects = merge_rows(previous["projects"], projects, previous["commit"])
            scenarios = merge_rows(previous["scenarios"], scenarios, previous["commit"])
        results = {"monotrail": monotrail, "commit": commit, "work": str(ctx.work), "runs": str(ctx.runs),
                   "projects": projects, "scenarios": scenarios}
        (ctx.work / "results.json").write_text(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.docs or (args.docs is None and not only):
        table = markdown(projects, scenarios, commit or "?")
        for path, name in ((results.get("runs", ""), "$TMPDIR/monotrail-compat-runs"),
                           (results.get("work", ""), "bench/.compat-work")):
            table = table.replace(path, name) if path else table
        write_doc(table)
        log(f"wrote {DOC}")
    same = sum(1 for row in projects + scenarios if row.get("same"))
    log(f"{same} of {len(projects) + len(scenarios)} identical in both modes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
