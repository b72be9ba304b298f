"""Package data: the python shim template rendered by `monotrail shims install`."""
