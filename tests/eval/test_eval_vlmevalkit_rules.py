"""VLMEvalKit's rule checks as restated in perceptrl.eval.vlmevalkit_rules, quirks included
(benchmarks/eval_parity_vlmevalkit.py compares them with VLMEvalKit's own files)."""

import pytest

from perceptrl.eval import vlmevalkit_rules as R

OPTS = R.choices_dict(["3/11", "8/11", "6/11", "3/5"])


@pytest.mark.parametrize("answer, letter", [
    ("B", "B"), ("(B) 8/11", "B"), ("The correct answer is (B) 8/11.", "B"), ("**Answer:** C", "C"),
    ("8/11", "B"),  # the option text, when short
    ("b", False),  # lower case is no letter, and "b" is no option text
    ("A or B", False),  # two letters
    ("B is right because the figure shows more blue area than the others, as a careful count shows", False),
    ("Z", "Z"), ("Cannot determine the answer", "Z"),
    ("Failed to obtain answer via API.", False),
])
def test_can_infer(answer, letter):
    assert R.can_infer(answer, dict(OPTS)) == letter


def test_can_infer_verbose_fallback_only_for_a_to_d():
    long = "I first rule out the others. " * 3 + "The answer is B and then some more words follow here"
    assert R.can_infer(long, dict(OPTS)) == "B"  # B stands far from the end: the "answer is" rule finds it


def vista(answer, answer_type="integer", options=None):
    qtype = "multi_choice" if options else "free_form"
    return {"answer": answer, "metadata": {"bench": "mathvista", "options": options, "question_type": qtype,
                                           "answer_type": "text" if options else answer_type}}


def test_mathvista_rules():
    assert R.mathvista_check("14", vista("14")) == 14 and R.mathvista_check(" 14\n", vista("14")) == 14
    assert R.mathvista_check("2.5", vista("2")) is False  # int("2.5") fails: no truncation (lmms-eval truncates)
    assert R.mathvista_check("1.450", vista("1.45", "float")) == 1.45  # exact float equality, no rounding
    assert R.mathvista_check("0", vista("0")) == 0  # falsy: VLMEvalKit then asks the LLM anyway
    # lists never match: VLMEvalKit compares str(None) with the gold
    assert R.mathvista_check("[2007, 2008]", vista("[2007, 2008]", "list")) is False
    assert not R.mathvista_correct("[2007, 2008]", vista("[2007, 2008]", "list"))
    item = vista("8/11", options=["3/11", "8/11", "6/11", "3/5"])
    assert R.mathvista_check("A", item) == "A" and not R.mathvista_correct("A", item)
    assert R.mathvista_correct("B", item) and R.mathvista_correct("8/11", item)


def test_mathvision_equal_quirks():
    assert R.mathvision_equal("\\frac{1}{2}", "0.5") and R.mathvision_equal("1/2", "\\frac{1}{2}")
    assert R.mathvision_equal("2^3", "1")  # Python's eval: ^ is XOR
    assert R.mathvision_equal(" 12 ", "12") and not R.mathvision_equal("13", "12")
    # VLMEvalKit evals "a" inside its comparison function, where `a` is the gold just parsed:
    # the answer "A" equals every numeric gold
    assert R.mathvision_equal("A", "12") and R.mathvision_equal("A", "\\frac{1}{2}")
    assert not R.mathvision_equal("B", "12")
    with pytest.raises(ValueError):
        R.arithmetic("__import__('os')")


def test_mathvision_check_and_verdict():
    free = {"answer": "\\frac{1}{2}", "choices": None, "metadata": {"bench": "mathvision"}}
    assert R.mathvision_check("0.5", free) == "0.5" and R.mathvision_check("so 0.5", free) is False
    mc = {"answer": "B", "choices": ["2", "3", "4"], "metadata": {"bench": "mathvision"}}
    assert R.mathvision_check("C", mc) == "C" and not R.mathvision_correct("C", mc)
    assert R.mathvision_correct("3", mc)


def test_wemath_exact_and_logicvista_sets():
    assert R.wemath_exact("<Thought process>: x <Answer>: B. 24") == "B"
    assert R.wemath_exact("the answer is b") is None
    assert R.letter_set("CA") == R.logicvista_gold("A, C") == "ac"
