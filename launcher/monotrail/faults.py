"""Named crash points for the fault tests: `MONOTRAIL_TEST_CRASH_AT=<name>` kills the process there.

tests/e2e/test_faults.py SIGKILLs an install at each point and checks that the next run succeeds and
`monotrail store verify` is clean. The check is one dict lookup; nothing else lives here.
"""

from __future__ import annotations

import os


def crash_point(name: str) -> None:
    if os.environ.get("MONOTRAIL_TEST_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
