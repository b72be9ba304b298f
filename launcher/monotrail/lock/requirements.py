"""requirements.txt as a lock: what `pip-compile`, `uv export` and `poetry export` write.

A flat lock: every line is `name==version ; marker` (or a direct reference), and selection keeps
the lines whose marker holds. A requirements file is read as a lock, so every requirement must be pinned
with `==`/`===` (directly or through a `-c` constraints file) or be a direct URL/path; anything
else is a LockError at file:line.

A pinned line names no file. Such a package gets no wheels, sdist, directory or vcs; the store
looks it up on the index by name + version and, when the line has `--hash`es, accepts only files
with one of them (`LockedPackage.hashes`). As in pip, one hashed line (or `--require-hashes`)
turns on hash-checking for the whole tree: then every line that installs a file must carry a hash.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from monotrail.errors import LockError
from monotrail.lock.model import Artifact, Lock, LockedPackage
from monotrail.lock.values import basename, split_hash
from monotrail.names import normalize

_DEFAULT_INDEX = "https://pypi.org/simple"
_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH_OPTION = re.compile(r"\s--hash(?:=|\s+)(\S+)")
# Options pip accepts in a requirements file that change nothing about *what* is installed.
_IGNORED_OPTIONS = {
    "--pre", "--prefer-binary", "--no-index", "--trusted-host", "--only-binary", "--no-binary",
    "--use-feature", "--progress-bar", "--no-build-isolation", "--config-settings",
}
_OPTIONS_WITH_VALUE = {
    "-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-e", "--editable", "--trusted-host", "--only-binary", "--no-binary",
    "--use-feature", "--progress-bar", "--config-settings",
}


# Plain classes, not dataclasses: making a dataclass costs ~0.8 ms here (its methods are compiled
# with exec), and these two private records are on the path of every new environment.
class _Line:
    """One requirement line, before pinning is checked (constraints may pin it)."""

    __slots__ = ("where", "base", "text", "hashes", "editable")

    def __init__(self, where: str, base: Path, text: str, hashes: tuple[tuple[str, str], ...],
                 editable: bool = False) -> None:
        self.where, self.base, self.text, self.hashes, self.editable = where, base, text, hashes, editable


class _State:
    """What a tree of requirement files accumulates."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.constraints: list[_Line] = []
        self.index_url: str | None = None
        self.extra_index_urls: list[str] = []
        self.find_links: list[str] = []
        self.require_hashes = False
        self.seen: set[Path] = set()


def read(path: Path) -> Lock:
    state = _State()
    _read_file(path, state, constraint=False)
    pins = _constraint_pins(state.constraints)
    hash_checking = state.require_hashes or any(line.hashes for line in state.lines)
    packages: dict[tuple[str, str, str | None], LockedPackage] = {}
    for line in state.lines:
        package = _package(line, pins)
        if hash_checking and _needs_hash(package):
            raise LockError(
                f"{package.name}=={package.version} has no --hash, but hash-checking is on "
                "(other requirements have hashes or --require-hashes is set)",
                where=line.where,
                hint="regenerate the file with hashes (`uv export`, `pip-compile --generate-hashes`)",
            )
        packages.setdefault((package.name, package.version, package.marker), package)
    index_urls: tuple[str, ...] = ()
    if state.index_url or state.extra_index_urls:
        index_urls = (state.index_url or _DEFAULT_INDEX, *state.extra_index_urls)
    return Lock(
        path=path,
        format="requirements",
        packages=tuple(packages.values()),
        index_urls=tuple(dict.fromkeys(index_urls)),
        find_links=tuple(dict.fromkeys(state.find_links)),
        project_dir=path.parent if (path.parent / "pyproject.toml").is_file() else None,
        project=_project(path.parent, packages.values()),
    )


def _project(base: Path, packages) -> LockedPackage | None:
    """The project beside the file when no line installs it (`-e .`, as pip-tools users add) and
    its pyproject makes it a package: installed editable, as `pip install -e .` would."""
    from monotrail.lock.project import editable_project
    from monotrail.lock.tomlfile import read_pyproject

    base = base.resolve()
    if any(package.directory and Path(package.directory) == base for package in packages):
        return None
    return editable_project(base, read_pyproject(base))


def _needs_hash(package: LockedPackage) -> bool:
    if package.directory is not None or package.vcs is not None:
        return False
    artifacts = list(package.wheels) + ([package.sdist] if package.sdist else [])
    if artifacts:
        return not all(a.hashes for a in artifacts)
    return not package.hashes


# --- reading lines -------------------------------------------------------------------------------


def _logical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(first line number, text) with comments stripped and `\\` continuations joined."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as e:
        raise LockError(f"cannot read: {e.strerror or e}", where=str(path)) from e
    except UnicodeDecodeError as e:
        raise LockError("not valid UTF-8", where=str(path)) from e
    buffer, start = "", 0
    for number, line in enumerate(raw.splitlines(), start=1):
        if not buffer:
            start = number
        if "#" in line:  # (a hashed export has ~2,000 lines, nearly all without one)
            line = _COMMENT.sub("", line)
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        text = (buffer + line).strip()
        buffer = ""
        if text:
            yield start, text
    if buffer.strip():
        yield start, buffer.strip()


def _read_file(path: Path, state: _State, constraint: bool) -> None:
    path = path.absolute()
    if path in state.seen:
        return  # pip reads an included file once; a cycle is not an error
    state.seen.add(path)
    for number, text in _logical_lines(path):
        where = f"{path}:{number}"
        if text.startswith("-"):
            _option(text, path, where, state, constraint)
            continue
        line = _requirement_line(text, path.parent, where)
        (state.constraints if constraint else state.lines).append(line)


def _option(text: str, path: Path, where: str, state: _State, constraint: bool) -> None:
    name, value = _split_option(text, where)
    if name in ("-r", "--requirement", "-c", "--constraint"):
        target = _local_path(value, path.parent)
        if not target.is_file():
            raise LockError(f"included file {value!r} does not exist", where=where)
        _read_file(target, state, constraint=constraint or name in ("-c", "--constraint"))
    elif name in ("-i", "--index-url"):
        state.index_url = value.rstrip("/")
    elif name == "--extra-index-url":
        state.extra_index_urls.append(value.rstrip("/"))
    elif name in ("-f", "--find-links"):
        state.find_links.append(value if "://" in value else str(_local_path(value, path.parent)))
    elif name == "--require-hashes":
        state.require_hashes = True
    elif name in ("-e", "--editable"):
        line = _requirement_line(value, path.parent, where)
        line.editable = True
        (state.constraints if constraint else state.lines).append(line)
    elif name not in _IGNORED_OPTIONS:
        raise LockError(f"unsupported option {name!r} in a requirements file", where=where)


def _split_option(text: str, where: str) -> tuple[str, str]:
    try:
        tokens = shlex.split(text)
    except ValueError as e:
        raise LockError(f"cannot parse {text!r}: {e}", where=where) from e
    name, _, value = tokens[0].partition("=")
    if not value and name.startswith("-") and not name.startswith("--") and len(name) > 2:
        name, value = name[:2], name[2:]  # `-rother.txt`
    if not value and len(tokens) > 1:
        value = tokens[1]
    if name in _OPTIONS_WITH_VALUE and not value:
        raise LockError(f"option {name} needs a value", where=where)
    return name, value


def _requirement_line(text: str, base: Path, where: str) -> _Line:
    hashes = tuple(split_hash(h, where) for h in _HASH_OPTION.findall(" " + text))
    requirement = _HASH_OPTION.sub("", " " + text).strip()
    if re.search(r"(^|\s)--?[A-Za-z]", requirement.split(";")[0]):
        raise LockError(f"unsupported per-requirement option in {text!r}", where=where)
    return _Line(where=where, base=base, text=requirement, hashes=hashes)


def _local_path(value: str, base: Path) -> Path:
    if value.startswith("file:"):
        from urllib.request import url2pathname  # 40 ms (http.client, ssl): only for file: URLs

        return Path(url2pathname(unquote(urlsplit(value).path)))
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


# --- turning lines into packages -----------------------------------------------------------------


def _constraint_pins(constraints: list[_Line]) -> dict[str, _Line]:
    pins: dict[str, _Line] = {}
    for line in constraints:
        req = _parse(line)
        if _pinned_version(req) is not None:
            pins[normalize(req.name)] = line
    return pins


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "/", "~", "file:")) or bool(re.match(r"^[A-Za-z]:[\\/]", text))


def _parse(line: _Line):  # -> packaging.requirements.Requirement
    from packaging.requirements import InvalidRequirement, Requirement

    text = line.text
    if _looks_like_path(text) or re.match(r"^[a-z+]+://", text):
        text = _named_direct_reference(text, line)
    try:
        return Requirement(text)
    except InvalidRequirement as e:
        raise LockError(f"invalid requirement {line.text!r}: {e}", where=line.where) from e


def _named_direct_reference(text: str, line: _Line) -> str:
    """`./pkg`, `file:///x.whl`, `https://.../x.whl#egg=name` -> `name @ <url>` (PEP 508 needs a name)."""
    location, _, marker = text.partition(";")
    location = location.strip()
    egg = re.search(r"[#&]egg=([A-Za-z0-9._-]+)", location)
    url = location if "://" in location or location.startswith("file:") else _local_path(location, line.base).as_uri()
    if egg:
        name = egg.group(1)
    elif basename(url).endswith(".whl"):
        name = _wheel_name(basename(url))
    else:
        name = _project_name(_local_path(url, line.base)) if url.startswith("file:") else None
    if not name:
        raise LockError(f"cannot tell the project name of {location!r}", where=line.where, hint="write it as `name @ URL`")
    return f"{name} @ {url}" + (f" ; {marker.strip()}" if marker.strip() else "")


def _project_name(directory: Path) -> str | None:
    from monotrail.lock.tomlfile import read_pyproject

    if not directory.is_dir():
        return None
    pyproject = read_pyproject(directory) or {}
    name = pyproject.get("project", {}).get("name") or pyproject.get("tool", {}).get("poetry", {}).get("name")
    return name or directory.name


def _pinned_version(req) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


# `name==1.2.3 ; marker`, the line `uv export` and pip-compile write for nearly every package:
# read without packaging.requirements (~25 ms to import, then ~40 us a line). The name is PEP
# 508's, the version a PEP 440 version in its usual spelling (kept as written, as packaging's
# specifier keeps it), the marker one `monotrail.markers` reads (kept as written: packaging
# would requote it; selection evaluates both alike). Any other line goes to packaging, so its
# errors and edge cases stay packaging's.
_SIMPLE_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*==\s*"
    r"([0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?)"
    r"\s*(?:;\s*(\S.*))?"
)


def _simple_pin(text: str) -> tuple[str, str, str | None] | None:
    from monotrail import markers

    match = _SIMPLE_PIN.fullmatch(text.strip())
    if match is None:
        return None
    name, version, marker = match.groups()
    if marker is not None and markers.parse(marker) is None:
        return None
    return normalize(name), version, marker.rstrip() if marker is not None else None


def _package(line: _Line, pins: dict[str, _Line]) -> LockedPackage:
    simple = _simple_pin(line.text)
    if simple is not None:
        return LockedPackage(name=simple[0], version=simple[1], marker=simple[2], hashes=line.hashes)
    req = _parse(line)
    name = normalize(req.name)
    marker = str(req.marker) if req.marker is not None else None
    if req.url:
        return _direct_package(name, req.url, marker, line)
    version = _pinned_version(req)
    hashes = line.hashes
    if version is None and name in pins:
        version, hashes = _pinned_version(_parse(pins[name])), hashes or pins[name].hashes
    if version is None:
        raise LockError(
            f"requirement {line.text!r} is not pinned: a requirements file is read as a lock",
            where=line.where,
            hint="pin every requirement with `==` (`uv pip compile`, `pip-compile`, `uv export`), "
            "or declare the dependencies in pyproject.toml and run `monotrail lock`",
        )
    return LockedPackage(name=name, version=version, marker=marker, hashes=hashes)


def _direct_package(name: str, url: str, marker: str | None, line: _Line) -> LockedPackage:
    if re.match(r"^(git|hg|svn|bzr)\+", url):
        return LockedPackage(name=name, version="", marker=marker, vcs=url)
    if "://" not in url and not url.startswith("file:"):  # `name @ ./dir` (not PEP 508, but pip and uv take it)
        url = _local_path(url.split("#")[0], line.base).as_uri() + ("#" + url.split("#", 1)[1] if "#" in url else "")
    is_local = url.startswith("file:")
    local = str(_local_path(url, line.base)) if is_local else None
    if local is not None and Path(local).is_dir():
        # `-e ./dir` is an editable install (PEP 660, monotrail.builds.editable); `name @ ./dir` is built
        # into a wheel (monotrail.store.direct)
        return LockedPackage(name=name, version="", marker=marker, directory=local, editable=line.editable,
                             build=not line.editable)
    filename = basename(url)
    fragment_hash = re.search(r"#(sha256|sha384|sha512|md5)=([0-9a-fA-F]+)", url)
    hashes = line.hashes
    if not hashes and fragment_hash:
        hashes = ((fragment_hash.group(1), fragment_hash.group(2).lower()),)
    artifact = Artifact(
        filename=filename,
        url=None if is_local else url.split("#")[0],
        hashes=hashes,
        path=local,
    )
    if filename.endswith(".whl"):
        return LockedPackage(name=name, version=_wheel_version(filename, line), marker=marker, wheels=(artifact,))
    return LockedPackage(name=name, version="", marker=marker, sdist=artifact)


def _wheel_name(filename: str) -> str | None:
    """The project name as the wheel's file name writes it (installer's `parse_wheel_filename`),
    None when it is not a wheel name."""
    from installer.utils import parse_wheel_filename

    try:
        return parse_wheel_filename(filename).distribution
    except ValueError:
        return None


def _wheel_version(filename: str, line: _Line) -> str:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        return str(parse_wheel_filename(filename)[1])
    except InvalidWheelFilename as e:
        raise LockError(f"invalid wheel file name {filename!r}: {e}", where=line.where) from e
