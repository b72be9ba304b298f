"""`monotrail.markers` against packaging, for the marker environment of every supported Python.

The fast evaluator exists for the import budget (importing packaging.markers costs ~25 ms); its
promise is that an answer, when it gives one, is packaging's. The launcher evaluates a lock's
markers for the *target* interpreter's environment, so the table below is checked against the
probed environment of each CPython 3.8-3.13 this machine has (found as `monotrail python list`
finds them), whatever Python runs the tests.
"""

from __future__ import annotations

import pytest

from bootstrap_fixtures import SUPPORTED_MINORS, find_python, python_facts

from monotrail import markers

MARKERS = [
    "python_version >= '3.8'",
    "python_version < '3.10'",
    "python_version == '3.12'",
    "python_version != '3.9'",
    "python_version > '3.11' and python_version <= '3.13'",
    "python_version == '3.1*'",
    "python_version == '3.*'",
    "python_version != '3.8.*'",
    "python_full_version >= '3.11.4'",
    "python_full_version < '3.9.0'",
    "python_full_version == '3.12.1'",
    "sys_platform == 'linux'",
    "sys_platform == 'win32' or sys_platform == 'darwin'",
    "platform_machine == 'x86_64' and platform_system == 'Linux'",
    "platform_machine == 'aarch64' or platform_machine == 'arm64'",
    "os_name == 'nt'",
    "platform_python_implementation == 'CPython'",
    "implementation_name == 'pypy'",
    "(python_version < '3.9' or sys_platform != 'linux') and extra == 'speed'",
    "extra == 'Speed_Ups'",
    "extra == 'speed-ups' or extra == 'docs'",
    "python_version >= \"3.9\" and (os_name == \"posix\" or os_name == \"nt\")",
    "python_version ~= '3.9'",  # not a shape of ours: packaging decides
    "'linux' == sys_platform",  # literal on the left: packaging decides
    "platform_release >= '5'",  # a version-like literal on a string variable: packaging decides
]
EXTRAS = ["", "speed", "speed_ups", "docs"]


@pytest.mark.parametrize("minor", SUPPORTED_MINORS)
def test_the_fast_markers_answer_as_packaging_does(minor: int) -> None:
    from packaging.markers import Marker

    python = find_python(minor)
    if python is None:
        pytest.skip(f"SKIPPED LOUDLY: no CPython 3.{minor} found on this machine")
    environment = dict(python_facts(python).interpreter.markers)
    answered, differ = 0, []
    for text in MARKERS:
        tree = markers.parse(text)
        for extra in EXTRAS:
            ours = None if tree is None else markers.evaluate(tree, {**environment, "extra": extra})
            if ours is None:
                continue
            answered += 1
            reference = Marker(text).evaluate({**environment, "extra": extra})
            if ours != reference:
                differ.append(f"{text!r} with extra={extra!r}: ours {ours}, packaging {reference}")
    assert differ == []
    assert answered > len(MARKERS)  # most shapes are ours to answer, not packaging's
