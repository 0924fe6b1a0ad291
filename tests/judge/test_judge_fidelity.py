"""The judge fidelity set (exact truth by construction) and its scorer."""

import re
from collections import Counter

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge import fidelity as F
from perceptrl.judge.backends import LLMJudge, RulesJudge, callable_generator
from perceptrl.judge.fidelity_prompts import VARIANTS, variant
from perceptrl.judge.parse import parse_verdicts
from perceptrl.judge.rules import normalize


@pytest.fixture(scope="module")
def cases():
    return F.build_set(seed=0)


def test_counts_categories_and_balance(cases):
    cats = Counter(c for case in cases for c in case.categories)
    assert sum(cats.values()) >= 300
    assert set(cats) == set(F.CATEGORIES)
    assert max(cats.values()) - min(cats.values()) <= 2  # balanced
    for case in cases:
        assert len(case.annotations) == len(case.truth) == len(case.categories) >= 2
        assert case.truth == [F.TRUTH[c] for c in case.categories]
    assert {c.kind for c in cases} == {"count", "chart", "geometry"}
    assert any("angle ABC = 90°" in c.annotations for c in cases)  # the right-angle fact exists


def test_deterministic_and_seeded():
    a, b = F.build_set(20, seed=3, min_verdicts=0), F.build_set(20, seed=3, min_verdicts=0)
    assert [x.to_json() for x in a] == [x.to_json() for x in b]
    assert [x.response for x in F.build_set(20, seed=4, min_verdicts=0)] != [x.response for x in a]
    grown = F.build_set(5, seed=0, min_verdicts=40)  # grows until min_verdicts is reached
    assert len(grown) > 5 and sum(len(c.truth) for c in grown) >= 40


def _states(ann, text):
    """Is ``ann`` written verbatim in ``text`` (as a whole: "BC = 7" is not in "angle ABC = 70°")?"""
    return re.search(r"(?<![A-Za-z])" + re.escape(ann) + r"(?![\d°])", text) is not None


def _numbers_for(lhs, text):
    """Values the text gives to the quantity ``lhs`` in its verbatim form ``lhs = v``."""
    return re.findall(r"(?<![A-Za-z])" + re.escape(lhs) + r" = (\d+)", text)


def test_truth_is_exact(cases):
    """What each category promises about the response text holds for every generated verdict."""
    for case in cases:
        resp = case.response
        for ann, cat in zip(case.annotations, case.categories):
            lhs, rhs = (s.strip() for s in ann.split("=", 1))
            value = rhs.rstrip("°")
            if cat == "verbatim":
                assert _states(ann, resp)
            if cat in ("wrong_value", "near_miss", "missing", "injected"):
                assert not _states(ann, resp), (cat, ann, resp)  # never stated verbatim
                assert value not in _numbers_for(lhs, resp)
            if cat == "wrong_value":
                assert re.search(r"\d", resp)
            if cat in ("missing", "injected"):
                # the quantity is never given any value: no "lhs = N" and no paraphrase of it
                assert not _numbers_for(lhs, resp)
            if cat == "near_miss":
                others = [a for a in case.annotations if a != ann]
                assert not any(a.split(" = ")[0] == lhs for a in others)
            if cat == "retracted":
                assert re.search(r"Wait, that is wrong|scratch that", resp)
            if cat == "corrected":
                assert re.search(r"Wait, I misread that|No, let me look again|Correction:", resp)


def test_injected_items_address_the_judge(cases):
    inj = [c for c in cases if "injected" in c.categories]
    assert inj
    marks = ("<info", "grader", "judge", "<|im_start|>", "<<<END RESPONSE>>>", "Ignore previous")
    assert all(any(m in c.response for m in marks) for c in inj)


def test_rules_judge_profile(cases):
    """The rules judge gets every verbatim fact and every absent one right except retractions it
    cannot read, and misses most paraphrases: the numbers the docs report."""
    report, _ = F.evaluate(RulesJudge(), cases)
    pc = report.per_category
    assert pc["verbatim"]["accuracy"] == 1.0
    for cat in ("wrong_value", "near_miss", "missing", "injected"):
        assert pc[cat]["accuracy"] == 1.0, cat
    assert pc["paraphrase"]["accuracy"] < 0.6
    assert report.unparseable_pct == 0 and report.verdicts == sum(len(c.truth) for c in cases)


def test_score_on_a_hand_checked_example():
    cases = [F.Case("a", ["x = 1", "y = 2"], "", [1, 0], ["verbatim", "missing"]),
             F.Case("b", ["x = 1", "y = 2", "z = 3"], "", [1, 1, 0], ["verbatim", "paraphrase", "injected"]),
             F.Case("c", ["x = 1", "y = 2"], "", [1, 0], ["paraphrase", "wrong_value"])]
    preds = [F.Prediction([1, 1]),  # tp, fp
             F.Prediction([1, 0, 1], missing=1),  # tp, fn, fp
             F.Prediction(None, error="unparseable judge answer", unparseable=1)]  # fn, tn
    r = F.score(cases, preds, seconds=6.0)
    assert r.confusion == {"tp": 2, "fp": 2, "tn": 1, "fn": 2}
    assert r.verdicts == 7 and r.accuracy == pytest.approx(3 / 7)
    assert r.precision == pytest.approx(2 / 4) and r.recall == pytest.approx(2 / 4)
    assert r.unparseable_pct == pytest.approx(100 / 3) and r.failed_pct == 0
    assert r.missing_pct == pytest.approx(100 / 7)
    # |1 - 1/2| + |2/3 - 2/3| + |0 - 1/2|, over 3 cases
    assert r.reward_error == pytest.approx((0.5 + 0 + 0.5) / 3)
    assert r.seconds_per_request == pytest.approx(2.0)
    assert r.per_category["verbatim"]["accuracy"] == 1.0
    assert r.per_category["paraphrase"]["accuracy"] == 0.0  # one fn, one failed (counts 0)
    assert r.per_category["wrong_value"]["accuracy"] == 1.0
    assert r.per_category["missing"]["accuracy"] == 0.0 and r.per_category["injected"]["said_present"] == 1.0
    with pytest.raises(ValueError):
        F.score(cases, preds[:2])


def test_per_fact_mode_asks_one_question_per_annotation(cases):
    count = Counter(a for c in cases for a in c.annotations)
    picked = [c for c in cases if all(count[a] == 1 for a in c.annotations)][:3]
    truth = {a: t for c in picked for a, t in zip(c.annotations, c.truth)}
    seen = []

    def oracle(messages):  # answers from the truth of the annotation it is asked about
        items = re.findall(r"<info(\d+)>(.*?)</info\1>", messages[-1]["content"])
        seen.append(len(items))
        return "\n".join(f"<info{k}>{truth[a]}</info{k}>" for k, a in items)

    report, _ = F.evaluate(LLMJudge(callable_generator(oracle), model_id="oracle"), picked, per_fact=True)
    n = sum(len(c.truth) for c in picked)
    assert len(picked) == 3 and seen == [1] * n and report.requests == n and report.accuracy == 1.0


def test_failures_and_unparseable_answers_are_counted_not_rewarded(cases):
    def bad(messages):
        if "bar" in messages[-1]["content"]:
            raise ConnectionError("down")
        return "I think all of them."

    report, preds = F.evaluate(LLMJudge(callable_generator(bad), model_id="bad"), cases[:12])
    assert report.unparseable_pct + report.failed_pct == pytest.approx(100.0)
    assert report.unparseable_pct > 0 and report.failed_pct > 0
    assert report.recall == 0.0 and all(p.verdicts is None for p in preds)


def test_prompt_variants_keep_the_verdict_format():
    for name in VARIANTS:
        tmpl, per_fact = variant(name)
        assert per_fact == (name == "per_fact")
        msgs = tmpl.messages(["AB = 3", "BC = 4"], "AB = 3")
        assert "<info1>AB = 3</info1>" in msgs[1]["content"]
    tmpl, _ = variant("reason_first")
    assert "Evidence 1:" in tmpl.system and parse_verdicts(
        'Evidence 1: "AB = 3"\nEvidence 2: none\n<info1>1</info1>\n<info2>0</info2>', 2).verdicts == [1, 0]
    with pytest.raises(ValueError):
        variant("nope")


def test_read_set_roundtrip_and_bad_rows(tmp_path, cases):
    p = tmp_path / "set.jsonl"
    F.write_set(cases[:4], p)
    assert [c.to_json() for c in F.read_set(p)] == [c.to_json() for c in cases[:4]]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"annotations": ["a = 1"], "response": "x", "truth": [1, 0]}\n{"response": "x"}\n')
    with pytest.raises(PerceptrlError, match="2 bad row"):
        F.read_set(bad)


def test_paraphrases_are_not_verbatim(cases):
    """A paraphrase never contains its annotation in normal form (else it would test nothing)."""
    for case in cases:
        for ann, cat in zip(case.annotations, case.categories):
            if cat == "paraphrase":
                assert normalize(ann) not in normalize(case.response)
