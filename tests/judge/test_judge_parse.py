"""Verdict parsing (METHODS.md §1, reference bugs 1 and 2)."""

from perceptrl.judge.parse import parse_verdicts


def test_one_verdict_per_index_in_order():
    v = parse_verdicts("<info1>1</info1>\n<info2>0</info2>\n<info3>1</info3>", 3)
    assert v.verdicts == [1, 0, 1] and v.missing == [] and v.score == 2 / 3


def test_whitespace_and_case_tolerated_inside_tags():
    v = parse_verdicts("< info1 > 1 </ info1 >\n<INFO2>1</INFO2>", 2)
    assert v.verdicts == [1, 1]


def test_truncated_answer_counts_missing_as_zero_over_m():
    v = parse_verdicts("<info1>1</info1>\n<info2>1</info2>\n<info3>", 4)
    assert v.verdicts == [1, 1, 0, 0]
    assert v.missing == [3, 4]
    assert v.score == 0.5  # the reference would give 2/2 = 1.0


def test_conflicting_duplicates_count_zero_and_agreeing_duplicates_once():
    v = parse_verdicts("<info1>0</info1><info1>1</info1><info2>1</info2><info2>1</info2>", 2)
    assert v.verdicts == [0, 1]
    assert v.conflicting == [1]


def test_single_line_answer_is_not_read_greedily():
    # a greedy `<info1>(.*)</info1>` swallows the other tags on the line
    v = parse_verdicts("<info1>1</info1><info2>0</info2><info3>1</info3>", 3)
    assert v.verdicts == [1, 0, 1]


def test_out_of_range_and_non_binary_verdicts_ignored():
    v = parse_verdicts("<info0>1</info0><info1>yes</info1><info2>1</info2><info9>1</info9>", 2)
    assert v.verdicts == [0, 1]
    assert v.missing == [1] and v.extra == 2


def test_reasoning_block_is_dropped():
    v = parse_verdicts("<think>maybe <info1>1</info1></think>\n<info1>0</info1>", 1)
    assert v.verdicts == [0] and v.conflicting == []


def test_no_annotations_scores_zero():
    assert parse_verdicts("anything", 0).score == 0.0
