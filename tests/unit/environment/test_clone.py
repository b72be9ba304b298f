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
    lock = str(world["lock"])
    key = clone.recipe_key(lock, "file:3.12", spec)
    assert clone.recipe_key(lock, "file:3.12", SimpleNamespace(**{**vars(spec), "extras": ["a", "b"]})) == key
    assert clone.recipe_key(lock, "file:3.11", spec) != key
    assert clone.recipe_key(lock, "file:3.12", SimpleNamespace(**{**vars(spec), "groups": ("dev",)})) != key
    monkeypatch.setenv("PYENV_ROOT", "/elsewhere")
    assert clone.recipe_key(lock, "file:3.12", spec) != key
    monkeypatch.delenv("PYENV_ROOT")
    (world["lock"].parent / "pyproject.toml").write_text("[project]\n")
    assert clone.recipe_key(lock, "file:3.12", spec) != key


def test_a_source_that_changes_while_it_is_copied_is_a_miss(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    real = clone._copy_tree

    def copy_then_remove(*args, **kwargs):
        real(*args, **kwargs)
        world["record"].unlink()  # what a store repair or a replaced environment would look like

    monkeypatch.setattr(clone, "_copy_tree", copy_then_remove)
    launch, target = copy(world)
    assert launch is None and not target.exists()
    assert not list((world["root"] / "tmp").iterdir())
