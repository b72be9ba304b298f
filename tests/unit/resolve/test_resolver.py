"""The resolver over a local index (tests/index_fixtures.IndexServer): versions, extras, markers,
yanked files, requires-python, metadata files present or absent, conflicts, the store preference.

In-process: `monotrail.resolve.resolver.resolve` against wheels built in the test; no network.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index_fixtures import IndexServer, build_wheel

from monotrail.errors import ResolutionError
from monotrail.store.index import Sources
from monotrail.interpreters.discovery import find_interpreter
from monotrail.resolve.resolver import resolve


@pytest.fixture(scope="module")
def interpreter(tmp_path_factory, py312):
    root = tmp_path_factory.mktemp("interp-root")
    return find_interpreter(str(py312), requires_python=None, start_dir=root, root=root)


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    path = tmp_path / "wheels"
    path.mkdir()
    return path


def publish(index: IndexServer, wheels: Path, name: str, version: str, *requires: str, **attributes) -> None:
    extras = tuple(sorted({r.split("extra == '")[1].split("'")[0] for r in requires if "extra ==" in r}))
    wheel_options = {k: attributes.pop(k) for k in ("requires_python", "tag") if k in attributes}
    if "tag" in wheel_options:
        wheel_options["tag"] = wheel_options.pop("tag")
    index.add(build_wheel(wheels, name, version, {f"{name.replace('-', '_')}.py": ""}, requires=requires,
                          provides_extras=extras, requires_python=wheel_options.get("requires_python"),
                          **({"tag": wheel_options["tag"]} if "tag" in wheel_options else {})), **attributes)


def pins(index: IndexServer, interpreter, root: Path, requirements: dict[str, list[str]], api: str = "simple",
         **options) -> dict[str, str]:
    """`api`: "simple" negotiates PEP 691 JSON; "html/simple" forces PEP 503 HTML."""
    from monotrail.builds.builder import Builds

    resolution = resolve(requirements, interpreter, Sources((f"{index.url}/{api}",)), root, where="test",
                         builder=Builds(), **options)
    return {p.name: p.version for p in resolution.packages}


def test_newest_versions_and_transitive_dependencies(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "app", "1.0", "lib>=1")
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "1.5")
    assert pins(index, interpreter, tmp_path / "root", {"": ["app"]}) == {"app": "1.0", "lib": "1.5"}


def test_extra_pulls_in_optional_dependency_and_marks_it(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "app", "1.0", "fast ; extra == 'speed'")
    publish(index, wheels, "fast", "2.0")
    assert pins(index, interpreter, tmp_path / "r1", {"": ["app"]}) == {"app": "1.0"}
    resolution = resolve({"": ["app"], "extra:speed": ["app[speed]"]}, interpreter,
                         Sources((f"{index.url}/simple",)), tmp_path / "r2", where="test")
    labels = {p.name: set(p.labels) for p in resolution.packages}
    assert labels == {"app": {"", "extra:speed"}, "fast": {"extra:speed"}}


@pytest.mark.parametrize("marker, expected", [
    ("sys_platform == 'win32'", {"app": "1.0"}),
    ("python_version >= '3.8'", {"app": "1.0", "dep": "1.0"}),
    ("python_version < '3.8'", {"app": "1.0"}),
])
def test_markers_are_evaluated_for_the_target(index, wheels, tmp_path, interpreter, marker, expected) -> None:
    publish(index, wheels, "app", "1.0", f"dep ; {marker}")
    publish(index, wheels, "dep", "1.0")
    assert pins(index, interpreter, tmp_path / "root", {"": ["app"]}) == expected


APIS = pytest.mark.parametrize("api", ["simple", "html/simple"])


@APIS
@pytest.mark.parametrize("yanked", [True, "broken"])
def test_yanked_files_are_skipped(index, wheels, tmp_path, interpreter, api, yanked) -> None:
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "2.0", yanked=yanked)
    assert pins(index, interpreter, tmp_path / "root", {"": ["lib"]}, api=api) == {"lib": "1.0"}


@APIS
def test_requires_python_on_the_page_excludes_a_version(index, wheels, tmp_path, interpreter, api) -> None:
    publish(index, wheels, "lib", "1.0")
    index.add(build_wheel(wheels, "lib", "2.0", {"lib.py": ""}), requires_python=">=3.99")
    assert pins(index, interpreter, tmp_path / "root", {"": ["lib"]}, api=api) == {"lib": "1.0"}


@APIS
def test_advertised_metadata_is_fetched_from_the_metadata_file(index, wheels, tmp_path, interpreter, api) -> None:
    publish(index, wheels, "app", "1.0", "lib", advertise=True)
    publish(index, wheels, "lib", "1.0")
    assert pins(index, interpreter, tmp_path / "root", {"": ["app"]}, api=api) == {"app": "1.0", "lib": "1.0"}
    assert index.requests("/files/app-1.0-py3-none-any.whl.metadata") and not index.requests("range /files/app")


def test_requires_python_on_the_index_and_in_the_metadata(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "2.0", requires_python=">=3.99")  # only the page says so
    publish(index, wheels, "old", "1.0")
    publish(index, wheels, "old", "2.0", requires_python=">=3.99")
    index.state.attributes["old-2.0-py3-none-any.whl"]["requires_python"] = None  # only METADATA says so
    assert pins(index, interpreter, tmp_path / "root", {"": ["lib", "old"]}) == {"lib": "1.0", "old": "1.0"}


@pytest.mark.parametrize("metadata, advertise", [(True, True), (True, False), (False, False)])
def test_metadata_from_the_metadata_file_or_the_wheel(index, wheels, tmp_path, interpreter, metadata, advertise) -> None:
    publish(index, wheels, "app", "1.0", "lib", metadata=metadata, advertise=advertise)
    publish(index, wheels, "lib", "1.0")
    assert pins(index, interpreter, tmp_path / "root", {"": ["app"]}) == {"app": "1.0", "lib": "1.0"}
    ranged = index.requests("range /files/app-")
    assert bool(ranged) is (not metadata)  # without a .metadata file: range requests, no download


def test_prereleases_only_when_asked(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "2.0b1")
    assert pins(index, interpreter, tmp_path / "r1", {"": ["lib"]}) == {"lib": "1.0"}
    assert pins(index, interpreter, tmp_path / "r2", {"": ["lib"]}, prereleases=True) == {"lib": "2.0b1"}
    assert pins(index, interpreter, tmp_path / "r3", {"": ["lib>=2.0b1"]}) == {"lib": "2.0b1"}


def test_wheels_for_other_platforms_are_not_candidates(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "2.0", tag="cp312-cp312-win_amd64")
    assert pins(index, interpreter, tmp_path / "root", {"": ["lib"]}) == {"lib": "1.0"}


def test_backtracks_to_a_compatible_version(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "a", "1.0", "shared<2")
    publish(index, wheels, "a", "2.0", "shared>=2")
    publish(index, wheels, "b", "1.0", "shared<2")
    publish(index, wheels, "shared", "1.0")
    publish(index, wheels, "shared", "2.0")
    assert pins(index, interpreter, tmp_path / "root", {"": ["a", "b"]}) == {"a": "1.0", "b": "1.0", "shared": "1.0"}


def test_conflict_names_the_requirements_that_conflict(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "a", "1.0", "shared>=2")
    publish(index, wheels, "b", "1.0", "shared<2")
    publish(index, wheels, "shared", "1.0")
    publish(index, wheels, "shared", "2.0")
    with pytest.raises(ResolutionError) as error:
        pins(index, interpreter, tmp_path / "root", {"": ["a", "b"]})
    message = str(error.value)
    assert "shared" in message and "a 1.0 requires shared>=2" in message and "b 1.0 requires shared<2" in message


def test_no_matching_version_lists_what_exists(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "lib", "1.0")
    with pytest.raises(ResolutionError, match=r"no version of lib satisfies.*lib>=5.*available versions: 1.0"):
        pins(index, interpreter, tmp_path / "root", {"": ["lib>=5"]})


def test_unknown_package_is_not_found_on_the_index(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "lib", "1.0")
    with pytest.raises(ResolutionError, match="'nope' was not found on the index"):
        pins(index, interpreter, tmp_path / "root", {"": ["nope"]})


def test_a_broken_sdist_is_one_build_error(index, wheels, tmp_path, interpreter) -> None:
    from monotrail.builds.sdist import BuildError

    sdist = wheels / "src_only-1.0.tar.gz"
    sdist.write_bytes(b"not really")
    index.add(sdist)
    with pytest.raises(BuildError, match="cannot unpack src_only-1.0.tar.gz"):
        pins(index, interpreter, tmp_path / "root", {"": ["src-only"]})


def test_versions_in_the_store_are_preferred_unless_upgrading(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "2.0")
    root = tmp_path / "root"
    (root / "store" / "lib" / "1.0").mkdir(parents=True)
    assert pins(index, interpreter, root, {"": ["lib"]}) == {"lib": "1.0"}
    assert pins(index, interpreter, root, {"": ["lib"]}, upgrade=True) == {"lib": "2.0"}


def test_offline_resolves_from_the_cache(index, wheels, tmp_path, interpreter) -> None:
    publish(index, wheels, "app", "1.0", "lib")
    publish(index, wheels, "lib", "1.0")
    root = tmp_path / "root"
    assert pins(index, interpreter, root, {"": ["app"]}) == {"app": "1.0", "lib": "1.0"}
    before = len(index.requests(""))
    offline = Sources((f"{index.url}/simple",), offline=True)
    resolution = resolve({"": ["app"]}, interpreter, offline, root, where="test")
    assert {p.name for p in resolution.packages} == {"app", "lib"}
    assert len(index.requests("")) == before
    with pytest.raises(ResolutionError, match="offline"):
        resolve({"": ["other"]}, interpreter, offline, root, where="test")


def test_a_host_without_unadvertised_metadata_files_is_asked_once(index, wheels, tmp_path, interpreter) -> None:
    for name in ("app", "lib", "other"):
        publish(index, wheels, name, "1.0", *(("lib", "other") if name == "app" else ()), metadata=False)
    assert pins(index, interpreter, tmp_path / "root", {"": ["app"]}) == {"app": "1.0", "lib": "1.0", "other": "1.0"}
    asked = {p for p in index.requests("/files/") if p.endswith(".metadata")}
    assert asked == {"/files/app-1.0-py3-none-any.whl.metadata"}  # the first wheel's 404 was enough
    assert len(index.requests("range /files/")) >= 3  # each wheel's METADATA read by range requests


def test_prefetch_fetches_the_version_the_requirement_admits(index, wheels, tmp_path, interpreter) -> None:
    """The prefetch walks the graph ahead of the resolver with each requirement's specifier: the
    metadata of a newer version that `lib<2` excludes is never fetched, and the extra's own
    dependency (`app[speed]` -> fast) is reached too; the pins are the resolver's."""
    publish(index, wheels, "app", "1.0", "lib<2", "fast ; extra == 'speed'")
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "lib", "2.0")
    publish(index, wheels, "fast", "1.0")
    assert pins(index, interpreter, tmp_path / "root", {"": ["app[speed]"]}) == {"app": "1.0", "lib": "1.0", "fast": "1.0"}
    assert not [p for p in index.requests("") if "lib-2.0" in p]
    for name in ("app", "lib", "fast"):  # prefetch and resolver: one fetch each
        assert len(index.requests(f"/files/{name}-1.0-py3-none-any.whl.metadata")) == 1


def test_a_failing_prefetch_does_not_fail_the_resolution(index, wheels, tmp_path, interpreter) -> None:
    """A prefetch whose metadata request fails (every retry) leaves no trace: the resolver fetches
    the file again itself and resolves as without the prefetch."""
    from packaging.specifiers import SpecifierSet

    from monotrail.builds.builder import Builds
    from monotrail.resolve.resolver import Provider, _resolve_with, parse_requirement
    from monotrail.store.index import IndexClient

    publish(index, wheels, "app", "1.0", "lib")
    publish(index, wheels, "lib", "1.0")
    index.state.failures["/files/lib-1.0-py3-none-any.whl.metadata"] = [500, 500, 500]
    client = IndexClient(Sources((f"{index.url}/simple",)), tmp_path / "root")
    provider = Provider(client, interpreter, tmp_path / "root", builder=Builds())
    try:
        provider._prefetch_one("lib", SpecifierSet(), frozenset())  # in this thread: done when it returns
        assert len(index.requests("/files/lib-1.0-py3-none-any.whl.metadata")) == 3
        resolution = _resolve_with(provider, {"": [parse_requirement("app", "test")]}, "test")
    finally:
        client.close()
    assert {p.name: p.version for p in resolution.packages} == {"app": "1.0", "lib": "1.0"}
    assert len(index.requests("/files/lib-1.0-py3-none-any.whl.metadata")) == 4


def test_a_one_interpreter_resolution_downloads_small_wheels_whole(index, wheels, tmp_path, interpreter) -> None:
    """`resolve` (scripts, --with, x: installed right after) downloads a wheel whose size the page
    gives whole, once, into the downloads cache, so the install asks the index for nothing; a
    project's lock (`resolve_targets`) reads metadata only."""
    from monotrail.resolve.resolver import resolve_targets
    from monotrail.selection import Selected
    from monotrail.store.entries import ensure_installed
    from monotrail.store.download import downloaded_path

    artifacts = {}
    for name, requires in (("app", ("lib",)), ("lib", ())):
        wheel = build_wheel(wheels, name, "1.0", {f"{name}.py": ""}, requires=requires)
        artifacts[name] = index.add(wheel, size=True)
    root = tmp_path / "root"
    assert pins(index, interpreter, root, {"": ["app"]}) == {"app": "1.0", "lib": "1.0"}
    assert not [p for p in index.requests("") if p.endswith(".metadata") or p.startswith("range")]
    for name, artifact in artifacts.items():
        assert downloaded_path(root, artifact.sha256).is_file()
        assert index.requests(f"/files/{name}-1.0-py3-none-any.whl") == [f"/files/{name}-1.0-py3-none-any.whl"]
    before = len(index.requests(""))
    selected = [Selected(name, "1.0", artifact, f"{index.url}/simple", None) for name, artifact in artifacts.items()]
    ensure_installed(selected, Sources((f"{index.url}/simple",)), root, progress=False)
    assert len(index.requests("")) == before

    other = tmp_path / "other-root"
    resolve_targets({"": ["app"]}, [interpreter], Sources((f"{index.url}/simple",)), other, where="test",
                    build_interpreter=lambda: interpreter)
    assert not (other / "downloads").exists()


def test_pages_fetched_before_resolving_are_used_once_and_their_failures_are_not_kept(index, wheels, tmp_path,
                                                                                       interpreter) -> None:
    """`monotrail.resolve.early.start` (run while the interpreter is probed) fetches the root pages; the
    resolution reads them without asking again, and a page whose early fetch failed (every
    retry) is fetched again by the resolver, which resolves as without it."""
    from monotrail.resolve.early import start as start_fetching

    publish(index, wheels, "app", "1.0", "lib")
    publish(index, wheels, "lib", "1.0")
    publish(index, wheels, "other", "1.0")
    index.state.failures["/simple/other/"] = [500, 500, 500]
    sources = Sources((f"{index.url}/simple",))
    early = start_fetching({"": ["app>=1", "other ; python_version >= '3'"]}, sources, tmp_path / "root")
    for future in early.futures.values():
        future.exception()
    resolution = resolve({"": ["app>=1", "other ; python_version >= '3'"]}, interpreter, sources, tmp_path / "root",
                         where="test", early=early)
    assert {p.name: p.version for p in resolution.packages} == {"app": "1.0", "lib": "1.0", "other": "1.0"}
    assert index.requests("/simple/app/") == ["/simple/app/"]
    assert len(index.requests("/simple/other/")) == 4


def test_the_root_wheel_is_downloaded_before_resolving_when_it_is_pure_and_small(index, wheels, tmp_path,
                                                                                   interpreter) -> None:
    """`start_fetching` also downloads the newest admitted version's wheel when it is the
    version's only wheel and pure Python: the resolution reads its metadata from the download and
    asks the index for nothing more about it; a version with platform wheels is left to the
    resolver (which wheel fits needs the interpreter)."""
    from monotrail.resolve.early import start as start_fetching
    from monotrail.store.download import downloaded_path

    app = index.add(build_wheel(wheels, "app", "1.0", {"app.py": ""}), size=True)
    newer = index.add(build_wheel(wheels, "app", "2.0", {"app.py": ""}), size=True)
    native = index.add(build_wheel(wheels, "nat", "1.0", {"nat.py": ""}, tag="cp312-cp312-manylinux_2_17_x86_64"), size=True)
    index.add(build_wheel(wheels, "nat", "1.0", {"nat.py": ""}), size=True)
    sources, root = Sources((f"{index.url}/simple",)), tmp_path / "root"
    early = start_fetching({"": ["app<2", "nat"]}, sources, root)
    for future in early.futures.values():
        future.exception()
    assert downloaded_path(root, app.sha256).is_file() and not downloaded_path(root, newer.sha256).exists()
    assert not downloaded_path(root, native.sha256).exists()
    before = len(index.requests("/files/app-"))
    resolution = resolve({"": ["app<2", "nat"]}, interpreter, sources, root, where="test", early=early)
    assert {p.name: p.version for p in resolution.packages} == {"app": "1.0", "nat": "1.0"}
    assert len(index.requests("/files/app-")) == before


def test_a_marker_is_evaluated_once_per_target(tmp_path, interpreter, monkeypatch) -> None:
    """resolvelib asks for a candidate's dependencies again on every backtrack: the provider
    answers a marker it evaluated from its trace (the same answer, recorded once)."""
    from packaging.markers import Marker

    from monotrail.resolve import resolver
    from monotrail.store.index import IndexClient

    calls = []
    evaluate = resolver._evaluate
    monkeypatch.setattr(resolver, "_evaluate", lambda *args: calls.append(args) or evaluate(*args))
    client = IndexClient(Sources(("http://127.0.0.1:9/simple",)), tmp_path)
    provider = resolver.Provider(client, interpreter, tmp_path)
    marker = Marker("python_version >= '3'")
    assert provider.holds(marker, "") and provider.holds(marker, "", record=False) and provider.holds(marker, "")
    provider.holds(marker, "x")  # another extra is its own question
    assert len(calls) == 2
    provider.close()
