"""An environment: the key, the venv without packages around a manifest, and the install into it."""
