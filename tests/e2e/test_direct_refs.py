"""Direct references (`name @ git+...`, `name @ ./dir`, `name @ https://.../x.whl`) in requirements
files, pylock.toml, uv.lock and the resolver's input; close-name suggestions for unknown packages.

Offline: git repositories are local bare repos made with the `git` CLI in tmp_path and used via
`git+file://` URLs; source trees carry an in-tree PEP 517 backend (`backend-path = ["."]`, no build
requirements), so no backend has to come from an index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from cli_checks import ok
from conftest import Monotrail
from index_fixtures import IndexServer, build_wheel

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

# The wheel holds the tree's own `<dist>.py`: what is installed is what the tree (or commit) has.
TREE_BACKEND = '''
import base64, hashlib, os, zipfile

NAME, VERSION, REQUIRES, FAIL = {name!r}, {version!r}, {requires!r}, {fail!r}

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if FAIL:
        raise RuntimeError("the compiler exploded")
    dist = NAME.replace("-", "_")
    info = f"{{dist}}-{{VERSION}}.dist-info"
    with open(f"{{dist}}.py") as source:
        code = source.read()
    files = {{
        f"{{dist}}.py": code,
        f"{{info}}/METADATA": "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n%s" % (
            NAME, VERSION, "".join(f"Requires-Dist: {{r}}\\n" for r in REQUIRES)),
        f"{{info}}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }}
    record = [f"{{p}},sha256={{base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()}},{{len(d)}}"
              for p, d in files.items()] + [f"{{info}}/RECORD,,"]
    files[f"{{info}}/RECORD"] = "\\n".join(record) + "\\n"
    name = f"{{dist}}-{{VERSION}}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
'''


def source_tree(directory: Path, name: str, version: str, code: str, requires: tuple = (), fail: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    (directory / "backend.py").write_text(TREE_BACKEND.format(name=name, version=version, requires=requires, fail=fail))
    (directory / f"{name.replace('-', '_')}.py").write_text(code)
    return directory


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> dict:
    """A bare repository with two commits: tag v1 (VERSION 1) and main (VERSION 2)."""
    work = source_tree(tmp_path / "gitwork", "gitpkg", "1.0", "VERSION = 1\n")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "one", cwd=work)
    git("tag", "v1", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    source_tree(work, "gitpkg", "2.0", "VERSION = 2\n")
    git("commit", "-q", "-am", "two", cwd=work)
    second = git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return {"url": f"git+{bare.as_uri()}", "v1": first, "main": second, "bare": bare}


def one_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and result.stderr.startswith("error: "), result.stderr
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# --- requirements files ---------------------------------------------------------------------------


def test_requirements_git_reference_is_built_and_cached_by_commit(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    project = tmp_path / "project"
    write(project / "requirements.txt", f"gitpkg @ {repo['url']}@v1\n")
    write(project / "main.py", "import gitpkg\nprint(gitpkg.VERSION)\n")
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "1"
    assert (monotrail.root / "built" / f"git-{repo['v1']}").is_dir()
    assert len(list((monotrail.root / "git").iterdir())) == 1  # one bare cache per repository URL
    assert [p.split("/")[0] for p in monotrail.store_listing() if p.count("/") == 0] == ["gitpkg"]
    write(project / "requirements.txt", f"gitpkg @ {repo['url']}@main\n")
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "2"
    write(project / "requirements.txt", f"gitpkg @ {repo['url']}@{repo['v1']}\n")  # a commit: cached, no fetch
    shutil.rmtree(repo["bare"])
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "1"


def test_requirements_source_tree_is_built_and_rebuilt_when_it_changes(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tmp_path / "project"
    tree = source_tree(project / "libs" / "local-lib", "local-lib", "0.3", "WHO = 'first'\n")
    write(project / "requirements.txt", "local-lib @ ./libs/local-lib\n")
    write(project / "main.py", "import local_lib, sys\nprint(local_lib.WHO, 'libs' in local_lib.__file__)\n")
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "first False"
    (tree / "local_lib.py").write_text("WHO = 'second'\n")
    # the environment is keyed by the lock's bytes (the warm path hashes no tree): a fresh one
    # (the old one removed by gc) builds the edited tree again, cached by its content hash
    ok(monotrail.run("store", "gc", "--older-than", "0s"))
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "second False"
    assert len(list((monotrail.root / "built").glob("tree-*"))) == 2


def test_git_and_source_tree_installs_say_where_they_come_from(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    """PEP 610 direct_url.json, as pip and uv write it: the repository and the commit built (with
    the revision asked for), the source tree's URL; in the store entry a run uses and in a synced venv."""
    project = tmp_path / "project"
    source_tree(project / "libs" / "local-lib", "local-lib", "0.3", "WHO = 'first'\n")
    write(project / "requirements.txt", f"gitpkg @ {repo['url']}@v1\nlocal-lib @ ./libs/local-lib\n")
    code = ("import importlib.metadata as m, json\n"
            "print(json.dumps([json.loads(m.distribution(n).read_text('direct_url.json')) for n in ('gitpkg', 'local-lib')]))")
    git_url = {"url": repo["bare"].as_uri(), "vcs_info": {"vcs": "git", "commit_id": repo["v1"], "requested_revision": "v1"}}
    tree_url = {"url": (project / "libs" / "local-lib").as_uri(), "dir_info": {}}
    shown = ok(monotrail.run("+3.12", "run", "-c", code, cwd=project)).stdout
    assert json.loads(shown) == [git_url, tree_url]
    verified = monotrail.run("store", "verify")  # the file is in each entry's RECORD
    assert verified.returncode == 0, verified.stdout + verified.stderr
    ok(monotrail.run("sync", "--venv", ".venv", "-p", "3.12", cwd=project))
    synced = subprocess.run([str(project / ".venv" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert json.loads(synced.stdout) == [git_url, tree_url], synced.stderr


def test_requirements_missing_git_ref_is_one_error(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    project = tmp_path / "project"
    write(project / "requirements.txt", f"gitpkg @ {repo['url']}@no-such-branch\n")
    write(project / "main.py", "print(1)\n")
    line = one_error(monotrail.run("+3.12", "run", "main.py", cwd=project))
    assert "'no-such-branch'" in line and str(repo["bare"]) in line
    assert monotrail.store_listing() == []


def test_requirements_missing_directory_is_one_error(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "requirements.txt", "gone @ ./nowhere\n")
    write(project / "main.py", "print(1)\n")
    line = one_error(monotrail.run("+3.12", "run", "main.py", cwd=project))
    assert "nowhere" in line and "does not exist" in line
    assert monotrail.store_listing() == []


def test_requirements_failing_build_is_one_error(monotrail: Monotrail, tmp_path: Path) -> None:
    project = tmp_path / "project"
    source_tree(project / "broken", "broken", "1.0", "X = 1\n", fail=True)
    write(project / "requirements.txt", "broken @ ./broken\n")
    write(project / "main.py", "print(1)\n")
    line = one_error(monotrail.run("+3.12", "run", "main.py", cwd=project))
    assert "building a wheel from broken" in line and "compiler exploded" in line
    assert monotrail.store_listing() == []


# --- monotrail lock -> pylock.toml -----------------------------------------------------------------


@pytest.fixture
def wheel_index(tmp_path: Path, index: IndexServer) -> IndexServer:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    index.add(build_wheel(wheels, "colors", "1.0", {"colors.py": "RED = 'red'\n"}))
    index.add(build_wheel(wheels, "remote-whl", "3.1", {"remote_whl.py": "WHERE = 'url'\n"}))
    return index


def test_lock_writes_vcs_directory_and_archive_and_runs_them(monotrail: Monotrail, tmp_path: Path, repo,
                                                             wheel_index: IndexServer) -> None:
    from packaging.pylock import Pylock

    from monotrail.lock.tomlfile import load_toml

    project = tmp_path / "demo"
    source_tree(project / "libs" / "tree-lib", "tree-lib", "0.1", "TREE = True\n", requires=("colors",))
    wheel_url = f"{wheel_index.url}/files/remote_whl-3.1-py3-none-any.whl"
    write(project / "pyproject.toml", f"""
        [project]
        name = "demo"
        version = "0"
        dependencies = [
            "gitpkg @ {repo['url']}@v1",
            "tree-lib @ {(project / 'libs' / 'tree-lib').as_uri()}",
            "remote-whl @ {wheel_url}",
        ]
        """)
    write(project / "main.py", "import gitpkg, tree_lib, remote_whl, colors\n"
                               "print(gitpkg.VERSION, tree_lib.TREE, remote_whl.WHERE, colors.RED)\n")
    ok(monotrail.run("+3.12", "lock", "--index-url", f"{wheel_index.url}/simple", cwd=project))
    data = load_toml(project / "pylock.toml")
    Pylock.from_dict(data)
    packages = {p["name"]: p for p in data["packages"]}
    assert packages["gitpkg"]["vcs"] == {"type": "git", "url": repo["bare"].as_uri(), "requested-revision": "v1",
                                         "commit-id": repo["v1"]}
    assert "version" not in packages["gitpkg"]
    assert packages["tree-lib"]["directory"] == {"path": "./libs/tree-lib", "editable": False}
    assert packages["remote-whl"]["archive"]["url"] == wheel_url and packages["remote-whl"]["version"] == "3.1"
    assert set(packages["remote-whl"]["archive"]["hashes"]) == {"sha256"}
    assert "colors" in packages  # the tree's dependency, from the built wheel's metadata
    before = (project / "pylock.toml").read_bytes()
    ok(monotrail.run("+3.12", "lock", "--index-url", f"{wheel_index.url}/simple", cwd=project))
    assert (project / "pylock.toml").read_bytes() == before
    fresh = Monotrail(tmp_path / "fresh-root")  # nothing built: the store builds from the lock alone
    result = ok(fresh.run("+3.12", "run", "main.py", cwd=project, env={"UV_INDEX_URL": f"{wheel_index.url}/simple"}))
    assert result.stdout.strip() == "1 True url red"


def test_lock_with_a_missing_git_ref_is_one_error(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    project = tmp_path / "demo"
    write(project / "pyproject.toml", f'[project]\nname = "demo"\nversion = "0"\ndependencies = ["gitpkg @ {repo["url"]}@v9"]\n')
    line = one_error(monotrail.run("+3.12", "lock", cwd=project))
    assert "git ref 'v9' does not exist in" in line and str(repo["bare"]) in line
    assert not (project / "pylock.toml").exists() and monotrail.store_listing() == []


def test_script_with_a_relative_source_tree(monotrail: Monotrail, tmp_path: Path) -> None:
    source_tree(tmp_path / "work" / "src-tree", "helper", "1.2", "def hi():\n    return 'hi from tree'\n")
    script = write(tmp_path / "work" / "tool.py", """
        # /// script
        # dependencies = ["helper @ ./src-tree"]
        # ///
        import helper
        print(helper.hi())
        """)
    assert ok(monotrail.run("+3.12", "run", str(script), cwd=tmp_path)).stdout.strip() == "hi from tree"
    ok(monotrail.run("+3.12", "lock", "--script", str(script), cwd=tmp_path))
    assert 'directory = { path = "./src-tree", editable = false }' in (tmp_path / "work" / "tool.py.lock").read_text()


# --- other lock formats --------------------------------------------------------------------------


def test_uv_lock_git_source_is_built(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    project = tmp_path / "uvproj"
    write(project / "pyproject.toml", '[project]\nname = "uvproj"\nversion = "0"\n')
    write(project / "uv.lock", f"""
        version = 1
        requires-python = ">=3.8"

        [[package]]
        name = "uvproj"
        version = "0"
        source = {{ virtual = "." }}
        dependencies = [{{ name = "gitpkg" }}]

        [[package]]
        name = "gitpkg"
        version = "2.0"
        source = {{ git = "{repo['bare'].as_uri()}?branch=main#{repo['main']}" }}
        """)
    write(project / "main.py", "import gitpkg\nprint(gitpkg.VERSION)\n")
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "2"


def test_pylock_vcs_commit_that_does_not_exist_is_one_error(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    project = tmp_path / "p"
    write(project / "pylock.toml", f"""
        lock-version = "1.0"
        created-by = "test"

        [[packages]]
        name = "gitpkg"
        vcs = {{ type = "git", url = "{repo['bare'].as_uri()}", commit-id = "{'0' * 40}" }}
        """)
    write(project / "main.py", "print(1)\n")
    line = one_error(monotrail.run("+3.12", "run", "main.py", cwd=project))
    assert "0" * 40 in line and str(repo["bare"]) in line
    assert monotrail.store_listing() == []


# --- the resolver, in-process --------------------------------------------------------------------


@pytest.fixture(scope="module")
def interpreter(tmp_path_factory, py312):
    from monotrail.interpreters.discovery import find_interpreter

    root = tmp_path_factory.mktemp("interp-root")
    return find_interpreter(str(py312), requires_python=None, start_dir=root, root=root)


def test_resolver_direct_reference_conflicts_with_a_version_specifier(tmp_path: Path, interpreter, repo) -> None:
    from monotrail.errors import ResolutionError
    from monotrail.store.index import Sources
    from monotrail.builds.builder import Builds
    from monotrail.resolve.resolver import resolve

    with IndexServer() as server:
        resolution = resolve({"": [f"gitpkg @ {repo['url']}@v1"]}, interpreter, Sources((f"{server.url}/simple",)),
                             tmp_path / "root", where="test", builder=Builds())
        [package] = resolution.packages
        assert (package.name, package.version, package.direct.commit) == ("gitpkg", "1.0", repo["v1"])
        with pytest.raises(ResolutionError, match="no version of gitpkg satisfies"):
            resolve({"": [f"gitpkg @ {repo['url']}@v1", "gitpkg>=2"]}, interpreter, Sources((f"{server.url}/simple",)),
                    tmp_path / "root", where="test", builder=Builds())


def test_unknown_package_suggests_close_names(tmp_path: Path, interpreter) -> None:
    from monotrail.errors import ResolutionError
    from monotrail.store.index import Sources
    from monotrail.resolve.resolver import resolve

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with IndexServer() as server:
        server.add(build_wheel(wheels, "requests", "2.0", {"requests.py": ""}))
        server.add(build_wheel(wheels, "typing-extensions", "4.0", {"typing_extensions.py": ""}))
        sources, root = Sources((f"{server.url}/simple",)), tmp_path / "root"
        resolve({"": ["requests", "typing-extensions"]}, interpreter, sources, root, where="test")  # fills the page cache
        with pytest.raises(ResolutionError) as error:
            resolve({"": ["reqests"]}, interpreter, sources, root, where="test")
        assert str(error.value).endswith("package 'reqests' was not found on the index; did you mean 'requests'?")
        with pytest.raises(ResolutionError, match="did you mean 'typing-extensions'"):
            resolve({"": ["typing_extension"]}, interpreter, sources, root, where="test")
        with pytest.raises(ResolutionError) as error:
            resolve({"": ["zzzzzz"]}, interpreter, sources, root, where="test")
        assert "did you mean" not in str(error.value)


def test_unknown_package_suggestion_from_the_command_line(monotrail: Monotrail, tmp_path: Path, wheel_index) -> None:
    script = write(tmp_path / "tool.py", '# /// script\n# dependencies = ["colors"]\n# ///\nimport colors\n')
    env = {"UV_INDEX_URL": f"{wheel_index.url}/simple"}
    ok(monotrail.run("+3.12", "run", str(script), env=env))
    script.write_text('# /// script\n# dependencies = ["colours"]\n# ///\nimport colors\n')
    line = one_error(monotrail.run("+3.12", "run", str(script), env=env))
    assert "package 'colours' was not found on the index; did you mean 'colors'?" in line


def test_run_with_a_git_reference(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    script = write(tmp_path / "plain.py", "import gitpkg\nprint(gitpkg.VERSION)\n")
    write(tmp_path / "requirements.txt", "")
    result = ok(monotrail.run("+3.12", "run", "--with", f"gitpkg @ {repo['url']}@v1", str(script)))
    assert result.stdout.strip() == "1"


def test_pylock_vcs_with_a_relative_path_and_a_directory(monotrail: Monotrail, tmp_path: Path, repo) -> None:
    project = tmp_path / "p"
    source_tree(project / "vendor-src", "vendored", "0.9", "OK = 'vendored'\n")
    shutil.copytree(repo["bare"], project / "repos" / "gitpkg.git")
    write(project / "pylock.toml", f"""
        lock-version = "1.0"
        created-by = "test"

        [[packages]]
        name = "gitpkg"
        vcs = {{ type = "git", path = "repos/gitpkg.git", commit-id = "{repo['main']}" }}

        [[packages]]
        name = "vendored"
        directory = {{ path = "vendor-src" }}
        """)
    write(project / "main.py", "import gitpkg, vendored\nprint(gitpkg.VERSION, vendored.OK, 'site' in vendored.__file__ or 'store' in vendored.__file__)\n")
    assert ok(monotrail.run("+3.12", "run", "main.py", cwd=project)).stdout.strip() == "2 vendored True"


def test_uv_installs_our_vcs_and_directory_entries(monotrail: Monotrail, uv: Path, tmp_path: Path, repo, py312: Path) -> None:
    project = tmp_path / "demo"
    source_tree(project / "libs" / "tree-lib", "tree-lib", "0.1", "TREE = True\n")
    write(project / "pyproject.toml", f'[project]\nname = "demo"\nversion = "0"\n'
                                      f'dependencies = ["gitpkg @ {repo["url"]}@main", "tree-lib @ ./libs/tree-lib"]\n')
    ok(monotrail.run("+3.12", "lock", cwd=project))
    venv = tmp_path / "venv"
    env = {"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(tmp_path / "uvcache"), "HOME": str(tmp_path)}
    ok(subprocess.run([str(uv), "venv", "-q", "-p", str(py312), str(venv)], env=env, capture_output=True, text=True))
    ok(subprocess.run([str(uv), "pip", "install", "-q", "-p", str(venv / "bin" / "python"), "-r",
                       str(project / "pylock.toml")], env=env, capture_output=True, text=True, cwd=project))
    result = ok(subprocess.run([str(venv / "bin" / "python"), "-c", "import gitpkg, tree_lib; print(gitpkg.VERSION, tree_lib.TREE)"],
                               capture_output=True, text=True))
    assert result.stdout.strip() == "2 True"
