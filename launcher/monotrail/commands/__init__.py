"""One module per `monotrail` command: each takes parsed options and returns an exit code."""
