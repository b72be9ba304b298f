"""What the docs say about behaviour, checked where a page can contradict another or the code."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
SDISTS_NOT_BUILT = re.compile(r"\bsdists?\b\W+(?:\w+\W+){0,4}?(?:are|is)\s+(?:not|never)\s+built", re.IGNORECASE)


def test_no_page_says_sdists_are_not_built() -> None:
    """Sdists are built with their PEP 517 backend (docs/how-to/locking.md, "Sdists"); a page
    saying otherwise (venv.md did) contradicts it and the code."""
    said = [f"{page.relative_to(REPO)}: {match.group(0)!r}" for page in PAGES
            for match in SDISTS_NOT_BUILT.finditer(" ".join(page.read_text("utf-8").split()))]
    assert said == []


def test_pages_that_mention_sdist_builds_point_to_the_one_description() -> None:
    locking = (REPO / "docs" / "how-to" / "locking.md").read_text("utf-8")
    assert "\n## Sdists\n" in locking and "PEP 517" in locking
    for page in ("venv.md",):
        assert '(locking.md), "Sdists"' in (REPO / "docs" / "how-to" / page).read_text("utf-8"), page
