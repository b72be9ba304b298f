"""Ships `_monotrail_finder.py`, the stdlib-only hook copied into each environment's site-packages."""
