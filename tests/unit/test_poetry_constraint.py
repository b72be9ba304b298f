"""The one translator of poetry constraints (monotrail.poetry_constraint): one row per string.

The expected meanings were checked against poetry-core 2.x (`parse_constraint`, `Package.python_marker`)."""

from __future__ import annotations

import pytest

from monotrail.interpreters.discovery import normalize_requires_python
from monotrail.poetry_constraint import ConstraintError, python_to_marker, python_to_pep440, to_pep440


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


# --- Python versions: one meaning for the poetry reader and the interpreter request ---------------


@pytest.mark.parametrize(
    ("constraint", "pep440", "accepts", "refuses"),
    [
        ("3.8", "==3.8.*", ["3.8.0", "3.8.18"], ["3.7.17", "3.9.0"]),
        ("==3.8", "==3.8.*", ["3.8.18"], ["3.9.0"]),
        ("=3.8", "==3.8.*", ["3.8.18"], ["3.9.0"]),
        ("!=3.8", "!=3.8.*", ["3.7.17", "3.9.1"], ["3.8.18"]),
        ("<=3.8", "<3.9", ["3.8.18"], ["3.9.0"]),
        (">3.8", ">=3.9", ["3.9.0"], ["3.8.18"]),
        ("<3.8", "<3.8", ["3.7.17"], ["3.8.0"]),
        (">=3.8", ">=3.8", ["3.8.0", "3.12.1"], ["3.7.17"]),
        ("3.8.1", "==3.8.1", ["3.8.1"], ["3.8.18"]),
        (">=3.6.2", ">=3.6.2", ["3.6.2"], ["3.6.1"]),
        ("3.8.*", "==3.8.*", ["3.8.18"], ["3.9.0"]),
        ("~3.8", ">=3.8,<3.9", ["3.8.18"], ["3.9.0"]),
        ("^3.8", ">=3.8,<4.0", ["3.8.0", "3.13.0"], ["3.7.17"]),
        (">=3.7,<=3.10", ">=3.7,<3.11", ["3.10.13"], ["3.11.0"]),
        (">=2.7, !=3.0.*, !=3.1.*", ">=2.7,!=3.0.*,!=3.1.*", ["3.8.18"], ["3.0.1"]),
        ("~2.7 || ^3.5", ">=2.7,<2.8 || >=3.5,<4.0", ["2.7.18", "3.12.1"], ["3.4.10"]),
        ("*", None, ["3.8.18"], []),
    ],
)
def test_python_constraints_mean_what_poetrys_markers_mean(
    constraint: str, pep440: str, accepts: list, refuses: list
) -> None:
    """The PEP 440 form (what the lock's requires-python becomes) accepts exactly the Pythons the
    marker poetry writes for the constraint accepts (what `poetry export` hands to pip)."""
    from packaging.markers import Marker
    from packaging.specifiers import SpecifierSet

    assert python_to_pep440(constraint) == pep440
    marker = python_to_marker(constraint)
    for version, expected in [(v, True) for v in accepts] + [(v, False) for v in refuses]:
        environment = {"python_version": ".".join(version.split(".")[:2]), "python_full_version": version}
        assert marker is None or Marker(marker).evaluate(environment) == expected, (marker, version)
        assert any(SpecifierSet(a).contains(version) for a in (pep440 or "").split(" || ")) == expected, version


@pytest.mark.parametrize("constraint", ["3.8", "=3.8", "^3.8", "~3.8", "3.8.1", "3.8.*", "~2.7 || ^3.5", "*"])
def test_the_interpreter_request_reads_poetry_forms_with_the_same_translator(constraint: str) -> None:
    """interpreters.normalize_requires_python and the poetry reader agree (they disagreed on `3.8`:
    `==3.8.*` there, `==3.8` in the reader, so 3.8.18 was refused by one of them). A clause with a
    PEP 440 operator stays PEP 440 there (`<=3.10` is 3.10.0 at most, as uv reads a requires-python)."""
    expected = python_to_pep440(constraint)
    assert normalize_requires_python(constraint) == tuple((expected or "").split(" || "))


@pytest.mark.parametrize("constraint", ["3.8", "!=3.8", "<=3.8", ">3.8", ">=3.7,<=3.10", "^3.8", "~2.7 || ^3.5"])
def test_what_the_poetry_reader_writes_the_interpreter_request_keeps(constraint: str) -> None:
    written = python_to_pep440(constraint) or ""
    assert normalize_requires_python(written) == tuple(written.split(" || "))
