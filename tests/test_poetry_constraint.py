"""The one translator of poetry constraints (monotrail.poetry_constraint): one row per string.

The expected meanings were checked against poetry-core 2.x (`parse_constraint`, `Package.python_marker`)."""

from __future__ import annotations

import pytest

from monotrail.poetry_constraint import ConstraintError, python_to_marker, to_pep440


@pytest.mark.parametrize(
    ("constraint", "pep440"),
    [
        ("*", None),
        ("x", None),
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0.0", ">=0.0,<0.1"),
        ("^0", ">=0,<1"),
        ("^3.8", ">=3.8,<4.0"),
        ("^2", ">=2,<3"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1", ">=1,<2"),
        ("~=1.2", "~=1.2"),
        ("~=1", ">=1,<2"),
        ("1.4", "==1.4"),
        ("=1.4", "==1.4"),
        ("==1.4", "==1.4"),
        ("<>1.4", "!=1.4"),
        ("1.4.*", "==1.4.*"),
        ("!=1.4.*", "!=1.4.*"),
        ("v1.4", "==1.4"),
        (">=2.0.2,<3.0.5 || >3.0.5", ">=2.0.2,<3.0.5 || >3.0.5"),
        ("^1.2 | ^2.0", ">=1.2,<2.0 || >=2.0,<3.0"),
        (">= 1.0 < 2", ">=1.0,<2"),
        (">=1.0,", ">=1.0"),
        (">=2.7, !=3.0.*, !=3.1.*", ">=2.7,!=3.0.*,!=3.1.*"),
        (">1.0 || *", None),
        # parentheses (poetry-core refuses them; old poetry read the constraint as `*`)
        ("(>=20.4.3,<20.4.5 || >20.4.5)", ">=20.4.3,<20.4.5 || >20.4.5"),
        ("(>=1.0)", ">=1.0"),
        ("((^1.2))", ">=1.2,<2.0"),
        ("(>=1,<2) || (>=3)", ">=1,<2 || >=3"),
    ],
)
def test_package_constraints_as_pep440(constraint: str, pep440: str) -> None:
    assert to_pep440(constraint) == pep440


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("", "empty"),
        ("(>=1,<2", "unbalanced parentheses"),
        ("(>=1 || <0.5), !=0.3", "parentheses may only wrap"),
        (">=1 ||", "empty alternative"),
        ("latest", "at 'latest'"),
        ("1.x", "'1.x' is not a version clause"),
        ("==1.*.2", "is not a version clause"),
        (">=1.*", "is not a version clause"),
        ("^abc", "at '\\^abc'"),
    ],
)
def test_unreadable_constraints_say_what(constraint: str, message: str) -> None:
    with pytest.raises(ConstraintError, match=message):
        to_pep440(constraint)


@pytest.mark.parametrize(
    ("constraint", "marker"),
    [
        ("^3.8", 'python_version >= "3.8" and python_version < "4.0"'),
        ("<3.10", 'python_version < "3.10"'),
        (">=3.6.2", 'python_full_version >= "3.6.2"'),
        ("3.8", 'python_version == "3.8"'),
        ("~2.7 || ^3.5", '(python_version >= "2.7" and python_version < "2.8") or '
                         '(python_version >= "3.5" and python_version < "4.0")'),
        ("*", None),
    ],
)
def test_python_constraint_as_marker(constraint: str, marker: str) -> None:
    assert python_to_marker(constraint) == marker
