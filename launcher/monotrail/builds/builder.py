"""The builder the stages below are handed: what they need built, the builds stage does.

The store meets sdists and source trees, the resolver needs their metadata, an environment needs
its editable projects as wheels; a build in turn needs an environment of its build requirements,
resolved and installed. Rather than the store and the resolver importing the builds (a cycle
through every stage), the command that starts the work passes `Builds()` down, and the builds
pass it on to the environments they make.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Sequence

if TYPE_CHECKING:
    from monotrail.lock.model import Artifact
    from monotrail.store import direct

__all__ = ["Builds"]

# The builds are imported when something is built: every cold run is handed a `Builds()`, and
# importing them (pyproject-hooks, urllib.request, installer's writers) cost a second project's
# first run about 70 ms of its ~200 (`-X importtime`, 2026-11-29) when nothing needed building.


class Builds:
    """`monotrail.environment.install.EnvironmentBuilder` (and so `monotrail.store.entries.Builder`)."""

    def sdist_wheel(self, sdist: Path, artifact: Artifact, interpreter: Any, sources: Any, root: Path,
                    building: tuple[str, ...] = ()) -> Path:
        from monotrail.builds.sdist import built_wheel

        return built_wheel(sdist, artifact, interpreter, sources, root, building, self)

    def source_wheel(self, ref: direct.DirectRef, name: str, interpreter: Any, sources: Any, root: Path,
                     building: tuple[str, ...] = ()) -> Path:
        from monotrail.builds.sdist import built_tree_wheel
        from monotrail.store import direct

        def build_tree(tree: Path, key: str, label: str) -> Path:
            return built_tree_wheel(tree, key, label, interpreter, sources, root, building, self)

        return direct.built_wheel(ref, name, interpreter, sources, root, build_tree)

    def editables(self, selected: Sequence[Any], interpreter: Any, sources: Any, root: Path,
                  building: tuple[str, ...] = (), quiet: bool = False) -> tuple[list[Any], list[tuple[str, str]]]:
        if not any(item.editable is not None for item in selected):
            return list(selected), []
        from monotrail.builds.editable import resolve_editables

        return resolve_editables(selected, interpreter, sources, root, building, quiet, builder=self)
