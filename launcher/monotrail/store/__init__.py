"""The store: index client, downloads, wheel unpacking, direct references and the entries on disk."""
