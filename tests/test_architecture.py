"""The package's shape, checked: data flows one way through the stages of docs/architecture.md.

Every module of `launcher/monotrail` is parsed (imports inside functions included: the lazy
imports that keep the warm path light are imports all the same) and must
- import only from its own stage or earlier ones, in the order of the stage table in
  docs/architecture.md (written once, read here);
- take part in no import cycle, even inside one stage;
- import no `_private` name of another module: each module says what it offers in `__all__`
  or by naming it without an underscore.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "launcher" / "monotrail"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["monotrail", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _stages() -> list[tuple[str, ...]]:
    """The stage table of docs/architecture.md: one row per stage, earliest first; the second
    column lists the modules and packages of that stage as `monotrail.x` in backticks."""
    text = (REPO / "docs" / "architecture.md").read_text("utf-8")
    table = text.split("<!-- stages -->")[1]
    rows = [line for line in table.splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    return [tuple(re.findall(r"`(monotrail[\w.]*)`", row.split("|")[3])) for row in rows]


STAGES = _stages()


def _stage(module: str) -> int:
    best, found = -1, -1
    for number, names in enumerate(STAGES):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), number
    return found


def _imports(module: str, path: Path) -> list[tuple[int, str, str]]:
    """(line, imported module, imported name or "") for every import of the package's own code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:
                    found.append((node.lineno, submodule, ""))
                else:
                    found.append((node.lineno, base, alias.name))
    return [(line, target, name) for line, target, name in found if target.split(".")[0] == "monotrail"]


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_the_stage_table_names_every_module() -> None:
    assert STAGES, "docs/architecture.md lost its stage table"
    unplaced = [module for module in MODULES if _stage(module) < 0]
    assert unplaced == []
    named = {name for names in STAGES for name in names}
    assert sorted(name for name in named if name not in MODULES) == []


def test_imports_follow_the_stage_order() -> None:
    against = [f"{module}:{line} imports {target} (stage {_stage(target)} > {_stage(module)})"
               for module, imports in GRAPH.items() for line, target, _ in imports
               if target in MODULES and _stage(target) > _stage(module)]
    assert against == []


def test_no_import_cycle() -> None:
    edges = {module: sorted({t for _, t, _ in imports if t in MODULES and t != module}) for module, imports in GRAPH.items()}
    edges = {m: [t for t in ts if not (m.startswith(t + ".") and t == "monotrail")] for m, ts in edges.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for target in edges[module]:
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[module] = 2

    for module in edges:
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_no_private_name_of_another_module() -> None:
    private = [f"{module}:{line} imports {target}.{name}" for module, imports in GRAPH.items()
               for line, target, name in imports
               if name.startswith("_") and not name.startswith("__") and target != module]
    assert private == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_import_names_a_module_of_the_package(module: str) -> None:
    """An import of `monotrail.x` resolves to a file under launcher/monotrail (no remapping)."""
    missing = [f"{line}: {target}" for line, target, _ in GRAPH[module] if target not in MODULES]
    assert missing == []


def test_the_front_door_reads_the_warm_entries_this_monotrail_writes() -> None:
    """shims/monotrail is bash and cannot import the formats: it carries the header line of the
    entries it trusts (warm entry format and environment format), and must carry exactly the one
    the launcher writes, or every run goes the slow way (older) or execs an environment of another
    format (newer)."""
    from monotrail.environment import ENV_FORMAT, WARM_FORMAT, entry_header

    door = (REPO / "shims" / "monotrail").read_text("utf-8")
    [line] = re.findall(r'^\[ "\$mt_header" = "(.*)" \] \|\| slow "\$@"$', door, re.MULTILINE)
    assert line == entry_header()
    assert f"warm entry {WARM_FORMAT}," in line and f"environment format {ENV_FORMAT}:" in line
