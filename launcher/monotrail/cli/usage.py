"""What the command line says about itself: help texts and usage errors.

`run` and `x` parse their options by hand (the warm path cannot pay for argparse) from option
tables; `options_help` renders such a table in argparse's layout. Every other command uses
`Parser`, an argparse parser whose mistakes are one `error:` line like every other monotrail
error, and whose unknown subcommands get a close-name suggestion, as git and cargo give.

Only help and error paths import this module: it imports argparse.
"""

from __future__ import annotations

import argparse
from typing import Any, Optional
from collections.abc import Iterable, Sequence

from monotrail.errors import UsageError

# (names, key, metavar or None for a flag, description): one row per option of a hand parser.
OptionRow = tuple[tuple[str, ...], str, Optional[str], str]

_NAME_WIDTH = 28  # argparse's max_help_position is 24; our option names are a little longer
_LINE_WIDTH = 100


def options_help(rows: Iterable[OptionRow]) -> str:
    """The rows as argparse lays options out: names, then the description, wrapped."""
    import textwrap

    lines = []
    for names, _key, metavar, description in rows:
        head = "  " + ", ".join(names) + (f" {metavar}" if metavar else "")
        body = textwrap.wrap(description, _LINE_WIDTH - _NAME_WIDTH)
        if len(head) + 2 > _NAME_WIDTH:
            lines.append(head)
        else:
            lines.append(head.ljust(_NAME_WIDTH) + body.pop(0))
        lines.extend(" " * _NAME_WIDTH + line for line in body)
    return "\n".join(lines) + "\n"


def unknown_command(word: str, known: Sequence[str], prog: str) -> UsageError:
    """`error: unknown command 'lsit' for `monotrail store`; did you mean 'list'?`"""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    message = f"unknown command {word!r} for `{prog}`" + (f"; did you mean {close[0]!r}?" if close else "")
    return UsageError(message, hint=f"{prog} commands: {', '.join(known)} (see `{prog} --help`)")


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is a `UsageError` (one `error:` line, exit 2) like the rest, and an
    unknown subcommand is named as such, with the closest known one."""

    _commands: Any | None = None

    def error(self, message: str):
        raise UsageError(message, hint=f"see `{self.prog} --help`")

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", Parser)
        self._commands = super().add_subparsers(**kwargs)
        return self._commands

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        if args is not None and self._commands is not None:
            word = next((arg for arg in args if not arg.startswith("-")), None)
            if word is not None and word not in self._commands.choices:
                raise unknown_command(word, list(self._commands.choices), self.prog)
        return super().parse_known_args(args, namespace)
