"""`monotrail install`, `sync --venv`: the store's wheels installed into real virtualenvs.

Offline: wheels are built in the tests, locks are pylock.toml files naming them by path, and the
comparison with pip runs the venv's own pip with `--no-index --find-links`.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import Monotrail
from index_fixtures import build_wheel, sha256_of

ALPHA_FILES = {
    "alpha/__init__.py": "def main():\n    print('alpha main')\n",
    "alpha/__main__.py": "print('alpha as a module')\n",
    "alpha/sub/data.txt": "payload\n",
    "alpha-{v}.data/scripts/alpha-tool": "#!python\nprint('tool')\n",
    "alpha-{v}.data/scripts/alpha-sh": "#!/bin/sh\necho sh\n",
    "alpha-{v}.data/headers/alpha.h": "int alpha;\n",
    "alpha-{v}.data/data/share/alpha/readme.txt": "shared data\n",
}
ALPHA_ENTRY_POINTS = "[console_scripts]\nalpha = alpha:main\n[gui_scripts]\nalpha-gui = alpha:main\n"


def alpha(wheels: Path, version: str = "1.0") -> Path:
    files = {path.format(v=version): text for path, text in ALPHA_FILES.items()}
    return build_wheel(wheels, "alpha", version, files, ALPHA_ENTRY_POINTS,
                       executables=(f"alpha-{version}.data/scripts/alpha-sh", f"alpha-{version}.data/scripts/alpha-tool"))


def simple(wheels: Path, name: str, version: str = "1.0", **kwargs) -> Path:
    module = name.replace("-", "_")
    return build_wheel(wheels, name, version, {f"{module}/__init__.py": f"VERSION = {version!r}\n"}, **kwargs)


def pylock(directory: Path, *wheels: Path) -> Path:
    packages = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        packages.append(textwrap.dedent(f"""
            [[packages]]
            name = "{name.replace('_', '-')}"
            version = "{version}"
            wheels = [{{ name = "{wheel.name}", path = "{wheel}", hashes = {{ sha256 = "{sha256_of(wheel)}" }} }}]
            """))
    lock = directory / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "test"\n' + "".join(packages))
    return lock


def make_venv(path: Path, with_pip: bool = False) -> Path:
    args = [] if with_pip else ["--without-pip"]
    subprocess.run([sys.executable, "-m", "venv", *args, str(path)], check=True)
    return path


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    return directory


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def tree(venv: Path) -> dict[str, tuple[str, int]]:
    """Every path below the venv (no bytecode, no pyvenv.cfg) with its kind and permission bits."""
    result = {}
    for directory, dirs, files in os.walk(venv):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, venv)
            if relative == "pyvenv.cfg":
                continue
            kind = "link" if os.path.islink(path) else "file"
            result[relative] = (kind, os.lstat(path).st_mode & 0o777)
    return result


def record(venv: Path, dist_info: str, drop=("INSTALLER", "direct_url.json")) -> set:
    rows = csv.reader(io.StringIO((site_packages(venv) / dist_info / "RECORD").read_text()))
    return {tuple(row) for row in rows if row and row[0].rsplit("/", 1)[-1] not in drop}


def run_in(venv: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, env=env)


# --- the result is what pip produces -------------------------------------------------------------


def test_sync_tree_and_record_equal_pip_install_of_the_same_wheels(monotrail: Monotrail, tmp_path, wheels):
    lock = pylock(tmp_path, alpha(wheels), simple(wheels, "beta"))
    ours = make_venv(tmp_path / "ours")
    ours_seeded = set(tree(ours))
    result = monotrail.run("sync", "--venv", str(ours), "--lock", str(lock))
    assert result.returncode == 0, result.stderr

    # The reference venv at the same path length, so pip's shebangs have the same size.
    theirs = make_venv(tmp_path / "pips", with_pip=True)
    # What the venv module seeded (pip; setuptools too before Python 3.12) is not under comparison.
    seeded = set(tree(theirs))
    pip = run_in(theirs, "python", "-m", "pip", "install", "--no-index", "--no-compile", "--find-links",
                 str(wheels), "alpha==1.0", "beta==1.0")
    assert pip.returncode == 0, pip.stderr

    added_by_pip = {p: v for p, v in tree(theirs).items() if p not in seeded}
    added_by_us = {p: v for p, v in tree(ours).items() if p not in ours_seeded}
    assert added_by_pip == added_by_us
    for dist_info in ("alpha-1.0.dist-info", "beta-1.0.dist-info"):
        theirs_record = {tuple(cell.replace("/pips/", "/ours/") for cell in row) for row in record(theirs, dist_info)}
        ours_record = record(ours, dist_info)
        script_rows = {row for row in ours_record if row[0].startswith("../../../bin/alpha")}
        # Scripts name their venv's python in the shebang: compare them with the path swapped.
        for row in script_rows:
            ours_bytes = (ours / "bin" / row[0].rsplit("/", 1)[-1]).read_bytes()
            theirs_bytes = (theirs / "bin" / row[0].rsplit("/", 1)[-1]).read_bytes()
            assert ours_bytes == theirs_bytes.replace(b"/pips/", b"/ours/")
        assert {r[0] for r in ours_record} == {r[0] for r in theirs_record}
        assert ours_record - script_rows == {r for r in theirs_record if r[0] not in {s[0] for s in script_rows}}
        assert (site_packages(ours) / dist_info / "INSTALLER").read_text() == "monotrail\n"


def test_pip_check_list_uninstall_and_python_m_work_on_the_result(monotrail: Monotrail, tmp_path, wheels):
    lock = pylock(tmp_path, alpha(wheels), simple(wheels, "beta"))
    venv = make_venv(tmp_path / "venv", with_pip=True)
    assert monotrail.run("sync", "--venv", str(venv), "--lock", str(lock)).returncode == 0

    assert run_in(venv, "python", "-m", "alpha").stdout == "alpha as a module\n"
    assert run_in(venv, "alpha").stdout == "alpha main\n"
    assert run_in(venv, "alpha-tool").stdout == "tool\n"
    assert run_in(venv, "python", "-m", "pip", "check").returncode == 0
    listed = run_in(venv, "python", "-m", "pip", "list", "--format", "freeze").stdout.split()
    assert {"alpha==1.0", "beta==1.0"} <= set(listed)

    store_file = next((monotrail.root / "store" / "alpha").glob("1.0/*/site-packages/alpha/__init__.py"))
    before = store_file.read_bytes()
    uninstalled = run_in(venv, "python", "-m", "pip", "uninstall", "-y", "alpha")
    assert uninstalled.returncode == 0, uninstalled.stderr
    leftovers = [p for p in tree(venv) if "alpha" in p]
    assert leftovers == []
    assert store_file.read_bytes() == before  # the venv's copy went, the store's stayed


def test_files_are_hardlinked_and_own_files_written_fresh(monotrail: Monotrail, tmp_path, wheels):
    lock = pylock(tmp_path, alpha(wheels))
    venv = make_venv(tmp_path / "venv")
    assert monotrail.run("sync", "--venv", str(venv), "--lock", str(lock)).returncode == 0
    entry = next((monotrail.root / "store" / "alpha").glob("1.0/*"))
    lib = site_packages(venv)
    assert os.stat(lib / "alpha/__init__.py").st_ino == os.stat(entry / "site-packages/alpha/__init__.py").st_ino
    assert os.stat(venv / "share/alpha/readme.txt").st_ino == os.stat(entry / "data/share/alpha/readme.txt").st_ino
    for own in ("RECORD", "INSTALLER"):
        assert os.stat(lib / "alpha-1.0.dist-info" / own).st_ino != os.stat(entry / "site-packages/alpha-1.0.dist-info" / own).st_ino
    assert (entry / "bin/alpha-tool").read_bytes().startswith(b"#!python\n")  # the rewrite went to the venv only
    assert (venv / "bin/alpha-tool").read_bytes().startswith(f"#!{venv}/bin/python\n".encode())


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_link_modes(monotrail: Monotrail, tmp_path, wheels, mode):
    lock = pylock(tmp_path, alpha(wheels))
    venv = make_venv(tmp_path / "venv")
    assert monotrail.run("sync", "--venv", str(venv), "--lock", str(lock), "--link-mode", mode).returncode == 0
    installed = site_packages(venv) / "alpha/__init__.py"
    entry = next((monotrail.root / "store" / "alpha").glob("1.0/*"))
    assert installed.is_symlink() == (mode == "symlink")
    assert os.stat(installed).st_ino == os.stat(entry / "site-packages/alpha/__init__.py").st_ino or mode == "copy"
    assert run_in(venv, "python", "-m", "alpha").returncode == 0


def test_compile_writes_bytecode_and_records_it(monotrail: Monotrail, tmp_path, wheels):
    lock = pylock(tmp_path, alpha(wheels))
    venv = make_venv(tmp_path / "venv")
    assert monotrail.run("sync", "--venv", str(venv), "--lock", str(lock), "--compile").returncode == 0
    rows = {row[0] for row in record(venv, "alpha-1.0.dist-info")}
    pyc = [row for row in rows if row.endswith(".pyc")]
    assert len(pyc) == 2 and all("__pycache__/" in row for row in pyc)


# --- sync --------------------------------------------------------------------------------------


def test_sync_downgrades_removes_and_then_has_nothing_to_do(monotrail: Monotrail, tmp_path, wheels):
    venv = make_venv(tmp_path / "venv", with_pip=True)
    first = pylock(tmp_path, alpha(wheels, "2.0"), simple(wheels, "gamma"))
    assert monotrail.run("sync", "--venv", str(venv), "--lock", str(first)).returncode == 0
    assert (site_packages(venv) / "gamma").is_dir() and (venv / "bin/alpha").exists()

    second = pylock(tmp_path, alpha(wheels, "1.0"))
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(second))
    assert result.returncode == 0, result.stderr
    lib = site_packages(venv)
    assert not (lib / "gamma").exists() and not (lib / "gamma-1.0.dist-info").exists()
    assert not (lib / "alpha-2.0.dist-info").exists() and (lib / "alpha-1.0.dist-info").is_dir()
    assert (venv / "bin/alpha").exists() and (venv / "include/site").exists()
    assert any(p.name.startswith("pip-") for p in lib.iterdir())  # the venv's own pip stays

    snapshot = {p: os.lstat(venv / p).st_mtime_ns for p in tree(venv)}
    again = monotrail.run("sync", "--venv", str(venv), "--lock", str(second))
    assert again.returncode == 0 and "nothing to do" in again.stderr
    assert {p: os.lstat(venv / p).st_mtime_ns for p in tree(venv)} == snapshot


def test_sync_creates_a_missing_venv(monotrail: Monotrail, tmp_path, wheels):
    lock = pylock(tmp_path, simple(wheels, "beta"))
    venv = tmp_path / "new-venv"
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(lock), "--python", sys.executable)
    assert result.returncode == 0, result.stderr
    assert (venv / "pyvenv.cfg").is_file()
    assert run_in(venv, "python", "-c", "import beta; print(beta.VERSION)").stdout == "1.0\n"


def test_a_created_venv_is_what_python_m_venv_without_pip_makes(monotrail: Monotrail, tmp_path, wheels, py312):
    """`sync --venv` makes a missing venv itself, as `uv sync` does: no pip seeded, the
    interpreter's own activation scripts, an interpreter that sees the venv as its prefix; and
    no temp directory left beside it."""
    lock = pylock(tmp_path, simple(wheels, "beta"))
    venv = tmp_path / "made" / "my venv"  # a parent to create, a space to quote
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(lock), "--python", str(py312))
    assert result.returncode == 0, result.stderr
    reference = tmp_path / "made" / "reference"
    subprocess.run([str(py312), "-m", "venv", "--without-pip", str(reference)], check=True)
    for name in ("activate", "activate.csh", "activate.fish", "Activate.ps1"):
        assert (venv / "bin" / name).read_bytes() == (reference / "bin" / name).read_bytes().replace(
            os.fsencode(reference), os.fsencode(venv)).replace(b"(reference)", b"(my venv)"), name
    assert os.readlink(venv / "lib64") == "lib"
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false\n" in cfg and "version_info = 3.12." in cfg
    assert f"home = {os.path.dirname(os.path.realpath(py312))}\n" in cfg
    prefix = run_in(venv, "python", "-c", "import sys; print(sys.prefix, sys.base_prefix != sys.prefix)")
    assert prefix.stdout == f"{venv} True\n"
    assert run_in(venv, "python", "-c", "import pip").returncode != 0  # not seeded, as uv's venvs
    assert sorted(p.name for p in site_packages(venv).iterdir()) == ["beta", "beta-1.0.dist-info"]
    assert sorted(p.name for p in venv.parent.iterdir()) == ["my venv", "reference"]
    activated = subprocess.run(["bash", "-c", f'. "{venv}/bin/activate" && echo "$VIRTUAL_ENV" && command -v python'],
                               capture_output=True, text=True)
    assert activated.stdout == f"{venv}\n{venv}/bin/python\n"


# --- monotrail install -------------------------------------------------------------------------


def test_install_wheel_file_writes_direct_url_and_requested(monotrail: Monotrail, tmp_path, wheels):
    venv = make_venv(tmp_path / "venv")
    wheel = simple(wheels, "beta")
    result = monotrail.run("install", str(wheel), env={"VIRTUAL_ENV": str(venv)})
    assert result.returncode == 0, result.stderr
    dist_info = site_packages(venv) / "beta-1.0.dist-info"
    assert (dist_info / "REQUESTED").exists()
    assert f'"url": "{wheel.as_uri()}"' in (dist_info / "direct_url.json").read_text()
    assert sha256_of(wheel) in (dist_info / "direct_url.json").read_text()


def test_install_replaces_another_version(monotrail: Monotrail, tmp_path, wheels):
    venv = make_venv(tmp_path / "venv")
    for version in ("2.0", "1.0"):
        assert monotrail.run("install", "--venv", str(venv), str(simple(wheels, "beta", version))).returncode == 0
    names = sorted(p.name for p in site_packages(venv).iterdir() if p.name.startswith("beta"))
    assert names == ["beta", "beta-1.0.dist-info"]


def test_install_with_python_of_the_venv(monotrail: Monotrail, tmp_path, wheels):
    venv = make_venv(tmp_path / "venv")
    result = monotrail.run("install", "--python", str(venv / "bin/python"), str(simple(wheels, "beta")))
    assert result.returncode == 0, result.stderr
    assert (site_packages(venv) / "beta").is_dir()


# --- bad input: one line, nothing written ----------------------------------------------------------


def _truncated(wheels: Path) -> Path:
    wheel = simple(wheels, "beta")
    data = wheel.read_bytes()
    wheel.write_bytes(data[: len(data) // 2])
    return wheel


def _not_a_zip(wheels: Path) -> Path:
    wheel = wheels / "beta-1.0-py3-none-any.whl"
    wheel.write_bytes(b"this is not a zip archive")
    return wheel


HOSTILE = {
    "dot-dot": (lambda w: build_wheel(w, "evil", "1.0", {"../../escape.py": "x"}), "'..'"),
    "absolute": (lambda w: build_wheel(w, "evil", "1.0", {"/tmp/evil-absolute.py": "x"}), "absolute"),
    "symlink": (lambda w: build_wheel(w, "evil", "1.0", {"evil/__init__.py": ""},
                                      symlinks={"evil/link": "/etc/passwd"}), "symlink"),
    "record-mismatch": (lambda w: build_wheel(w, "evil", "1.0", {"evil/__init__.py": "x = 1\n"},
                                              corrupt_record="evil/__init__.py"), "RECORD"),
    "truncated": (_truncated, "zip"),
    "not-a-zip": (_not_a_zip, "zip"),
    "script-over-python": (lambda w: build_wheel(w, "evil", "1.0", {"evil-1.0.data/scripts/python": "#!python\n"}),
                           "bin/python"),
    "data-over-python": (lambda w: build_wheel(w, "evil", "1.0", {"evil-1.0.data/data/bin/python3": "x"}),
                         "bin/python3"),
    "entry-point-over-python": (lambda w: build_wheel(w, "evil", "1.0", {"evil/__init__.py": ""},
                                                      "[console_scripts]\npython = evil:main\n"), "bin/python"),
    "entry-point-path": (lambda w: build_wheel(w, "evil", "1.0", {"evil/__init__.py": ""},
                                               "[console_scripts]\n../../x = evil:main\n"), "not a file name"),
    "other-platform": (lambda w: simple(w, "evil", tag="cp312-cp312-win_amd64"), "win_amd64"),
    "other-python": (lambda w: simple(w, "evil", tag="cp27-cp27mu-manylinux1_x86_64"), "cp27"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_wheels_are_rejected_with_one_line_and_nothing_written(monotrail: Monotrail, tmp_path, wheels, case):
    make, expected = HOSTILE[case]
    wheel = make(wheels)
    venv = make_venv(tmp_path / "venv")
    before = {p: os.lstat(venv / p).st_mtime_ns for p in tree(venv)}
    result = monotrail.run("install", "--venv", str(venv), str(wheel))
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr and len([line for line in lines if line.startswith("error:")]) == 1
    assert {p: os.lstat(venv / p).st_mtime_ns for p in tree(venv)} == before
    assert not (tmp_path / "escape.py").exists() and not Path("/tmp/evil-absolute.py").exists()


@pytest.mark.parametrize("case", ["clash", "hostile"])
def test_a_failed_sync_removes_the_venv_it_created(monotrail: Monotrail, tmp_path, wheels, py312, case):
    """A venv that sync creates is written while the packages are planned (one after the other);
    any failure takes the whole venv away again, as if the command had not run."""
    first = simple(wheels, "beta")
    second = {"clash": lambda: build_wheel(wheels, "gamma", "1.0", {"beta/__init__.py": "clash = 1\n"}),
              "hostile": lambda: build_wheel(wheels, "evil", "1.0", {"evil-1.0.data/scripts/activate": "x"})}[case]()
    venv = tmp_path / "new-venv"
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(pylock(tmp_path, first, second)),
                           "--python", str(py312))
    assert result.returncode != 0 and "\nerror: " in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert ("both install" in result.stderr) if case == "clash" else ("activate" in result.stderr)
    assert not venv.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["pylock.toml", "root", "wheels"]


def test_clash_in_a_lock_leaves_the_venv_untouched(monotrail: Monotrail, tmp_path, wheels):
    """The second package is hostile: the first must not be half-installed either."""
    good = simple(wheels, "beta")
    evil = build_wheel(wheels, "evil", "1.0", {"evil-1.0.data/scripts/activate": "x"})
    venv = make_venv(tmp_path / "venv")
    before = tree(venv)
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(pylock(tmp_path, good, evil)))
    assert result.returncode != 0 and "activate" in result.stderr
    assert tree(venv) == before


@pytest.mark.parametrize("row", ["beta/__init__.py,sha256=abc,twelve", "beta/__init__.py,nohash=abc,12",
                                 "beta/__init__.py,sha256abc,12", "beta/__init__.py,12"])
def test_a_store_record_damaged_by_hand_is_one_line_and_leaves_the_venv_untouched(monotrail: Monotrail, tmp_path,
                                                                                  wheels, row):
    """The store's RECORD is read and checked before the first venv file is written (a size that
    is not a number, a hash that is not `name=value` of a known algorithm, a row of two cells)."""
    lock = pylock(tmp_path, simple(wheels, "alpha"), simple(wheels, "beta"))
    first = make_venv(tmp_path / "first")
    assert monotrail.run("sync", "--venv", str(first), "--lock", str(lock)).returncode == 0
    stored = next(monotrail.root.glob("store/beta/1.0/*/site-packages/beta-1.0.dist-info/RECORD"))
    rows = [line for line in stored.read_text().splitlines() if not line.startswith("beta/__init__.py,")]
    stored.unlink()  # never written through: the first venv holds a hardlink of it
    stored.write_text("\n".join([row, *rows]) + "\n")
    venv = make_venv(tmp_path / "venv")
    before = tree(venv)
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(lock))
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "beta-1.0.dist-info/RECORD: unreadable RECORD" in lines[0], result.stderr
    assert lines[1:] == ["hint: run `monotrail store verify --repair`"]
    assert tree(venv) == before


def test_a_file_that_cannot_be_placed_is_one_line_and_the_placed_files_are_removed(monotrail: Monotrail, tmp_path,
                                                                                   wheels):
    """Files are placed by several threads: a failure in any of them (here a directory where a
    package's file goes) stops the install with one line, and the files placed are removed."""
    many = {f"alpha/part{i}/m{j}.py": "" for i in range(30) for j in range(5)}
    lock = pylock(tmp_path, build_wheel(wheels, "alpha", "1.0", many), simple(wheels, "beta"))
    venv = make_venv(tmp_path / "venv")
    (site_packages(venv) / "beta" / "__init__.py").mkdir(parents=True)
    before = tree(venv)
    result = monotrail.run("sync", "--venv", str(venv), "--lock", str(lock))
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "cannot install into the venv" in lines[0], result.stderr
    assert tree(venv) == before


def test_not_in_a_venv_says_how_to_make_one(monotrail: Monotrail, wheels):
    result = monotrail.run("install", str(simple(wheels, "beta")))
    assert result.returncode != 0
    assert result.stderr.startswith("error: not in a virtualenv") and "python3 -m venv" in result.stderr


@pytest.mark.parametrize("spec", ["numpy>=2", "numpy", "numpy==2.*"])
def test_unpinned_requirements_need_a_resolver(monotrail: Monotrail, tmp_path, spec):
    venv = make_venv(tmp_path / "venv")
    result = monotrail.run("install", "--venv", str(venv), spec)
    assert result.returncode == 2
    assert "resolving is not supported yet" in result.stderr and "Traceback" not in result.stderr


def test_a_directory_that_is_not_a_venv_is_refused(monotrail: Monotrail, tmp_path, wheels):
    (tmp_path / "plain").mkdir()
    result = monotrail.run("install", "--venv", str(tmp_path / "plain"), str(simple(wheels, "beta")))
    assert result.returncode != 0 and "not a virtualenv" in result.stderr
