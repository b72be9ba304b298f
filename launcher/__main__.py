"""`python -m monotrail` and the `monotrail` console script."""

from __future__ import annotations

import sys


def main() -> None:
    from monotrail.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
