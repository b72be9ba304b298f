"""Where the store lives: MONOTRAIL_ROOT, else platformdirs.user_cache_dir("monotrail").

Its own tiny module because the warm path needs it and must not import the store's machinery.
Paths are `str` here: importing pathlib would cost the warm path several milliseconds.
"""

from __future__ import annotations

import os
import sys


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
