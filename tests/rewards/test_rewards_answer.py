from perceptrl.rewards.answer import extract_answer, extract_answer_block, last_boxed


def test_multiline_answer_block_is_read_across_lines():
    text = "<think>\nwork\n</think>\n<answer>\nThe area is\n12 square units\n</answer>"
    assert extract_answer(text) == "The area is\n12 square units"


def test_boxed_inside_answer_block_wins_and_braces_balance():
    text = "<think>maybe \\boxed{3}</think><answer>\nso\n\\boxed{\\frac{1}{2}}\n</answer>"
    assert extract_answer(text) == "\\frac{1}{2}"


def test_last_boxed_without_tags_and_truncated_box_skipped():
    assert extract_answer("first \\boxed{1} then \\boxed{2\\sqrt{3}}.") == "2\\sqrt{3}"
    assert last_boxed("\\boxed{4} and a cut \\boxed{\\frac{1}{") == "4"
    assert last_boxed("\\boxed 7 apples") == "7"
    assert last_boxed("\\fbox{B}") == "B"


def test_last_answer_block_and_truncated_block():
    assert extract_answer("<answer>1</answer> retry <answer>2</answer>") == "2"
    assert extract_answer_block("<answer>1</answer> then <answer>\n5 and more") == "\n5 and more"


def test_phrase_fallbacks_and_nothing():
    assert extract_answer("Thus the final answer is 42.") == "42"
    assert extract_answer("Answer: B") == "B"
    assert extract_answer("") is None
    assert extract_answer(None) is None
    assert extract_answer("no answer here") is None
    assert extract_answer("<answer>   </answer>") is None


def test_200kb_response_is_fast():
    import time

    text = "<think>" + "word " * 40_000 + "</think><answer>\\boxed{7}</answer>"
    assert len(text) > 200_000
    t = time.perf_counter()
    assert extract_answer(text) == "7"
    assert extract_answer("{" * 200_000) is None
    assert time.perf_counter() - t < 1.0
