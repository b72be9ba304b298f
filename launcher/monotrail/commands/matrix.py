"""Several Pythons at once, tox-like: `monotrail -p 3.8 -p 3.12 run -m pytest`.

Each request runs as its own child `python -m monotrail +REQ ...`, so each gets the full single-
interpreter path (its own interpreter, selection of the same lock, environment and warm entry)
and nothing here duplicates it. The children share the terminal; a summary line per request
follows on stderr (stdout belongs to the program).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def run_each(requests: Sequence[str], argv: Sequence[str]) -> int:
    """Run `argv` (`run ...` or `SCRIPT ...`) once per request; 0 only when every run exited 0."""
    results: list[tuple[str, int]] = []
    for request in requests:
        sys.stderr.write(f"monotrail: +{request} {' '.join(argv)}\n")
        sys.stderr.flush()
        try:
            code = subprocess.call([sys.executable, "-m", "monotrail", f"+{request}", *argv])
        except KeyboardInterrupt:
            results.append((request, 130))
            break
        results.append((request, code))
    for request, code in results:
        sys.stderr.write(f"{request}: {summary(code)}\n")
    skipped = requests[len(results):]
    for request in skipped:
        sys.stderr.write(f"{request}: not run (interrupted)\n")
    return 0 if all(code == 0 for _, code in results) and not skipped else 1


def summary(code: int) -> str:
    """`ok`, `failed (exit 1)`, `killed by signal 9` (subprocess reports a signal as -N)."""
    if code == 0:
        return "ok"
    if code < 0:
        return f"failed (killed by signal {-code})"
    return f"failed (exit {code})"
