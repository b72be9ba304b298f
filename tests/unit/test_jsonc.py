"""Editors' settings files (JSON with comments) read, and changed without touching anything else."""

from __future__ import annotations

import json
import textwrap

import pytest

from monotrail.errors import SettingsError
from monotrail.jsonc import loads, set_members

SETTINGS = textwrap.dedent("""\
    // my settings
    {
        /* the editor */
        "editor.tabSize": 4, // four
        "url": "http://example.com/a//b", // a string holding // and /*
        "python.defaultInterpreterPath": "/old/python",
        "files.exclude": {
            "**/.git": true,
        },
    }
    """)


def test_jsonc_reads_comments_and_trailing_commas():
    assert loads(SETTINGS) == {
        "editor.tabSize": 4, "url": "http://example.com/a//b", "python.defaultInterpreterPath": "/old/python",
        "files.exclude": {"**/.git": True},
    }


def test_setting_an_existing_key_changes_its_value_only():
    changed = set_members(SETTINGS, {"python.defaultInterpreterPath": "/new/python"})
    assert changed == SETTINGS.replace('"/old/python"', '"/new/python"')


def test_a_new_key_goes_before_the_closing_brace_with_the_members_indentation():
    changed = set_members(SETTINGS, {"python.analysis.extraPaths": ["/a", "/b"]})
    assert changed.startswith(SETTINGS[: SETTINGS.rindex("},")])  # everything before is untouched
    assert changed.endswith(textwrap.dedent("""\
            },
            "python.analysis.extraPaths": [
                "/a",
                "/b"
            ]
        }
        """))
    assert loads(changed)["python.analysis.extraPaths"] == ["/a", "/b"]


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', '{"a": 1,\n    "k": "v"\n}'),
    ('{\n  "a": 1 // last\n}\n', '{\n  "a": 1, // last\n  "k": "v"\n}\n'),
    ('{}', '{\n    "k": "v"\n}'),
    ('{\n}\n', '{\n    "k": "v"\n}\n'),
    ("", '{\n    "k": "v"\n}\n'),
    ("// only a comment\n", '// only a comment\n{\n    "k": "v"\n}\n'),
])
def test_new_keys_in_small_files(text, expected):
    changed = set_members(text, {"k": "v"})
    assert changed == expected
    assert loads(changed)["k"] == "v"


@pytest.mark.parametrize("text, where, what", [
    ('{"a": 1 "b": 2}', "settings.json:1:9", "',' or '}' was expected"),
    ('{\n  "a": tru\n}', "settings.json:2:8", "a value was expected"),
    ("[1, 2]", "settings.json:1:1", "must be an object"),
    ('{"a": 1} x', "settings.json:1:10", "goes on after"),
    ('{"a": 1 /* open', "settings.json:1:9", "unterminated"),
    ("{a: 1}", "settings.json:1:2", "double quotes"),
])
def test_text_that_is_not_jsonc_is_an_error_with_its_line_and_column(text, where, what):
    with pytest.raises(SettingsError) as raised:
        set_members(text, {"k": "v"}, source="settings.json")
    assert raised.value.where == where
    assert what in str(raised.value)


def test_plain_json_round_trips_through_the_standard_parser():
    text = json.dumps({"a": [1, 2.5, None, False], "b": {"c": "d\u00e9\\n"}}, indent=2)
    assert loads(text) == json.loads(text)
    assert json.loads(set_members(text, {"a": 3, "z": {"y": 1}})) == {"a": 3, "b": {"c": "d\u00e9\\n"}, "z": {"y": 1}}
