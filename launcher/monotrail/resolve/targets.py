"""The targets of a multi-target lock: a CPython minor version on one platform, described without
an interpreter.

The resolver needs only a target's marker environment and its supported wheel tags (see
`monotrail.resolve.resolver`), so each target gets an `Interpreter` built here from a table rather
than probed: no Python 3.9 or Windows machine has to exist to lock for them. The platforms are
what a team's machines are:

- `linux`: glibc 2.28 or newer (manylinux_2_28 down to manylinux1, x86_64 first, then aarch64;
  RHEL 8, Debian 10, Ubuntu 18.10 and newer); not musl (Alpine), whose musllinux wheels are left out;
- `macos`: macOS 13 or newer (uv's own floor), arm64 first, then x86_64 (and universal2);
- `windows`: win_amd64.

Markers are evaluated for the first architecture of each platform (`platform_machine` x86_64,
arm64, AMD64): a dependency whose marker tests the machine (`platform_machine == "aarch64"`) is
decided for that one. `python_full_version` is `3.X.0`, or the project's requires-python lower bound
when it falls inside 3.X (`>=3.8.1` locks 3.8 as 3.8.1), as uv takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Sequence

from monotrail.errors import UsageError

if TYPE_CHECKING:
    from monotrail.interpreters.discovery import Interpreter

# Imported only when something is resolved: `monotrail lock` with its inputs unchanged reads
# this table and hashes the targets, and nothing more (issue 13's re-lock figure).

MINORS = tuple(range(8, 15))  # the CPython 3.X a default lock covers, oldest first
PLATFORMS = ("linux", "macos", "windows")

_MARKERS = {  # os_name, sys_platform, platform_system, platform_machine (the first architecture)
    "linux": ("posix", "linux", "Linux", "x86_64"),
    "macos": ("posix", "darwin", "Darwin", "arm64"),
    "windows": ("nt", "win32", "Windows", "AMD64"),
}
_GLIBC = (2, 28)
_MACOS = (13, 0)
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@dataclass(frozen=True, order=True)
class Target:
    minor: int  # CPython 3.<minor>
    platform: str  # one of PLATFORMS
    micro: int = 0  # python_full_version's third part (from requires-python's lower bound)

    @property
    def python(self) -> str:
        return f"3.{self.minor}"

    def describe(self) -> str:
        """For messages: `CPython 3.9 on windows`."""
        return f"CPython {self.python} on {self.platform}"

    def interpreter(self) -> Interpreter:
        """The facts the resolver reads, for an interpreter that need not exist."""
        from monotrail.interpreters.discovery import Interpreter

        os_name, sys_platform, system, machine = _MARKERS[self.platform]
        full = f"3.{self.minor}.{self.micro}"
        markers = {
            "implementation_name": "cpython", "implementation_version": full, "os_name": os_name,
            "platform_machine": machine, "platform_python_implementation": "CPython", "platform_release": "",
            "platform_system": system, "platform_version": "", "python_full_version": full,
            "python_version": self.python, "sys_platform": sys_platform,
        }
        return Interpreter(
            path=f"<{self.describe()}>", mtime=0.0, version=(3, self.minor, self.micro), implementation="cpython",
            free_threaded=False, markers=markers, tags=wheel_tags(self.minor, self.platform), ext_suffixes=(),
            stdlib="", platstdlib="", source="target", full_version=full, machine=machine,
        )


def wheel_tags(minor: int, platform: str) -> tuple[str, ...]:
    """The tags a CPython 3.<minor> on `platform` installs, best first (packaging.tags' order)."""
    from packaging import tags

    platforms = _platform_tags(platform)
    version = (3, minor)
    found = [str(tag) for tag in tags.cpython_tags(version, abis=[f"cp3{minor}"], platforms=platforms)]
    found += [str(tag) for tag in tags.compatible_tags(version, f"cp3{minor}", platforms)]
    return tuple(dict.fromkeys(found))


def _platform_tags(platform: str) -> list[str]:
    if platform == "windows":
        return ["win_amd64"]
    if platform == "macos":
        from packaging import tags

        return [*tags.mac_platforms(_MACOS, "arm64"), *tags.mac_platforms(_MACOS, "x86_64")]
    found = []
    for arch, oldest in (("x86_64", 5), ("aarch64", 17)):
        for minor in range(_GLIBC[1], oldest - 1, -1):
            found.append(f"manylinux_2_{minor}_{arch}")
            legacy = _LEGACY_MANYLINUX.get((2, minor))
            if legacy:
                found.append(f"{legacy}_{arch}")
    return found


def choose(requires_python: str | None, pythons: Sequence[str] = (), platforms: Sequence[str] = ()) -> tuple[Target, ...]:
    """The targets to lock for, sorted: the `pythons` asked for (default: every minor of `MINORS`
    that `requires_python` allows) on the `platforms` asked for (default: all three)."""
    allowed = _Allowed(requires_python or "")
    chosen_platforms = sorted(dict.fromkeys(_platform(name) for name in platforms)) or list(PLATFORMS)
    if pythons:
        minors = sorted(dict.fromkeys(_minor(text) for text in pythons))
        refused = [m for m in minors if not _admits(allowed, m)]
        if refused:
            raise UsageError(f"the project's requires-python {requires_python} excludes Python "
                             f"{', '.join(f'3.{m}' for m in refused)}", hint="lock for Pythons the project supports")
    else:
        minors = [m for m in MINORS if _admits(allowed, m)]
        if not minors:
            raise UsageError(f"requires-python {requires_python} allows none of CPython 3.{MINORS[0]}-3.{MINORS[-1]}",
                             hint="lock for one Python with --python 3.X")
    return tuple(Target(m, p, _micro(allowed, m)) for m in minors for p in chosen_platforms)


def _platform(name: str) -> str:
    if name not in PLATFORMS:
        raise UsageError(f"unknown platform {name!r}", hint=f"pick one of {', '.join(PLATFORMS)}")
    return name


def _minor(text: str) -> int:
    parts = text.strip().removeprefix("cpython").removeprefix("@").split(".")
    if len(parts) == 3 and parts[2].isdigit():  # 3.12.1: the lock is for every 3.12
        parts = parts[:2]
    if len(parts) == 2 and parts[0] == "3" and parts[1].isdigit() and int(parts[1]) in MINORS:
        return int(parts[1])
    raise UsageError(f"cannot lock for Python {text!r}", hint=f"give a CPython minor version, 3.{MINORS[0]} to 3.{MINORS[-1]}")


class _Allowed:
    """requires-python, asked about 3.X.Y: `monotrail.markers.contains` answers plain specifiers
    without importing packaging (a few µs instead of ~4 ms on the up-to-date path)."""

    def __init__(self, specifier: str) -> None:
        self.specifier = specifier.strip()
        self._parsed = None
        self.contains("3.8.0")  # an invalid one is refused here, whatever is asked later

    def contains(self, version: str, prereleases: bool = True) -> bool:
        from monotrail import markers

        if not self.specifier:
            return True
        fast = markers.contains(self.specifier.replace(" ", ""), version)
        if fast is not None:
            return fast
        if self._parsed is None:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet

            try:
                self._parsed = SpecifierSet(self.specifier)  # type: ignore[assignment]
            except InvalidSpecifier:
                raise UsageError(f"invalid requires-python {self.specifier!r}",
                                 hint="write it as PEP 440 says, e.g. >=3.9") from None
        return self._parsed.contains(version, prereleases=prereleases)  # type: ignore[attr-defined]


def _admits(allowed, minor: int) -> bool:
    """Does requires-python admit some 3.<minor>.N? (`>=3.8.1` admits 3.8; `<3.11` does not admit 3.11)."""
    return any(allowed.contains(f"3.{minor}.{micro}", prereleases=True) for micro in range(100))


def _micro(allowed, minor: int) -> int:
    """The lowest 3.<minor>.N requires-python admits (0 unless it names a patch inside 3.<minor>)."""
    return next((micro for micro in range(100) if allowed.contains(f"3.{minor}.{micro}", prereleases=True)), 0)


def lock_requires_python(requires_python: str | None, targets: Sequence[Target], narrowed: bool) -> str:
    """The lock's `requires-python`: the Pythons it was made for, so that `run` picks one of them
    (discovery filters by it) and refuses another with the lock's own words. The project's own
    specifier when every minor version it allows (of `MINORS`) is a target, with the newest target
    as the top (`>=3.10,<3.15`); else the targets themselves (`>=3.9,<3.14,!=3.10.*,!=3.11.*,!=3.12.*`
    for 3.9 and 3.13)."""
    minors = sorted({t.minor for t in targets})
    allowed = _Allowed(requires_python or "")
    top = [] if not allowed.contains(f"3.{minors[-1] + 1}.0") else [f"<3.{minors[-1] + 1}"]
    if not narrowed and requires_python:
        return ",".join([requires_python.strip(), *top])
    first = next(t for t in targets if t.minor == minors[0])
    lower = f">=3.{first.minor}" + (f".{first.micro}" if first.micro else "")
    gaps = [f"!=3.{m}.*" for m in range(minors[0], minors[-1]) if m not in minors]
    return ",".join([lower, f"<3.{minors[-1] + 1}", *gaps])


def platform_marker(platform: str) -> str:
    return f'sys_platform == "{_MARKERS[platform][1]}"'


def environment_markers(targets: Sequence[Target]) -> list[str]:
    """PEP 751 `environments`: one marker per platform, naming its Pythons."""
    by_platform: dict[str, list[int]] = {}
    for target in targets:
        by_platform.setdefault(target.platform, []).append(target.minor)
    return [f"{platform_marker(p)} and {python_clause(sorted(set(m)), None)}" for p, m in sorted(by_platform.items())]


def python_clause(minors: Sequence[int], among: Sequence[int] | None) -> str:
    """A marker on `python_version` true for exactly `minors`. With `among` (the locked minors),
    only those need to be told apart, so a run of them may stay open at either end
    (`python_version < "3.11"`); without, every run is closed."""
    runs: list[list[int]] = []
    universe = list(among) if among is not None else list(range(min(minors), max(minors) + 1))
    for minor in minors:
        if runs and universe.index(minor) == universe.index(runs[-1][-1]) + 1:
            runs[-1].append(minor)
        else:
            runs.append([minor])
    clauses = [_run_clause(run, universe if among is not None else None) for run in runs]
    return clauses[0] if len(clauses) == 1 else "(" + " or ".join(clauses) + ")"


def _run_clause(run: list[int], among: list[int] | None) -> str:
    low, high = run[0], run[-1]
    if low == high and (among is None or (low != among[0] and high != among[-1])):
        return f'python_version == "3.{low}"'
    lower = None if among is not None and low == among[0] else f'python_version >= "3.{low}"'
    if among is not None:
        upper = None if high == among[-1] else f'python_version < "3.{among[among.index(high) + 1]}"'
    else:
        upper = f'python_version <= "3.{high}"'
    parts = [part for part in (lower, upper) if part]
    return " and ".join(parts) or "True"
