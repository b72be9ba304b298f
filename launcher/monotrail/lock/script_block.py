"""PEP 723 inline script metadata: the `# /// script` block of a single-file script.

`find_block` is on the warm path of `monotrail run SCRIPT` (the block's text is part of the
environment key): stdlib string methods only, no `re`, no TOML. `parse_block` validates the TOML
and the requirements, cold path only, with errors naming the script and the line.
"""

from __future__ import annotations

MARKER = b"# /// script"


def read_block(path: str) -> tuple[str, int] | None:
    """The block's TOML text and its first line number, or None when the script has none.

    Scripts are small; the whole file is read once (a block may sit anywhere, PEP 723).
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None
    if MARKER not in data:
        return None
    return find_block(data.decode("utf-8", "surrogateescape"))


def find_block(text: str) -> tuple[str, int] | None:
    """PEP 723's reference regex, as a line scan: `# /// script`, `#` or `# ...` lines, `# ///`."""
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line.rstrip() != "# /// script":
            continue
        content: list[str] = []
        end = None
        for number in range(start + 1, len(lines)):
            current = lines[number]
            if current.rstrip() == "# ///":
                end = number  # the last `# ///` before a non-comment line closes the block
            if current == "#" or current.startswith("# ") or current.rstrip() == "# ///":
                continue
            break
        if end is None:
            return ("", -(start + 1))  # opened, never closed: parse_block reports it
        for number in range(start + 1, end):
            current = lines[number]
            content.append(current[2:] if current.startswith("# ") else current[1:])
        return "\n".join(content) + "\n", start + 1
    return None


class ScriptMetadata:
    def __init__(self, dependencies: list[str], requires_python: str | None) -> None:
        self.dependencies = dependencies
        self.requires_python = requires_python


def parse_block(path: str, block: tuple[str, int]) -> ScriptMetadata:
    from monotrail.errors import ProjectError

    text, line = block
    if line < 0:
        raise ProjectError("the `# /// script` block is never closed with `# ///`", where=f"{path}:{-line}",
                           hint="end the block with a line `# ///`")
    try:
        import tomli as tomllib
    except ImportError:  # pragma: no cover
        import tomllib  # type: ignore[no-redef, import-not-found, unused-ignore]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        import re

        message = str(error)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        where = f"{path}:{line + int(match.group(1))}" if match else f"{path}:{line}"
        raise ProjectError(f"invalid TOML in the script block: {message[: match.start()].rstrip() if match else message}",
                           where=where) from None
    dependencies = data.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ProjectError("`dependencies` must be a list of strings", where=f"{path}:{line}")
    requires_python = data.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise ProjectError("`requires-python` must be a string", where=f"{path}:{line}")
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    for dependency in dependencies:
        try:
            Requirement(dependency)
        except InvalidRequirement as error:
            raise ProjectError(f"invalid dependency {dependency!r}: {error}", where=f"{path}:{line}") from None
    if requires_python is not None:
        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise ProjectError(f"invalid requires-python {requires_python!r}", where=f"{path}:{line}") from None
    return ScriptMetadata(list(dependencies), requires_python)
