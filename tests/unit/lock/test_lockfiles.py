"""Lockfile readers: finding a lock, and every format parsed into the neutral model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monotrail.errors import LockError, MonotrailError
from monotrail.lock.model import Artifact, Dependency
from monotrail.lock import find_lock, lock_format, read_lock

BENCH = Path("/work/shared/bench")
SHA_A = "a" * 64
SHA_B = "b" * 64


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# --- find_lock / dispatch ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (["uv.lock", "pylock.toml"], "pylock.toml"),
        (["uv.lock", "pylock.b.toml", "pylock.a.toml"], "pylock.a.toml"),
        (["pylock.toml", "pylock.a.toml"], "pylock.toml"),
        (["poetry.lock", "uv.lock"], "uv.lock"),
        (["requirements.txt", "poetry.lock"], "poetry.lock"),
        (["requirements-frozen.txt", "requirements.txt"], "requirements.txt"),
        (["requirements-frozen.txt"], "requirements-frozen.txt"),
    ],
)
def test_find_lock_prefers_formats_in_order(tmp_path: Path, present: list, expected: str) -> None:
    for name in present:
        (tmp_path / name).write_text("")
    assert find_lock(tmp_path) == str(tmp_path / expected)


def test_find_lock_searches_parents(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("")
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    assert find_lock(nested) == str(tmp_path / "uv.lock")


def test_find_lock_nearest_directory_wins(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requirements.txt").write_text("")
    assert find_lock(tmp_path / "sub") == str(tmp_path / "sub" / "requirements.txt")


def test_find_lock_without_lock_lists_searched_directories(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    with pytest.raises(LockError) as info:
        find_lock(nested)
    assert str(nested) in info.value.message and str(tmp_path) in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("pylock.toml", "pylock"),
        ("pylock.dev.toml", "pylock"),
        ("uv.lock", "uv"),
        ("poetry.lock", "poetry"),
        ("requirements.txt", "requirements"),
        ("requirements-frozen.txt", "requirements"),
        ("constraints.in", "requirements"),
    ],
)
def test_lock_format_by_file_name(name: str, fmt: str) -> None:
    assert lock_format(Path(name)) == fmt


def test_read_lock_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="does not exist"):
        read_lock(tmp_path / "uv.lock")


# --- pylock.toml ---------------------------------------------------------------------------------


PYLOCK = f"""
lock-version = "1.0"
created-by = "hand"
requires-python = ">=3.8"
environments = ["sys_platform == 'linux'"]
extras = ["fast"]
dependency-groups = ["dev", "docs"]
default-groups = ["dev"]

[[packages]]
name = "attrs"
version = "24.1.0"
index = "https://example.org/simple"
sdist = {{ url = "https://files.example.org/attrs-24.1.0.tar.gz", size = 10, hashes = {{ sha256 = "{SHA_A}" }} }}
wheels = [
    {{ url = "https://files.example.org/attrs-24.1.0-py3-none-any.whl", size = 20, hashes = {{ sha256 = "{SHA_B}" }} }},
]

[[packages]]
name = "ujson"
version = "5.0.0"
marker = "'fast' in extras"
wheels = [{{ path = "wheels/ujson-5.0.0-cp312-cp312-manylinux_2_17_x86_64.whl", hashes = {{ sha256 = "{SHA_A}" }} }}]

[[packages]]
name = "pytest"
version = "8.0.0"
marker = "'dev' in dependency_groups"
wheels = [{{ name = "pytest-8.0.0-py3-none-any.whl", url = "https://x/p.whl", hashes = {{ sha256 = "{SHA_A}" }} }}]

[[packages]]
name = "local-lib"
directory = {{ path = "libs/local", editable = true }}

[[packages]]
name = "from-git"
vcs = {{ type = "git", url = "https://github.com/o/r", commit-id = "{"c" * 40}" }}
"""


def test_pylock_maps_to_flat_lock(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path, "pylock.toml", PYLOCK))
    assert lock.format == "pylock" and lock.roots is None
    assert lock.requires_python == ">=3.8"
    assert lock.environments == ("sys_platform == \"linux\"",)
    assert dict(lock.extras) == {"fast": ()} and set(lock.groups) == {"dev", "docs"}
    assert lock.default_groups == ("dev",)
    attrs, ujson, pytest_, local, git = lock.packages
    assert attrs.index == "https://example.org/simple"
    assert attrs.wheels == (
        Artifact("attrs-24.1.0-py3-none-any.whl", "https://files.example.org/attrs-24.1.0-py3-none-any.whl",
                 (("sha256", SHA_B),), 20),
    )
    assert attrs.sdist is not None and attrs.sdist.filename == "attrs-24.1.0.tar.gz" and attrs.sdist.size == 10
    assert ujson.marker == "\"fast\" in extras"
    assert ujson.wheels[0].path == str(tmp_path / "wheels" / "ujson-5.0.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    assert ujson.wheels[0].url is None
    assert pytest_.wheels[0].filename == "pytest-8.0.0-py3-none-any.whl"
    assert local.directory == str(tmp_path / "libs" / "local") and local.editable
    assert git.vcs == f"git+https://github.com/o/r@{'c' * 40}"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('lock-version = "1.0"\n', "created-by", "Missing required value"),
        ('lock-version = "7.0"\ncreated-by = "x"\npackages = []\n', "lock-version", "unsupported lock-version"),
        ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "Not_Normal"\nversion = "1"\n',
         "packages", "normalized"),
    ],
)
def test_pylock_validation_errors_name_the_key(tmp_path: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(LockError) as info:
        read_lock(write(tmp_path, "pylock.toml", text))
    assert where in (info.value.where or "")
    assert message in info.value.message


# --- uv.lock -------------------------------------------------------------------------------------


UV_LOCK = f"""
version = 1
revision = 3
requires-python = ">=3.8"

[[package]]
name = "app"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "numpy", version = "1.24.4", source = {{ registry = "https://pypi.org/simple" }}, marker = "python_full_version < '3.9'" }},
    {{ name = "numpy", version = "2.1.0", source = {{ registry = "https://pypi.org/simple" }}, marker = "python_full_version >= '3.9'" }},
    {{ name = "celery", extra = ["redis"] }},
]

[package.optional-dependencies]
Progress = [{{ name = "tqdm" }}]

[package.dev-dependencies]
dev = [{{ name = "localpkg" }}, {{ name = "gitpkg" }}]

[[package]]
name = "numpy"
version = "1.24.4"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://f/numpy-1.24.4.tar.gz", hash = "sha256:{SHA_A}", size = 5 }}
wheels = [{{ url = "https://f/numpy-1.24.4-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hash = "sha256:{SHA_B}", size = 7, upload-time = "2024-01-01T00:00:00Z" }}]

[[package]]
name = "numpy"
version = "2.1.0"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://f/numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl", hash = "sha256:{SHA_B}" }}]

[[package]]
name = "celery"
version = "5.4.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "colorama", marker = "sys_platform == 'win32'" }}]
wheels = [{{ url = "https://f/celery-5.4.0-py3-none-any.whl", hash = "sha256:{SHA_A}" }}]

[package.optional-dependencies]
redis = [{{ name = "redis" }}]

[[package]]
name = "tqdm"
version = "4.66.0"
source = {{ url = "https://example.org/tqdm-4.66.0-py3-none-any.whl" }}
wheels = [{{ hash = "sha256:{SHA_A}" }}]

[[package]]
name = "redis"
version = "5.0.0"
source = {{ registry = "wheelhouse" }}
wheels = [{{ path = "redis-5.0.0-py3-none-any.whl", hash = "sha256:{SHA_A}" }}]

[[package]]
name = "colorama"
version = "0.4.6"
source = {{ path = "vendor/colorama-0.4.6-py2.py3-none-any.whl" }}
wheels = [{{ filename = "colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:{SHA_A}" }}]

[[package]]
name = "localpkg"
version = "1.0"
source = {{ directory = "libs/localpkg" }}

[[package]]
name = "gitpkg"
version = "1.0"
source = {{ git = "https://github.com/o/r?rev=main#{"d" * 40}" }}
"""


def test_uv_lock_is_a_graph_rooted_at_the_project(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path, "uv.lock", UV_LOCK))
    assert lock.format == "uv" and lock.requires_python == ">=3.8"
    assert lock.project_dir == tmp_path
    assert [p.name for p in lock.packages].count("app") == 0
    assert lock.roots == (
        Dependency("numpy", "python_full_version < '3.9'", version="1.24.4"),
        Dependency("numpy", "python_full_version >= '3.9'", version="2.1.0"),
        Dependency("celery", extras=("redis",)),
    )
    assert dict(lock.extras) == {"progress": (Dependency("tqdm"),)}
    assert dict(lock.groups) == {"dev": (Dependency("localpkg"), Dependency("gitpkg"))}
    assert lock.default_groups == ("dev",)


def test_uv_lock_sources_and_files(tmp_path: Path) -> None:
    packages = {(p.name, p.version): p for p in read_lock(write(tmp_path, "uv.lock", UV_LOCK)).packages}
    old = packages["numpy", "1.24.4"]
    assert old.index == "https://pypi.org/simple"
    assert old.wheels[0].hashes == (("sha256", SHA_B),) and old.wheels[0].size == 7
    assert old.sdist == Artifact("numpy-1.24.4.tar.gz", "https://f/numpy-1.24.4.tar.gz", (("sha256", SHA_A),), 5)
    assert packages["celery", "5.4.0"].optional_dependencies == {"redis": (Dependency("redis"),)}
    tqdm = packages["tqdm", "4.66.0"]
    assert tqdm.wheels[0].url == "https://example.org/tqdm-4.66.0-py3-none-any.whl"
    assert tqdm.wheels[0].filename == "tqdm-4.66.0-py3-none-any.whl"
    redis = packages["redis", "5.0.0"]
    assert redis.index is None and redis.wheels[0].path == str(tmp_path / "wheelhouse" / "redis-5.0.0-py3-none-any.whl")
    colorama = packages["colorama", "0.4.6"]
    assert colorama.wheels[0].path == str(tmp_path / "vendor" / "colorama-0.4.6-py2.py3-none-any.whl")
    assert packages["localpkg", "1.0"].directory == str(tmp_path / "libs" / "localpkg")
    assert packages["gitpkg", "1.0"].vcs == f"git+https://github.com/o/r?rev=main#{'d' * 40}"


@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        ("", ("dev",)),
        ('[tool.uv]\ndefault-groups = ["lint"]\n', ("lint",)),
        ('[tool.uv]\ndefault-groups = "all"\n', ("dev", "lint")),
        ("[tool.uv]\ndefault-groups = []\n", ()),
    ],
)
def test_uv_default_groups_follow_tool_uv(tmp_path: Path, pyproject: str, expected: tuple) -> None:
    write(tmp_path, "pyproject.toml", pyproject)
    text = """
    version = 1
    [[package]]
    name = "app"
    version = "0.1.0"
    source = { virtual = "." }
    [package.dev-dependencies]
    dev = []
    lint = []
    """
    assert read_lock(write(tmp_path, "uv.lock", text)).default_groups == expected


# --- poetry.lock ---------------------------------------------------------------------------------


POETRY_11_PYPROJECT = """
[tool.poetry]
name = "proj"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.8"
requests = { version = "^2.28", extras = ["socks"] }
tqdm = { version = "^4.62.3", optional = true }

[tool.poetry.extras]
tqdm_feature = ["tqdm"]

[tool.poetry.dev-dependencies]
pytest = "^7"

[tool.poetry.group.docs]
optional = true

[tool.poetry.group.docs.dependencies]
sphinx = "*"

[[tool.poetry.source]]
name = "corp"
url = "https://corp.example/simple/"
"""

POETRY_11_LOCK = f"""
[[package]]
name = "requests"
version = "2.28.1"
description = ""
category = "main"
optional = false
python-versions = ">=3.7, <4"

[package.dependencies]
urllib3 = ">=1.21.1,<1.27"
PySocks = {{version = ">=1.5.6, !=1.5.7", optional = true, markers = "extra == \\"socks\\""}}
numpy = [
    {{version = ">=1.18", markers = "platform_machine != \\"aarch64\\"", python = "<3.10"}},
    {{version = "^1.21", python = ">=3.10"}},
]

[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[package.source]
type = "legacy"
url = "https://corp.example/simple"
reference = "corp"

[[package]]
name = "urllib3"
version = "1.26.12"
description = ""
category = "main"
optional = false
python-versions = "*"

[[package]]
name = "PySocks"
version = "1.7.1"
description = ""
category = "main"
optional = true
python-versions = "*"

[[package]]
name = "numpy"
version = "1.23.2"
description = ""
category = "main"
optional = false
python-versions = ">=3.8"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "x"

[metadata.files]
requests = [
    {{file = "requests-2.28.1-py3-none-any.whl", hash = "sha256:{SHA_A}"}},
    {{file = "requests-2.28.1.tar.gz", hash = "sha256:{SHA_B}"}},
]
urllib3 = []
pysocks = [{{file = "PySocks-1.7.1-py3-none-any.whl", hash = "sha256:{SHA_A}"}}]
numpy = []
"""


def test_poetry_11_is_a_graph_from_the_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", POETRY_11_PYPROJECT)
    lock = read_lock(write(tmp_path, "poetry.lock", POETRY_11_LOCK))
    assert lock.format == "poetry" and lock.requires_python == ">=3.8,<4.0"
    assert lock.roots == (Dependency("requests", extras=("socks",), specifier=">=2.28,<3.0"),)
    assert dict(lock.extras) == {"tqdm-feature": (Dependency("tqdm", specifier=">=4.62.3,<5.0.0"),)}
    assert dict(lock.groups) == {"dev": (Dependency("pytest", specifier=">=7,<8"),), "docs": (Dependency("sphinx"),)}
    assert lock.default_groups == ("dev",)  # docs is optional
    assert lock.index_urls == ("https://corp.example/simple",)
    requests = lock.packages[0]
    assert requests.index == "https://corp.example/simple" and requests.requires_python == ">=3.7,<4"
    assert requests.wheels == (Artifact("requests-2.28.1-py3-none-any.whl", None, (("sha256", SHA_A),)),)
    assert requests.sdist is not None and requests.sdist.url is None
    assert requests.dependencies == (
        Dependency("urllib3", specifier=">=1.21.1,<1.27"),
        Dependency("numpy", marker='(platform_machine != "aarch64") and (python_version < "3.10")', specifier=">=1.18"),
        Dependency("numpy", marker='python_version >= "3.10"', specifier=">=1.21,<2.0"),
    )
    assert requests.optional_dependencies == {
        "socks": (Dependency("pysocks", marker='extra == "socks"', specifier=">=1.5.6,!=1.5.7"),)
    }
    assert lock.packages[2].name == "pysocks" and lock.packages[2].wheels[0].filename == "PySocks-1.7.1-py3-none-any.whl"
    assert lock.packages[1].requires_python is None


def test_poetry_11_files_go_to_the_version_their_name_states(tmp_path: Path) -> None:
    """1.1 keys `[metadata.files]` by name only: with idna 2.10 (old Pythons) and 3.4 (new ones)
    locked, each version gets the files of its own version, as poetry's chooser does."""
    write(tmp_path, "pyproject.toml", '[tool.poetry]\nname = "p"\nversion = "0"\n[tool.poetry.dependencies]\n'
                                      'python = "^3.6"\nidna = [{version = "2.10", python = "<3.7"}, {version = "3.4", python = ">=3.7"}]\n')
    lock = read_lock(write(tmp_path, "poetry.lock", f"""
[[package]]
name = "idna"
version = "2.10"
description = ""
category = "main"
optional = false
python-versions = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*"

[[package]]
name = "idna"
version = "3.4"
description = ""
category = "main"
optional = false
python-versions = ">=3.5"

[metadata]
lock-version = "1.1"
python-versions = "^3.6"
content-hash = "x"

[metadata.files]
idna = [
    {{file = "idna-2.10-py2.py3-none-any.whl", hash = "sha256:{SHA_A}"}},
    {{file = "idna-2.10.tar.gz", hash = "sha256:{SHA_A}"}},
    {{file = "idna-3.4-py3-none-any.whl", hash = "sha256:{SHA_B}"}},
    {{file = "idna-3.4.tar.gz", hash = "sha256:{SHA_B}"}},
]
"""))
    files = {p.version: ([w.filename for w in p.wheels], p.sdist and p.sdist.filename) for p in lock.packages}
    assert files == {
        "2.10": (["idna-2.10-py2.py3-none-any.whl"], "idna-2.10.tar.gz"),
        "3.4": (["idna-3.4-py3-none-any.whl"], "idna-3.4.tar.gz"),
    }


def test_poetry_edges_to_the_project_itself_are_dropped(tmp_path: Path) -> None:
    """As poetry export's walker: a plugin's edge to the project is satisfied by the project."""
    write(tmp_path, "pyproject.toml", '[tool.poetry]\nname = "Poetry"\nversion = "1.7.0"\n'
                                      '[tool.poetry.dependencies]\npython = "^3.8"\npoetry-plugin-export = "^1.6"\n')
    lock = read_lock(write(tmp_path, "poetry.lock", """
[[package]]
name = "poetry-plugin-export"
version = "1.6.0"
description = ""
optional = false
python-versions = ">=3.8,<4.0"
files = []

[package.dependencies]
poetry = ">=1.6.0,<2.0.0"
poetry-core = ">=1.7.0,<2.0.0"
tomli = {version = "*", optional = true}

[package.extras]
all = ["tomli", "poetry"]

[metadata]
lock-version = "2.0"
python-versions = "^3.8"
content-hash = "x"
"""))
    [plugin] = lock.packages
    assert plugin.dependencies == (Dependency("poetry-core", specifier=">=1.7.0,<2.0.0"),)
    assert plugin.optional_dependencies == {"all": (Dependency("tomli"),)}


def test_poetry_11_without_pyproject_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="pyproject.toml"):
        read_lock(write(tmp_path, "poetry.lock", POETRY_11_LOCK))


POETRY_21_LOCK = f"""
[[package]]
name = "colorama"
version = "0.4.6"
optional = false
python-versions = "*"
groups = ["main", "dev"]
files = [{{file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:{SHA_A}"}}]
markers = {{main = "extra == \\"progress\\" and platform_system == \\"Windows\\"", dev = "sys_platform == \\"win32\\""}}

[[package]]
name = "numpy"
version = "2.0.2"
optional = false
python-versions = ">=3.9"
groups = ["main"]
markers = "python_version < \\"3.10\\""
files = []

[package.source]
type = "legacy"
url = "https://pypi.org/simple"
reference = "pypi-simple"

[[package]]
name = "six"
version = "1.16.0"
optional = false
python-versions = "*"
groups = ["main"]
files = []

[[package]]
name = "pytest"
version = "8.0.0"
optional = false
python-versions = "*"
groups = ["dev"]
files = []

[[package]]
name = "typing-extensions"
version = "4.16.0"
optional = false
python-versions = "*"
groups = ["main", "dev"]
files = []
markers = {{dev = "python_version == \\"3.10\\""}}

[metadata]
lock-version = "2.1"
python-versions = ">=3.9"
content-hash = "x"
"""


def test_poetry_21_is_flat_with_group_markers(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "p"\noptional-dependencies = { progress = ["tqdm"] }\n[dependency-groups]\ndev = ["pytest"]\n',
    )
    lock = read_lock(write(tmp_path, "poetry.lock", POETRY_21_LOCK))
    assert lock.roots is None and lock.requires_python == ">=3.9"
    assert dict(lock.extras) == {"progress": ()} and dict(lock.groups) == {"dev": ()}
    assert lock.default_groups == ("dev",)
    markers = {p.name: p.marker for p in lock.packages}
    assert markers == {
        "colorama": '(extra == "progress" and platform_system == "Windows") or '
        '(("dev" in dependency_groups) and (sys_platform == "win32"))',
        "numpy": '(python_version < "3.10")',
        "six": None,
        "pytest": '("dev" in dependency_groups)',
        "typing-extensions": None,  # main without a marker: always
    }
    assert lock.packages[1].index == "https://pypi.org/simple" and lock.packages[2].index is None


@pytest.mark.parametrize("version", ['"3.0"', '"0.9"', '"banana"'])
def test_poetry_unknown_lock_version(tmp_path: Path, version: str) -> None:
    with pytest.raises(LockError) as info:
        read_lock(write(tmp_path, "poetry.lock", f"[metadata]\nlock-version = {version}\n"))
    assert "lock-version" in info.value.message and info.value.where.endswith("metadata.lock-version")


def test_poetry_constraint_errors_name_the_file_and_key(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.poetry]\nname = "p"\nversion = "0"\n[tool.poetry.dependencies]\n'
                                      'python = "^3.8"\nvirtualenv = {version = ">=20.4.3,<20.4.5 || latest"}\n')
    with pytest.raises(LockError) as raised:
        read_lock(write(tmp_path, "poetry.lock", '[metadata]\nlock-version = "1.1"\npython-versions = "^3.8"\n'
                                                 'content-hash = "x"\n[metadata.files]\n'))
    assert raised.value.where == f"{tmp_path / 'pyproject.toml'}: tool.poetry.dependencies.virtualenv.version"
    assert "'>=20.4.3,<20.4.5 || latest'" in raised.value.message


def test_poetry_parenthesized_constraint_in_the_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.poetry]\nname = "p"\nversion = "0"\n[tool.poetry.dependencies]\n'
                                      'python = "^3.8"\nvirtualenv = "(>=20.4.3,<20.4.5 || >20.4.5)"\n')
    lock = read_lock(write(tmp_path, "poetry.lock", '[metadata]\nlock-version = "1.1"\npython-versions = "^3.8"\n'
                                                    'content-hash = "x"\n[metadata.files]\n'))
    assert lock.roots == (Dependency("virtualenv", specifier=">=20.4.3,<20.4.5 || >20.4.5"),)


# --- requirements.txt ----------------------------------------------------------------------------


def test_requirements_pins_hashes_markers_and_options(tmp_path: Path) -> None:
    write(tmp_path, "base.txt", f"six==1.16.0 --hash=sha256:{SHA_B}\n")
    write(tmp_path, "sub/constraints.txt", f"idna==3.7 --hash=sha256:{SHA_A}\n")
    wheel = tmp_path / "dist" / "local_pkg-2.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"")
    (tmp_path / "editable" ).mkdir()
    write(tmp_path, "editable/pyproject.toml", '[project]\nname = "My_Editable"\n')
    lock = read_lock(write(tmp_path, "requirements.txt", f"""
        # pip-compile output
        --index-url https://corp.example/simple/
        --extra-index-url=https://extra.example/simple
        -f ./wheelhouse
        --find-links https://links.example/
        -r base.txt
        -c sub/constraints.txt
        numpy==2.1.0 ; python_version >= "3.10" \\
            --hash=sha256:{SHA_A} \\
            --hash=sha256:{SHA_B}
            # via pandas
        numpy==1.24.4 ; python_version < "3.10" --hash=sha256:{SHA_A}
        Celery[redis]==5.4.0 --hash=sha256:{SHA_A}  # trailing comment
        idna
        remote @ https://files.example/remote-1.0-py3-none-any.whl#sha256={SHA_A}
        local-pkg @ file://{wheel} --hash=sha256:{SHA_B}
        ./dist/local_pkg-2.0-py3-none-any.whl --hash=sha256:{SHA_B}
        -e ./editable
    """))
    assert lock.format == "requirements" and lock.roots is None
    assert lock.index_urls == ("https://corp.example/simple", "https://extra.example/simple")
    assert lock.find_links == (str(tmp_path / "wheelhouse"), "https://links.example/")
    by_key = {(p.name, p.version, p.marker): p for p in lock.packages}
    assert by_key["six", "1.16.0", None].hashes == (("sha256", SHA_B),)
    numpy = by_key["numpy", "2.1.0", 'python_version >= "3.10"']
    assert numpy.hashes == (("sha256", SHA_A), ("sha256", SHA_B)) and numpy.wheels == () and numpy.sdist is None
    assert ("numpy", "1.24.4", 'python_version < "3.10"') in by_key
    assert by_key["celery", "5.4.0", None].hashes == (("sha256", SHA_A),)
    assert by_key["idna", "3.7", None].hashes == (("sha256", SHA_A),)  # pinned by the constraint
    remote = by_key["remote", "1.0", None].wheels[0]
    assert remote.url == "https://files.example/remote-1.0-py3-none-any.whl" and remote.hashes == (("sha256", SHA_A),)
    local = [p for p in lock.packages if p.name == "local-pkg"]
    assert {p.wheels[0].path for p in local} == {str(wheel)}
    editable = by_key["my-editable", "", None]
    assert editable.directory == str(tmp_path / "editable") and editable.editable
    assert len(lock.packages) == 8  # the two local-pkg lines are one package


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("six==1.16.0\nrequests>=2\n", 2, "not pinned"),
        ("six\n", 1, "not pinned"),
        ("six==1.*\n", 1, "not pinned"),
        (f"six==1.16.0 --hash=sha256:{SHA_A}\nidna==3.7\n", 2, "has no --hash"),
        ("--require-hashes\nidna==3.7\n", 2, "has no --hash"),
        ('six==1.16.0 ; python_version >>> "3"\n', 1, "invalid requirement"),
        ("-r missing.txt\n", 1, "does not exist"),
        ("--no-such-option x\n", 1, "unsupported option"),
        ("six==1.16.0 --hash=nocolon\n", 1, "invalid hash"),
    ],
)
def test_requirements_errors_say_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "requirements.txt", text)
    with pytest.raises(LockError) as info:
        read_lock(path)
    assert info.value.where == f"{path}:{line}"
    assert message in info.value.message


def test_requirements_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    inner = write(tmp_path, "inner/more.txt", "# header\n\nflask>=2\n")
    with pytest.raises(LockError) as info:
        read_lock(write(tmp_path, "requirements.txt", "-r inner/more.txt\n"))
    assert info.value.where == f"{inner}:3"


# --- malformed TOML and markers ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["uv.lock", "poetry.lock", "pylock.toml"])
def test_bad_toml_names_file_and_line(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, 'version = 1\n\n[[package]\nname = "x"\n')
    with pytest.raises(LockError) as info:
        read_lock(path)
    assert info.value.where.startswith(f"{path}:3")
    assert "invalid TOML" in str(info.value)


def test_uv_unknown_version(tmp_path: Path) -> None:
    with pytest.raises(LockError) as info:
        read_lock(write(tmp_path, "uv.lock", "version = 2\n"))
    assert "version 2" in info.value.message and info.value.hint


def test_uv_bad_marker_names_the_edge(tmp_path: Path) -> None:
    text = """
    version = 1
    [[package]]
    name = "app"
    version = "0.1.0"
    source = { virtual = "." }
    dependencies = [{ name = "x", marker = "python_version ~~ '3'" }]
    """
    with pytest.raises(LockError) as info:
        read_lock(write(tmp_path, "uv.lock", text))
    assert info.value.where.endswith("package[0].dependencies[0].marker")
    assert "invalid environment marker" in info.value.message


def test_uv_lock_without_project_is_an_error(tmp_path: Path) -> None:
    text = 'version = 1\n[[package]]\nname = "x"\nversion = "1"\nsource = { registry = "https://pypi.org/simple" }\n'
    with pytest.raises(MonotrailError, match="no project package"):
        read_lock(write(tmp_path, "uv.lock", text))


# --- the real locks ------------------------------------------------------------------------------


REAL_LOCKS = sorted(
    p for p in BENCH.glob("*/*") if p.name in ("uv.lock", "poetry.lock", "pylock.toml", "requirements.txt")
)


@pytest.mark.parametrize("path", REAL_LOCKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_lock_parses(path: Path) -> None:
    lock = read_lock(path)
    assert lock.format == lock_format(path)
    assert lock.packages
    for package in lock.packages:
        assert package.name == package.name.lower() and "_" not in package.name
        for artifact in package.wheels:
            assert artifact.filename.endswith(".whl") and artifact.sha256


def test_real_uv_lock_keeps_the_forks() -> None:
    lock = read_lock(BENCH / "data-science" / "uv.lock")
    assert sorted(p.version for p in lock.packages if p.name == "numpy") == ["2.0.2", "2.2.6", "2.4.6", "2.5.5"]
    assert set(lock.extras) == {"progress"} and set(lock.groups) == {"dev"}


def test_real_poetry_11_lock_reads_metadata_files() -> None:
    lock = read_lock(BENCH / "seed-data-science" / "poetry.lock")
    assert lock.roots is not None and {d.name for d in lock.roots} == {"numpy", "pandas", "matplotlib"}
    assert set(lock.extras) == {"tqdm-feature"}
    numpy = next(p for p in lock.packages if p.name == "numpy")
    assert numpy.wheels and all(w.url is None and w.sha256 for w in numpy.wheels)


def test_uv_self_referencing_extras_are_expanded(tmp_path: Path) -> None:
    text = """
    version = 1
    [[package]]
    name = "app"
    version = "0.1.0"
    source = { editable = "." }
    [package.optional-dependencies]
    cpu = [{ name = "torch" }]
    all = [{ name = "app", extra = ["cpu"], marker = "sys_platform == 'linux'" }, { name = "rich" }]
    [package.dev-dependencies]
    dev = [{ name = "app", extra = ["all"] }]
    """
    lock = read_lock(write(tmp_path, "uv.lock", text))
    linux_torch = Dependency("torch", "sys_platform == 'linux'")
    assert dict(lock.extras) == {"cpu": (Dependency("torch"),), "all": (linux_torch, Dependency("rich"))}
    assert dict(lock.groups) == {"dev": (linux_torch, Dependency("rich"))}


def test_exported_requirements_are_read_without_packaging(tmp_path: Path) -> None:
    """`name==version ; marker` lines (what `uv export` and pip-compile write) need no
    packaging.requirements (~25 ms to import on every cold run of such a lock); other lines
    still go through packaging, and both read alike (test_requirements_pins_hashes_markers_and_options)."""
    import json
    import subprocess
    import sys

    path = write(tmp_path, "requirements.txt", f"""
        colorama==0.4.6 ; sys_platform == 'win32' \\
            --hash=sha256:{SHA_A}
        numpy==2.0.2 ; python_full_version < '3.10' --hash=sha256:{SHA_A}
        numpy==2.3.5 ; python_full_version >= '3.11' --hash=sha256:{SHA_B}
        tzdata==2025.2 --hash=sha256:{SHA_B}
    """)
    code = ("import json, sys; from monotrail.lock import read_lock; lock = read_lock(sys.argv[1]); "
            "print(json.dumps([sorted(m for m in sys.modules if m.startswith('packaging')), "
            "[[p.name, p.version, p.marker] for p in lock.packages]]))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    imported, packages = json.loads(done.stdout)
    assert imported == []
    assert packages == [["colorama", "0.4.6", "sys_platform == 'win32'"], ["numpy", "2.0.2", "python_full_version < '3.10'"],
                        ["numpy", "2.3.5", "python_full_version >= '3.11'"], ["tzdata", "2025.2", None]]


def test_a_uv_lock_read_again_elsewhere_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a store root, the parse of a uv.lock is kept by its content: a copy in another project
    (whose pyproject.toml, read each time, differs) reads the same lock without tomli; a torn kept
    file or changed bytes are parsed again."""
    from monotrail.lock import tomlfile

    root = tmp_path / "root"
    real_parse = tomlfile.parse_toml
    parses = []

    def counting(text: str, path: Path) -> dict:
        parses.append(path.name)
        return real_parse(text, path)

    monkeypatch.setattr(tomlfile, "parse_toml", counting)
    monkeypatch.setattr("monotrail.lock.uv.parse_toml", counting)
    first = read_lock(write(tmp_path / "one", "uv.lock", UV_LOCK), root)
    assert parses == ["uv.lock"] and len(list((root / "cache" / "parsed").iterdir())) == 1
    second_path = write(tmp_path / "two", "uv.lock", UV_LOCK)
    (second_path.parent / "pyproject.toml").write_text("[tool.uv]\ndefault-groups = []\n")
    second = read_lock(second_path, root)
    assert parses == ["uv.lock", "pyproject.toml"]  # the pyproject beside it still decides its part
    assert second.default_groups == () and first.default_groups == ("dev",)
    assert second == read_lock(second_path)  # paths resolved against its own directory, as without the cache
    assert parses.count("uv.lock") == 2
    for kept in (root / "cache" / "parsed").iterdir():
        kept.write_bytes(kept.read_bytes()[:100])
    assert read_lock(second_path, root) == second
    assert parses.count("uv.lock") == 3
    changed = write(tmp_path / "three", "uv.lock", UV_LOCK.replace('version = "5.4.0"', 'version = "5.4.1"'))
    assert "5.4.1" in {package.version for package in read_lock(changed, root).packages}
    assert parses.count("uv.lock") == 4
