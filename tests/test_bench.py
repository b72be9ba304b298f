"""bench/all.py's rewrite of docs/benchmarks.md: the generated block between its markers is
replaced, a `--rows` run's lines merge with the rows already there, the prose stays byte for byte.
No benchmark runs here and no timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bench_all():
    spec = importlib.util.spec_from_file_location("bench_all", REPO / "bench" / "all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


BENCH = _bench_all()
PROSE_BEFORE = "# Benchmarks\n\nSome words *by hand*.\n\n## Every row\n\n"
PROSE_AFTER = "\n\nHow to read them: the prose\n| 1 | a table of our own, outside the markers |\n\n## Older figures\n"


def _block(header: str, rows: dict, commands: dict) -> str:
    return BENCH.rewrite_doc(PROSE_BEFORE + BENCH.BEGIN + "\nold\n" + BENCH.END + PROSE_AFTER, header, rows, commands)


def test_the_block_between_the_markers_is_replaced_and_the_prose_kept() -> None:
    doc = _block("Last run: today", {"1": "| 1 | warm | 10 ms |"}, {"1": "| 1 | `monotrail run` | `python` |"})
    assert doc.startswith(PROSE_BEFORE + BENCH.BEGIN + "\n")
    assert doc.endswith(BENCH.END + PROSE_AFTER)
    assert doc.count(BENCH.BEGIN) == 1 and doc.count(BENCH.END) == 1
    block = doc[len(PROSE_BEFORE): -len(PROSE_AFTER)]
    assert "old" not in block
    assert "Last run: today" in block and "| 1 | warm | 10 ms |" in block and "| 1 | `monotrail run` | `python` |" in block


def test_a_subset_run_replaces_its_rows_and_keeps_the_others_in_order() -> None:
    first = _block("run 1", {"1": "| 1 | warm | 10 ms |", "10a": "| 10a | script | 1 s |", "4": "| 4 | cold | 3 s |"},
                   {"1": "| 1 | a | b |", "4": "| 4 | c | d |"})
    second = BENCH.rewrite_doc(first, "run 2", {"4": "| 4 | cold | 2 s |", "2b": "| 2b | large | 20 ms |"},
                               {"4": "| 4 | e | f |"})
    block = second[len(PROSE_BEFORE): -len(PROSE_AFTER)]
    lines = block.splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| #")]
    assert rows == ["| 1 | warm | 10 ms |", "| 2b | large | 20 ms |", "| 4 | cold | 2 s |", "| 10a | script | 1 s |",
                    "| 1 | a | b |", "| 4 | e | f |"]
    assert "run 2" in block and "run 1" not in block
    failed = BENCH.rewrite_doc(second, "run 3", {"10": "| 10 | row 10 | not measured: failed |"}, {})
    assert "| 10 | row 10 | not measured: failed |" in failed and "| 10a |" not in failed and "| 2b | large" in failed
    assert second.startswith(PROSE_BEFORE) and second.endswith(PROSE_AFTER)


def test_a_page_without_markers_gets_the_block_after_its_title() -> None:
    page = "# Benchmarks\n\n## Running venv-less (issue 3)\n\n| what | a |\n|---|---|\n| 1 | hand-written |\n"
    doc = BENCH.rewrite_doc(page, "Last run", {"1": "| 1 | warm | 10 ms |"}, {})
    assert doc.startswith("# Benchmarks\n\n" + BENCH.SECTION + "\n\n" + BENCH.BEGIN)
    assert doc.endswith(BENCH.END + "\n\n" + page.split("\n", 1)[1].lstrip("\n"))
    assert "| 1 | hand-written |" in doc.split(BENCH.END)[1]
    again = BENCH.rewrite_doc(doc, "Last run", {"1": "| 1 | warm | 11 ms |"}, {})
    assert again.replace("11 ms", "10 ms") == doc
