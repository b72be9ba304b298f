"""Shell shims and shebangs, executed for real: the shim files `monotrail shims install` writes and
`#!/usr/bin/env monotrail` scripts, run on real CPython 3.8 and 3.12 (wherever monotrail's discovery
finds them on this machine; the tests skip loudly without them).

The `monotrail` on PATH is a fresh copy of the repo's sh front door (shims/monotrail) beside a
`monotrail-launcher` that runs this checkout, so the tests see the current files. Projects lock a
wheel built in the test, found offline through `--find-links` (requirements.txt) or a `path`
(pylock.toml); every test has its own MONOTRAIL_ROOT.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from bootstrap_fixtures import REDUCED_PATH
from cli_checks import ok, clean_error
from conftest import REPO, base_env, front_door_bin
from index_fixtures import build_wheel, sha256_of

SHOW = "import json, sys; print(json.dumps({'argv': sys.argv, 'version': list(sys.version_info[:2])}))"
SHOW_LOCKED = (
    "import json, sys, locked_mod; print(json.dumps({'argv': sys.argv, 'version': list(sys.version_info[:2]), "
    "'locked': locked_mod.VERSION, 'env': sys.prefix != sys.base_prefix}))"
)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """`monotrail` (the repo's front door) and `monotrail-launcher` (this checkout), first on PATH."""
    return front_door_bin(tmp_path / "monotrail-bin")


class Env:
    """Runs commands with PATH = the test's bin dirs + REDUCED_PATH and its own MONOTRAIL_ROOT."""

    def __init__(self, root: Path, path: list[Path]) -> None:
        self.root = root
        self.path = path

    def environ(self, **extra: str) -> dict[str, str]:
        env = base_env(self.root, **extra)
        env["PATH"] = os.pathsep.join([*map(str, self.path), REDUCED_PATH])
        return env

    def run(self, argv: list[str], cwd: Path, input: str | None = None, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(part) for part in argv], cwd=cwd, env=self.environ(**extra), input=input,
            stdin=None if input is not None else subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )


@pytest.fixture
def shim_dir(tmp_path: Path) -> Path:
    return tmp_path / "shims"


@pytest.fixture
def env(tmp_path: Path, bin_dir: Path, shim_dir: Path) -> Env:
    return Env(tmp_path / "root", [shim_dir, bin_dir])


@pytest.fixture
def installed(env: Env, shim_dir: Path, tmp_path: Path, py38: Path, py312: Path) -> Path:
    ok(env.run(["monotrail", "shims", "install", "--dir", shim_dir], cwd=tmp_path))
    return shim_dir


def locked_wheel(directory: Path, name: str = "locked-mod") -> Path:
    module = name.replace("-", "_")
    return build_wheel(directory, name, "1.0", {f"{module}/__init__.py": "VERSION = '1.0'\n"})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A hashed requirements.txt locking locked-mod 1.0 from a local --find-links directory."""
    directory = tmp_path / "project"
    wheels = directory / "wheels"
    wheels.mkdir(parents=True)
    wheel = locked_wheel(wheels)
    (directory / "requirements.txt").write_text(
        f"--no-index\n--find-links wheels\nlocked-mod==1.0 --hash=sha256:{sha256_of(wheel)}\n"
    )
    (directory / "sub").mkdir()
    return directory


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory with no lockfile in it or above it (tmp_path's parents have none)."""
    directory = tmp_path / "outside"
    directory.mkdir()
    return directory


def last_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_script(path: Path, shebang: str, body: str) -> Path:
    path.write_text(f"{shebang}\n{body}\n")
    path.chmod(0o755)
    return path


# --- install / list / uninstall ------------------------------------------------------------------


def test_install_writes_a_shim_per_minor_version(installed: Path, env: Env, tmp_path: Path, py38: Path) -> None:
    names = sorted(p.name for p in installed.iterdir())
    assert {"python", "python3", "python3.8", "python3.12"} <= set(names)
    for name in names:
        text = (installed / name).read_text()
        assert text.startswith("#!/bin/bash -p\n") and "# monotrail shim" in text
        assert subprocess.run(["bash", "-n", str(installed / name)]).returncode == 0
    listing = ok(env.run(["monotrail", "shims", "list", "--dir", installed], cwd=tmp_path)).stdout
    assert f"python3.8 -> {py38}" in listing


def test_install_says_when_the_directory_is_not_on_path(env: Env, tmp_path: Path, py312: Path) -> None:
    elsewhere = tmp_path / "not-on-path"
    result = ok(env.run(["monotrail", "shims", "install", "--dir", elsewhere], cwd=tmp_path))
    assert f"{elsewhere} is not on PATH" in result.stderr
    assert f'export PATH="{elsewhere}:$PATH"' in result.stderr


def test_uninstall_removes_only_monotrail_shims(installed: Path, env: Env, tmp_path: Path) -> None:
    foreign = installed / "python2"
    foreign.write_text("#!/bin/sh\necho mine\n")
    result = ok(env.run(["monotrail", "shims", "uninstall", "--dir", installed], cwd=tmp_path))
    assert "removed" in result.stderr
    assert [p.name for p in installed.iterdir()] == ["python2"]


def test_install_refuses_to_overwrite_a_foreign_python(env: Env, shim_dir: Path, tmp_path: Path, py312: Path) -> None:
    shim_dir.mkdir()
    (shim_dir / "python3").write_text("#!/bin/sh\necho mine\n")
    error = clean_error(env.run(["monotrail", "shims", "install", "--dir", shim_dir], cwd=tmp_path))
    assert "python3 exists and is not a monotrail shim" in error
    assert (shim_dir / "python3").read_text() == "#!/bin/sh\necho mine\n"


@pytest.mark.parametrize(
    "where",
    ["below-a-file", "proc"],
    ids=["below a file", "/proc"],
)
def test_install_into_an_unwritable_directory_is_one_clean_error(
    env: Env, tmp_path: Path, py312: Path, where: str
) -> None:
    (tmp_path / "afile").write_text("")
    directory = tmp_path / "afile" / "bin" if where == "below-a-file" else Path("/proc/monotrail-shims")
    error = clean_error(env.run(["monotrail", "shims", "install", "--dir", directory], cwd=tmp_path))
    assert str(directory) in error


# --- outside a project: the plain interpreter -----------------------------------------------------


CASES = {  # argv after the interpreter, stdin
    "-c with args": (["-c", SHOW, "a", "-b"], None),
    "script with args": (["show.py", "x", "--flag"], None),
    "-m": (["-m", "show", "1"], None),
    "flags -I -u": (["-I", "-u", "-c", SHOW], None),
    "stdin program": (["-"], SHOW + "\n"),
    "piped stdin, no args": ([], SHOW + "\n"),
    "-i with piped stdin": (["-i"], "print(6 * 7)\n"),
    "exit code": (["-c", "raise SystemExit(3)"], None),
    "error exit": (["-c", "import nosuchmodule_xyz"], None),
}


@pytest.mark.parametrize("minor", [8, 12])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_shim_outside_a_project_is_the_plain_interpreter(
    installed: Path, env: Env, outside: Path, py38: Path, py312: Path, case: str, minor: int
) -> None:
    argv, stdin = CASES[case]
    (outside / "show.py").write_text(SHOW + "\n")
    plain = env.run([py38 if minor == 8 else py312, *argv], cwd=outside, input=stdin)
    shim = env.run([installed / f"python3.{minor}", *argv], cwd=outside, input=stdin)
    assert (shim.returncode, shim.stdout) == (plain.returncode, plain.stdout)
    assert shim.stderr.replace(str(installed / f"python3.{minor}"), "") == plain.stderr.replace(
        str(py38 if minor == 8 else py312), "")


@pytest.mark.parametrize("minor", [8, 12])
def test_shim_passes_signals_through(installed: Path, env: Env, outside: Path, project: Path, minor: int) -> None:
    """exec, not a child: the caller sees the interpreter die of the signal itself."""
    kill = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    for cwd in (outside, project):
        result = env.run([installed / f"python3.{minor}", "-c", kill], cwd=cwd)
        assert result.returncode == -signal.SIGTERM, (cwd, result.stderr)


def test_shim_runs_venv(installed: Path, env: Env, outside: Path, py312: Path) -> None:
    ok(env.run([installed / "python3.12", "-m", "venv", "--without-pip", "v"], cwd=outside))
    cfg = (outside / "v" / "pyvenv.cfg").read_text()
    assert f"home = {py312.parent}" in cfg
    inside = ok(env.run([outside / "v" / "bin" / "python", "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                        cwd=outside))
    assert inside.stdout.strip() == "True"


@pytest.mark.parametrize(("pin", "expected"), [("3.8", [3, 8]), ("3.12", [3, 12]), ("", None)])
def test_python3_follows_python_version_outside_a_project(
    installed: Path, env: Env, outside: Path, py38: Path, pin: str, expected: list[int] | None
) -> None:
    if pin:
        (outside / ".python-version").write_text(f"{pin}\n")
        (outside / "deeper").mkdir()
    cwd = outside / "deeper" if pin else outside
    data = last_json(ok(env.run([installed / "python3", "-c", SHOW], cwd=cwd)))
    default = ok(env.run(["monotrail", "python", "find", ">=3.8"], cwd=outside)).stdout  # newest
    assert data["version"] == (expected or [int(p) for p in default.rsplit("python", 1)[1].split(".")[:2]])


def test_python3_with_a_malformed_python_version_is_one_clean_error(installed: Path, env: Env, outside: Path) -> None:
    (outside / ".python-version").write_text("# pinned\n3.x\n")
    error = clean_error(env.run([installed / "python3", "-c", "pass"], cwd=outside))
    assert f"{outside / '.python-version'}: line 2: cannot parse Python request '3.x'" in error


# --- inside a project: monotrail run python --------------------------------------------------------


@pytest.mark.parametrize("minor", [8, 12])
@pytest.mark.parametrize(
    "argv",
    [["-c", SHOW_LOCKED, "a"], ["sub/show.py", "x"], ["-u", "sub/show.py", "x"], ["-m", "show_mod", "y"]],
    ids=["-c", "script", "-u script", "-m"],
)
def test_shim_inside_a_project_runs_the_locked_environment(
    installed: Path, env: Env, project: Path, minor: int, argv: list[str]
) -> None:
    (project / "sub" / "show.py").write_text(SHOW_LOCKED + "\n")
    (project / "show_mod.py").write_text(SHOW_LOCKED + "\n")
    for _ in range(2):  # cold, then through the front door or the launcher's warm path
        data = last_json(ok(env.run([installed / f"python3.{minor}", *argv], cwd=project)))
        plain_argv = {"-c": ["-c", "a"], "-m": [str(project / "show_mod.py"), "y"]}.get(argv[0], [a for a in argv if a != "-u"])
        assert data == {"argv": plain_argv, "version": [3, minor], "locked": "1.0", "env": True}


def test_shim_inside_a_project_exit_code_and_stdin(installed: Path, env: Env, project: Path) -> None:
    assert env.run([installed / "python3.12", "-c", "raise SystemExit(5)"], cwd=project).returncode == 5
    piped = ok(env.run([installed / "python3.12"], cwd=project / "sub", input="import locked_mod; print(locked_mod.VERSION)\n"))
    assert piped.stdout.strip() == "1.0"


def test_children_of_a_shimmed_program_can_use_the_shims(installed: Path, env: Env, project: Path) -> None:
    """The loop guard ends when the interpreter starts: a child `python3.8` is not a loop."""
    child = ("import subprocess; r = subprocess.run(['python3.8', '-c', 'import locked_mod, sys; "
             "print(sys.version_info[:2], locked_mod.VERSION)'], capture_output=True, text=True); "
             "print(r.returncode, r.stdout.strip(), r.stderr.strip())")
    result = ok(env.run([installed / "python3.12", "-c", child], cwd=project))
    assert result.stdout.strip() == "0 (3, 8) 1.0"


def test_shim_loop_is_detected(installed: Path, env: Env, project: Path, outside: Path) -> None:
    for cwd in (project, outside):
        result = env.run([installed / "python3.12", "-c", "pass"], cwd=cwd, MONOTRAIL_SHIM=str(installed / "python3"))
        assert result.returncode == 2
        assert "error: shim loop" in result.stderr and "hint:" in result.stderr


def test_discovery_never_picks_a_shim(installed: Path, env: Env, project: Path) -> None:
    """The shims are on PATH first; `python list` and a project run still name the real binaries."""
    listing = json.loads(ok(env.run(["monotrail", "python", "list", "--json"], cwd=project)).stdout)
    assert all(not row["path"].startswith(str(installed)) for row in listing["interpreters"])
    found = ok(env.run(["monotrail", "python", "find", "python3.12"], cwd=project)).stdout.strip()
    assert not found.startswith(str(installed))


# --- shebangs ------------------------------------------------------------------------------------


@pytest.fixture
def extras_project(tmp_path: Path) -> Path:
    """A pylock.toml with extra `feat` (pulling in extra-a), wheels by local path."""
    directory = tmp_path / "extras"
    wheels = directory / "wheels"
    wheels.mkdir(parents=True)
    entries = []
    for name, marker in (("locked-mod", ""), ("extra-a", "marker = \"'feat' in extras\"\n")):
        wheel = locked_wheel(wheels, name)
        entries.append(textwrap.dedent(f"""
            [[packages]]
            name = "{name}"
            version = "1.0"
            {marker}wheels = [{{ name = "{wheel.name}", path = "wheels/{wheel.name}", hashes = {{ sha256 = "{sha256_of(wheel)}" }} }}]
            """))
    (directory / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\nrequires-python = ">=3.8"\nextras = ["feat"]\n' + "".join(entries)
    )
    return directory


SHEBANG_BODY = (
    "import json, sys, importlib.util\n"
    "print(json.dumps({'argv': sys.argv, 'version': list(sys.version_info[:2]),\n"
    "                  'extra': importlib.util.find_spec('extra_a') is not None,\n"
    "                  'locked': __import__('locked_mod').VERSION}))\n"
    "sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0)\n"
)
SHEBANGS = {  # shebang line, expected version (None: any), extra present
    "env monotrail": ("#!/usr/bin/env monotrail", None, False),
    "env -S monotrail +3.8": ("#!/usr/bin/env -S monotrail +3.8", [3, 8], False),
    "env -S monotrail +3.12": ("#!/usr/bin/env -S monotrail +3.12", [3, 12], False),
    "env -S monotrail run -E feat": ("#!/usr/bin/env -S monotrail run -E feat", None, True),
    "env -S monotrail +3.8 run --extra feat": ("#!/usr/bin/env -S monotrail +3.8 run --extra feat", [3, 8], True),
}


@pytest.mark.parametrize("how", ["./tool.py", "absolute path from elsewhere", "tool.py via PATH"])
@pytest.mark.parametrize("case", list(SHEBANGS), ids=list(SHEBANGS))
def test_shebang_script_runs_with_its_lock(
    env: Env, extras_project: Path, outside: Path, py38: Path, py312: Path, case: str, how: str
) -> None:
    shebang, version, extra = SHEBANGS[case]
    script = write_script(extras_project / "tool.py", shebang, SHEBANG_BODY)
    if how == "./tool.py":
        argv, cwd, runner = ["./tool.py"], extras_project, env
    elif how == "absolute path from elsewhere":
        argv, cwd, runner = [str(script)], outside, env
    else:
        argv, cwd, runner = ["tool.py"], outside, Env(env.root, [extras_project, *env.path])
    for code in ("0", "4"):  # cold, then warm (the front door or the launcher's warm path)
        result = runner.run([*argv, "a b", code], cwd=cwd)
        assert result.returncode == int(code), result.stderr
        data = last_json(result)
        assert data["argv"] == [argv[0] if how != "tool.py via PATH" else str(script), "a b", code]
        assert data["locked"] == "1.0" and data["extra"] is extra
        if version:
            assert data["version"] == version


def test_shebang_argv_is_what_python_gives(env: Env, project: Path, py312: Path) -> None:
    body = "import sys; print(sys.argv)"
    write_script(project / "mono.py", "#!/usr/bin/env monotrail", body)
    write_script(project / "plain.py", f"#!{py312}", body)
    for args in (["a", "-c", "--", ""], []):
        mono = ok(env.run(["./mono.py", *args], cwd=project)).stdout
        plain = ok(env.run(["./plain.py", *args], cwd=project)).stdout
        assert mono == plain.replace("plain.py", "mono.py")


def test_front_door_passes_sh_syntax_check() -> None:
    for shell in ("sh", "dash"):
        if shutil.which(shell):
            assert subprocess.run([shell, "-n", str(REPO / "shims" / "monotrail")]).returncode == 0
            assert subprocess.run([shell, "-n", str(REPO / "shims" / "monotrail_shims" / "python-shim.sh")]).returncode == 0
