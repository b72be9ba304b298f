"""Multi-target resolution in-process: described targets (no interpreter), `resolve_targets` giving
exactly what resolving each target alone gives (the trace reuse must never change a pin), and the
markers the merge writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from index_fixtures import IndexServer, build_wheel

from monotrail.errors import ResolutionError, UsageError
from monotrail.resolve import targets as target_table
from monotrail.resolve.merge import targets_marker
from monotrail.resolve.resolver import resolve, resolve_targets
from monotrail.store.index import Sources


def publish(index: IndexServer, wheels: Path, name: str, version: str, *requires: str, tag: str = "py3-none-any",
            requires_python: str | None = None) -> None:
    index.add(build_wheel(wheels, name, version, {f"{name}.py": ""}, tag=tag, requires=requires,
                          requires_python=requires_python), requires_python=requires_python)


@pytest.fixture
def published(index: IndexServer, tmp_path: Path) -> IndexServer:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    publish(index, wheels, "app", "1.0", "tomli ; python_version < '3.11'", "numpyish", "shell",
            "pick ; platform_system == 'Darwin'")
    publish(index, wheels, "tomli", "2.0")
    publish(index, wheels, "numpyish", "1.0")
    publish(index, wheels, "numpyish", "2.0", requires_python=">=3.10")
    publish(index, wheels, "numpyish", "3.0", "typing-ext ; python_version < '3.13'", requires_python=">=3.12")
    publish(index, wheels, "typing-ext", "4.0")
    publish(index, wheels, "shell", "1.0", "wincolor ; sys_platform == 'win32'")
    publish(index, wheels, "shell", "2.0", tag="py3-none-manylinux_2_17_x86_64")
    publish(index, wheels, "shell", "2.0", tag="py3-none-macosx_11_0_arm64")
    publish(index, wheels, "wincolor", "1.0")
    publish(index, wheels, "pick", "1.0")
    return index


def pins(resolution) -> dict[str, str]:
    return {p.name: p.version for p in resolution.packages}


def test_every_target_resolves_as_it_would_alone(published: IndexServer, tmp_path: Path) -> None:
    targets = target_table.choose(">=3.9")
    sources = Sources((f"{published.url}/simple",))
    together = resolve_targets({"": ["app"]}, [t.interpreter() for t in targets], sources, tmp_path / "root",
                               where="test", build_interpreter=lambda: pytest.fail("nothing is built"))
    alone = [resolve({"": ["app"]}, t.interpreter(), sources, tmp_path / "root", where="test") for t in targets]
    assert [pins(r) for r in together] == [pins(r) for r in alone]
    assert [[p.wheels for p in r.packages] for r in together] == [[p.wheels for p in r.packages] for r in alone]
    by_target = dict(zip(targets, map(pins, together)))
    assert by_target[target_table.Target(9, "linux")] == {"app": "1.0", "tomli": "2.0", "numpyish": "1.0", "shell": "2.0"}
    assert by_target[target_table.Target(11, "windows")] == {"app": "1.0", "numpyish": "2.0", "shell": "1.0", "wincolor": "1.0"}
    assert by_target[target_table.Target(12, "macos")] == {"app": "1.0", "numpyish": "3.0", "typing-ext": "4.0",
                                                           "shell": "2.0", "pick": "1.0"}
    assert by_target[target_table.Target(14, "linux")] == {"app": "1.0", "numpyish": "3.0", "shell": "2.0"}


def test_a_target_that_cannot_resolve_is_named(published: IndexServer, tmp_path: Path) -> None:
    publish(published, tmp_path / "wheels", "onlymac", "1.0", tag="py3-none-macosx_11_0_arm64")
    targets = target_table.choose(">=3.13")
    with pytest.raises(ResolutionError, match=r"cannot lock for CPython 3.13 on linux: .*onlymac") as raised:
        resolve_targets({"": ["onlymac"]}, [t.interpreter() for t in targets], Sources((f"{published.url}/simple",)),
                        tmp_path / "root", where="test", build_interpreter=lambda: pytest.fail("nothing is built"))
    assert "2 of 6 targets resolve" in (raised.value.hint or "")


@pytest.mark.parametrize("requires_python, pythons, platforms, expected", [
    (">=3.9", (), (), [(m, p) for m in range(9, 15) for p in ("linux", "macos", "windows")]),
    (">=3.8,<3.10", (), ("macos",), [(8, "macos"), (9, "macos")]),
    (None, ("3.13", "3.9"), ("windows", "linux"), [(9, "linux"), (9, "windows"), (13, "linux"), (13, "windows")]),
    (">=3.11", ("3.12.4",), ("linux",), [(12, "linux")]),
])
def test_targets_chosen(requires_python, pythons, platforms, expected) -> None:
    found = target_table.choose(requires_python, pythons, platforms)
    assert [(t.minor, t.platform) for t in found] == expected


@pytest.mark.parametrize("requires_python, pythons, platforms, message", [
    (">=3.10", ("3.9",), (), "excludes Python 3.9"),
    (">=3.9", ("3.20",), (), "cannot lock for Python '3.20'"),
    (">=3.9", (), ("beos",), "unknown platform 'beos'"),
    (">=3.15", (), (), "allows none of CPython 3.8-3.14"),
])
def test_targets_refused(requires_python, pythons, platforms, message) -> None:
    with pytest.raises(UsageError, match=message):
        target_table.choose(requires_python, pythons, platforms)


def test_a_requires_python_lower_bound_inside_a_minor_is_the_targets_version() -> None:
    [target] = target_table.choose(">=3.8.1", ("3.8",), ("linux",))
    assert target.interpreter().markers["python_full_version"] == "3.8.1"


def test_described_targets_have_the_tags_of_their_platform() -> None:
    linux = target_table.Target(12, "linux").interpreter()
    assert linux.tags[0] == "cp312-cp312-manylinux_2_28_x86_64" and "cp312-abi3-manylinux2014_aarch64" in linux.tags
    assert not any("musllinux" in tag or tag.endswith("linux_x86_64") and "many" not in tag for tag in linux.tags)
    mac = target_table.Target(9, "macos").interpreter()
    assert mac.tags[0] == "cp39-cp39-macosx_13_0_arm64" and "cp39-cp39-macosx_10_9_x86_64" in mac.tags
    windows = target_table.Target(14, "windows").interpreter()
    assert windows.markers["sys_platform"] == "win32" and {t.split("-")[-1] for t in windows.tags} == {"win_amd64", "any"}


T = target_table.choose(">=3.9")


@pytest.mark.parametrize("covered, expected", [
    (set(T), None),
    ({t for t in T if t.minor < 11}, 'python_version < "3.11"'),
    ({t for t in T if t.minor == 12}, 'python_version == "3.12"'),
    ({t for t in T if t.platform == "windows"}, 'sys_platform == "win32"'),
    ({t for t in T if t.platform != "linux" and t.minor >= 13}, '(sys_platform == "darwin" or sys_platform == "win32") and python_version >= "3.13"'),
    ({t for t in T if t.platform == "linux" or t.minor == 9},
     'sys_platform == "linux" or ((sys_platform == "darwin" or sys_platform == "win32") and python_version < "3.10")'),
])
def test_the_marker_of_a_variant_selects_its_targets_only(covered, expected) -> None:
    from packaging.markers import Marker

    marker = targets_marker(covered, T)
    assert marker == expected
    for target in T:
        holds = marker is None or Marker(marker).evaluate(dict(target.interpreter().markers))
        assert holds == (target in covered), target


def test_a_package_every_target_needs_is_one_entry_whoever_else_reaches_it() -> None:
    """typing-extensions in django-app: needed by the project everywhere, and below 3.11 by the dev
    group as well; one entry, not one per Python."""
    from monotrail.resolve.merge import merge
    from monotrail.resolve.resolver import ROOT, ResolvedPackage, Resolution

    def package(labels: frozenset) -> ResolvedPackage:
        return ResolvedPackage("typing-extensions", "4.16.0", (), None, None, None, labels)

    targets = target_table.choose(">=3.10", (), ("linux",))
    results = [(t, Resolution((package(frozenset({ROOT, "group:dev"}) if t.minor < 11 else frozenset({ROOT})),)))
               for t in targets]
    [merged] = merge(results).packages
    assert merged.targets is None and merged.labels == frozenset({ROOT})


@pytest.mark.parametrize("requires_python, pythons, expected", [
    (">=3.10", (), ">=3.10,<3.15"),
    (None, (), ">=3.8,<3.15"),
    (">=3.9,<3.12", (), ">=3.9,<3.12"),
    (">=3.9", ("3.9", "3.13"), ">=3.9,<3.14,!=3.10.*,!=3.11.*,!=3.12.*"),
    (">=3.8.1", ("3.8",), ">=3.8.1,<3.9"),
])
def test_the_locks_requires_python_names_the_locked_pythons(requires_python, pythons, expected) -> None:
    from packaging.specifiers import SpecifierSet

    targets = target_table.choose(requires_python, pythons)
    written = target_table.lock_requires_python(requires_python, targets, narrowed=bool(pythons))
    assert written == expected
    locked = {t.minor for t in targets}
    assert all(SpecifierSet(written).contains(f"3.{m}.9") == (m in locked) for m in range(7, 17))
