"""Where the store lives: MONOTRAIL_ROOT, else platformdirs.user_cache_dir("monotrail").

Its own tiny module because the warm path needs it and must not import the store's machinery.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def store_root() -> Path:
    """MONOTRAIL_ROOT, else platformdirs.user_cache_dir("monotrail").

    On Linux that is $XDG_CACHE_HOME/monotrail or ~/.cache/monotrail, computed here without
    importing platformdirs (the warm path); elsewhere platformdirs decides.
    """
    explicit = os.environ.get("MONOTRAIL_ROOT")
    if explicit:
        return Path(explicit).expanduser().absolute()
    if sys.platform.startswith("linux"):
        cache = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        return Path(cache) / "monotrail"
    import platformdirs

    return Path(platformdirs.user_cache_dir("monotrail"))
