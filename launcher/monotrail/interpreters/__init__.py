"""Which Python: the request (`+3.12`, `.python-version`, a path), discovery, and probed facts."""
