"""Held-out scoring: answer accuracy, perception accuracy (rules judge) and strict format, per problem."""

from perceptrl.demo.evaluate import score_responses
from perceptrl.synth import generate


def test_gold_chain_of_thought_scores_perfectly():
    exs = generate(6, seed=3, kinds=("chart", "count"))
    res = score_responses(exs, [ex.metadata["cot"] for ex in exs], step=5)
    assert res.step == 5
    assert res.accuracy == 1.0 and res.perception == 1.0 and res.format == 1.0
    assert res.correct == [1] * 6 and res.facts == [1.0] * 6


def test_partial_and_wrong_responses():
    ex = generate(1, seed=0, kinds=("chart",))[0]
    first, second = ex.visual_annotations
    lhs2, rhs2 = second.split(" = ")
    wrong_value = str(int(rhs2) % 6 + 1)
    # first fact right, second wrong, answer wrong, no format
    resp = f"{first}\n{lhs2} = {wrong_value}\nthe answer is \\boxed{{{int(ex.answer) + 100}}}"
    res = score_responses([ex, ex], [resp, ex.metadata["cot"]])
    assert res.correct == [0, 1]
    assert res.facts == [0.5, 1.0]
    assert res.accuracy == 0.5 and res.perception == 0.75 and res.format == 0.5
