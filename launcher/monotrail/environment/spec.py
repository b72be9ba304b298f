"""What an environment is made of besides its lock and its interpreter, said once for every caller.

`monotrail run` fills it from its command line (`monotrail.cli.RunRequest.environment_spec`), a
build environment from the build requirements' lock: the install below the CLI never sees argv.
"""

from __future__ import annotations

from monotrail.records import Record

__all__ = ["EnvironmentSpec"]


class EnvironmentSpec(Record):
    """The options that decide an environment besides its lock and interpreter, and how loudly
    to make it. A record (`monotrail.records`), not a frozen dataclass: making one cost ~0.7 ms
    of every new environment's run."""

    __slots__ = ("lock", "extras", "all_extras", "groups", "no_default_groups", "index_url", "extra_index_urls",
                 "find_links", "offline", "quiet", "verbose")
    lock: str | None  # the lock the user named (`--lock`): no sibling lock stands in for it
    extras: tuple[str, ...]
    all_extras: bool
    groups: tuple[str, ...]
    no_default_groups: bool
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    offline: bool
    quiet: bool
    verbose: bool

    def __init__(self, lock: str | None = None, extras: tuple[str, ...] = (), all_extras: bool = False,
                 groups: tuple[str, ...] = (), no_default_groups: bool = False, index_url: str | None = None,
                 extra_index_urls: tuple[str, ...] = (), find_links: tuple[str, ...] = (), offline: bool = False,
                 quiet: bool = False, verbose: bool = False) -> None:
        set_field = object.__setattr__
        set_field(self, "lock", lock)
        set_field(self, "extras", extras)
        set_field(self, "all_extras", all_extras)
        set_field(self, "groups", groups)
        set_field(self, "no_default_groups", no_default_groups)
        set_field(self, "index_url", index_url)
        set_field(self, "extra_index_urls", extra_index_urls)
        set_field(self, "find_links", find_links)
        set_field(self, "offline", offline)
        set_field(self, "quiet", quiet)
        set_field(self, "verbose", verbose)

    def fields(self) -> dict[str, object]:
        """Field name -> value, in order (what `dataclasses.asdict` gave: repair.json's `spec`)."""
        return {name: getattr(self, name) for name in self.__slots__}
