"""Selection: which packages and which wheel of each, for a target interpreter."""

from __future__ import annotations

import textwrap
from pathlib import Path
from collections.abc import Sequence

import pytest
from packaging import tags as packaging_tags

from monotrail.errors import MonotrailError, SelectionError
from monotrail.interpreters.discovery import Interpreter
from monotrail.lock.model import Artifact, Dependency, Lock, LockedPackage
from monotrail.lock import read_lock
from monotrail.selection import Selected, select, select_wheel

BENCH = Path("/work/shared/bench")
SHA = "a" * 64


def _manylinux_platforms() -> tuple[str, ...]:
    """What a glibc 2.36 x86_64 box supports, best first (as packaging.tags orders them)."""
    platforms = []
    for minor in range(36, 4, -1):
        platforms.append(f"manylinux_2_{minor}_x86_64")
        legacy = {17: "manylinux2014_x86_64", 12: "manylinux2010_x86_64", 5: "manylinux1_x86_64"}.get(minor)
        if legacy:
            platforms.append(legacy)
    return tuple(platforms) + ("linux_x86_64",)


def make_interpreter(minor: int, patch: int = 10, platform_system: str = "Linux") -> Interpreter:
    version = (3, minor)
    platforms = _manylinux_platforms()
    abi = f"cp3{minor}"
    tags = [str(t) for t in packaging_tags.cpython_tags(version, [abi], platforms)]
    tags += [str(t) for t in packaging_tags.compatible_tags(version, abi, platforms)]
    full = f"3.{minor}.{patch}"
    markers = {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "6.1.0-18-amd64",
        "platform_system": platform_system,
        "platform_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1",
        "python_full_version": full,
        "python_version": f"3.{minor}",
        "sys_platform": "linux",
    }
    return Interpreter(
        path=f"/usr/bin/python3.{minor}",
        mtime=0.0,
        version=(3, minor, patch),
        implementation="cpython",
        free_threaded=False,
        markers=markers,
        tags=tuple(tags),
        ext_suffixes=(f".cpython-3{minor}-x86_64-linux-gnu.so", ".abi3.so", ".so"),
        stdlib=f"/usr/lib/python3.{minor}",
        platstdlib=f"/usr/lib/python3.{minor}",
    )


PY38 = make_interpreter(8, 18)
PY312 = make_interpreter(12, 1)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def names(selected: Sequence[Selected]) -> dict[str, str]:
    return {s.name: s.version for s in selected}


def wheel(filename: str) -> Artifact:
    return Artifact(filename, f"https://files.example/{filename}", (("sha256", SHA),))


def flat_lock(*packages: LockedPackage, **fields: object) -> Lock:
    return Lock(path=Path("/p/pylock.toml"), format="pylock", packages=packages, **fields)  # type: ignore[arg-type]


ANY = wheel("pure-1.0-py3-none-any.whl")


# --- wheel choice --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interpreter", "files", "expected"),
    [
        (PY312, ["x-1-py3-none-any.whl", "x-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"], 1),
        (PY312, ["x-1-cp312-cp312-manylinux_2_17_x86_64.whl", "x-1-cp312-cp312-manylinux_2_28_x86_64.whl"], 1),
        (PY312, ["x-1-cp311-abi3-manylinux_2_17_x86_64.whl", "x-1-py3-none-any.whl"], 0),
        (PY312, ["x-1-cp312-cp312-win_amd64.whl", "x-1-cp312-cp312-musllinux_1_2_x86_64.whl"], None),
        (PY38, ["x-1-cp312-cp312-manylinux_2_17_x86_64.whl", "x-1-py2.py3-none-any.whl"], 1),
        (PY38, ["x-1-cp38-cp38-manylinux1_x86_64.whl", "x-1-cp38-cp38-manylinux_2_17_x86_64.whl"], 1),
        (PY38, ["not a wheel.whl", "x-1-cp38-none-any.whl"], 1),
    ],
)
def test_best_wheel_follows_the_targets_tag_order(interpreter: Interpreter, files: list, expected: object) -> None:
    assert select_wheel(files, interpreter.tags) == expected


def test_wheel_chosen_for_the_target_not_for_the_running_python() -> None:
    numpy = LockedPackage(
        "numpy", "1.24.4",
        wheels=(wheel("numpy-1.24.4-cp312-cp312-manylinux_2_17_x86_64.whl"),
                wheel("numpy-1.24.4-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")),
        index="https://pypi.org/simple",
    )
    (chosen,) = select(flat_lock(numpy), PY38, [], [])
    assert chosen == Selected("numpy", "1.24.4", numpy.wheels[1], "https://pypi.org/simple", None)


def test_no_compatible_wheel_names_package_tags_and_files() -> None:
    package = LockedPackage(
        "fast", "2.0",
        wheels=(wheel("fast-2.0-cp312-cp312-win_amd64.whl"), wheel("fast-2.0-cp312-cp312-macosx_11_0_arm64.whl")),
    )
    with pytest.raises(SelectionError) as info:
        select(flat_lock(package), PY312, [], [])
    message = info.value.message
    assert "fast 2.0" in message
    assert ", ".join(PY312.tags[:3]) in message
    assert "fast-2.0-cp312-cp312-win_amd64.whl" in message
    assert "no sdist to build one from" in message
    assert info.value.where == "/p/pylock.toml: package fast 2.0" and info.value.hint


@pytest.mark.parametrize("wheels", [(), ("old-1.0-cp312-cp312-win_amd64.whl",)])
def test_without_a_fitting_wheel_the_sdist_is_selected_to_build(wheels) -> None:
    sdist = Artifact("old-1.0.tar.gz")
    package = LockedPackage("old", "1.0", wheels=tuple(wheel(name) for name in wheels), sdist=sdist)
    [selected] = select(flat_lock(package), PY312, [], [])
    assert selected.artifact == sdist


def test_vcs_package_is_built_by_the_store_when_selected() -> None:
    git = LockedPackage("lib", "", vcs="git+https://github.com/o/r@abc", marker="sys_platform == 'win32'")
    assert select(flat_lock(git), PY312, [], []) == ()  # not selected: fine
    [selected] = select(flat_lock(LockedPackage("lib", "", vcs="git+https://github.com/o/r@abc")), PY312, [], [])
    assert selected == Selected("lib", "", None, None, None, build="git+https://github.com/o/r@abc")


def test_directory_and_index_lookup_packages() -> None:
    lock = flat_lock(
        LockedPackage("as-is", "", directory="/src/as-is"),
        LockedPackage("local", "", directory="/src/local", editable=True),
        LockedPackage("pinned", "1.0", hashes=(("sha256", SHA),), index="https://corp/simple"),
    )
    as_is, local, pinned = select(lock, PY312, [], [])
    assert as_is == Selected("as-is", "", None, None, "/src/as-is")
    # Editable: built through the project's backend (PEP 660) before the store.
    assert local == Selected("local", "", None, None, None, editable="/src/local")
    lookup = Artifact("", hashes=(("sha256", SHA),))  # found on the index by name, version and hash
    assert pinned == Selected("pinned", "1.0", lookup, "https://corp/simple", None, tags=PY312.tags)


# --- flat locks: markers, extras, groups ---------------------------------------------------------


FLAT = flat_lock(
    LockedPackage("always", "1", wheels=(ANY,)),
    LockedPackage("old-only", "1", marker="python_version < '3.9'", wheels=(ANY,)),
    LockedPackage("new-only", "1", marker="python_full_version >= '3.12'", wheels=(ANY,)),
    LockedPackage("windows", "1", marker="sys_platform == 'win32'", wheels=(ANY,)),
    LockedPackage("fast", "1", marker="'fast' in extras", wheels=(ANY,)),
    LockedPackage("progress", "1", marker='extra == "progress" and platform_system == "Linux"', wheels=(ANY,)),
    LockedPackage("tests", "1", marker="'dev' in dependency_groups", wheels=(ANY,)),
    LockedPackage("sphinx", "1", marker="'docs' in dependency_groups", wheels=(ANY,)),
    extras={"fast": (), "progress": ()},
    groups={"dev": (), "docs": ()},
    default_groups=("dev",),
)


@pytest.mark.parametrize(
    ("interpreter", "extras", "groups", "no_default", "expected"),
    [
        (PY312, [], [], True, {"always", "new-only"}),
        (PY38, [], [], True, {"always", "old-only"}),
        (PY312, [], [], False, {"always", "new-only", "tests"}),
        (PY312, ["fast"], [], True, {"always", "new-only", "fast"}),
        (PY312, ["Progress"], [], True, {"always", "new-only", "progress"}),
        (PY312, ["fast", "progress"], ["docs"], True, {"always", "new-only", "fast", "progress", "sphinx"}),
        (PY312, [], ["docs"], False, {"always", "new-only", "tests", "sphinx"}),
    ],
)
def test_flat_lock_keeps_packages_whose_marker_holds(
    interpreter: Interpreter, extras: list, groups: list, no_default: bool, expected: set
) -> None:
    assert set(names(select(FLAT, interpreter, extras, groups, no_default_groups=no_default))) == expected


def test_poetry_style_extra_marker_respects_the_rest_of_the_marker() -> None:
    windows = make_interpreter(12, platform_system="Windows")
    assert "progress" not in names(select(FLAT, PY312, [], [], no_default_groups=True))
    assert "progress" not in names(select(FLAT, make_interpreter(12, platform_system="Darwin"), ["progress"], []))
    assert "progress" not in names(select(FLAT, windows, [], []))


@pytest.mark.parametrize(
    ("extras", "groups", "message"),
    [
        (["gpu"], [], "unknown extra 'gpu'; the lock defines: fast, progress"),
        ([], ["lint"], "unknown dependency group 'lint'; the lock defines: dev, docs"),
    ],
)
def test_unknown_extra_or_group_lists_the_defined_ones(extras: list, groups: list, message: str) -> None:
    with pytest.raises(SelectionError) as info:
        select(FLAT, PY312, extras, groups)
    assert info.value.message == message and info.value.where == "/p/pylock.toml" and info.value.hint


def test_lock_without_extras_says_none_are_defined() -> None:
    with pytest.raises(SelectionError, match="defines: none"):
        select(flat_lock(), PY312, ["x"], [])


def test_requires_python_excluding_the_interpreter() -> None:
    lock = flat_lock(requires_python=">=3.10")
    assert select(lock, PY312, [], []) == ()
    with pytest.raises(SelectionError) as info:
        select(lock, PY38, [], [])
    assert "requires Python >=3.10" in info.value.message and "3.8.18" in info.value.message
    assert info.value.where == "/p/pylock.toml: requires-python" and info.value.hint


def test_pylock_environments_must_include_the_target() -> None:
    lock = flat_lock(environments=("sys_platform == 'darwin'", "sys_platform == 'win32'"))
    with pytest.raises(SelectionError, match="environments"):
        select(lock, PY312, [], [])
    assert select(flat_lock(environments=("sys_platform == 'linux'",)), PY312, [], []) == ()


def test_two_versions_of_one_package_is_an_error() -> None:
    lock = flat_lock(LockedPackage("x", "1", wheels=(ANY,)), LockedPackage("x", "2", wheels=(ANY,)))
    with pytest.raises(SelectionError, match="two versions of x"):
        select(lock, PY312, [], [])


def test_bad_marker_at_selection_is_a_selection_error() -> None:
    lock = flat_lock(LockedPackage("x", "1", marker="python_version ~~ '3'", wheels=(ANY,)))
    with pytest.raises(SelectionError, match="cannot evaluate marker"):
        select(lock, PY312, [], [])


# --- graph locks ---------------------------------------------------------------------------------


def graph_lock(*packages: LockedPackage, roots: tuple[Dependency, ...], **fields: object) -> Lock:
    return Lock(path=Path("/p/uv.lock"), format="uv", packages=packages, roots=roots, **fields)  # type: ignore[arg-type]


GRAPH = graph_lock(
    LockedPackage("numpy", "1.24.4", wheels=(wheel("numpy-1.24.4-cp38-cp38-manylinux_2_17_x86_64.whl"),)),
    LockedPackage("numpy", "2.1.0", wheels=(wheel("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl"),)),
    LockedPackage(
        "celery", "5.4.0", wheels=(ANY,),
        dependencies=(Dependency("colorama", "sys_platform == 'win32'"), Dependency("kombu")),
        optional_dependencies={"redis": (Dependency("kombu", extras=("redis",)),)},
    ),
    LockedPackage("kombu", "5.3.0", wheels=(ANY,), optional_dependencies={"redis": (Dependency("redis"),)}),
    LockedPackage("redis", "5.0.0", wheels=(ANY,)),
    LockedPackage("colorama", "0.4.6", wheels=(ANY,)),
    LockedPackage("tqdm", "4.66.0", wheels=(ANY,), dependencies=(Dependency("colorama", "platform_system == 'Windows'"),)),
    LockedPackage("pytest", "8.0.0", wheels=(ANY,)),
    LockedPackage("unused", "1.0", wheels=(ANY,)),
    roots=(
        Dependency("numpy", "python_full_version < '3.9'", version="1.24.4"),
        Dependency("numpy", "python_full_version >= '3.9'", version="2.1.0"),
        Dependency("celery"),
    ),
    extras={"progress": (Dependency("tqdm"),), "redis": (Dependency("celery", extras=("redis",)),)},
    groups={"dev": (Dependency("pytest"),)},
    default_groups=("dev",),
)


@pytest.mark.parametrize(
    ("interpreter", "extras", "groups", "no_default", "expected"),
    [
        (PY312, [], [], True, {"numpy": "2.1.0", "celery": "5.4.0", "kombu": "5.3.0"}),
        (PY38, [], [], True, {"numpy": "1.24.4", "celery": "5.4.0", "kombu": "5.3.0"}),
        (PY312, [], [], False, {"numpy": "2.1.0", "celery": "5.4.0", "kombu": "5.3.0", "pytest": "8.0.0"}),
        (PY312, ["redis"], [], True, {"numpy": "2.1.0", "celery": "5.4.0", "kombu": "5.3.0", "redis": "5.0.0"}),
        (PY312, ["progress"], ["dev"], True,
         {"numpy": "2.1.0", "celery": "5.4.0", "kombu": "5.3.0", "tqdm": "4.66.0", "pytest": "8.0.0"}),
    ],
)
def test_graph_lock_walks_edges_whose_markers_hold(
    interpreter: Interpreter, extras: list, groups: list, no_default: bool, expected: dict
) -> None:
    assert names(select(GRAPH, interpreter, extras, groups, no_default_groups=no_default)) == expected


def test_graph_edge_to_a_missing_package_is_an_error() -> None:
    lock = graph_lock(roots=(Dependency("ghost"),))
    with pytest.raises(SelectionError, match="ghost, which the lock does not contain"):
        select(lock, PY312, [], [])


def test_a_dependency_on_the_project_itself_is_the_project() -> None:
    # pluggy's uv.lock: pluggy is the editable project, and its test extra's pytest depends on
    # pluggy. uv sync satisfies that edge with the project; so must selection (bench/compat.py).
    project = LockedPackage("pluggy", "1.6.0", directory="/p", editable=True)
    lock = graph_lock(
        LockedPackage("pytest", "9.0.0", wheels=(ANY,), dependencies=(Dependency("pluggy"), Dependency("iniconfig"))),
        LockedPackage("iniconfig", "2.0.0", wheels=(ANY,)),
        roots=(), extras={"testing": (Dependency("pytest"),)}, project=project,
    )
    assert names(select(lock, PY312, ["testing"], [])) == {"pluggy": "1.6.0", "pytest": "9.0.0", "iniconfig": "2.0.0"}


def test_graph_specifier_picks_among_versions_poetry_style() -> None:
    lock = graph_lock(
        LockedPackage("numpy", "1.21.0", wheels=(ANY,)),
        LockedPackage("numpy", "1.26.0", wheels=(ANY,)),
        LockedPackage("numpy", "2.0.0", wheels=(ANY,), requires_python=">=3.9"),
        roots=(Dependency("numpy", 'python_version < "3.10"', specifier=">=1.18,<1.22 || >=2"),
               Dependency("numpy", 'python_version >= "3.10"', specifier=">=1.26,<2.0")),
    )
    assert names(select(lock, PY312, [], [])) == {"numpy": "1.26.0"}
    assert names(select(lock, PY38, [], [])) == {"numpy": "1.21.0"}  # 2.0.0 needs Python >= 3.9


def test_poetry_11_optional_dependency_only_through_its_extra(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", """
        [tool.poetry.dependencies]
        python = "^3.8"
        requests = "^2"
        fancy = { version = "^1", optional = true, python = ">=3.10" }
        [tool.poetry.extras]
        fancy = ["fancy"]
    """)
    lock = read_lock(write(tmp_path, "poetry.lock", f"""
        [[package]]
        name = "requests"
        version = "2.0.0"
        python-versions = "*"
        [package.dependencies]
        PySocks = {{version = "*", optional = true, markers = "extra == \\"socks\\""}}
        [package.extras]
        socks = ["PySocks"]
        [[package]]
        name = "pysocks"
        version = "1.0"
        python-versions = "*"
        [[package]]
        name = "fancy"
        version = "1.0"
        python-versions = "*"
        [metadata]
        lock-version = "1.1"
        python-versions = "^3.8"
        [metadata.files]
        requests = [{{file = "requests-2.0.0-py3-none-any.whl", hash = "sha256:{SHA}"}}]
        pysocks = [{{file = "PySocks-1.0-py3-none-any.whl", hash = "sha256:{SHA}"}}]
        fancy = [{{file = "fancy-1.0-py3-none-any.whl", hash = "sha256:{SHA}"}}]
    """))
    assert names(select(lock, PY312, [], [])) == {"requests": "2.0.0"}
    assert names(select(lock, PY312, ["fancy"], [])) == {"requests": "2.0.0", "fancy": "1.0"}
    assert names(select(lock, PY38, ["fancy"], [])) == {"requests": "2.0.0"}  # python = ">=3.10"
    (requests,) = select(lock, PY312, [], [])
    assert requests.artifact is not None and requests.artifact.url is None and requests.index is None
    with pytest.raises(SelectionError) as info:
        select(lock, make_interpreter(7), [], [])
    assert "requires Python >=3.8,<4.0" in info.value.message


# --- the real locks ------------------------------------------------------------------------------

# (project, target minor, extras, packages on Linux): the benchmark selections of bench/README.md.
BENCHMARKS = [
    ("data-science", 12, ["progress"], 14),
    ("django-app", 12, [], 63),
    ("seed-data-science", 8, ["tqdm_feature"], 16),
]
FORMATS = ["uv.lock", "poetry.lock", "pylock.toml", "requirements.txt"]


def benchmark_selection(project: str, minor: int, extras: list, filename: str) -> tuple[Selected, ...]:
    lock = read_lock(BENCH / project / filename)
    # The exported formats already flattened the extras in; the project formats declare them.
    return select(lock, make_interpreter(minor), extras if lock.extras else [], [], no_default_groups=True)


@pytest.mark.parametrize(
    ("project", "minor", "extras", "count", "filename"),
    [(*bench, f) for bench in BENCHMARKS for f in FORMATS if (BENCH / bench[0] / f).exists()],
    ids=lambda v: str(v),
)
def test_real_lock_selects_the_benchmark_package_count(
    project: str, minor: int, extras: list, count: int, filename: str
) -> None:
    selected = benchmark_selection(project, minor, extras, filename)
    assert len(selected) == count
    for s in selected:
        assert s.artifact is not None and s.directory is None and s.artifact.sha256
        assert s.artifact.filename.endswith(".whl") or (s.artifact.filename == "" and s.tags)


@pytest.mark.parametrize(("project", "minor", "extras", "count"), BENCHMARKS, ids=lambda v: str(v))
def test_formats_of_one_project_agree(project: str, minor: int, extras: list, count: int) -> None:
    by_format = {
        f: names(benchmark_selection(project, minor, extras, f)) for f in FORMATS if (BENCH / project / f).exists()
    }
    name_sets = {f: set(selected) for f, selected in by_format.items()}
    assert all(s == next(iter(name_sets.values())) for s in name_sets.values()), name_sets
    # uv.lock, and the pylock.toml and requirements.txt uv exported from it, pin the same versions;
    # poetry resolved data-science and the seed project to the same versions too (django-app: not).
    uv_family = [by_format[f] for f in ("uv.lock", "pylock.toml", "requirements.txt") if f in by_format]
    assert all(v == uv_family[0] for v in uv_family)
    if project != "django-app":
        assert by_format["poetry.lock"] == uv_family[0]


def test_real_uv_lock_picks_the_fork_for_the_target() -> None:
    assert names(benchmark_selection("data-science", 12, ["progress"], "uv.lock"))["numpy"] == "2.5.5"
    lock = read_lock(BENCH / "data-science" / "uv.lock")
    assert names(select(lock, make_interpreter(10), [], [], no_default_groups=True))["numpy"] == "2.2.6"
    with_dev = names(select(lock, make_interpreter(12), [], []))  # uv's default group: dev
    assert "pytest" in with_dev and "tqdm" not in with_dev


def test_real_seed_lock_chooses_cp38_manylinux_wheels() -> None:
    selected = {s.name: s for s in benchmark_selection("seed-data-science", 8, ["tqdm_feature"], "poetry.lock")}
    numpy = selected["numpy"].artifact
    assert numpy is not None and numpy.url is None
    assert numpy.filename.startswith("numpy-1.23.2-cp38-cp38-manylinux")
    assert "colorama" not in selected  # Windows only


def test_real_requirements_need_an_index_lookup() -> None:
    selected = benchmark_selection("django-app", 12, [], "requirements.txt")
    assert all(s.artifact and s.artifact.filename == "" and s.artifact.sha256 and s.tags == PY312.tags for s in selected)


def test_errors_are_monotrail_errors() -> None:
    assert issubclass(SelectionError, MonotrailError)


def test_a_big_locks_selection_builds_only_the_chosen_artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A uv.lock's wheels are ranked by their names; only the chosen wheel becomes an Artifact
    (data-science: 14 of ~600 for the selected packages), equal to the one the full tuple holds."""
    from monotrail.lock import model

    built = []
    real_init = model.Artifact.__init__

    def counting(self, *args, **kwargs) -> None:  # noqa: ANN001
        built.append(1)
        real_init(self, *args, **kwargs)

    lock = read_lock(BENCH / "data-science" / "uv.lock")
    monkeypatch.setattr(model.Artifact, "__init__", counting)
    selected = select(lock, make_interpreter(12), ["progress"], [], no_default_groups=True)
    assert len(built) == len(selected) == 14
    monkeypatch.undo()
    by_name = {package.name: package for package in read_lock(BENCH / "data-science" / "uv.lock").packages}
    for item in selected:
        assert item.artifact in tuple(by_name[item.name].wheels)


@pytest.mark.parametrize("platforms", [("manylinux_2_17_x86_64", "linux_x86_64"), ("macosx_11_0_arm64",), ("win_amd64",)])
def test_wheels_of_other_platforms_are_passed_over_with_the_same_answer(platforms: tuple) -> None:
    """select_wheel skips a wheel by its platform part before spelling out its tags; over every
    wheel of the real locks, the answer is the one ranking all tags gives."""
    from monotrail.selection import wheel_tags

    tags = [str(t) for minor in (8, 12, 13) for t in packaging_tags.cpython_tags((3, minor), [f"cp3{minor}"], platforms)]
    tags += [str(t) for t in packaging_tags.compatible_tags((3, 12), "cp312", platforms)]
    ranks = {tag: i for i, tag in enumerate(tags)}
    for project in ("data-science", "django-app"):
        for package in read_lock(BENCH / project / "uv.lock").packages:
            names = [wheel.filename for wheel in package.wheels] + ["Odd_Name-1.0-1build-PY3-NONE-ANY.whl", "x.tar.gz"]
            ranked = [(min((ranks[t] for t in wheel_tags(n) or () if t in ranks), default=None), i)
                      for i, n in enumerate(names)]
            fitting = [(rank, i) for rank, i in ranked if rank is not None]
            assert select_wheel(names, tags) == (min(fitting)[1] if fitting else None)
