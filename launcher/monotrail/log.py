"""Debug logging: MONOTRAIL_LOG=debug says what was decided and why, with timings.

Plain stderr writes instead of `logging`: this runs on the warm path, where importing
`logging` would cost more than everything else the launcher does.
"""

from __future__ import annotations

import os
import sys
import time

_START = time.perf_counter()
DEBUG = os.environ.get("MONOTRAIL_LOG", "").lower() == "debug"


def debug(message: str) -> None:
    if DEBUG:
        elapsed_ms = (time.perf_counter() - _START) * 1000
        sys.stderr.write(f"monotrail [{elapsed_ms:7.1f} ms] {message}\n")


def info(message: str, quiet: bool = False) -> None:
    """A line for the user on stderr (never stdout: stdout belongs to the program we run)."""
    if not quiet:
        sys.stderr.write(f"{message}\n")
