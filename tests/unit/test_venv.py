"""monotrail.venv in-process: what it reads of a store entry without installer's parsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from installer.utils import parse_metadata_file

from monotrail.venv import _root_is_purelib

WHEELS = {
    "plain-false": "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n",
    "plain-true": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n",
    "lowercase-name-no-blank": "root-is-purelib:false",
    "blanks-around": "Root-Is-Purelib: \t False  \n",
    "first-wins": "Root-Is-Purelib: false\nRoot-Is-Purelib: true\n",
    "after-the-body-starts": "Wheel-Version: 1.0\n\nRoot-Is-Purelib: false\n",
    "absent": "Wheel-Version: 1.0\nTag: py3-none-any\n",
    "empty": "",
    "empty-value": "Root-Is-Purelib:\n",
    "continued": "Root-Is-Purelib:\n false\n",
    "continued-other": "Generator: x\n y\nRoot-Is-Purelib: false\n",
    "crlf": "Wheel-Version: 1.0\r\nRoot-Is-Purelib: false\r\n",
    "cr": "Wheel-Version: 1.0\rRoot-Is-Purelib: false\r",
    "not-a-header-line": "Wheel-Version: 1.0\nthis is not a header\nRoot-Is-Purelib: false\n",
    "name-with-a-space": "Root Is Purelib: false\nRoot-Is-Purelib: false\n",
    "from-line": "From someone\nRoot-Is-Purelib: false\n",
}


@pytest.mark.parametrize("case", sorted(WHEELS))
def test_root_is_purelib_reads_as_installers_parser(tmp_path: Path, case: str):
    """Plain `Name: value` WHEEL files are read without the email package; every other shape
    goes to installer's parser: the answer is the parser's either way."""
    text = WHEELS[case]
    (tmp_path / "WHEEL").write_bytes(text.encode())
    value = parse_metadata_file(text).get("Root-Is-Purelib")
    assert _root_is_purelib(tmp_path) == (value is None or str(value).strip().lower() == "true")


def test_a_missing_wheel_file_is_purelib(tmp_path: Path):
    assert _root_is_purelib(tmp_path) is True
