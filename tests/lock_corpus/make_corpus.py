"""Regenerate the lock corpus: real tools write real locks against the fake universe.

    python tests/lock_corpus/make_corpus.py [--setup] [--only CASE ...]

For each case in CASES: the project files are written into `GENERATION_DIR/<case>/` (a fixed
place: pip-compile writes `-e .` as an absolute file URL), the universe is served on
`corpus_universe.GENERATION_URL` (a fixed port, because the tools write the index URL into the
locks), the tool that owns the case writes its lock there, and the set of
`name==version` that the same tool installs for each target Python is recorded as
`expected-<python>.txt` (from an install into a scratch venv, or the tool's own export, see each
case). The directory is then copied into `cases/<case>/`. `meta.json` keeps the tool, its version, the commands and the shape; README.md's table is
rewritten from them.

The tools live in venvs under bench/ (gitignored, never monotrail dependencies); `--setup`
creates them with the versions below. Pythons 3.8 and 3.12 are found under pyenv's root
(`pyenv root`, $PYENV_ROOT or ~/.pyenv) or given with --python38/--python312. Caches, HOME and
tool configuration point into a scratch directory, so nothing of this machine leaks into a lock.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Callable
from collections.abc import Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus_universe as universe  # noqa: E402

REPO = HERE.parent.parent
CASES_DIR = HERE / "cases"
BENCH = REPO / "bench"
URL = universe.GENERATION_URL
INDEX = f"{URL}/simple"
PRIVATE = f"{URL}/private/simple"
GIT_URL = f"{URL}/{universe.GIT_PATH}"

# venv -> (python minor, pip requirements)
TOOLS = {
    ".venv-corpus": ("3.12", ["uv==0.13.9", "pip-tools==7.6.2", "pip==26.3"]),
    # pdm 2.29.4 fails on hishel 2 ("module 'hishel' has no attribute 'SyncSqliteStorage'")
    ".venv-corpus-pdm": ("3.12", ["pdm==2.29.4", "hishel[httpx2]>=1.4,<2"]),
    ".venv-corpus-poetry11": ("3.8", ["poetry==1.1.15"]),
    ".venv-corpus-poetry18": ("3.12", ["poetry==1.8.5"]),
    ".venv-corpus-poetry2": ("3.12", ["poetry==2.5.1", "poetry-plugin-export==1.9.0"]),
}


def tool(venv: str, name: str) -> str:
    return str(BENCH / venv / "bin" / name)


UV = tool(".venv-corpus", "uv")


# --- running things ------------------------------------------------------------------------------


class Context:
    def __init__(self, scratch: Path, pythons: dict[str, str]) -> None:
        self.scratch = scratch
        self.pythons = pythons  # "3.8" -> path

    def env(self, **extra: str) -> dict[str, str]:
        """No pip/uv/poetry/pdm configuration of this machine; caches and HOME in the scratch dir."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PIP_", "UV_", "POETRY_", "PDM_", "PYTHON", "VIRTUAL_ENV"))}
        home = self.scratch / "home"
        home.mkdir(exist_ok=True)
        env.update({
            "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
            "UV_CACHE_DIR": str(self.scratch / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never",
            "POETRY_CACHE_DIR": str(self.scratch / "poetry-cache"), "POETRY_CONFIG_DIR": str(home / "poetry-config"),
            "POETRY_VIRTUALENVS_PATH": str(self.scratch / "poetry-venvs"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "PDM_CACHE_DIR": str(self.scratch / "pdm-cache"), "PDM_CONFIG_FILE": str(home / "pdm-config.toml"),
            "PDM_CHECK_UPDATE": "false", "PDM_IGNORE_SAVED_PYTHON": "0",
            "PYTHONDONTWRITEBYTECODE": "1",  # the in-tree backend is imported from the committed trees
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        env.update(extra)
        return env

    def run(self, command: Sequence[str], cwd: Path, **env: str) -> str:
        print("  $", " ".join(str(c) for c in command), flush=True)
        result = subprocess.run([str(c) for c in command], cwd=cwd, env=self.env(**env), capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"failed ({result.returncode}) in {cwd}: {' '.join(map(str, command))}\n"
                     f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def venv(self, python: str, name: str, seed: bool = False) -> Path:
        """A fresh venv of one target Python in the scratch dir (`seed`: with pip, for pip-sync)."""
        path = self.scratch / "venvs" / name
        if path.exists():
            shutil.rmtree(path)
        args = [UV, "venv", "-q", "--python", self.pythons[python], str(path)] + (["--seed"] if seed else [])
        self.run(args, self.scratch)
        return path


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(venv: Path) -> dict[str, str]:
    """{normalized name: version} of every distribution a venv's interpreter sees."""
    code = ("import importlib.metadata as m, json; "
            "print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))")
    out = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", code], capture_output=True, text=True, check=True)
    return {normalize(name): version for name, version in json.loads(out.stdout)}


def venv_difference(ctx: Context, python: str, name: str, install: Callable[[Path], None], seed: bool = False) -> dict[str, str]:
    """What `install(venv)` added to a fresh venv of `python` (seeded tools such as pip excluded)."""
    venv = ctx.venv(python, name, seed)
    before = installed(venv)
    install(venv)
    after = installed(venv)
    return {n: v for n, v in after.items() if before.get(n) != v}


def pip_report(ctx: Context, python: str, args: Sequence[str], cwd: Path) -> dict[str, str]:
    """What `pip install --dry-run` of `python` (a target version's interpreter, or a path) would install."""
    report = ctx.scratch / "report.json"
    ctx.run([ctx.pythons.get(python, python), "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--report", str(report), *args], cwd)
    data = json.loads(report.read_text())
    return {normalize(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}


# --- writing cases -------------------------------------------------------------------------------


def fresh_case(name: str) -> Path:
    """The case's project directory at its generation-time place (copied into cases/ by `record`)."""
    directory = Path(universe.GENERATION_DIR) / name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def write(directory: Path, relative: str, text: str) -> None:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def buildable(directory: Path, name: str, version: str, requires: Sequence[str], extra_pyproject: str = "") -> None:
    """A source tree built by the corpus' in-tree backend; `extra_pyproject` is appended."""
    universe.source_tree(directory, name, version, requires)
    if extra_pyproject:
        pyproject = directory / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + "\n" + textwrap.dedent(extra_pyproject).lstrip("\n"))


def record(directory: Path, meta: dict[str, object], expected: dict[str, dict[str, str]], project: Sequence[str]) -> None:
    """meta.json and expected-<python>.txt (the project's own distributions left out: monotrail
    runs a project in place, the tools install it into their venv)."""
    meta = dict(meta, project=list(project), pythons=sorted(expected, key=lambda v: tuple(map(int, v.split(".")))))
    (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    for python, found in expected.items():
        lines = [f"{name}=={version}" for name, version in sorted(found.items()) if name not in project]
        header = f"# {meta['reference'][python]}\n"  # type: ignore[index]
        (directory / f"expected-{python}.txt").write_text(header + "\n".join(lines) + "\n")
    for cache in list(directory.rglob("__pycache__")):
        shutil.rmtree(cache)
    for place in (str(REPO), str(Path(tempfile.gettempdir()) / "lock-corpus-")):
        leaked = [str(p) for p in directory.rglob("*") if p.is_file() and place in p.read_text(errors="replace")]
        if leaked:
            sys.exit(f"a file of {directory.name} holds a path of this machine ({place}): {leaked}")
    target = CASES_DIR / directory.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(directory, target)


def version_of(command: Sequence[str], ctx: Context) -> str:
    out = ctx.run(command, ctx.scratch).strip().splitlines()[0]
    return re.sub(r"^(Poetry|PDM|pip-compile)[ ,]*(\(version |version )?", "", out).rstrip(")").split(" from ")[0]


# --- uv ------------------------------------------------------------------------------------------

UV_INDEXES = f"""
[[tool.uv.index]]
name = "corpus"
url = "{INDEX}"
default = true

[[tool.uv.index]]
name = "private"
url = "{PRIVATE}"
explicit = true
"""

UV_PROJECT_DEPS = [
    'mt-idna==2.10; python_version < "3.9"',
    'mt-idna==3.4; python_version >= "3.9"',
    "mt-web[fast]==1.0",
    "mt-chain-a",
    'mt-winonly; sys_platform == "win32"',
    'mt-oldpy; python_version < "3.9"',
    "mt-sdistonly",
    "mt-private",
]


def uv_version(ctx: Context) -> str:
    return "uv " + ctx.run([UV, "--version"], ctx.scratch).split()[1]


def uv_sync_expected(ctx: Context, case: Path, python: str, extra: Sequence[str] = ()) -> dict[str, str]:
    def install(venv: Path) -> None:
        ctx.run([UV, "sync", "-q", "--frozen", *extra, "--python", ctx.pythons[python]], case, UV_PROJECT_ENVIRONMENT=str(venv))
    return venv_difference(ctx, python, f"{case.name}-{python}", install)


def case_uv_project(ctx: Context) -> None:
    """A single virtual project: python-split versions, markers, an extra, an sdist-only package,
    a package from an explicit second index, a dev group."""
    case = fresh_case("uv-project")
    deps = ",\n            ".join(json.dumps(d) for d in UV_PROJECT_DEPS)
    write(case, "pyproject.toml", f"""
        [project]
        name = "corpus-uv-project"
        version = "0.1.0"
        requires-python = ">=3.8"
        dependencies = [
            {deps},
        ]

        [dependency-groups]
        dev = ["mt-devtool"]

        [tool.uv.sources]
        mt-private = {{ index = "private" }}
        """ + textwrap.indent(UV_INDEXES, " " * 8))
    ctx.run([UV, "lock", "-q"], case)
    expected = {python: uv_sync_expected(ctx, case, python) for python in ("3.8", "3.12")}
    record(case, {
        "tool": uv_version(ctx), "lock": "uv.lock",
        "shape": "uv.lock of one virtual project: mt-idna 2.10/3.4 forked on python_version, markers "
                 "(sys_platform, python_version), mt-web[fast], an sdist-only package, a package from an "
                 "explicit second index, a dev group (default)",
        "commands": ["uv lock"],
        "reference": {p: f"what `uv sync --frozen --python {p}` installs into a fresh venv" for p in expected},
    }, expected, ["corpus-uv-project"])
    for fmt, lock, folder in (("requirements-txt", "requirements.txt", "uv-export-requirements"),
                              ("pylock.toml", "pylock.toml", "uv-export-pylock")):
        out = fresh_case(folder)
        shutil.copy(case / "pyproject.toml", out / "pyproject.toml")
        shutil.copy(case / "uv.lock", out / "uv.lock")
        ctx.run([UV, "export", "-q", "--frozen", "--format", fmt, "-o", lock], out)
        (out / "uv.lock").unlink()
        expected = {}
        for python in ("3.8", "3.12"):
            index_args = ["--index-url", INDEX, "--extra-index-url", PRIVATE] if fmt == "requirements-txt" else []

            def install(venv: Path, lock: str = lock, index_args: list[str] = index_args) -> None:
                ctx.run([UV, "pip", "sync", "-q", "--python", str(venv / "bin/python"), *index_args, lock], out)
            expected[python] = venv_difference(ctx, python, f"{folder}-{python}", install)
        record(out, {
            "tool": uv_version(ctx), "lock": lock,
            "shape": f"`uv export --format {fmt}` of the uv-project lock (with hashes, universal markers)",
            "commands": ["uv lock  (the uv-project case)", f"uv export --frozen --format {fmt} -o {lock}"],
            "reference": {p: f"what `uv pip sync {lock}` installs into a fresh Python {p} venv" for p in expected},
            "monotrail_args": ["--index-url", INDEX, "--extra-index-url", PRIVATE] if fmt == "requirements-txt" else [],
        }, expected, ["corpus-uv-project"])


def case_uv_app(ctx: Context) -> None:
    """An editable (packaged) root with a git source and a path source."""
    case = fresh_case("uv-app")
    buildable(case, "corpus-uv-app", "0.1.0", ["mt-web[fast]==1.0", "mt-gitdep", "mt-pathdep", "mt-chain-a"], f"""
        [tool.uv.sources]
        mt-gitdep = {{ git = "{GIT_URL}", branch = "main" }}
        mt-pathdep = {{ path = "vendor/mt-pathdep" }}
        """ + textwrap.indent(UV_INDEXES, " " * 8))
    buildable(case / "vendor" / "mt-pathdep", "mt-pathdep", "0.2.0", ["mt-idna"])
    ctx.run([UV, "lock", "-q"], case)
    expected = {python: uv_sync_expected(ctx, case, python) for python in ("3.8", "3.12")}
    record(case, {
        "tool": uv_version(ctx), "lock": "uv.lock",
        "shape": "uv.lock of a packaged project (source editable \".\"), a git source (branch, served over "
                 "git's dumb HTTP from the universe) and a non-editable path source",
        "commands": ["uv lock"],
        "reference": {p: f"what `uv sync --frozen --python {p}` installs into a fresh venv" for p in expected},
    }, expected, ["corpus-uv-app"])
    out = fresh_case("uv-app-export-requirements")
    shutil.copytree(case, out, dirs_exist_ok=True)
    ctx.run([UV, "export", "-q", "--frozen", "--format", "requirements-txt", "-o", "requirements.txt"], out)
    (out / "uv.lock").unlink()
    expected = {}
    for python in ("3.8", "3.12"):
        def install(venv: Path) -> None:
            ctx.run([UV, "pip", "sync", "-q", "--python", str(venv / "bin/python"), "--index-url", INDEX,
                     "requirements.txt"], out)
        expected[python] = venv_difference(ctx, python, f"{out.name}-{python}", install)
    record(out, {
        "tool": uv_version(ctx), "lock": "requirements.txt",
        "shape": "`uv export` of the uv-app lock: `-e .`, a `git+` URL line and a path line among hashed pins",
        "commands": ["uv lock  (the uv-app case)", "uv export --frozen --format requirements-txt -o requirements.txt"],
        "reference": {p: f"what `uv pip sync requirements.txt` installs into a fresh Python {p} venv" for p in expected},
        "monotrail_args": ["--index-url", INDEX],
    }, expected, ["corpus-uv-app"])


def case_uv_workspace(ctx: Context) -> None:
    case = fresh_case("uv-workspace")
    write(case, "pyproject.toml", f"""
        [project]
        name = "corpus-workspace"
        version = "0.1.0"
        requires-python = ">=3.8"
        dependencies = ["mt-member-a", 'mt-oldpy; python_version < "3.9"']

        [tool.uv.sources]
        mt-member-a = {{ workspace = true }}
        mt-member-b = {{ workspace = true }}

        [tool.uv.workspace]
        members = ["packages/*"]

        [dependency-groups]
        dev = ["mt-member-b"]

        [[tool.uv.index]]
        name = "corpus"
        url = "{INDEX}"
        default = true
        """)
    buildable(case / "packages" / "mt-member-a", "mt-member-a", "0.4.0", ["mt-chain-a"])
    buildable(case / "packages" / "mt-member-b", "mt-member-b", "0.5.0", ["mt-web[fast]", "mt-member-a"],
              "[tool.uv.sources]\nmt-member-a = { workspace = true }\n")
    ctx.run([UV, "lock", "-q"], case)
    expected = {python: uv_sync_expected(ctx, case, python) for python in ("3.8", "3.12")}
    record(case, {
        "tool": uv_version(ctx), "lock": "uv.lock",
        "shape": "uv.lock of a workspace: a virtual root depending on member a (editable), member b in the "
                 "default dev group",
        "commands": ["uv lock"],
        "reference": {p: f"what `uv sync --frozen --python {p}` installs into a fresh venv" for p in expected},
    }, expected, ["corpus-workspace"])


# --- pip-tools, pip ------------------------------------------------------------------------------

PIP_IN = f"""
--index-url {INDEX}
--extra-index-url {PRIVATE}
-e .
mt-idna==3.4 ; python_version >= "3.9"
mt-winonly ; sys_platform == "win32"
mt-sdistonly
mt-private
"""


def pip_project(case: Path, name: str, editable: bool = True) -> None:
    """The project installed as `-e .`; without `editable` (pip cannot hash-check an editable)
    its dependencies are listed in requirements.in instead."""
    if editable:
        buildable(case, name, "0.1.0", ["mt-web[fast]==1.0", "mt-chain-a"])
        write(case, "requirements.in", PIP_IN)
    else:
        write(case, "requirements.in", PIP_IN.replace("-e .\n", "mt-web[fast]==1.0\nmt-chain-a\n"))


def case_pip_compile(ctx: Context) -> None:
    version = "pip-tools " + version_of([tool(".venv-corpus", "pip-compile"), "--version"], ctx)
    for folder, flags in (("pip-compile", []), ("pip-compile-hashes", ["--generate-hashes"])):
        case = fresh_case(folder)
        pip_project(case, "corpus-pip-compile", editable=not flags)
        command = ["pip-compile", "-q", *flags, "--no-strip-extras", "-o", "requirements.txt", "requirements.in"]
        ctx.run([tool(".venv-corpus", command[0]), *command[1:]], case, CUSTOM_COMPILE_COMMAND=" ".join(command))

        def install(venv: Path) -> None:
            ctx.run([tool(".venv-corpus", "pip-sync"), "-q", "--python-executable", str(venv / "bin/python"),
                     "requirements.txt"], case)
        expected = {"3.12": venv_difference(ctx, "3.12", folder, install, seed=True)}
        record(case, {
            "tool": version, "lock": "requirements.txt",
            "shape": "pip-compile output " + ("with --generate-hashes" if flags else "without hashes")
                     + ": --index-url/--extra-index-url lines, " + ("" if flags else "`-e .` (an absolute file URL), ")
                     + "`# via` comments, a marker, mt-web[fast]==1.0, "
                     "an sdist-only pin; resolved on Python 3.12",
            "commands": [" ".join(command) + "  (Python 3.12)"],
            "reference": {"3.12": "what `pip-sync --python-executable VENV/bin/python requirements.txt` installs into a fresh Python 3.12 venv"},
        }, expected, ["corpus-pip-compile"])


def case_pip_freeze(ctx: Context) -> None:
    case = fresh_case("pip-freeze")
    venv = ctx.venv("3.8", "pip-freeze-source", seed=True)
    wanted = ["mt-web[fast]==1.0", "mt-chain-a", "mt-idna==2.10", "mt-oldpy", "mt-sdistonly", "mt-private"]
    ctx.run([venv / "bin/python", "-m", "pip", "install", "-q", "--index-url", INDEX, "--extra-index-url", PRIVATE, *wanted], case)
    seeded = {"pip", "setuptools", "wheel"}
    (case / "requirements.txt").write_text(ctx.run([venv / "bin/python", "-m", "pip", "freeze"], case))
    pip_version = ctx.run([venv / "bin/python", "-m", "pip", "--version"], case).split()[1]

    def install(target: Path) -> None:
        ctx.run([target / "bin/python", "-m", "pip", "install", "-q", "--index-url", INDEX, "--extra-index-url", PRIVATE,
                 "-r", "requirements.txt"], case)
    expected = {"3.8": venv_difference(ctx, "3.8", "pip-freeze", install, seed=True)}
    expected["3.8"] = {n: v for n, v in expected["3.8"].items() if n not in seeded}
    record(case, {
        "tool": f"pip {pip_version}", "lock": "requirements.txt",
        "shape": "`pip freeze` of a Python 3.8 venv: bare `name==version` lines, no hashes, no index",
        "commands": [f"pip install --index-url {INDEX} --extra-index-url {PRIVATE} {' '.join(wanted)}  (Python 3.8 venv)",
                     "pip freeze > requirements.txt"],
        "reference": {"3.8": "what `pip install -r requirements.txt` installs into a fresh Python 3.8 venv"},
        "monotrail_args": ["--index-url", INDEX, "--extra-index-url", PRIVATE],
    }, expected, [])


def case_pip_lock(ctx: Context) -> None:
    case = fresh_case("pip-lock")
    pip_project(case, "corpus-pip-lock")
    pip = tool(".venv-corpus", "pip")
    version = "pip " + ctx.run([pip, "--version"], case).split()[1]
    ctx.run([pip, "lock", "-q", "-r", "requirements.in", "-o", "pylock.toml"], case)

    # pip 26 installs from a pylock.toml, but not this one: "the editable requirement ... cannot be
    # installed when requiring hashes". So pip's word is the resolution pip lock recorded.
    expected = {"3.12": pip_report(ctx, tool(".venv-corpus", "python"), ["-r", "requirements.in"], case)}
    record(case, {
        "tool": version, "lock": "pylock.toml",
        "shape": "`pip lock` (PEP 751) of requirements.in on Python 3.12: `-e .` as an editable directory, "
                 "files from two indexes, an sdist-only package; no markers (pip locks one environment)",
        "commands": ["pip lock -r requirements.in -o pylock.toml  (Python 3.12)"],
        "reference": {"3.12": "what `pip install --dry-run --ignore-installed --report - -r requirements.in` (the same "
                              "pip, Python 3.12) installs; `pip install -r pylock.toml` refuses the editable with hashes"},
    }, expected, ["corpus-pip-lock"])


# --- pdm -----------------------------------------------------------------------------------------


def case_pdm_pylock(ctx: Context) -> None:
    case = fresh_case("pdm-pylock")
    pdm = tool(".venv-corpus-pdm", "pdm")
    # pdm does not fork: `mt-idna==2.10; python_version < "3.9"` beside `==3.4` for >= 3.9 is
    # "Unable to find a resolution for mt-idna". One unpinned requirement instead.
    pdm_deps = ["mt-idna"] + [d for d in UV_PROJECT_DEPS if not d.startswith("mt-idna")]
    deps = ",\n            ".join(json.dumps(d) for d in pdm_deps)
    write(case, "pyproject.toml", f"""
        [project]
        name = "corpus-pdm"
        version = "0.1.0"
        requires-python = ">=3.8"
        dependencies = [
            {deps},
        ]

        [tool.pdm]
        distribution = false

        [[tool.pdm.source]]
        name = "pypi"
        url = "{INDEX}"

        [[tool.pdm.source]]
        name = "private"
        url = "{PRIVATE}"
        include_packages = ["mt-private"]
        """)
    version = "pdm " + version_of([pdm, "--version"], ctx)
    ctx.run([pdm, "lock", "-q"], case)
    ctx.run([pdm, "export", "-q", "-f", "pylock", "-o", "pylock.toml"], case)
    # `pdm sync` cannot target Python 3.8 (its vendored packaging needs 3.9+), so pdm's word is its
    # requirements export, evaluated for each Python by that Python's pip.
    export = case / "pdm-export.txt"
    ctx.run([pdm, "export", "-q", "-f", "requirements", "--without-hashes", "-o", export.name], case)
    index_args = ["--index-url", INDEX, "--extra-index-url", PRIVATE]
    expected = {p: pip_report(ctx, p, ["--no-deps", *index_args, "-r", export.name], case) for p in ("3.8", "3.12")}
    (case / "pdm.lock").unlink()
    (case / ".pdm-python").unlink(missing_ok=True)
    shutil.rmtree(case / ".venv", ignore_errors=True)
    record(case, {
        "tool": version, "lock": "pylock.toml",
        "shape": "`pdm export -f pylock` of a pdm lock (inherit_metadata): markers (sys_platform, python_version), "
                 "mt-web[fast], an sdist-only package, mt-private from a second source (include_packages)",
        "commands": ["pdm lock", "pdm export -f pylock -o pylock.toml"],
        "reference": {p: "what `pdm export -f requirements --without-hashes` (kept as pdm-export.txt) selects for "
                         f"Python {p}: `pip install --dry-run --no-deps --report` of that file" for p in expected},
    }, expected, ["corpus-pdm"])


# --- poetry --------------------------------------------------------------------------------------

POETRY_DEPS = """
python = "^3.8"
mt-idna = [
    { version = "2.10", python = "<3.9" },
    { version = "3.4", python = ">=3.9" },
]
mt-web = { version = "1.0", extras = ["fast"] }
mt-chain-a = "*"
mt-winonly = { version = "*", markers = "sys_platform == 'win32'" }
mt-oldpy = { version = "*", python = "<3.9" }
mt-sdistonly = "*"
mt-plugin = "*"
mt-private = { version = "*", source = "private" }
"""


def poetry_pyproject(sources: str, plugin: bool) -> str:
    deps = POETRY_DEPS if plugin else POETRY_DEPS.replace('mt-plugin = "*"\n', "")
    return (
        '[tool.poetry]\nname = "mt-app"\nversion = "0.1.0"\ndescription = ""\nauthors = ["corpus <corpus@example.invalid>"]\n\n'
        "[tool.poetry.dependencies]" + deps + "\n" + sources
        # The corpus' in-tree backend, not poetry-core: the universe is offline and has no
        # poetry-core, and a runner may build the root project (as `poetry install` does).
        + '\n[build-system]\nrequires = []\nbuild-backend = "corpus_backend"\nbackend-path = ["."]\n'
    )


def poetry_case(ctx: Context, folder: str, venv: str, sources: str, lock_version: str, shape: str,
                plugin: bool = True) -> None:
    case = fresh_case(folder)
    poetry = tool(venv, "poetry")
    (case / "pyproject.toml").write_text(poetry_pyproject(sources, plugin))
    (case / "mt_app").mkdir()
    (case / "mt_app" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (case / "corpus_backend.py").write_text(universe.backend_source("mt-app", "0.1.0", []))
    version = "poetry " + version_of([poetry, "--version"], ctx)
    ctx.run([poetry, "lock", "-n"], case, POETRY_VIRTUALENVS_CREATE="false")
    found = re.search(r'lock-version = "([^"]+)"', (case / "poetry.lock").read_text())
    assert found and found.group(1) == lock_version, (folder, found and found.group(1))
    export = ctx.scratch / f"{folder}-export.txt"
    ctx.run([poetry, "export", "-n", "-f", "requirements.txt", "--without-hashes", "-o", str(export)], case,
            POETRY_VIRTUALENVS_CREATE="false")
    shutil.copy(export, case / "poetry-export.txt")
    # poetry 1.1's export names the primary source only, and a file's --index-url replaces every
    # index given on the command line: pip finds the files through the universe's file listing
    index_args = ["--index-url", INDEX, "--find-links", f"{URL}/files/"]
    expected = {p: pip_report(ctx, p, ["--no-deps", *index_args, "-r", str(export)], case) for p in ("3.8", "3.12")}
    record(case, {
        "tool": version, "lock": "poetry.lock",
        "shape": f"poetry.lock {lock_version}: {shape}",
        "commands": ["poetry lock"],
        "reference": {p: "what `poetry export -f requirements.txt --without-hashes` (kept as poetry-export.txt) "
                         f"selects for Python {p}: `pip install --dry-run --no-deps --report` of that file" for p in expected},
    }, expected, ["mt-app"])


def case_poetry(ctx: Context) -> None:
    shape = ("mt-idna 2.10 and 3.4 for python <3.9 / >=3.9, markers, mt-web[fast], an sdist-only package, "
             "mt-plugin depending back on the root project mt-app, mt-private from a second source")
    sources_11 = f"""
[[tool.poetry.source]]
name = "corpus"
url = "{INDEX}"
default = true

[[tool.poetry.source]]
name = "private"
url = "{PRIVATE}"
secondary = true
"""
    poetry_case(ctx, "poetry-1.1", ".venv-corpus-poetry11", sources_11, "1.1",
                "[metadata.files] (file names and hashes, no URLs) holding two versions of mt-idna; " + shape)
    # The same without mt-plugin: the two versions of mt-idna are checked even while the edge to
    # the root project is refused.
    poetry_case(ctx, "poetry-1.1-two-versions", ".venv-corpus-poetry11", sources_11, "1.1",
                "[metadata.files] holding mt-idna 2.10 and 3.4 (python <3.9 / >=3.9); as poetry-1.1 without mt-plugin",
                plugin=False)
    explicit = f"""
[[tool.poetry.source]]
name = "corpus"
url = "{INDEX}"
priority = "primary"

[[tool.poetry.source]]
name = "private"
url = "{PRIVATE}"
priority = "explicit"
"""
    poetry_case(ctx, "poetry-1.8", ".venv-corpus-poetry18", explicit, "2.0", "a graph lock with files per package; " + shape)
    poetry_case(ctx, "poetry-2", ".venv-corpus-poetry2", explicit, "2.1",
                "a flat lock (markers per package), an explicit secondary `[[package.source]]`; " + shape)


CASES: dict[str, Callable[[Context], None]] = {
    "uv-project": case_uv_project,  # also uv-export-requirements, uv-export-pylock
    "uv-app": case_uv_app,  # also uv-app-export-requirements
    "uv-workspace": case_uv_workspace,
    "pip-compile": case_pip_compile,  # also pip-compile-hashes
    "pip-freeze": case_pip_freeze,
    "pip-lock": case_pip_lock,
    "pdm-pylock": case_pdm_pylock,
    "poetry": case_poetry,  # poetry-1.1, poetry-1.8, poetry-2
}


# --- README --------------------------------------------------------------------------------------


def write_readme() -> None:
    rows = []
    for meta_file in sorted(CASES_DIR.glob("*/meta.json")):
        meta = json.loads(meta_file.read_text())
        commands = "; ".join(f"`{c}`" for c in meta["commands"])
        rows.append(f"| `{meta_file.parent.name}` | {meta['tool']} | `{meta['lock']}` | {meta['shape']} | {commands} | "
                    f"{', '.join(meta['pythons'])} |")
    readme = HERE / "README.md"
    text = readme.read_text()
    start, end = "<!-- corpus table -->", "<!-- end corpus table -->"
    table = ("| case | tool | lock | shape | command | reference for |\n|---|---|---|---|---|---|\n" + "\n".join(rows))
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")


# --- setup and main ------------------------------------------------------------------------------


def find_python(minor: str, given: str | None) -> str:
    if given:
        return given
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    try:
        roots.insert(0, subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip())
    except OSError:
        pass
    for root in filter(None, roots):
        found = sorted(Path(root, "versions").glob(f"{minor}.*/bin/python{minor}"),
                       key=lambda p: tuple(int(x) for x in p.parent.parent.name.split(".") if x.isdigit()))
        if found:
            return str(found[-1])
    sys.exit(f"no Python {minor} found under pyenv; pass --python{minor.replace('.', '')} PATH")


def setup(pythons: dict[str, str]) -> None:
    for venv, (minor, requirements) in TOOLS.items():
        path = BENCH / venv
        if not path.exists():
            subprocess.run([pythons[minor], "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin/python"), "-m", "pip", "install", "-q", *requirements], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", action="store_true", help="create the tool venvs under bench/ first")
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="regenerate these cases only")
    parser.add_argument("--python38")
    parser.add_argument("--python312")
    args = parser.parse_args()
    pythons = {"3.8": find_python("3.8", args.python38), "3.12": find_python("3.12", args.python312)}
    if args.setup:
        setup(pythons)
    shutil.rmtree(universe.GENERATION_DIR, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="lock-corpus-") as scratch:
        built = Path(scratch) / "universe"
        digests = universe.build(built)
        universe.UNIVERSE_SHA256.write_text(universe.digest_lines(digests))
        ctx = Context(Path(scratch), pythons)
        with universe.serve(built, universe.GENERATION_PORT):
            for name in args.only or CASES:
                print(f"== {name}", flush=True)
                CASES[name](ctx)
    write_readme()


if __name__ == "__main__":
    main()
