"""`monotrail install WHEEL|REQ...`: put given wheels into a virtualenv, through the store.

What can be installed without a resolver: wheel files, `name @ URL` and exact pins
`name==version` (the index's best wheel for the venv's tags). Anything needing a resolver
(`numpy>=2`, a bare name) is refused with a clear message. Like `pip install --no-deps`, the
listed packages are installed and nothing else; an installed package of another version is
replaced, the same version is left alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Sequence

from monotrail.errors import UsageError, WheelError
from monotrail.log import info

_RESOLVE_HINT = "pin it (`name==1.2.3`), or pass a wheel file or `name @ URL`; resolving is not supported yet"


def main(argv: Sequence[str]) -> int:
    from monotrail.commands.sync import install_options, add_install_options
    from monotrail.cli.usage import Parser

    parser = Parser(prog="monotrail install", description="Install wheels and pinned requirements into a virtualenv.")
    parser.add_argument("specs", nargs="+", metavar="WHEEL|REQ", help="a .whl file, `name==version` or `name @ URL`")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", help="the virtualenv (default: $VIRTUAL_ENV)")
    where.add_argument("--python", help="the python of the virtualenv to install into")
    add_install_options(parser)
    options = parser.parse_args(list(argv))
    return install(options.specs, options.venv, options.python, install_options(options))


def install(specs: Sequence[str], venv_dir, python, settings: dict[str, object]) -> int:
    from monotrail import store_root
    from monotrail.commands.sync import SyncRequest, apply_changes
    from monotrail.venv import active_venv, open_venv, venv_of_python

    started = time.perf_counter()
    root = Path(store_root())
    prefix = venv_of_python(python, root) if python else active_venv(venv_dir)
    venv = open_venv(prefix, root)
    wanted, direct_urls = parse_specs(specs, venv.interpreter.tags)
    request = SyncRequest(venv=prefix, lock=None, **settings)  # type: ignore[arg-type]
    summary = apply_changes(venv, wanted, root, request, remove_unlisted=False, direct_urls=direct_urls)
    if not request.quiet:
        info(f"monotrail: {summary} in {time.perf_counter() - started:.2f} s")
    return 0


def parse_specs(specs: Sequence[str], tags: Sequence[str]) -> tuple[list, dict[str, dict]]:
    """Each spec as a `Selected`, plus the PEP 610 direct_url.json of file and URL installs."""
    selected: list = []
    direct_urls: dict[str, dict] = {}
    seen: dict[str, str] = {}
    for spec in specs:
        item, direct_url = _parse_spec(spec, tags)
        if item.name in seen and seen[item.name] != spec:
            raise UsageError(f"{item.name} is given twice: {seen[item.name]!r} and {spec!r}")
        seen[item.name] = spec
        selected.append(item)
        if direct_url is not None:
            direct_urls[item.name] = direct_url
    return selected, direct_urls


def _parse_spec(spec: str, tags: Sequence[str]):
    if spec.endswith(".whl") and "@" not in spec:
        return _wheel_file(spec, tags)
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as error:
        raise UsageError(f"not a wheel file or a requirement: {spec!r} ({error})", hint=_RESOLVE_HINT) from None
    if requirement.url:
        return _wheel_url(requirement.name, requirement.url, tags)
    pins = list(requirement.specifier)
    if len(pins) != 1 or pins[0].operator not in ("==", "===") or "*" in pins[0].version:
        raise UsageError(f"cannot install {spec!r}: only exact pins, wheel files and URLs are supported",
                         hint=_RESOLVE_HINT)
    return _pinned(requirement.name, pins[0].version, tags), None


def _pinned(name: str, version: str, tags: Sequence[str]):
    from monotrail.lock.model import Artifact
    from monotrail.selection import Selected
    from monotrail.names import normalize

    return Selected(normalize(name), version, Artifact(""), None, None, tuple(tags))


def _wheel_file(spec: str, tags: Sequence[str]):
    from monotrail.lock.model import Artifact
    from monotrail.selection import Selected

    path = Path(spec).absolute()
    if not path.is_file():
        raise UsageError(f"no such wheel file: {spec}")
    name, version = check_tags(path.name, tags)
    from monotrail.store.index import file_sha256

    sha256 = file_sha256(path)
    artifact = Artifact(path.name, hashes=(("sha256", sha256),), path=str(path))
    direct_url = {"url": path.as_uri(), "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}}
    return Selected(name, version, artifact, None, None), direct_url


def _wheel_url(name: str, url: str, tags: Sequence[str]):
    import urllib.parse

    from monotrail.lock.model import Artifact
    from monotrail.selection import Selected
    from monotrail.names import normalize

    filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    if not filename.endswith(".whl"):
        raise UsageError(f"{name} @ {url}: only wheel URLs are supported (building sdists is a later feature)")
    wheel_name, version = check_tags(filename, tags)
    if wheel_name != normalize(name):
        raise UsageError(f"{name} @ {url} points at a wheel of {wheel_name}")
    if url.startswith("file:"):
        local = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        return _wheel_file(local, tags)
    return Selected(wheel_name, version, Artifact(filename, url=url), None, None), {"url": url, "archive_info": {}}


def check_tags(filename: str, tags: Sequence[str]) -> tuple[str, str]:
    """Name and version of a wheel filename; refuse a wheel the venv's Python cannot load."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _, wheel_tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as error:
        raise WheelError(str(error), where=filename, hint="wheel filenames are NAME-VERSION(-BUILD)-PY-ABI-PLATFORM.whl") from None
    supported = set(tags)
    if not any(str(tag) in supported for tag in wheel_tags):
        theirs = ", ".join(sorted(str(tag) for tag in wheel_tags))
        ours = ", ".join(tags[:3])
        raise WheelError(
            f"the wheel is for {theirs}; this venv's Python supports {ours}, ... ({len(tags)} tags)",
            where=filename,
            hint="use a wheel built for this platform and Python, or a venv of the Python it was built for",
        )
    return str(name), str(version)


