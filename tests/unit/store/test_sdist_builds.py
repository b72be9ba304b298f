"""The store's entries of wheels built from sdists: one per tag set of the builds, each used by the
interpreters whose tags fit it (docs/how-to/locking.md, "Sdists").

In-process, with a builder that stands in for the PEP 517 build (`monotrail.builds`, checked end
to end in tests/e2e/test_lock_shapes.py): it writes a wheel tagged with the interpreter's best tag
and counts its builds. No network: the sdist is a local file.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from index_fixtures import Selected, build_wheel, sha256_of
from monotrail.errors import IndexError_
from monotrail.lock.model import Artifact
from monotrail.store.entries import StoreEntry, ensure_installed
from monotrail.store.index import Sources

CP38 = ("cp38-cp38-linux_x86_64", "cp38-abi3-linux_x86_64", "py38-none-any", "py3-none-any")
CP312 = ("cp312-cp312-linux_x86_64", "cp312-abi3-linux_x86_64", "py312-none-any", "py3-none-any")


@dataclass(frozen=True)
class FakeInterpreter:
    tags: tuple[str, ...]

    def describe(self) -> str:
        return f"CPython for {self.tags[0]}"


class CountingBuilder:
    """Builds `ext` for the interpreter's best tag (`pure`: py3-none-any); counts the builds."""

    def __init__(self, directory: Path, pure: bool = False) -> None:
        self.directory, self.pure, self.builds = directory, pure, []
        self._lock = threading.Lock()

    def sdist_wheel(self, sdist, artifact, interpreter, sources, root, building=()):
        tag = "py3-none-any" if self.pure else interpreter.tags[0]
        with self._lock:
            self.builds.append(tag)
            out = self.directory / f"build-{len(self.builds)}"
        out.mkdir(parents=True)
        return build_wheel(out, "ext", "1.0", {"ext.py": f"TAG = {tag!r}\n"}, tag=tag)

    def source_wheel(self, *args, **kwargs):  # pragma: no cover - no source trees here
        raise AssertionError("not a source tree")


@pytest.fixture
def sdist(tmp_path: Path) -> Artifact:
    path = tmp_path / "ext-1.0.tar.gz"
    path.write_bytes(b"not read: the builder stands in for the backend")
    return Artifact(path.name, url=path.as_uri(), hashes=(("sha256", sha256_of(path)),))


def install(root: Path, artifact: Artifact, builder: CountingBuilder, tags: tuple[str, ...],
            pin_tags: tuple[str, ...] = ()) -> StoreEntry:
    interpreter = FakeInterpreter(tags)
    [entry] = ensure_installed([Selected("ext", "1.0", artifact, None, None, tags=pin_tags)], Sources(offline=True),
                               root, False, tags=tags, interpreter=interpreter, builder=builder)  # type: ignore[arg-type]
    return entry


def test_each_interpreter_gets_its_own_build_and_finds_it_again(tmp_path: Path, sdist: Artifact) -> None:
    root, builder = tmp_path / "root", CountingBuilder(tmp_path / "builds")
    first = install(root, sdist, builder, CP38)
    other = install(root, sdist, builder, CP312)
    assert builder.builds == ["cp38-cp38-linux_x86_64", "cp312-cp312-linux_x86_64"]
    assert first.path.name == f"{sdist.sha256[:16]}-cp38-cp38-linux_x86_64"
    assert other.path.name == f"{sdist.sha256[:16]}-cp312-cp312-linux_x86_64"
    assert first.meta["sha256"] == other.meta["sha256"] == sdist.sha256  # the hash the lock names
    assert install(root, sdist, builder, CP38) == first and install(root, sdist, builder, CP312) == other
    assert len(builder.builds) == 2


def test_a_pure_build_is_shared(tmp_path: Path, sdist: Artifact) -> None:
    root, builder = tmp_path / "root", CountingBuilder(tmp_path / "builds", pure=True)
    first = install(root, sdist, builder, CP38)
    assert install(root, sdist, builder, CP312) == first and builder.builds == ["py3-none-any"]
    assert first.path.name == f"{sdist.sha256[:16]}-py3-none-any"


def test_a_requirements_pin_of_the_sdist_by_hash_finds_the_build_that_fits(tmp_path: Path, sdist: Artifact) -> None:
    """A pin naming no file, only allowed hashes (the sdist's among them), finds the stored build
    by the sdist's hash, without the index, and only the one whose tags fit."""
    root, builder = tmp_path / "root", CountingBuilder(tmp_path / "builds")
    built = install(root, sdist, builder, CP312)
    pinned = Artifact("", hashes=(("sha256", "3" * 64), ("sha256", sdist.sha256)))
    assert install(root, pinned, builder, CP312, pin_tags=CP312) == built
    with pytest.raises(IndexError_, match="offline"):  # 3.8 finds no fitting build, so it asks the index
        install(root, pinned, builder, CP38, pin_tags=CP38)
    assert len(builder.builds) == 1


def test_an_entry_under_the_sdist_hash_alone_is_used_only_where_it_fits(tmp_path: Path, sdist: Artifact) -> None:
    """What monotrail stored before builds were told apart: `<sha256[:16]>`, a cp38 build."""
    root, builder = tmp_path / "root", CountingBuilder(tmp_path / "builds")
    built = install(root, sdist, builder, CP38)
    older = built.path.with_name(sdist.sha256[:16])
    os.rename(built.path, older)
    assert install(root, sdist, builder, CP38).path == older
    assert install(root, sdist, builder, CP312).path.name.endswith("-cp312-cp312-linux_x86_64")
    assert builder.builds == ["cp38-cp38-linux_x86_64", "cp312-cp312-linux_x86_64"]


def test_concurrent_installs_for_one_interpreter_build_once(tmp_path: Path, sdist: Artifact) -> None:
    """The sdist's artifact lock covers its builds: the second install waits, then finds the entry."""
    root, builder = tmp_path / "root", CountingBuilder(tmp_path / "builds")
    results: list[StoreEntry] = []
    threads = [threading.Thread(target=lambda: results.append(install(root, sdist, builder, CP312))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len({entry.path for entry in results}) == 1
    assert builder.builds == ["cp312-cp312-linux_x86_64"]
