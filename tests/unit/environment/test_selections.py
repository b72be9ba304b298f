"""Selections kept by the lock's content (`monotrail.environment.selections`): a lock is read and
selected once per request and interpreter; changed bytes are never answered from the cache, and
what depends on more than the bytes is not kept."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monotrail import lock as lock_stage
from monotrail.environment.install import _selection
from monotrail.environment.spec import EnvironmentSpec
from monotrail.interpreters.discovery import Interpreter

A, B, C = "a" * 64, "b" * 64, "c" * 64


def interpreter(minor: int = 12) -> Interpreter:
    markers = {
        "implementation_name": "cpython", "implementation_version": f"3.{minor}.1", "os_name": "posix",
        "platform_machine": "x86_64", "platform_python_implementation": "CPython", "platform_release": "6.1.0",
        "platform_system": "Linux", "platform_version": "#1", "python_full_version": f"3.{minor}.1",
        "python_version": f"3.{minor}", "sys_platform": "linux",
    }
    tags = (f"cp3{minor}-cp3{minor}-manylinux_2_17_x86_64", f"cp3{minor}-none-any", "py3-none-any")
    return Interpreter(path=f"/usr/bin/python3.{minor}", mtime=0.0, version=(3, minor, 1), implementation="cpython",
                       free_threaded=False, markers=markers, tags=tags, ext_suffixes=(".so",), stdlib="", platstdlib="")


def project(directory: Path, requirements: str, pyproject: str | None = "[project]\nname = 'app'\nversion = '1'\n") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if pyproject is not None:
        (directory / "pyproject.toml").write_text(pyproject)
    path = directory / "requirements.txt"
    path.write_text(textwrap.dedent(requirements).lstrip())
    return path


REQUIREMENTS = f"""
    six==1.16.0 --hash=sha256:{A} --hash=sha256:{B}
    old==1.0 ; python_version < "3.10" --hash=sha256:{C}
"""


class Reads:
    """Counts the lock reads of the stage that reads locks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = lock_stage.read_lock

        def counting(path, root=None):  # noqa: ANN001, ANN202
            self.count += 1
            return real(path, root)

        monkeypatch.setattr(lock_stage, "read_lock", counting)


def select(root: Path, lock_path: Path, minor: int = 12) -> tuple:
    _, found, selected = _selection(EnvironmentSpec(), lock_path, root, lambda requires_python: interpreter(minor))
    assert found.version[1] == minor
    return tuple((item.name, item.version, item.artifact.hashes if item.artifact else None, item.tags) for item in selected)


def test_a_second_project_with_the_same_lock_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(monkeypatch)
    root = tmp_path / "root"
    first = select(root, project(tmp_path / "one", REQUIREMENTS))
    assert reads.count == 1
    second = select(root, project(tmp_path / "two", REQUIREMENTS))
    assert (second, reads.count) == (first, 1)
    assert [name for name, *_ in second] == ["six"]
    assert second[0][2] == (("sha256", A), ("sha256", B)) and second[0][3] == interpreter().tags


def test_another_interpreter_or_request_is_selected_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(monkeypatch)
    root = tmp_path / "root"
    lock_path = project(tmp_path / "one", REQUIREMENTS)
    select(root, lock_path)
    assert [name for name, *_ in select(root, lock_path, minor=9)] == ["old", "six"]
    assert reads.count == 2
    select(root, lock_path, minor=9)
    assert reads.count == 2


@pytest.mark.parametrize("change", ["lock", "pyproject"])
def test_changed_bytes_are_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    reads = Reads(monkeypatch)
    root = tmp_path / "root"
    lock_path = project(tmp_path / "one", REQUIREMENTS)
    select(root, lock_path)
    if change == "lock":
        lock_path.write_text(lock_path.read_text().replace("1.16.0", "1.17.0"))
    else:
        (lock_path.parent / "pyproject.toml").write_text("[project]\nname = 'app'\nversion = '2'\n")
    again = select(root, lock_path)
    assert reads.count == 2
    assert again[0][1] == ("1.17.0" if change == "lock" else "1.16.0")


@pytest.mark.parametrize("edit", [
    lambda text: text + "# a copy of the project\n",
    lambda text: text.replace("[project]\n", "[project]\ndescription = 'the app'\n") + "[tool.ruff]\nline-length = 99\n",
], ids=["comment", "description and another tool"])
def test_a_pyproject_edit_no_reader_reads_keeps_the_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                edit) -> None:
    """A project copied and its pyproject.toml edited where no lock reader looks (a comment, the
    description, `[tool.ruff]`): the selection is not made again; what a reader reads is
    (test_changed_bytes_are_read_again)."""
    reads = Reads(monkeypatch)
    root = tmp_path / "root"
    first = select(root, project(tmp_path / "one", REQUIREMENTS))
    second_lock = project(tmp_path / "two", REQUIREMENTS)
    pyproject = second_lock.parent / "pyproject.toml"
    pyproject.write_text(edit(pyproject.read_text()))
    assert (select(root, second_lock), reads.count) == (first, 1)
    pyproject.write_text(pyproject.read_text().replace("version = '1'", "version = '1'\ndependencies = ['six']"))
    select(root, second_lock)
    assert reads.count == 2


@pytest.mark.parametrize(
    ("requirements", "pyproject"),
    [
        (f"-r other.txt\nsix==1.16.0 --hash=sha256:{A}\n", None),  # another file decides too
        (f"six==1.16.0 --hash=sha256:{A}\n-e ./lib\n", None),  # a path on this disk
        (f"six==1.16.0 --hash=sha256:{A}\n",  # poetry decides "package" by looking for the code
         "[project]\nname = 'app'\nversion = '1'\n[build-system]\nbuild-backend = 'poetry.core.masonry.api'\n"),
    ],
    ids=["include", "editable path", "poetry project"],
)
def test_what_more_than_the_bytes_decide_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     requirements: str, pyproject: str | None) -> None:
    reads = Reads(monkeypatch)
    root = tmp_path / "root"
    lock_path = project(tmp_path / "one", requirements, pyproject)
    (lock_path.parent / "other.txt").write_text(f"old==1.0 --hash=sha256:{C}\n")
    (lock_path.parent / "lib").mkdir()
    (lock_path.parent / "lib" / "pyproject.toml").write_text("[project]\nname = 'lib'\nversion = '1'\n[build-system]\n")
    select(root, lock_path)
    select(root, lock_path)
    assert reads.count == 2
    assert not list(root.glob("cache/selections/*/*.json"))


def test_a_torn_cache_file_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(monkeypatch)
    root = tmp_path / "root"
    lock_path = project(tmp_path / "one", REQUIREMENTS)
    first = select(root, lock_path)
    for kept in (root / "cache" / "selections").glob("*/*.json"):
        kept.write_text(kept.read_text()[:20])
    assert select(root, lock_path) == first
    assert reads.count == 2


def test_a_sibling_lock_standing_in_is_not_kept_under_the_first_locks_key(tmp_path: Path) -> None:
    """A pylock.toml without the requested extra, beside a lock that has it: the sibling's
    selection is used (as before), and never answered later as the first lock's."""
    directory = tmp_path / "one"
    directory.mkdir()
    wheel = f'wheels = [{{ url = "https://files.example/six-1.16.0-py3-none-any.whl", hashes = {{ sha256 = "{A}" }} }}]'
    (directory / "pylock.toml").write_text(f'lock-version = "1.0"\ncreated-by = "t"\n\n[[packages]]\nname = "six"\n'
                                           f'version = "1.16.0"\n{wheel}\n')
    (directory / "pylock.extra.toml").write_text(
        f'lock-version = "1.0"\ncreated-by = "t"\nextras = ["x"]\n\n[[packages]]\nname = "six"\nversion = "1.16.0"\n{wheel}\n\n'
        f'[[packages]]\nname = "tool"\nversion = "1.0"\nmarker = "\'x\' in extras"\n'
        f'wheels = [{{ url = "https://files.example/tool-1.0-py3-none-any.whl", hashes = {{ sha256 = "{B}" }} }}]\n'
    )
    root = tmp_path / "root"
    names = lambda spec: [item.name for item in _selection(spec, directory / "pylock.toml", root, lambda rp: interpreter())[2]]  # noqa: E731
    assert names(EnvironmentSpec()) == ["six"]
    for _ in range(2):
        assert names(EnvironmentSpec(extras=("x",))) == ["six", "tool"]
    assert names(EnvironmentSpec()) == ["six"]


def test_the_requested_pythons_are_probed_while_the_lock_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe starts before the lock's parse and is waited for before the interpreter is
    found; a lock whose selection is kept (no parse) starts none."""
    events: list[str] = []
    real = lock_stage.read_lock

    def reading(path, root=None):  # noqa: ANN001, ANN202
        events.append("parse")
        return real(path, root)

    monkeypatch.setattr(lock_stage, "read_lock", reading)

    def prefetch():  # noqa: ANN202
        events.append("probe started")
        return lambda: events.append("probe waited for")

    def find(requires_python):  # noqa: ANN001, ANN202
        events.append("find")
        return interpreter()

    root, lock_path = tmp_path / "root", project(tmp_path / "one", REQUIREMENTS)
    _selection(EnvironmentSpec(), lock_path, root, find, prefetch)
    assert events == ["probe started", "parse", "probe waited for", "find"]
    events.clear()
    _selection(EnvironmentSpec(), project(tmp_path / "two", REQUIREMENTS), root, find, prefetch)
    assert events == ["find"]
