"""One lock from the resolutions of several targets (`monotrail.resolve.targets`).

A package that resolves the same for every target is one entry holding the wheels of all of them.
One that differs (another version, or reached by other requirement sets) is one entry per variant,
whose `targets` marker selects exactly the targets that resolved to it, on `sys_platform` and
`python_version` only: the targets are the only environments the lock is for (its
`environments`), so a marker needs to tell the targets apart and nothing else
(`python_version < "3.11"` rather than a closed range when 3.10 is the oldest target).
The order of everything is fixed, so the same resolutions give the same lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from monotrail.resolve.resolver import ROOT, ResolvedPackage, Resolution
from monotrail.resolve.targets import Target, platform_marker, python_clause


def merge(results: Sequence[tuple[Target, Resolution]]) -> Resolution:
    targets = sorted(target for target, _ in results)
    variants: dict[tuple, tuple[ResolvedPackage, set[Target], dict[str, object]]] = {}
    for target, resolution in results:
        for package in resolution.packages:
            if ROOT in package.labels:  # needed without any extra or group: which others reach it says nothing
                package = replace(package, labels=frozenset({ROOT}))
            key = (package.name, package.version, package.direct, package.sdist, package.requires_python,
                   package.index, package.labels)
            found = variants.setdefault(key, (package, set(), {}))
            found[1].add(target)
            for wheel in package.wheels:
                found[2].setdefault(wheel.filename, wheel)
    packages = []
    for package, covered, wheels in variants.values():
        merged = replace(package, wheels=tuple(wheels[name] for name in sorted(wheels)),  # type: ignore[misc]
                         targets=targets_marker(covered, targets))
        packages.append(merged)
    packages.sort(key=lambda p: (p.name, _version_key(p.version), p.targets or "", sorted(p.labels)))
    return Resolution(tuple(packages))


def targets_marker(covered: set[Target], targets: Sequence[Target]) -> str | None:
    """A marker true for the targets in `covered` and false for the other `targets`."""
    if len(covered) == len(set(targets)):
        return None
    platforms = sorted({t.platform for t in targets})
    minors = sorted({t.minor for t in targets})
    by_platform: dict[str, tuple[int, ...]] = {}
    for platform in platforms:
        found = tuple(sorted(t.minor for t in covered if t.platform == platform))
        if found:
            by_platform[platform] = found
    groups: dict[tuple[int, ...], list[str]] = {}
    for platform, found in by_platform.items():
        groups.setdefault(found, []).append(platform)
    clauses = []
    for found, group in sorted(groups.items(), key=lambda item: item[1]):
        parts = []
        if len(group) < len(platforms):
            parts.append(" or ".join(platform_marker(p) for p in group))
            if len(group) > 1:
                parts[-1] = f"({parts[-1]})"
        if list(found) != minors:
            parts.append(python_clause(found, minors))
        clauses.append(" and ".join(parts))
    if len(clauses) == 1:
        return clauses[0]
    return " or ".join(f"({clause})" if " and " in clause else clause for clause in clauses)


def _version_key(version: str) -> tuple:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)
