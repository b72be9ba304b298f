"""PEP 723 scripts, `run --with` and `monotrail x` end to end, against a local index.

A script's block is resolved once and the lock cached in the store (nothing written beside the
script); the second run is a warm run that asks the index nothing. `#!/usr/bin/env monotrail`
goes through the sh front door.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from cli_checks import clean_error, ok
from conftest import Monotrail, base_env, front_door_bin
from index_fixtures import IndexServer, build_wheel, write_sdist

TOOL = """\
#!/usr/bin/env monotrail
# /// script
# requires-python = ">=3.10"
# dependencies = ["greet>=1"]
# ///
import sys, greet
print(greet.hello(), sys.version_info[:2] >= (3, 10), not greet.__file__.startswith(sys.prefix))  # from the store
"""


@pytest.fixture
def published(tmp_path: Path, index: IndexServer) -> IndexServer:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        index.add(build_wheel(wheels, "greet", version, {"greet.py": f"def hello():\n    return 'hello {version}'\n"},
                              requires=("colors",) if version == "2.0" else ()))
    index.add(build_wheel(wheels, "colors", "1.0", {"colors.py": "RED = 'red'\n"}))
    index.add(build_wheel(
        wheels, "shout", "1.0", {"shout/__init__.py": "", "shout/cli.py": "import sys\ndef main():\n    print(' '.join(sys.argv[1:]).upper())\n"},
        entry_points="[console_scripts]\nshout = shout.cli:main\nyell = shout.cli:main\n"))
    return index


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def index_env(index: IndexServer, **extra: str) -> dict:
    return {"UV_INDEX_URL": f"{index.url}/simple", **extra}


def test_script_block_is_resolved_once_then_runs_warm(monotrail: Monotrail, tmp_path: Path, published) -> None:
    script = write(tmp_path / "work" / "tool.py", TOOL)
    first = ok(monotrail.run("run", str(script), env=index_env(published)))
    assert first.stdout.strip() == "hello 2.0 True True"
    assert sorted(os.listdir(script.parent)) == ["tool.py"]  # the user's directory stays clean
    requests = len(published.requests(""))
    second = ok(monotrail.run("run", str(script), env=index_env(published, MONOTRAIL_LOG="debug")))
    assert second.stdout.strip() == "hello 2.0 True True" and "warm: environment exists" in second.stderr
    assert len(published.requests("")) == requests


def test_script_block_wins_over_a_lock_found_upwards(monotrail: Monotrail, tmp_path: Path, published) -> None:
    project = tmp_path / "project"
    write(project / "requirements.txt", "colors==1.0\n")
    script = write(project / "tool.py", TOOL)
    result = ok(monotrail.run("run", str(script), env=index_env(published)))
    assert result.stdout.strip() == "hello 2.0 True True"


def test_editing_the_block_resolves_again(monotrail: Monotrail, tmp_path: Path, published) -> None:
    script = write(tmp_path / "tool.py", TOOL)
    ok(monotrail.run("run", str(script), env=index_env(published)))
    script.write_text(TOOL.replace('"greet>=1"', '"greet<2"'))
    assert ok(monotrail.run("run", str(script), env=index_env(published))).stdout.strip() == "hello 1.0 True True"


def test_shebang_script_through_the_front_door(monotrail: Monotrail, tmp_path: Path, published) -> None:
    bin_dir = front_door_bin(tmp_path / "bin")
    script = write(tmp_path / "work" / "tool.py", TOOL)
    script.chmod(0o755)
    # .python-version bounds the directories the warm entry watches (else up to /, and /tmp changes)
    version_file = write(tmp_path / "work" / ".python-version", "3.12\n")
    for path in (script, version_file):
        os.utime(path, (1_600_000_000, 1_600_000_000))  # older than 2 s: the warm entry gets written
    env = base_env(monotrail.root, **index_env(published))
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    for _ in range(2):
        result = ok(subprocess.run(["./tool.py"], cwd=script.parent, env=env, capture_output=True, text=True,
                                   stdin=subprocess.DEVNULL, timeout=60))
        assert result.stdout.strip() == "hello 2.0 True True"
        # files changed within 2 s keep the warm entry from being written (one-second -nt): age them
        for path in [script.parent, *(monotrail.root / "resolved").rglob("pylock.toml")]:
            os.utime(path, (1_600_000_000, 1_600_000_000))
    assert list((monotrail.root / "warm").rglob("script-tool.py"))
    # the front door serves the warm run: the launcher would need the index env to fall back on
    env.pop("UV_INDEX_URL")
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    (bin_dir / "monotrail-launcher").write_text("#!/bin/sh\necho launcher >&2; exit 99\n")
    result = ok(subprocess.run(["./tool.py"], cwd=script.parent, env=env, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=60))
    assert result.stdout.strip() == "hello 2.0 True True"


def test_lock_script_writes_a_lock_beside_it_that_later_runs_use(monotrail: Monotrail, tmp_path: Path, published) -> None:
    from packaging.pylock import Pylock

    from monotrail.lock.tomlfile import load_toml

    script = write(tmp_path / "tool.py", TOOL.replace('"greet>=1"', '"greet==1.0"'))
    ok(monotrail.run("lock", "--script", str(script), env=index_env(published)))
    lock = tmp_path / "tool.py.lock"
    Pylock.from_dict(load_toml(lock))
    script.write_text(TOOL)  # the lock, not the block, decides from now on
    assert ok(monotrail.run("run", str(script), env=index_env(published))).stdout.strip() == "hello 1.0 True True"


@pytest.mark.parametrize("block, where", [
    ("# /// script\n# dependencies = [\n# ///\n", "tool.py:"),
    ("# /// script\n# dependencies = ['greet >>= 1']\n# ///\n", "tool.py:1"),
    ("# /// script\n# dependencies = ['greet']\n", "tool.py:1"),
])
def test_malformed_block_is_one_error_with_file_and_line(monotrail: Monotrail, tmp_path: Path, published, block, where) -> None:
    script = write(tmp_path / "tool.py", block + "print('x')\n")
    result = monotrail.run("run", str(script), env=index_env(published))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and where in result.stderr.splitlines()[0]
    assert monotrail.store_listing() == []


def test_offline_script_with_nothing_cached_is_one_error(monotrail: Monotrail, tmp_path: Path, published) -> None:
    script = write(tmp_path / "tool.py", TOOL)
    result = monotrail.run("run", "--offline", str(script), env=index_env(published))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "offline" in result.stderr
    assert published.requests("") == [] and monotrail.store_listing() == []


def test_unsatisfiable_block_names_the_conflict(monotrail: Monotrail, tmp_path: Path, published) -> None:
    script = write(tmp_path / "tool.py", TOOL.replace('"greet>=1"', '"greet>=3"'))
    result = monotrail.run("run", str(script), env=index_env(published))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "no version of greet satisfies: the project requires greet>=3" in result.stderr
    assert monotrail.store_listing() == []


def test_run_with_adds_requirements_for_one_run(monotrail: Monotrail, tmp_path: Path, published) -> None:
    script = write(tmp_path / "plain.py", "import colors\nprint(colors.RED)\n")
    write(tmp_path / "requirements.txt", f"--index-url {published.url}/simple\ngreet==1.0\n")
    result = ok(monotrail.run("run", "--with", "colors", str(script), env=index_env(published)))
    assert result.stdout.strip() == "red"


def test_x_runs_a_tools_console_script(monotrail: Monotrail, tmp_path: Path, published) -> None:
    result = ok(monotrail.run("x", "shout", "hi", "there", cwd=tmp_path, env=index_env(published)))
    assert result.stdout.strip() == "HI THERE"
    result = ok(monotrail.run("x", "--from", "shout==1.0", "yell", "again", cwd=tmp_path, env=index_env(published)))
    assert result.stdout.strip() == "AGAIN"


@pytest.mark.network
def test_script_resolving_rich_from_pypi(monotrail: Monotrail, tmp_path: Path) -> None:
    script = write(tmp_path / "rich_tool.py", """\
        # /// script
        # dependencies = ["rich"]
        # ///
        import rich
        print("ok", rich.__name__)
        """)
    assert ok(monotrail.run("run", str(script), timeout=300)).stdout.strip() == "ok rich"


# --- sdists: built with their PEP 517 backend ----------------------------------------------------

BACKEND = '''
import base64, hashlib, os, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if FAIL:
        raise RuntimeError("the compiler exploded")
    if WAIT_FOR:  # a barrier: hold this build until every build of the test has started
        import time
        directory, count = WAIT_FOR
        open(os.path.join(directory, NAME), "w").close()
        deadline = time.monotonic() + 20
        while len(os.listdir(directory)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    dist = NAME.replace("-", "_")
    info = f"{dist}-{VERSION}.dist-info"
    files = {
        f"{dist}.py": f"BUILT = True\\nVERSION = {VERSION!r}\\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n%s" % (
            NAME, VERSION, "".join(f"Requires-Dist: {r}\\n" for r in REQUIRES)),
        f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()},{len(d)}"
              for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = "\\n".join(record) + "\\n"
    name = f"{dist}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
'''


def build_sdist(directory: Path, name: str, version: str, requires: tuple = (), fail: bool = False,
                wait_for: tuple[Path, int] | None = None, backend: str = "backend") -> Path:
    """An sdist whose in-tree backend (`backend-path = ["."]`, no build requirements) writes a wheel.

    `wait_for=(directory, n)`: its build_wheel marks `directory` and waits until `n` builds have.
    `backend`: the build-backend its pyproject.toml names (any other than `backend`, the in-tree
    one, is imported from the build environment)."""
    top = f"{name.replace('-', '_')}-{version}"
    members = {
        "pyproject.toml": f'[build-system]\nrequires = []\nbuild-backend = "{backend}"\n'
                          + ('backend-path = ["."]\n' if backend == "backend" else ""),
        "backend.py": f"NAME, VERSION, REQUIRES, FAIL = {name!r}, {version!r}, {requires!r}, {fail!r}\n"
                      f"WAIT_FOR = {(str(wait_for[0]), wait_for[1]) if wait_for else None!r}\n" + BACKEND,
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    return write_sdist(directory, top, members)


def test_sdist_only_package_is_built_once_and_cached(monotrail: Monotrail, tmp_path: Path, published) -> None:
    published.add(build_sdist(tmp_path / "wheels", "from-source", "1.0", requires=("colors",)))
    script = write(tmp_path / "tool.py", """\
        # /// script
        # dependencies = ["from-source"]
        # ///
        import colors, from_source
        print(from_source.BUILT, from_source.VERSION, colors.RED)
        """)
    assert ok(monotrail.run("+3.12", "run", str(script), env=index_env(published))).stdout.strip() == "True 1.0 red"
    built = list((monotrail.root / "built").rglob("*.whl"))
    assert [p.name for p in built] == ["from_source-1.0-py3-none-any.whl"]
    # another resolution needing it reuses the metadata and the store entry: no second build
    other = write(tmp_path / "other.py", script.read_text().replace('["from-source"]', '["from-source", "colors"]'))
    built[0].unlink()
    assert ok(monotrail.run("+3.12", "run", str(other), env=index_env(published))).stdout.strip() == "True 1.0 red"
    assert not list((monotrail.root / "built").rglob("*.whl"))


def test_locked_sdist_is_built_when_installed(monotrail: Monotrail, tmp_path: Path, published) -> None:
    from packaging.pylock import Pylock

    from monotrail.lock.tomlfile import load_toml

    published.add(build_sdist(tmp_path / "wheels", "from-source", "2.0"))
    script = write(tmp_path / "tool.py", '# /// script\n# dependencies = ["from-source"]\n# ///\n'
                                         'import from_source\nprint(from_source.VERSION)\n')
    ok(monotrail.run("+3.12", "lock", "--script", str(script), env=index_env(published)))
    lock = load_toml(tmp_path / "tool.py.lock")
    Pylock.from_dict(lock)
    assert "sdist" in lock["packages"][0] and "wheels" not in lock["packages"][0]
    fresh = Monotrail(tmp_path / "fresh-root")  # nothing built, nothing cached: the store builds it
    assert ok(fresh.run("+3.12", "run", str(script), env=index_env(published))).stdout.strip() == "2.0"
    assert list((fresh.root / "built").rglob("*.whl"))


def test_three_sdist_only_packages_are_built_side_by_side_in_one_run(monotrail: Monotrail, tmp_path: Path,
                                                                     published) -> None:
    """The store's install threads build all three at once (each backend waits for the others to
    start): the nesting limit of builds counts one build's own chain, not its neighbours'."""
    started = tmp_path / "started"
    started.mkdir()
    packages = []
    for name in ("src-a", "src-b", "src-c"):
        artifact = published.add(build_sdist(tmp_path / "wheels", name, "1.0", wait_for=(started, 3)))
        packages.append(f'[[packages]]\nname = "{name}"\nversion = "1.0"\nsdist = {{ name = "{artifact.filename}", '
                        f'url = "{artifact.url}", hashes = {{ sha256 = "{artifact.sha256}" }} }}\n')
    project = tmp_path / "project"
    write(project / "pylock.toml", 'lock-version = "1.0"\ncreated-by = "test"\n\n' + "\n".join(packages))
    code = "import src_a, src_b, src_c; print(src_a.BUILT, src_b.BUILT, src_c.BUILT)"
    result = ok(monotrail.run("+3.12", "run", "python", "-c", code, cwd=project, env=index_env(published), timeout=120))
    assert result.stdout.strip() == "True True True"
    assert sorted(path.name for path in started.iterdir()) == ["src-a", "src-b", "src-c"]


def test_a_build_backend_that_cannot_be_imported_is_one_error(monotrail: Monotrail, tmp_path: Path, published) -> None:
    published.add(build_sdist(tmp_path / "wheels", "no-backend", "1.0", backend="not_a_backend.api"))
    script = write(tmp_path / "tool.py", '# /// script\n# dependencies = ["no-backend"]\n# ///\nprint(1)\n')
    result = monotrail.run("+3.12", "run", str(script), env=index_env(published))
    line = clean_error(result)
    assert line.startswith("error: building a wheel from no_backend-1.0.tar.gz failed: its build backend "
                           "'not_a_backend.api' cannot be imported"), line
    assert "No module named 'not_a_backend'" in line and "internal error" not in result.stderr
    assert "hint: " in result.stderr and "[build-system]" in result.stderr
    log = next((monotrail.root / "built" / "logs").glob("*.log"))
    assert "Traceback" in log.read_text()


def test_a_failing_build_backend_is_one_error_with_the_log(monotrail: Monotrail, tmp_path: Path, published) -> None:
    published.add(build_sdist(tmp_path / "wheels", "broken-build", "1.0", fail=True))
    script = write(tmp_path / "tool.py", '# /// script\n# dependencies = ["broken-build"]\n# ///\nprint(1)\n')
    result = monotrail.run("+3.12", "run", str(script), env=index_env(published))
    assert result.returncode != 0 and "Traceback" not in result.stderr.splitlines()[0]
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: building a wheel from broken_build-1.0.tar.gz failed") and "compiler exploded" in first
    assert "full build log is in" in result.stderr
    log = next((monotrail.root / "built" / "logs").glob("*.log"))
    assert "RuntimeError" in log.read_text()


@pytest.mark.parametrize("trust", ["hashed-dir", "bundle-file", "nowhere"])
def test_a_script_from_an_https_index_trusts_the_system_store(monotrail: Monotrail, tmp_path: Path, trust: str) -> None:
    """The index's CA (tests/certs) in SSL_CERT_DIR's hashed directory (read lazily), only in
    SSL_CERT_FILE (loaded after the directory alone refused it), or nowhere: one error line,
    nothing stored (monotrail.store.tls)."""
    from index_fixtures import CERTS

    empty_dir = tmp_path / "other-certs"
    empty_dir.mkdir()
    (empty_dir / "00000000.0").write_text("")
    cert_dir, cert_file = {
        "hashed-dir": (CERTS / "hashed", tmp_path / "absent.pem"),
        "bundle-file": (empty_dir, CERTS / "ca.pem"),
        "nowhere": (empty_dir, tmp_path / "absent.pem"),
    }[trust]
    script = write(tmp_path / "tool.py", TOOL)
    (tmp_path / "wheels").mkdir()
    with IndexServer(tls=True) as https:
        https.add(build_wheel(tmp_path / "wheels", "greet", "1.0", {"greet.py": "def hello():\n    return 'hello'\n"}))
        result = monotrail.run("+3.12", "run", str(script), env=index_env(https, SSL_CERT_DIR=str(cert_dir),
                                                                          SSL_CERT_FILE=str(cert_file)))
    if trust == "nowhere":
        assert "CERTIFICATE_VERIFY_FAILED" in clean_error(result)
        assert monotrail.store_listing() == [] and monotrail.envs() == []
    else:
        assert ok(result).stdout.strip() == "hello True True"
