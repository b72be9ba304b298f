"""Resolution when there is no lock: requirements -> a PEP 751 pylock.toml for one interpreter."""
