"""What an environment is made of besides its lock and its interpreter, said once for every caller.

`monotrail run` fills it from its command line (`monotrail.cli.RunRequest.environment_spec`), a
build environment from the build requirements' lock: the install below the CLI never sees argv.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EnvironmentSpec"]


@dataclass(frozen=True)
class EnvironmentSpec:
    """The options that decide an environment besides its lock and interpreter, and how loudly
    to make it."""

    lock: str | None = None  # the lock the user named (`--lock`): no sibling lock stands in for it
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    no_default_groups: bool = False
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False
    quiet: bool = False
    verbose: bool = False
