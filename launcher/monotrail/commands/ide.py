"""`monotrail ide [vscode | pyright]`: point an editor's or a type checker's settings at the project.

Both targets name what `monotrail env python` makes (`monotrail.commands.env`), merged into the
settings file that is there: only our keys change, every other byte (comments, trailing commas,
the order of keys) stays; a file we cannot parse is an error, never overwritten.

- vscode: `.vscode/settings.json`, `python.defaultInterpreterPath` = the interpreter shim. The
  Python extension, Pylance and the debugger run it, and get the lock's packages from its
  `sys.path` whatever the lock becomes. No `python.analysis.extraPaths`: Pylance reads the
  interpreter's `sys.path`, and a list of store directories would go stale with the next lock.
- pyright: its config file cannot name an interpreter (`pythonPath` is an "unrecognized
  setting"; only the command line's `--pythonpath` and the language server's `python.pythonPath`
  can), so `venvPath`/`venv` name the shim's directory, whose site-packages `.pth` lists the
  search path (pyright reads `.pth` path lines), and `pythonVersion` the environment's unless the
  file sets one (with a venv, pyright takes the version from whatever `python3` is on PATH). In `pyrightconfig.json` if there is one (pyright
  reads it first), else in `[tool.basedpyright]` or `[tool.pyright]` of pyproject.toml if either
  exists, else in a new `pyrightconfig.json`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from monotrail.errors import SettingsError

__all__ = ["main"]

TARGETS = {
    "vscode": ".vscode/settings.json: python.defaultInterpreterPath (the Python extension, Pylance, the debugger)",
    "pyright": "pyrightconfig.json or [tool.pyright] in pyproject.toml: venvPath, venv (pyright, basedpyright)",
}


def main(args: Sequence[str], python: str | None) -> int:
    args = list(args)
    if not args or args[0] in ("-h", "--help", "list"):
        sys.stdout.write(USAGE + "".join(f"  {name:<9}{text}\n" for name, text in TARGETS.items()))
        return 0
    target, rest = args[0], args[1:]
    if target not in TARGETS:
        from monotrail.cli.usage import unknown_command

        raise unknown_command(target, tuple(TARGETS), "monotrail ide")
    from monotrail.commands.env import ide_interpreter, prepare

    ide = ide_interpreter(rest, python)
    facts = prepare(ide)
    if target == "vscode":
        path = ide.project / ".vscode" / "settings.json"
        _merge_jsonc(path, {"python.defaultInterpreterPath": str(ide.python)})
    else:
        # pythonVersion too unless set: with a venv, pyright takes the version from `python3` on PATH
        minor = ".".join(facts.version.split(".")[:2])
        path = _write_pyright(ide.project, {"venvPath": str(ide.directory.parent), "venv": ide.directory.name},
                              {"pythonVersion": minor})
    sys.stdout.write(f"{path}: points at {ide.python}\n")
    sys.stderr.write("note: these are paths of this machine; keep the file out of version control, or each "
                     "developer runs `monotrail ide` once\n")
    return 0


USAGE = """\
usage: monotrail [+VERSION] ide TARGET [RUN OPTIONS]

Point an editor's settings at this project's interpreter (`monotrail env python`), merging into
the file that is there. RUN OPTIONS are `monotrail run`'s (-E, -G, --all-extras...). Targets:
"""


def _merge_jsonc(path: Path, values: Mapping[str, object], defaults: Mapping[str, object] | None = None) -> None:
    """`values` set, `defaults` set where the file has no such key."""
    from monotrail.jsonc import loads, set_members

    text = _read(path)
    try:
        present = loads(text, source=str(path))
        values = {**{k: v for k, v in (defaults or {}).items() if k not in present}, **values}
        changed = set_members(text, values, source=str(path))
    except SettingsError as error:
        raise SettingsError(error.message, where=error.where,
                            hint=f"fix {path.name} (or move it away) and rerun; it was not changed") from None
    _write(path, changed)


def _write_pyright(project: Path, values: Mapping[str, str], defaults: Mapping[str, str]) -> Path:
    config = project / "pyrightconfig.json"
    pyproject = project / "pyproject.toml"
    if not config.exists() and pyproject.is_file():
        text = _read(pyproject)
        for table in ("tool.basedpyright", "tool.pyright"):
            if _table_header(text, table):
                present = _parse_toml(text, pyproject)
                for part in table.split("."):
                    present = present.get(part, {})
                values = {**{k: v for k, v in defaults.items() if k not in present}, **values}
                _write(pyproject, _set_toml_keys(text, table, values, pyproject))
                return pyproject
    _merge_jsonc(config, values, defaults)
    return config


def _table_header(text: str, table: str) -> re.Match | None:
    return re.search(r"^\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\][ \t]*(#.*)?$", text, re.M)


def _set_toml_keys(text: str, table: str, values: Mapping[str, str], path: Path) -> str:
    """`key = "value"` lines set inside `[table]`, replaced where they are or added after the
    table's last line; the rest of the file as it was. Checked by parsing before and after."""
    _parse_toml(text, path)
    header = _table_header(text, table)
    assert header is not None
    body_start = text.index("\n", header.end()) + 1 if "\n" in text[header.end():] else len(text)
    following = re.search(r"^[ \t]*\[", text[body_start:], re.M)
    body_end = body_start + following.start() if following else len(text)
    body = text[body_start:body_end]
    for key, value in values.items():
        line = f"{key} = {json.dumps(value)}"
        found = re.search(r"^[ \t]*" + re.escape(key) + r"[ \t]*=.*$", body, re.M)
        if found:
            body = body[:found.start()] + line + body[found.end():]
        else:
            kept = body.rstrip("\n")
            body = (kept + "\n" if kept else "") + line + "\n" + body[len(kept):].lstrip("\n")
    if body_end < len(text) and not body.endswith("\n\n"):
        body = body.rstrip("\n") + "\n\n"
    changed = text[:body_start] + body + text[body_end:]
    _parse_toml(changed, path)
    return changed


def _parse_toml(text: str, path: Path) -> dict:
    from monotrail.errors import LockError
    from monotrail.lock.tomlfile import parse_toml

    try:
        return parse_toml(text, path)
    except LockError as error:
        raise SettingsError(error.message, where=error.where,
                            hint=f"fix {path.name} and rerun; it was not changed") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read it: {error}", where=str(path)) from None


def _write(path: Path, text: str) -> None:
    from monotrail.atomic import write_atomic

    try:
        write_atomic(path, text)
    except OSError as error:
        raise SettingsError(f"cannot write it: {error.strerror or error}", where=str(path)) from None
