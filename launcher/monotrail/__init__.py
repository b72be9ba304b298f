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


def new_sha256():  # -> a hashlib-style sha256 object
    """hashlib.sha256() without importing hashlib when the interpreter has the builtin module.

    `import hashlib` loads OpenSSL (several ms); the builtin `_sha2` (3.12+) / `_sha256`
    (3.9-3.11) computes the same digest and imports in a fraction of that. Fall back to hashlib
    where neither exists. Here, in the package root, because the warm path and every stage use it.

    The constructor is looked up once per process: a failed import is not remembered in
    sys.modules, so on 3.9-3.11 every call searched sys.path for `_sha2` again (~0.1 ms each, a
    dozen calls on a new environment's run).
    """
    global _sha256_constructor
    if _sha256_constructor is None:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]
        except ImportError:
            try:
                from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
            except ImportError:
                from hashlib import sha256
        _sha256_constructor = sha256
    return _sha256_constructor()


_sha256_constructor = None  # new_sha256's, once found


def sha256_hex(data: bytes) -> str:
    """hashlib.sha256(data).hexdigest(), through `new_sha256`."""
    digest = new_sha256()
    digest.update(data)
    return digest.hexdigest()

