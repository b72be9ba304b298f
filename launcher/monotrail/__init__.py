"""monotrail: run Python code with the exact dependencies of a lockfile, no virtualenv.

This module stays import-light on purpose: `monotrail run` imports it on the warm path. It holds
the two facts every stage may need: the version, and where the store lives (`store_root`:
MONOTRAIL_ROOT, else platformdirs.user_cache_dir("monotrail"); paths are `str` here, importing
pathlib would cost the warm path several milliseconds).
"""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"


def store_root() -> str:
    """On Linux, platformdirs' answer ($XDG_CACHE_HOME/monotrail or ~/.cache/monotrail) is
    computed here without importing platformdirs; elsewhere platformdirs decides."""
    explicit = os.environ.get("MONOTRAIL_ROOT")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    if sys.platform.startswith("linux"):
        cache = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        return os.path.join(cache, "monotrail")
    import platformdirs

    return platformdirs.user_cache_dir("monotrail")
