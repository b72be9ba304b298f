"""Writing a resolution as PEP 751 `pylock.toml`: deterministic bytes for the same inputs.

The TOML is written by hand (no writer dependency): the shape is fixed and small, strings are
TOML basic strings (JSON's escaping is a subset of TOML's), keys in PEP 751's order, packages
and files sorted by name. Nothing time-dependent is written.

A lock made from one interpreter's resolution says so: `environments` names its platform and
Python, `requires-python` its `X.Y`. A multi-target lock (`monotrail.resolve.merge`) names its
targets in `environments` and `requires-python` (`targets.lock_requires_python`), and an entry
that is for some targets only carries their marker. A package reached only through an extra or a dependency group
carries the PEP 751 marker `'x' in extras or 'g' in dependency_groups`; both combine with `and`.
"""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterable, Sequence

from monotrail.errors import LockWriteError
from monotrail.store.index import file_sha256
from monotrail.interpreters.discovery import Interpreter
from monotrail.lock.model import Artifact
from monotrail.resolve.resolver import ROOT, ResolvedPackage, Resolution


def target_environment(interpreter: Interpreter) -> str:
    markers = interpreter.markers
    return " and ".join(
        f"{name} == {_string(markers[name])}"
        for name in ("sys_platform", "platform_machine", "implementation_name", "python_version")
        if name in markers
    )


def render(
    resolution: Resolution,
    interpreter: Interpreter | None,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    default_groups: Sequence[str] = (),
    inputs: str | None = None,
    base: Path | None = None,
    project: Path | None = None,
    environments: Sequence[str] | None = None,
    requires_python: str | None = None,
) -> str:
    """The lock's text. `base`: the lock's directory, which local paths are written relative to.
    `project`: written as `[tool.monotrail] project` by a lock kept in the store for a read-only
    project (see `monotrail.commands.lock`): the reader takes it for the lock's directory.
    `interpreter` None: a multi-target lock, with its `environments` and `requires_python`."""
    if interpreter is not None:
        environments = [target_environment(interpreter)]
        requires_python = "==" + ".".join(map(str, interpreter.version[:2])) + ".*"
    lines: list[str] = ['lock-version = "1.0"', f"environments = {_array(environments or ())}"]
    if requires_python:
        lines.append(f"requires-python = {_string(requires_python)}")
    if extras:
        lines.append(f"extras = {_array(sorted(extras))}")
    if groups:
        lines.append(f"dependency-groups = {_array(sorted(groups))}")
    if default_groups:
        lines.append(f"default-groups = {_array(sorted(default_groups))}")
    lines.append('created-by = "monotrail"')
    if not resolution.packages:
        lines.append("packages = []")
    for package in resolution.packages:
        lines += ["", *_package(package, base)]
    if inputs is not None or project is not None:
        lines += ["", "[tool.monotrail]"]
    if inputs is not None:
        lines.append(f"inputs = {_string(inputs)}")  # first: `lock_command._recorded_inputs` finds it there
    if project is not None:
        lines.append(f"project = {_string(str(project))}")
    return "\n".join(lines) + "\n"


def _package(package: ResolvedPackage, base: Path | None = None) -> list[str]:
    direct = package.direct
    lines = ["[[packages]]", f"name = {_string(package.name)}"]
    if direct is None or direct.kind == "archive":  # PEP 751: no version for a source tree
        lines.append(f"version = {_string(package.version)}")
    marker = _marker(package.labels)
    if package.targets:
        marker = package.targets if marker is None else f"({package.targets}) and ({marker})"
    if marker:
        lines.append(f"marker = {_string(marker)}")
    if package.requires_python:
        lines.append(f"requires-python = {_string(package.requires_python)}")
    if package.index:
        lines.append(f"index = {_string(package.index)}")
    if direct is not None:
        return lines + _direct(direct, base)
    if package.sdist is not None:
        lines.append(f"sdist = {_file(package.sdist)}")
    if package.wheels:  # none: an sdist-only package, built when installed (monotrail.builds.sdist)
        lines.append("wheels = [")
        lines += [f"    {_file(wheel)}," for wheel in package.wheels]
        lines.append("]")
    return lines


def _direct(direct, base: Path | None) -> list[str]:
    """PEP 751 `vcs`, `directory` or `archive` for a `name @ URL` requirement."""
    if direct.kind == "git":
        fields = ['type = "git"', f"url = {_string(direct.url)}"]
        if direct.revision:
            fields.append(f"requested-revision = {_string(direct.revision)}")
        fields.append(f"commit-id = {_string(direct.commit or '')}")
        if direct.subdirectory:
            fields.append(f"subdirectory = {_string(direct.subdirectory)}")
        return ["vcs = { " + ", ".join(fields) + " }"]
    if direct.kind == "directory":
        fields = [f"path = {_string(_relative(direct.path or '', base))}", f"editable = {'true' if direct.editable else 'false'}"]
        if direct.subdirectory:
            fields.append(f"subdirectory = {_string(direct.subdirectory)}")
        return ["directory = { " + ", ".join(fields) + " }"]
    location = f"path = {_string(_relative(direct.path, base))}" if direct.path else f"url = {_string(direct.url)}"
    hashes = ", ".join(f"{k} = {_string(v)}" for k, v in sorted(set(direct.hashes)))
    return [f"archive = {{ {location}, hashes = {{ {hashes} }} }}"]


def _relative(path: str, base: Path | None) -> str:
    import os

    if base is None:
        return path
    relative = os.path.relpath(path, base)
    return relative if relative.startswith(".") else "./" + relative


def _marker(labels: Iterable[str]) -> str | None:
    labels = set(labels)
    if ROOT in labels:
        return None
    parts = []
    for label in sorted(labels):
        kind, _, name = label.partition(":")
        parts.append(f"'{name}' in {'extras' if kind == 'extra' else 'dependency_groups'}")
    return " or ".join(parts) or None


def _file(artifact: Artifact) -> str:
    fields = [f"name = {_string(artifact.filename)}"]
    if artifact.url and not artifact.url.startswith("file:"):
        fields.append(f"url = {_string(artifact.url)}")
    elif artifact.path:
        fields.append(f"path = {_string(artifact.path)}")
    if artifact.size is not None:
        fields.append(f"size = {artifact.size}")
    fields.append(f"hashes = {{ {', '.join(f'{k} = {_string(v)}' for k, v in _hashes(artifact))} }}")
    return "{ " + ", ".join(fields) + " }"


def _hashes(artifact: Artifact) -> Sequence[tuple]:
    hashes = sorted(set(artifact.hashes))
    if not hashes and artifact.path and Path(artifact.path).is_file():
        hashes = [("sha256", file_sha256(Path(artifact.path)))]
    return hashes


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _array(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def write(path: Path, text: str) -> bool:
    """Write `text` to `path` atomically; False when the file already holds exactly that.

    The temp file's name is unique per call, not per process: threads of one process write the
    same lock (the build environment shared by sdists built side by side). A directory that
    cannot be written (a read-only checkout) is a `LockWriteError` naming the lock, not the temp
    file; `monotrail run` then keeps the lock in the store (see `monotrail.commands.run`)."""
    from monotrail.atomic import write_atomic

    try:
        if path.read_text("utf-8") == text:
            return False
    except OSError:
        pass
    try:
        write_atomic(path, text)
    except OSError as error:
        raise LockWriteError(f"cannot write {path}: {error.strerror or error}", errno=error.errno,
                             hint=f"monotrail writes this lock into {path.parent}: make it writable, or run where it is") from None
    return True


__all__ = ["render", "write", "target_environment"]
