"""monotrail: run Python code with the exact dependencies of a lockfile, no virtualenv.

This module stays import-light on purpose: `monotrail run` imports it on the warm path.
"""

__version__ = "0.1.0"
