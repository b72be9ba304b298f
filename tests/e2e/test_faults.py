"""Fault tests of the store (issue 7): concurrency, SIGKILL at named points, network faults,
hostile input, and `monotrail store path|list|verify|gc|clean`.

Offline and deterministic: wheels are built here (`build_wheel`), served by a local `IndexServer`
(subclassed below to reset connections, truncate bodies and stall), and every run is
`python -m monotrail` with its own MONOTRAIL_ROOT. Crash points are `MONOTRAIL_TEST_CRASH_AT=<name>`
(launcher/faults.py). The hostile-input corpus lives in tests/corpus/ (see its README.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import REPO, Monotrail, base_env, front_door_bin
from index_fixtures import IndexServer, _Handler, build_wheel, sha256_of

CORPUS = REPO / "tests" / "corpus"
IMPORT_BOTH = "import alpha_pkg, beta_pkg; print(alpha_pkg.NAME, beta_pkg.NAME)"


# --- helpers --------------------------------------------------------------------------------------


def two_wheels(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        build_wheel(directory, name, "1.0", {
            f"{name.replace('-', '_')}/__init__.py": f"NAME = {name!r}\n",
            f"{name.replace('-', '_')}/data.txt": "x" * 100,
        }, entry_points=f"[console_scripts]\n{name}-cli = {name.replace('-', '_')}:NAME\n")
        for name in ("alpha-pkg", "beta-pkg")
    ]


def pin(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return f"{name.replace('_', '-')}=={version} --hash=sha256:{sha256_of(wheel)}"


def make_project(directory: Path, index_url: str, wheels: list[Path]) -> Path:
    """A requirements.txt locking `wheels` on `index_url`, its mtimes 10 s in the past (so the
    warm entry may be written at once)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / "requirements.txt"
    lock.write_text("\n".join([f"--index-url {index_url}", *map(pin, wheels)]) + "\n")
    age(lock, directory)
    return directory


def age(*paths: Path) -> None:
    past = time.time() - 10
    for path in paths:
        os.utime(path, (past, past))


def one_error(result: subprocess.CompletedProcess) -> str:
    """exit != 0, exactly one `error:` line, no traceback; returns the line."""
    assert result.returncode != 0, f"exit 0\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line:\n{result.stderr}"
    return errors[0]


def verify_clean(monotrail: Monotrail) -> None:
    result = ok(monotrail.run("store", "verify"))
    assert result.stdout.startswith("ok:"), result.stdout


def snapshot(root: Path) -> dict[str, object]:
    """Every path under store/ and envs/ with its mode and bytes (or link target)."""
    state: dict[str, object] = {}
    for part in ("store", "envs"):
        for path in sorted((root / part).rglob("*")) if (root / part).exists() else []:
            info = path.lstat()
            if path.is_symlink():
                content: object = os.readlink(path)
            elif path.is_file():
                content = path.read_bytes()
            else:
                content = None
            state[str(path.relative_to(root))] = (info.st_mode, content)
    return state


def leftovers(root: Path) -> list[str]:
    tmp = root / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


@pytest.fixture
def wheels(tmp_path: Path, index: IndexServer) -> list[Path]:
    built = two_wheels(tmp_path / "wheels")
    for wheel in built:
        index.add(wheel)
    return built


@pytest.fixture
def project(tmp_path: Path, index: IndexServer, wheels: list[Path]) -> Path:
    return make_project(tmp_path / "project", f"{index.url}/simple", wheels)


# --- concurrency ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_sixteen_cold_runs_at_once_download_and_unpack_each_wheel_once(
    monotrail: Monotrail, project: Path, index: IndexServer, wheels: list[Path]
) -> None:
    env = base_env(monotrail.root, MONOTRAIL_LOG="debug")
    processes = [
        subprocess.Popen([sys.executable, "-m", "monotrail", "+3.12", "run", "-c", IMPORT_BOTH], cwd=project,
                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(16)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
        assert out.strip() == "alpha-pkg beta-pkg"
    for wheel in wheels:
        assert index.requests(f"/files/{wheel.name}") == [f"/files/{wheel.name}"]
    unpacked = [line for _, err in outputs for line in err.splitlines() if "store: unpacked" in line]
    assert len(unpacked) == len(wheels), unpacked
    verify_clean(monotrail)
    assert leftovers(monotrail.root) == []


def test_a_run_waits_for_gc_then_succeeds(monotrail: Monotrail, project: Path) -> None:
    lock_file = monotrail.root / "locks" / "gc.lock"
    lock_file.parent.mkdir(parents=True)
    with open(lock_file, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what `monotrail store gc` holds
        process = subprocess.Popen([sys.executable, "-m", "monotrail", "+3.12", "run", "-c", IMPORT_BOTH], cwd=project,
                                   env=base_env(monotrail.root), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert process.poll() is None, process.communicate()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip() == "alpha-pkg beta-pkg"
    assert "waiting for `monotrail store gc`" in err


# --- crashes --------------------------------------------------------------------------------------

INSTALL_POINTS = [
    "index-page-temp-written", "store-lock-held", "download-chunk-written", "download-verified",
    "download-renamed", "store-temp-created", "wheel-members-checked", "wheel-mid-unpack",
    "wheel-before-record", "store-before-marker", "store-marker-written", "store-renamed",
    "install-entries-ready", "env-manifest-written", "env-launch-written", "env-renamed",
    "warm-entry-temp-written",
]


def crash(monotrail: Monotrail, point: str, *args: str, cwd: Path) -> None:
    result = monotrail.run(*args, cwd=cwd, env={"MONOTRAIL_TEST_CRASH_AT": point})
    assert result.returncode == -signal.SIGKILL, f"{point} not reached: exit {result.returncode}\n{result.stderr}"


def recovers(monotrail: Monotrail, project: Path) -> None:
    """The next run succeeds, the store verifies, gc removes every leftover, and runs still work."""
    assert ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project)).stdout.strip() == "alpha-pkg beta-pkg"
    verify_clean(monotrail)
    ok(monotrail.run("store", "gc"))
    assert leftovers(monotrail.root) == []
    assert ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project)).stdout.strip() == "alpha-pkg beta-pkg"


@pytest.mark.slow
@pytest.mark.parametrize("point", INSTALL_POINTS)
def test_sigkill_during_install_then_next_run_recovers(monotrail: Monotrail, project: Path, point: str) -> None:
    crash(monotrail, point, "+3.12", "run", "-c", IMPORT_BOTH, cwd=project)
    recovers(monotrail, project)


@pytest.mark.slow
def test_sigkill_while_replacing_a_damaged_entry(monotrail: Monotrail, project: Path) -> None:
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    for record in (monotrail.root / "store").glob("*/*/*/site-packages/*.dist-info/RECORD"):
        record.unlink()
    crash(monotrail, "store-moved-aside", "+3.12", "run", "-c", IMPORT_BOTH, cwd=project)
    recovers(monotrail, project)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["gc-envs-removed", "gc-moved-aside"])
def test_sigkill_during_gc_then_next_run_recovers(monotrail: Monotrail, project: Path, index: IndexServer,
                                                  wheels: list[Path], point: str) -> None:
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    lock = project / "requirements.txt"
    lock.write_text(lock.read_text() + "\n")  # the environment's lock changed: gc removes it
    crash(monotrail, point, "store", "gc", cwd=project)
    recovers(monotrail, project)


# --- damaged entries ------------------------------------------------------------------------------


def front_door(monotrail: Monotrail, tmp_path: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        front_door_bin(bin_dir)
    return subprocess.run([str(bin_dir / "monotrail"), *args], cwd=project, env=base_env(monotrail.root),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def entry_of(root: Path, name: str) -> Path:
    [entry] = (root / "store" / name / "1.0").iterdir()
    return entry


@pytest.mark.parametrize("damage", ["entry deleted", "site-packages deleted", "marker deleted", "RECORD deleted"])
def test_an_entry_damaged_by_hand_is_reinstalled_with_a_warning(
    monotrail: Monotrail, tmp_path: Path, project: Path, damage: str
) -> None:
    ok(front_door(monotrail, tmp_path, project, "+3.12", "run", "-c", IMPORT_BOTH))
    ok(front_door(monotrail, tmp_path, project, "+3.12", "run", "-c", IMPORT_BOTH))  # writes the warm entry
    [warm] = (monotrail.root / "warm").rglob("run+3.12")
    # No check per store entry in the front door: the environment's hook checks an entry's RECORD
    # when the program first imports from it, and has the launcher reinstall it (_repair).
    assert "/RECORD" not in warm.read_text()
    entry = entry_of(monotrail.root, "alpha-pkg")
    {"entry deleted": lambda: shutil.rmtree(entry),
     "site-packages deleted": lambda: shutil.rmtree(entry / "site-packages"),
     "marker deleted": lambda: (entry / "monotrail.json").unlink(),
     "RECORD deleted": lambda: next(entry.glob("site-packages/*.dist-info/RECORD")).unlink()}[damage]()
    result = ok(front_door(monotrail, tmp_path, project, "+3.12", "run", "-c", IMPORT_BOTH))
    assert result.stdout.strip() == "alpha-pkg beta-pkg"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    if damage == "marker deleted":
        # The warm paths check one file per entry, its RECORD, so the whole site-packages still runs;
        # `store verify` finds the entry, and after --repair the next run reinstalls it.
        assert warnings == [], result.stderr
        assert "removed" in ok(monotrail.run("store", "verify", "--repair")).stdout
    else:
        assert len(warnings) == 1 and "alpha-pkg" in warnings[0], result.stderr
    ok(front_door(monotrail, tmp_path, project, "+3.12", "run", "-c", IMPORT_BOTH))
    verify_clean(monotrail)


@pytest.mark.parametrize("damage", ["entry deleted", "RECORD deleted"])
def test_a_warm_run_has_the_hook_reinstall_an_entry_deleted_by_hand(
    monotrail: Monotrail, tmp_path: Path, project: Path, damage: str
) -> None:
    """The run that meets the damage is served by the front door alone (its launcher refuses):
    the environment's hook finds the entry's RECORD missing when the program imports from it,
    runs the reinstall recorded in the environment, and the import goes on."""
    ok(front_door(monotrail, tmp_path, project, "+3.12", "run", "-c", IMPORT_BOTH))
    ok(front_door(monotrail, tmp_path, project, "+3.12", "run", "-c", IMPORT_BOTH))  # writes the warm entry
    entry = entry_of(monotrail.root, "alpha-pkg")
    if damage == "entry deleted":
        shutil.rmtree(entry)
    else:
        next(entry.glob("site-packages/*.dist-info/RECORD")).unlink()
    refusing = front_door_bin(tmp_path / "refusing", launcher="#!/bin/sh\nexit 97\n")
    result = subprocess.run([str(refusing / "monotrail"), "+3.12", "run", "-c", IMPORT_BOTH], cwd=project,
                            env=base_env(monotrail.root), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alpha-pkg beta-pkg"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "alpha-pkg" in warnings[0], result.stderr
    verify_clean(monotrail)


def test_the_environment_python_run_directly_reinstalls_an_entry_deleted_by_hand(
    monotrail: Monotrail, project: Path
) -> None:
    """An editor or a shebang runs `<env>/bin/python` with no front door or launcher before it: the
    hook has the deleted entry reinstalled, with the launcher's warning, and the program runs."""
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    [env] = monotrail.envs()
    shutil.rmtree(entry_of(monotrail.root, "alpha-pkg"))
    result = subprocess.run([str(monotrail.root / "envs" / env / "bin" / "python"), "-c", IMPORT_BOTH], cwd=project, env=base_env(monotrail.root),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alpha-pkg beta-pkg"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "alpha-pkg" in warnings[0] and "deleted" in warnings[0], result.stderr
    verify_clean(monotrail)


def test_verify_reports_and_repairs_a_changed_file(monotrail: Monotrail, project: Path) -> None:
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    data = entry_of(monotrail.root, "beta-pkg") / "site-packages" / "beta_pkg" / "data.txt"
    data.write_text("tampered")
    result = monotrail.run("store", "verify")
    assert result.returncode == 1 and "beta_pkg/data.txt does not match its RECORD hash" in result.stdout
    assert "reinstalled from" in ok(monotrail.run("store", "verify", "--repair")).stdout
    verify_clean(monotrail)
    assert data.read_text() == "x" * 100


# --- gc, list, path, clean ------------------------------------------------------------------------


def test_gc_removes_environments_of_changed_locks_and_what_only_they_used(
    monotrail: Monotrail, tmp_path: Path, project: Path, index: IndexServer, wheels: list[Path]
) -> None:
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    other = make_project(tmp_path / "other", f"{index.url}/simple", wheels[:1])
    ok(monotrail.run("+3.12", "run", "-c", "import alpha_pkg", cwd=other))
    assert len(monotrail.envs()) == 2
    dry = ok(monotrail.run("store", "gc", "--dry-run"))
    assert "would remove 0 environments, 0 store entries" in dry.stdout
    (project / "requirements.txt").write_text(f"--index-url {index.url}/simple\n{pin(wheels[0])}\n")
    before = monotrail.envs()
    dry = ok(monotrail.run("store", "gc", "--dry-run"))
    assert "would remove 1 environments, 1 store entries" in dry.stdout and monotrail.envs() == before
    result = ok(monotrail.run("store", "gc"))
    assert "changed" in result.stdout and "beta-pkg 1.0" in result.stdout
    assert len(monotrail.envs()) == 1 and not (monotrail.root / "store" / "beta-pkg" / "1.0").exists()
    assert list((monotrail.root / "downloads").iterdir()) == [monotrail.root / "downloads" / f"{sha256_of(wheels[0])}.whl"]
    shutil.rmtree(other)
    assert "is gone" in ok(monotrail.run("store", "gc")).stdout
    assert not (monotrail.root / "store" / "alpha-pkg" / "1.0").exists()
    ok(monotrail.run("+3.12", "run", "-c", "import alpha_pkg", cwd=project))  # reinstalls


def test_gc_drops_the_kept_lock_parses(monotrail: Monotrail, project: Path) -> None:
    """`<root>/cache/parsed/` (a big lock's parse kept by its content, one per lock content ever
    run) is a cache the next new environment makes again: gc removes it, --dry-run does not."""
    ok(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))
    parsed = monotrail.root / "cache" / "parsed"
    parsed.mkdir(parents=True, exist_ok=True)
    (parsed / "uv-1-kept").write_bytes(b"x" * 1000)
    ok(monotrail.run("store", "gc", "--dry-run"))
    assert (parsed / "uv-1-kept").exists()
    ok(monotrail.run("store", "gc"))
    assert not parsed.exists()
    ok(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))


def test_gc_downloads_drops_the_downloaded_wheels_and_keeps_what_runs_use(monotrail: Monotrail, project: Path) -> None:
    """The downloaded wheels double the store's size and serve only `verify --repair` offline:
    `gc --downloads` removes them; entries and environments stay, runs need no download."""
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    entries, envs = monotrail.store_listing(), monotrail.envs()
    assert len(list((monotrail.root / "downloads").iterdir())) == 2
    assert "0 store entries, 2 downloads" in ok(monotrail.run("store", "gc", "--downloads", "--dry-run")).stdout
    ok(monotrail.run("store", "gc", "--downloads"))
    assert list((monotrail.root / "downloads").iterdir()) == []
    assert monotrail.store_listing() == entries and monotrail.envs() == envs
    assert ok(monotrail.run("+3.12", "run", "--offline", "-c", IMPORT_BOTH, cwd=project)).stdout.strip() == "alpha-pkg beta-pkg"


@pytest.mark.parametrize("through_exec", [False, True], ids=["program", "exec-without-hook"])
def test_gc_keeps_an_environment_a_live_process_runs(monotrail: Monotrail, project: Path, through_exec: bool) -> None:
    """The hook keeps the manifest open for the life of the process, and gc reads the open files of
    live processes: no claim file. The descriptor is inheritable, so a process that execs (here
    into `python -S`, which runs no hook of its own) keeps the claim."""
    wait = "import os, sys; print(os.getpid(), flush=True); sys.stdin.readline()"
    code = f"import os, sys; os.execv(sys.executable, [sys.executable, '-S', '-c', {wait!r}])" if through_exec else wait
    process = subprocess.Popen([sys.executable, "-m", "monotrail", "+3.12", "run", "-c", code], cwd=project,
                               env=base_env(monotrail.root), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(process.stdout.readline())
        [env] = monotrail.envs()
        assert list((monotrail.root / "envs" / env / "pids").iterdir()) == []  # no claim file
        shutil.rmtree(project)  # the lock is gone: removable, but in use
        result = ok(monotrail.run("store", "gc"))
        assert f"in use by pid {pid}" in result.stdout and monotrail.envs() == [env]
        assert json.loads(ok(monotrail.run("store", "list", "--json")).stdout)[0]["environments"][0]["live_pids"] == [pid]
    finally:
        process.communicate("\n", timeout=30)
    ok(monotrail.run("store", "gc"))
    assert monotrail.envs() == [] and monotrail.store_listing() == []


def test_gc_keeps_an_environment_claimed_by_an_older_hook(monotrail: Monotrail, project: Path) -> None:
    """Hooks before the open manifest wrote `<env>/pids/<pid>`: a process started by one before an
    upgrade still keeps its environment."""
    ok(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))
    [env] = monotrail.envs()
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE)
    try:
        (monotrail.root / "envs" / env / "pids" / str(sleeper.pid)).touch()
        shutil.rmtree(project)
        assert f"in use by pid {sleeper.pid}" in ok(monotrail.run("store", "gc")).stdout and monotrail.envs() == [env]
    finally:
        sleeper.communicate(b"\n", timeout=30)
    ok(monotrail.run("store", "gc"))
    assert monotrail.envs() == []


def test_gc_keeps_an_environment_whose_files_a_process_holds_open(monotrail: Monotrail, project: Path) -> None:
    """gc reads the open files of live processes: one holding a file under `<env>/` open (here a
    plain python, no hook) keeps the environment, and only while it runs."""
    ok(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))
    [env] = monotrail.envs()
    manifest = monotrail.root / "envs" / env / "manifest.txt"
    holder = subprocess.Popen([sys.executable, "-c", f"import sys; f = open({str(manifest)!r}); print(1, flush=True); "
                               "sys.stdin.readline()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "1"
        shutil.rmtree(project)  # the lock is gone: removable, but in use
        assert f"in use by pid {holder.pid}" in ok(monotrail.run("store", "gc")).stdout and monotrail.envs() == [env]
    finally:
        holder.communicate("\n", timeout=30)
    ok(monotrail.run("store", "gc"))
    assert monotrail.envs() == []


def test_gc_removes_dead_claims_and_old_environments(monotrail: Monotrail, project: Path) -> None:
    ok(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))
    [env] = monotrail.envs()
    exited = subprocess.Popen(["true"])
    exited.wait()
    claim = monotrail.root / "envs" / env / "pids" / str(exited.pid)  # a process that has exited
    claim.touch()
    assert "0 environments" in ok(monotrail.run("store", "gc", "--older-than", "30d")).stdout
    assert not claim.exists()
    old = time.time() - 40 * 86400
    for name in ("launch", "manifest.json", "manifest.txt", "pids"):
        os.utime(monotrail.root / "envs" / env / name, (old, old))
    assert "unused for" in ok(monotrail.run("store", "gc", "--older-than", "30d")).stdout
    assert monotrail.envs() == []


def test_list_path_and_clean(monotrail: Monotrail, project: Path) -> None:
    ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
    rows = json.loads(ok(monotrail.run("store", "list", "--json")).stdout)
    assert [(row["name"], row["version"]) for row in rows] == [("alpha-pkg", "1.0"), ("beta-pkg", "1.0")]
    assert all(row["size"] > 100 and row["last_used"] and not row["damaged"] for row in rows)
    assert rows[0]["environments"][0]["lock"] == str(project / "requirements.txt")
    table = ok(monotrail.run("store", "list")).stdout
    assert "alpha-pkg" in table and str(project / "requirements.txt") in table
    where = ok(monotrail.run("store", "path")).stdout
    assert where.splitlines()[0] == str(monotrail.root) and "store/" in where
    assert "without confirmation" in one_error(monotrail.run("store", "clean"))
    ok(monotrail.run("store", "clean", "--yes"))
    assert monotrail.store_listing() == [] and monotrail.envs() == []
    assert not list((monotrail.root / "downloads").iterdir())


# --- permissions ----------------------------------------------------------------------------------


def test_store_files_are_not_world_writable_even_with_umask_0(monotrail: Monotrail, project: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "monotrail", "+3.12", "run", "-c", IMPORT_BOTH], cwd=project,
                            env=base_env(monotrail.root), capture_output=True, text=True, preexec_fn=lambda: os.umask(0))
    ok(result)
    for part in ("store", "envs", "downloads"):
        for path in [monotrail.root / part, *(monotrail.root / part).rglob("*")]:
            # a symlink's own mode is always 0777 and never used (the environments' bin/python)
            assert path.is_symlink() or not path.lstat().st_mode & 0o002, path


# --- network faults -------------------------------------------------------------------------------


class FaultyHandler(_Handler):
    """`faults[path]` is a list of modes answered first: reset, truncate, stall, wrong-bytes."""

    def do_GET(self) -> None:  # noqa: N802
        with self.state.lock:
            queued = self.state.faults.get(self.path)  # type: ignore[attr-defined]
            mode = queued.pop(0) if queued else None
            if mode is not None:
                self.state.log.append(self.path)
        if mode is None:
            return super().do_GET()
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return
        if mode == "stall":
            time.sleep(3)
            return
        body = self.state.files[self.path.rsplit("/", 1)[1]].read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:  # wrong-bytes: same length, one byte flipped
            self.wfile.write(body[:-1] + bytes([body[-1] ^ 1]))


class FaultyServer(IndexServer):
    def __init__(self) -> None:
        super().__init__()
        self.state.faults = {}  # type: ignore[attr-defined]
        self.httpd.RequestHandlerClass = type("Handler", (FaultyHandler,), {"state": self.state})


@pytest.fixture
def faulty(tmp_path: Path):
    with FaultyServer() as server:
        yield server


@pytest.fixture
def faulty_project(tmp_path: Path, faulty: FaultyServer) -> tuple:
    built = two_wheels(tmp_path / "wheels")
    for wheel in built:
        faulty.add(wheel)
    return make_project(tmp_path / "project", f"{faulty.url}/simple", built), built


RETRIED = {
    "HTTP 500": ("status", [500, 500]),
    "HTTP 503 with Retry-After": ("status", [503]),
    "connection reset": ("fault", ["reset"]),
    "truncated body": ("fault", ["truncate", "truncate"]),
}


@pytest.mark.parametrize("case", list(RETRIED))
def test_transient_network_faults_are_retried(monotrail: Monotrail, faulty_project: tuple, faulty: FaultyServer,
                                              case: str) -> None:
    project, built = faulty_project
    kind, answers = RETRIED[case]
    path = f"/files/{built[0].name}"
    if kind == "status":
        faulty.state.failures[path] = list(answers)
        faulty.state.retry_after = "1" if "Retry-After" in case else None
    else:
        faulty.state.faults[path] = list(answers)  # type: ignore[attr-defined]
    started = time.monotonic()
    assert ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project)).stdout.strip() == "alpha-pkg beta-pkg"
    assert len(faulty.requests(path)) == len(answers) + 1
    if "Retry-After" in case:
        assert time.monotonic() - started >= 1.0
    verify_clean(monotrail)


FATAL = {
    "HTTP 500 every time": ("status", [500] * 3, "failed after 3 attempts: the server answered HTTP 500", {}),
    "truncated every time": ("fault", ["truncate"] * 3, "failed after 3 attempts: cannot connect", {}),
    "stall": ("fault", ["stall"] * 3, "the request timed out", {"MONOTRAIL_HTTP_TIMEOUT": "0.3"}),
    "wrong hash": ("fault", ["wrong-bytes"], "hash mismatch for alpha_pkg-1.0-py3-none-any.whl", {}),
}


@pytest.mark.parametrize("case", list(FATAL))
def test_persistent_network_faults_are_one_clear_line(monotrail: Monotrail, faulty_project: tuple,
                                                      faulty: FaultyServer, case: str) -> None:
    project, built = faulty_project
    kind, answers, message, env = FATAL[case]
    path = f"/files/{built[0].name}"
    if kind == "status":
        faulty.state.failures[path] = list(answers)
    else:
        faulty.state.faults[path] = list(answers)  # type: ignore[attr-defined]
    result = monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project, env=env)
    assert message in one_error(result), result.stderr
    assert not (monotrail.root / "store" / "alpha-pkg").exists()
    assert not (monotrail.root / "downloads" / f"{sha256_of(built[0])}.whl").exists()
    assert [p for p in leftovers(monotrail.root) if p.endswith(".part")] == []


def test_credentials_in_the_index_url_are_never_printed(monotrail: Monotrail, tmp_path: Path,
                                                         faulty: FaultyServer) -> None:
    [wheel, _] = two_wheels(tmp_path / "wheels")
    faulty.add(wheel)
    url = faulty.url.replace("http://", "http://alice:s3cr3t-token@") + "/simple"
    project = make_project(tmp_path / "project", url, [wheel])
    faulty.state.failures["/simple/alpha-pkg/"] = [500] * 3
    result = monotrail.run("+3.12", "run", "-v", "-c", "import alpha_pkg", cwd=project, env={"MONOTRAIL_LOG": "debug"})
    assert result.returncode != 0
    assert "s3cr3t-token" not in result.stderr + result.stdout
    assert "alice:****@" in result.stderr


def test_plain_http_is_refused_unless_the_index_was_given_as_http(monotrail: Monotrail, tmp_path: Path,
                                                                   index: IndexServer) -> None:
    [wheel, _] = two_wheels(tmp_path / "wheels")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n[[packages]]\nname = "alpha-pkg"\nversion = "1.0"\n'
        f'wheels = [{{ name = "{wheel.name}", url = "http://files.example.invalid/{wheel.name}", '
        f'hashes = {{ sha256 = "{sha256_of(wheel)}" }} }}]\n'
    )
    assert "refusing to download over plain http" in one_error(monotrail.run("+3.12", "run", "-c", "pass", cwd=project))


# --- disk full ----------------------------------------------------------------------------------


def test_disk_full_while_unpacking_is_one_line_with_path_and_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from index_fixtures import Selected
    from monotrail.store import wheel as wheels
    from monotrail.errors import StoreError
    from monotrail.store.index import Sources
    from monotrail.lock.model import Artifact
    from monotrail.store.entries import ensure_installed

    [wheel, _] = two_wheels(tmp_path / "wheels")
    artifact = Artifact(wheel.name, None, (("sha256", sha256_of(wheel)),), path=str(wheel))

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wheels.shutil, "copyfileobj", full)
    root = tmp_path / "root"
    with pytest.raises(StoreError) as caught:
        ensure_installed([Selected("alpha-pkg", "1.0", artifact, None, None)], Sources(), root, False)
    message = str(caught.value)
    assert "no space left on the device writing" in message and str(root / "store" / "alpha-pkg") in message
    assert re.search(r"\(\d+ bytes needed\)", message), message
    assert not (root / "store" / "alpha-pkg").exists() and leftovers(root) == []


# --- the hostile-input corpus ---------------------------------------------------------------------


def corpus_cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.name != "README.md")


@pytest.fixture(scope="module")
def corpus_world(tmp_path_factory: pytest.TempPathFactory):
    """One store holding a good entry, one server; each case must leave the store as it was."""
    base = tmp_path_factory.mktemp("corpus")
    with IndexServer() as server:
        good = two_wheels(base / "good")
        for wheel in good:
            server.add(wheel)
        monotrail = Monotrail(base / "root")
        project = make_project(base / "good-project", f"{server.url}/simple", good)
        ok(monotrail.run("+3.12", "run", "-c", IMPORT_BOTH, cwd=project))
        yield monotrail, server, base, good


@pytest.mark.parametrize("case", corpus_cases())
def test_hostile_input_is_one_error_and_leaves_the_store_unchanged(corpus_world: tuple, case: str) -> None:
    monotrail, server, base, good = corpus_world
    directory = base / "cases" / case
    directory.mkdir(parents=True)
    args = _prepare_case(CORPUS / case, directory, server, good)
    before = snapshot(monotrail.root)
    one_error(monotrail.run(*args, cwd=directory))
    assert snapshot(monotrail.root) == before


def _prepare_case(source: Path, directory: Path, server: IndexServer, good: list[Path]) -> list[str]:
    """`NAME__LOCKFILE`: a lock, placeholders filled; `NAME.wheel.json`: a wheel built from the
    spec and pinned by hash; `NAME.args.json`: a command line run in an empty project."""
    values = {"{index}": f"{server.url}/simple", "{files}": f"{server.url}/files",
              "{alpha_sha}": sha256_of(good[0]), "{alpha}": good[0].name}
    if source.name.endswith(".args.json"):
        spec = json.loads(source.read_text())
        for name, text in spec.get("files", {}).items():
            (directory / name).write_text(_fill(text, values))
        return spec["args"]
    if source.name.endswith(".wheel.json"):
        wheel = _hostile_wheel(json.loads(source.read_text()), directory / "wheels")
        server.add(wheel)
        (directory / "pylock.toml").write_text(
            'lock-version = "1.0"\ncreated-by = "test"\n[[packages]]\n'
            f'name = "evil-pkg"\nversion = "1.0"\nwheels = [{{ name = "{wheel.name}", '
            f'url = "{server.url}/files/{wheel.name}", hashes = {{ sha256 = "{sha256_of(wheel)}" }} }}]\n'
        )
        return ["+3.12", "run", "-c", "import evil_pkg"]
    lock_name = source.name.split("__", 1)[1]
    (directory / lock_name).write_bytes(_fill(source.read_bytes().decode("latin-1"), values).encode("latin-1"))
    if lock_name == "poetry.lock":
        (directory / "pyproject.toml").write_text('[tool.poetry]\nname = "x"\nversion = "0"\n')
    return ["+3.12", "run", "-c", "pass"]


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _hostile_wheel(spec: dict, directory: Path) -> Path:
    """Build `evil_pkg-1.0-py3-none-any.whl` (or `spec["filename"]`) from a JSON spec: `files`,
    `symlinks`, `corrupt_record`, `dist_info_name`, `drop` (dist-info files to leave out),
    `zeros` (a member of N zero bytes), `raw_name` (a member whose name bytes are given in
    latin-1 and flagged UTF-8), `not_a_zip`, `duplicate`, `unlisted` (a member missing from RECORD)."""
    directory.mkdir(parents=True)
    files = dict(spec.get("files", {"evil_pkg/__init__.py": "X = 1\n"}))
    if "zeros" in spec:
        files["evil_pkg/zeros.bin"] = b"\0" * spec["zeros"]
    wheel = build_wheel(directory, "evil-pkg", "1.0", files, symlinks=spec.get("symlinks", {}),
                        corrupt_record=spec.get("corrupt_record"), dist_info_name=spec.get("dist_info_name"))
    dist_info = f"{spec.get('dist_info_name', 'evil_pkg')}-1.0.dist-info"
    if spec.get("drop") or spec.get("unlisted") or spec.get("duplicate") or spec.get("raw_name"):
        wheel = _rewrite(wheel, spec, dist_info)
    if spec.get("not_a_zip"):
        wheel.write_bytes(b"PK\x03\x04 this is not a zip archive at all" * 10)
    if "filename" in spec:
        wheel = wheel.rename(wheel.with_name(spec["filename"]))
    return wheel


def _rewrite(wheel: Path, spec: dict, dist_info: str) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    drop = {f"{dist_info}/{name}" for name in spec.get("drop", [])}
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename not in drop:
                archive.writestr(info, data)
        if spec.get("unlisted"):
            archive.writestr("evil_pkg/unlisted.py", "X = 2\n")
        if spec.get("duplicate"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point of the case
                archive.writestr("evil_pkg/__init__.py", "X = 3\n")
    if spec.get("raw_name"):
        _append_raw_name(wheel, spec["raw_name"].encode("latin-1"))
    return wheel


def _append_raw_name(wheel: Path, raw: bytes) -> None:
    """A member whose name bytes are not UTF-8 although the UTF-8 flag (bit 11) says they are."""
    with zipfile.ZipFile(wheel, "a") as archive:
        info = zipfile.ZipInfo("PLACEHOLDER" + "_" * (len(raw) - 11) if len(raw) >= 11 else "P" * len(raw))
        archive.writestr(info, b"x")
    data = bytearray(wheel.read_bytes())
    placeholder = info.filename.encode()
    for start in [m.start() for m in re.finditer(re.escape(placeholder), bytes(data))]:
        data[start:start + len(raw)] = raw
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for match in re.finditer(re.escape(signature), bytes(data)):
            name_offset = 30 if signature == b"PK\x03\x04" else 46
            if bytes(data[match.start() + name_offset: match.start() + name_offset + len(raw)]) == raw:
                flags = int.from_bytes(data[match.start() + flag_offset: match.start() + flag_offset + 2], "little")
                data[match.start() + flag_offset: match.start() + flag_offset + 2] = (flags | 0x800).to_bytes(2, "little")
    wheel.write_bytes(bytes(data))
