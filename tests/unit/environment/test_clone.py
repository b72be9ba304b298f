"""A second environment of a recipe copied from the first (monotrail.environment.clone): used only
while everything that decided the first still holds."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from monotrail.environment import clone
from monotrail.interpreters import choices


def settled(path: Path) -> None:
    past = time.time() - 60
    os.utime(path, (past, past))


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """An environment `envs/<source>` of a recipe, its interpreter choice watching `pythons/`."""
    root, pythons = tmp_path / "root", tmp_path / "pythons"
    pythons.mkdir()
    settled(pythons)
    python = os.path.realpath(sys.executable)
    record = tmp_path / "store" / "pkg" / "RECORD"
    record.parent.mkdir(parents=True)
    record.write_text("")
    hook = tmp_path / "hook.py"
    hook.write_text("")
    source = root / "envs" / ("a" * 24)
    (source / "bin").mkdir(parents=True)
    (source / "pids").mkdir()
    (source / "pids" / "123").write_text("")
    (source / "bin" / "tool").write_text(f"#!{source}/bin/python\n")
    os.symlink(python, source / "bin" / "python")
    (source / "launch").write_text(f"{python}\n{os.stat(python).st_mtime!r}\n{hook}\n{record}\n")
    choices.remember_choice(str(root), "c" * 32, python, "PATH", choices.watch_states([str(pythons)]))
    clone.remember_recipe(str(root), "r" * 32, str(source), "c" * 32)
    lock = tmp_path / "project" / "uv.lock"
    lock.parent.mkdir()
    lock.write_text("version = 1\n")
    return {"root": root, "source": source, "pythons": pythons, "record": record, "lock": lock}


def copy(world: dict):
    target = world["root"] / "envs" / ("b" * 24)
    return clone.clone_environment(str(world["root"]), "r" * 32, str(target), str(world["lock"])), target


def test_the_copy_names_itself_and_its_lock(world: dict) -> None:
    launch, target = copy(world)
    assert launch is not None and launch.env_dir == str(target)
    assert (target / "bin" / "tool").read_text() == f"#!{target}/bin/python\n"
    assert os.readlink(target / "bin" / "python") == os.path.realpath(sys.executable)
    assert (target / "lock").read_text().splitlines()[0] == str(world["lock"])
    assert list((target / "pids").iterdir()) == []
    assert not list((world["root"] / "tmp").iterdir())


def test_the_hooks_bytecode_stays_valid_in_the_copy(world: dict) -> None:
    """The hook keeps its bytes and mtime and its pyc is copied: the copy's first start does not
    compile it again (an interpreter's temp pyc being written is left out)."""
    lib = world["source"] / "lib" / "python3.12" / "site-packages"
    (lib / "__pycache__").mkdir(parents=True)
    (lib / "_monotrail_finder.py").write_text("X = 1\n")
    os.utime(lib / "_monotrail_finder.py", ns=(1_000_000_000, 1_000_000_000))
    (lib / "__pycache__" / "_monotrail_finder.cpython-312.pyc").write_bytes(b"pyc" + str(world["source"]).encode())
    (lib / "__pycache__" / "_monotrail_finder.cpython-312.pyc.1234").write_bytes(b"half")
    (lib / "_monotrail.pth").write_text(f"import _monotrail_finder; _monotrail_finder.activate('{world['source']}')\n")
    launch, target = copy(world)
    copied = target / "lib" / "python3.12" / "site-packages"
    assert os.stat(copied / "_monotrail_finder.py").st_mtime_ns == 1_000_000_000
    assert os.listdir(copied / "__pycache__") == ["_monotrail_finder.cpython-312.pyc"]
    assert (copied / "__pycache__" / "_monotrail_finder.cpython-312.pyc").read_bytes() == (
        lib / "__pycache__" / "_monotrail_finder.cpython-312.pyc").read_bytes()
    assert (copied / "_monotrail.pth").read_text() == f"import _monotrail_finder; _monotrail_finder.activate('{target}')\n"


def test_a_new_python_where_the_choice_looked_is_a_miss(world: dict) -> None:
    (world["pythons"] / "python3.99").write_text("")
    launch, target = copy(world)
    assert launch is None and not target.exists()


def test_a_store_entry_gone_is_a_miss(world: dict) -> None:
    world["record"].unlink()
    assert copy(world)[0] is None


def test_no_recipe_or_a_torn_one_is_a_miss(world: dict) -> None:
    recipe = world["root"] / "cache" / "recipes" / ("r" * 32)
    recipe.write_text("")
    assert copy(world)[0] is None
    recipe.unlink()
    assert copy(world)[0] is None


def test_the_recipe_key_changes_with_what_decides_the_environment(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    spec = SimpleNamespace(lock=None, extras=("b", "a"), all_extras=False, groups=(), no_default_groups=False,
                           index_url=None, extra_index_urls=(), find_links=(), offline=False)
    lock, root = str(world["lock"]), str(world["root"])
    key = clone.recipe_key(root, lock, "file:3.12", spec)
    assert clone.recipe_key(root, lock, "file:3.12", SimpleNamespace(**{**vars(spec), "extras": ["a", "b"]})) == key
    assert clone.recipe_key(root, lock, "file:3.11", spec) != key
    assert clone.recipe_key(root, lock, "file:3.12", SimpleNamespace(**{**vars(spec), "groups": ("dev",)})) != key
    monkeypatch.setenv("PYENV_ROOT", "/elsewhere")
    assert clone.recipe_key(root, lock, "file:3.12", spec) != key
    monkeypatch.delenv("PYENV_ROOT")
    (world["lock"].parent / "pyproject.toml").write_text("[project]\n")
    assert clone.recipe_key(root, lock, "file:3.12", spec) != key
    world["lock"].write_text("version = 2\n")
    assert clone.recipe_key(root, lock, "file:3.12", spec) != key


PYPROJECT = """\
# the project
[project]
name = "app"
version = "1"
description = "An app"
requires-python = ">=3.9"
dependencies = [
    # the web part
    "six",
]

[tool.uv]
default-groups = ["dev"]

[tool.ruff]
line-length = 100
"""


@pytest.mark.parametrize(("edit", "same"), [
    (lambda text: text + "\n# another copy of the project\n", True),
    (lambda text: text.replace("    # the web part\n", ""), True),
    (lambda text: text.replace('"An app"', '"Another description"'), True),
    (lambda text: text.replace("line-length = 100", "line-length = 88\nselect = ['E']"), True),
    (lambda text: text.replace('name = "app"\nversion = "1"', 'version = "1"\nname = "app"'), True),
    (lambda text: text.replace('"six",', '"six",\n    "attrs",'), False),
    (lambda text: text.replace('version = "1"', 'version = "2"'), False),
    (lambda text: text.replace('">=3.9"', '">=3.10"'), False),
    (lambda text: text.replace('["dev"]', '["dev", "test"]'), False),
    (lambda text: text + "\n[tool.poetry]\npackage-mode = false\n", False),
    (lambda text: text + "\n[build-system]\nrequires = []\n", False),
    (lambda text: text + "\n[dependency-groups]\ndev = ['pytest']\n", False),
    (lambda text: text.replace("[project]", "[project"), False),  # broken: reading it reports the error
], ids=["comment added", "comment removed", "description", "another tool", "key order",
        "dependency", "version", "requires-python", "uv default-groups", "poetry package-mode", "build-system",
        "dependency-groups", "invalid"])
def test_the_pyproject_counts_by_what_the_lock_readers_read_of_it(tmp_path: Path, edit, same: bool) -> None:
    """A copied project with a comment, description or other tool's table edited finds the
    first one's recipe and selection; any change to what a reader reads is another key."""
    root, project = str(tmp_path / "root"), tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    first = clone.pyproject_key(root, str(project))
    (project / "pyproject.toml").write_text(edit(PYPROJECT))
    assert (clone.pyproject_key(root, str(project)) == first) is same
    (project / "pyproject.toml").unlink()
    assert clone.pyproject_key(root, str(project)) == "-"


def test_a_pyproject_differing_only_by_comments_is_not_parsed_again(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from monotrail.lock import pyproject_view

    root, project = str(tmp_path / "root"), tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    first = clone.pyproject_key(root, str(project))

    def parse(data: bytes) -> str:
        raise AssertionError("parsed again")

    monkeypatch.setattr(pyproject_view, "view_digest", parse)
    (project / "pyproject.toml").write_text("# a copy\n\n" + PYPROJECT + "   \n# end\n")
    assert clone.pyproject_key(root, str(project)) == first
    for kept in (tmp_path / "root" / "cache" / "pyprojects").iterdir():
        kept.write_text("torn")  # a torn cache file is a miss: parsed again
    with pytest.raises(AssertionError, match="parsed again"):
        clone.pyproject_key(root, str(project))


@pytest.mark.parametrize("text", [
    'description = """\n# not a comment\n"""\n',  # a `#` line inside a multi-line string is content
    "name = 'a'\n#\x01 control character: an invalid file\n",
    "name = 'a'\n# \xff not UTF-8: an invalid file\n",
], ids=["multi-line string", "control character", "not utf-8"])
def test_only_true_comment_lines_are_left_out_of_the_text_key(tmp_path: Path, text: str) -> None:
    stripped = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    data = text.encode("latin-1" if "\xff" in text else "utf-8")
    assert clone._text_key(data, "1") != clone._text_key(stripped.encode(), "1")


def test_a_source_that_changes_while_it_is_copied_is_a_miss(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    real = clone._copy_tree

    def copy_then_remove(*args, **kwargs):
        real(*args, **kwargs)
        world["record"].unlink()  # what a store repair or a replaced environment would look like

    monkeypatch.setattr(clone, "_copy_tree", copy_then_remove)
    launch, target = copy(world)
    assert launch is None and not target.exists()
    assert not list((world["root"] / "tmp").iterdir())
