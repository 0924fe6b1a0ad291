"""Parsing and formatting Perception-R1's ``visual_key_info`` strings."""

from __future__ import annotations

import re

import pytest

from perceptrl.data.annotations import AnnotationFormatError, format_visual_key_info, parse_visual_key_info, row_annotations

TRICKY = [
    r"GE = 10, and $\angle GED = 90^\circ$",
    "AB < CD while EF > 3\nso the chord is bisected",
    r"the ratio is $\frac{a}{b} < 1$ <b>not bold</b> <info2> literal",
    "x = {1, 2}",
]


def test_parse_simple_and_empty():
    assert parse_visual_key_info("<info1>AB = 10</info1>\n<info2>CD = 4</info2>") == ["AB = 10", "CD = 4"]
    assert parse_visual_key_info("") == []
    assert parse_visual_key_info("  \n ") == []
    assert parse_visual_key_info(None) == []


def test_tricky_content_round_trips_verbatim():
    text = format_visual_key_info(TRICKY)
    assert text.startswith("<info1>GE = 10") and "</info1>\n<info2>" in text
    assert parse_visual_key_info(text) == TRICKY


def test_separators_and_surrounding_whitespace_are_tolerated():
    assert parse_visual_key_info("  <info1> a </info1><info2>b\n</info2>\n\n") == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<info1>a</info1>\n<info3>b</info3>", "expected <info2>"),
        ("<info1>a</info2>", "never closed"),
        ("<info1>a</info1> stray text <info2>b</info2>", "expected <info2> at character"),
        ("v1: AB = 10", "expected <info1>"),
        ("<info1>  </info1>", "is empty"),
        ("<info2>a</info2>", "expected <info1>"),
    ],
)
def test_malformed_strings_name_the_problem(text, message):
    with pytest.raises(AnnotationFormatError, match=message):
        parse_visual_key_info(text)


def test_format_refuses_what_cannot_be_parsed_back():
    with pytest.raises(AnnotationFormatError, match="closing tag"):
        format_visual_key_info(["ok", "a </info2> b"])
    with pytest.raises(AnnotationFormatError, match="empty"):
        format_visual_key_info([""])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AB = 10\nCD = 4", "no numbered <info1>, <info2>, … tags (plain text is not read as annotations)"),
        ("<info>AB = 10</info>", "(<info> needs its number)"),
        ("<info1>AB = 10</info2>", "never closed by </info1>"),
        ("<info1>AB</info1>\n<info3>CD</info3>", "expected <info2>"),
    ],
)
def test_untagged_visual_key_info_is_an_error_never_no_annotations(text, message):
    with pytest.raises(AnnotationFormatError, match=re.escape(message)):
        parse_visual_key_info(text)
    with pytest.raises(AnnotationFormatError, match="visual_key_info: "):
        row_annotations({"visual_key_info": text})


def test_row_annotations():
    assert row_annotations({"visual_annotations": ["AB = 10"], "visual_key_info": "junk"}) == ["AB = 10"]
    assert row_annotations({"visual_annotations": [], "visual_key_info": "<info1>a</info1>\n<info2>b</info2>"}) == ["a", "b"]
    assert row_annotations({"id": 1}) == [] and row_annotations({"visual_key_info": "  "}) == []
    with pytest.raises(AnnotationFormatError, match="list of strings, not a str"):
        row_annotations({"visual_annotations": "AB = 10"})  # would be read as one annotation per character
    with pytest.raises(AnnotationFormatError, match="item 2 is a int"):
        row_annotations({"visual_annotations": ["a", 3]})
