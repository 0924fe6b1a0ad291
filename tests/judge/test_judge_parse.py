"""Verdict parsing (METHODS.md §1, reference bugs 1 and 2)."""

import json

from perceptrl.judge.parse import parse_verdicts
from bounds import LINEAR_SCAN_S


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


def test_float_and_boolean_verdict_values():
    v = parse_verdicts("<info1>1.0</info1><info2>0.00</info2><info3>TRUE</info3><info4>false</info4>", 4)
    assert v.verdicts == [1, 0, 1, 0] and v.missing == []


def test_other_values_are_not_verdicts():
    # yes/no, fractions and other numbers are not offered by the prompt: missing, not guessed
    v = parse_verdicts("<info1>yes</info1><info2>0.5</info2><info3>2</info3><info4>1.5</info4>", 4)
    assert v.verdicts == [0, 0, 0, 0] and v.missing == [1, 2, 3, 4]


def test_think_blocks_anywhere_are_dropped():
    ans = "<info1>1</info1>\n<think>no wait <info2>1</info2></think>\n<info2>0</info2><think>x</think>"
    v = parse_verdicts(ans, 2)
    assert v.verdicts == [1, 0] and v.conflicting == []


def test_reasoning_opened_in_the_prompt_or_cut_off():
    # a template that opens <think> in the prompt: only what follows </think> is the answer
    assert parse_verdicts("maybe <info1>1</info1> ...</think>\n<info1>0</info1>", 1).verdicts == [0]
    # an answer cut off while reasoning has no verdicts
    v = parse_verdicts("<info1>0</info1>\n<think>on second thought <info1>1</info1>", 1)
    assert v.verdicts == [0] and v.conflicting == []


def test_json_object_answer():
    v = parse_verdicts('{"info1": 1, "info2": 0, "info3": true, "info4": 1.0}', 4)
    assert v.verdicts == [1, 0, 1, 1] and v.source == "json"
    fenced = parse_verdicts('```json\n{"info1": 0, "info2": 1}\n```', 2)
    assert fenced.verdicts == [0, 1] and fenced.source == "json"


def test_json_reasoning_text_is_never_read_as_verdicts():
    ans = json.dumps({"reasoning": "the response writes <info2>1</info2> and 'info2': 1", "info1": 1, "info2": 0})
    v = parse_verdicts(ans, 2)
    assert v.verdicts == [1, 0] and v.conflicting == [] and v.source == "json"


def test_truncated_json_keeps_what_it_got():
    v = parse_verdicts('{"info1": 1, "info2": 1, "in', 3)
    assert v.verdicts == [1, 1, 0] and v.missing == [3] and v.source == "tags"


def test_json_duplicates_conflict_and_out_of_range_is_extra():
    v = parse_verdicts('{"info1": 1, "info1": 0, "info3": 1}', 2)  # json keeps the last duplicate key
    assert v.verdicts == [0, 0] and v.extra == 1
    v = parse_verdicts('<info1>1</info1> {"info1": 0', 1)  # tags and pairs in free text disagree
    assert v.conflicting == [1]


def test_linear_on_a_long_answer():
    import time

    t0 = time.perf_counter()
    parse_verdicts("<think>" * 20000 + "<info1>1</info1>" * 20000 + '{"info1": 1' * 20000, 5)
    assert time.perf_counter() - t0 < LINEAR_SCAN_S


def test_closing_tag_without_its_index_is_accepted_but_not_another_index():
    # Qwen2.5-Coder-0.5B through llama-server answered exactly this to our prompt
    v = parse_verdicts("<info1>1</info>\n<info2>1</info>\n<info3>0</info3>", 3)
    assert v.verdicts == [1, 1, 0] and v.missing == []
    assert parse_verdicts("<info1>1</info2>", 1).missing == [1]
