"""Locks written by the real tools select and install exactly what those tools install.

Each case of `tests/lock_corpus/cases/` holds a lock written by uv, pip-tools, pip, pdm or poetry
against the fake universe of `corpus_universe.py`, and `expected-<python>.txt`: the name==version
set the writing tool installs for that Python (see the case's meta.json and the corpus README).
Offline: the universe is rebuilt byte for byte and served on 127.0.0.1; the case is copied to
tmp_path with the generation-time URL and directory rewritten to the test's (the only changes).

Per (case, Python), two checks, both reported:
(a) `select()` of the lock for the found interpreter gives the reference set (a source to be built,
    a git or path source, carries no version before its build: its name is compared);
(b) `monotrail +3.X run -c ...` imports every expected module and sees exactly the expected
    distributions, with each module's `__version__` (written into every file of the universe)
    equal to its expected version, so a store entry holding another version's files is caught.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO, Monotrail

LOCK_CORPUS = REPO / "tests" / "lock_corpus"
sys.path.insert(0, str(LOCK_CORPUS))

import corpus_universe as universe  # noqa: E402

CASES = LOCK_CORPUS / "cases"

# Prints {name: version} of every distribution the program sees and {name: __version__} of
# each module asked for (argv[1]: JSON list of names), as one JSON line.
PROBE = """
import importlib, importlib.metadata as m, json, re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
dists = {norm(d.metadata["Name"]): d.version for d in m.distributions()}
modules = {}
for name in json.loads(sys.argv[1]):
    try:
        modules[name] = importlib.import_module(name.replace("-", "_")).__version__
    except ImportError as error:
        modules[name] = "not importable: %s" % error
print(json.dumps({"distributions": dists, "modules": modules}))
"""


def _params() -> list[tuple[str, str]]:
    out = []
    for meta in sorted(CASES.glob("*/meta.json")):
        for python in json.loads(meta.read_text())["pythons"]:
            out.append(pytest.param(meta.parent.name, python, id=f"{meta.parent.name}-py{python}"))
    return out


def _expected(case: Path, python: str) -> dict[str, str]:
    lines = (case / f"expected-{python}.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {name: version for name, version in pins}


@pytest.fixture(scope="module")
def universe_url(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("git") is None:
        pytest.skip("SKIPPED LOUDLY: the lock corpus' universe holds a git repository and git is not on PATH")
    built = tmp_path_factory.mktemp("universe")
    digests = universe.build(built)
    recorded = universe.recorded_digests()
    assert digests == recorded, (
        "the rebuilt universe differs from the one the corpus was written against "
        f"({universe.UNIVERSE_SHA256}); rerun tests/lock_corpus/make_corpus.py after changing corpus_universe.py"
    )
    with universe.serve(built) as url:
        yield url


@pytest.fixture(scope="module")
def monotrail_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module: every case reuses the wheels (and builds) of the others."""
    return tmp_path_factory.mktemp("root")


_interpreters: dict[str, object] = {}


def interpreter_for(python: str, root: Path):
    """The interpreter `+python` gets, found as the product finds it; a loud skip if there is none."""
    from monotrail.errors import InterpreterNotFound
    from monotrail.interpreters.discovery import find_interpreter

    if python not in _interpreters:
        try:
            _interpreters[python] = find_interpreter(python, requires_python=None, start_dir=root, root=root)
        except InterpreterNotFound as error:
            _interpreters[python] = error
    found = _interpreters[python]
    if isinstance(found, InterpreterNotFound):
        pytest.skip(f"SKIPPED LOUDLY: no Python {python} found ({found}); install one to run this corpus case")
    return found


def copy_case(name: str, url: str, tmp_path: Path) -> Path:
    """The case's project under tmp_path, with the two generation-time places rewritten."""
    target = tmp_path / name
    shutil.copytree(CASES / name, target)
    for path in target.rglob("*"):
        if path.is_file() and path.suffix != ".pyc":
            text = path.read_text()
            rewritten = text.replace(universe.GENERATION_URL, url).replace(universe.GENERATION_DIR, str(tmp_path))
            if rewritten != text:
                path.write_text(rewritten)
    return target


def selection_problems(lock_path: Path, interpreter, expected: dict[str, str], project: list[str]) -> list[str]:
    from monotrail.lock import read_lock
    from monotrail.selection import select

    try:
        selected = select(read_lock(lock_path), interpreter, extras=(), groups=())
    except Exception as error:  # reported with the install check's result
        return [f"selection failed: {type(error).__name__}: {error}"]
    got = {s.name: s.version or expected.get(s.name, "(unbuilt)") for s in selected if s.name not in project}
    if got == expected:
        return []
    return [f"selection: got {_pins(got)}\n           want {_pins(expected)}"]


def install_problems(monotrail: Monotrail, case: Path, python: str, args: list[str], expected: dict[str, str],
                     project: list[str]) -> list[str]:
    result = monotrail.run(f"+{python}", "run", "-q", *args, "-c", PROBE, json.dumps(sorted(expected)), cwd=case,
                           timeout=300)
    if result.returncode != 0 or "Traceback" in result.stderr:
        return [f"run failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    problems = []
    if seen["modules"] != expected:
        problems.append(f"run imports {_pins(seen['modules'])}\n           want {_pins(expected)}")
    extra = {n: v for n, v in seen["distributions"].items() if expected.get(n) != v and n not in project}
    if extra:
        problems.append(f"run sees distributions that are not in the reference: {_pins(extra)}")
    return problems


def _pins(found: dict[str, str]) -> str:
    return " ".join(f"{name}=={version}" for name, version in sorted(found.items()))


@pytest.mark.parametrize("case_name, python", _params())
def test_lock_installs_what_its_tool_installs(case_name: str, python: str, universe_url: str, monotrail_root: Path,
                                              tmp_path: Path) -> None:
    meta = json.loads((CASES / case_name / "meta.json").read_text())
    interpreter = interpreter_for(python, monotrail_root)
    case = copy_case(case_name, universe_url, tmp_path)
    expected = _expected(case, python)
    args = [arg.replace(universe.GENERATION_URL, universe_url) for arg in meta.get("monotrail_args", [])]
    problems = selection_problems(case / meta["lock"], interpreter, expected, meta["project"])
    problems += install_problems(Monotrail(monotrail_root), case, python, args, expected, meta["project"])
    assert not problems, f"{case_name} ({meta['tool']}, {meta['lock']}) on Python {python}:\n  " + "\n  ".join(problems)
