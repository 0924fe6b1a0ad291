"""Stage-1 fidelity: synthetic chains with known facts, and the extraction metrics."""

import asyncio

import pytest

from perceptrl.annotate import AnnotateConfig, annotate
from perceptrl.annotate.evaluate import fact_matches, score_extraction, synthetic_chains
from perceptrl.annotate.rules import RulesExtractor
from perceptrl.rewards.accuracy import answers_match


def test_chains_styles_and_wrong_answers():
    exs = synthetic_chains(30, seed=1)
    assert {e.metadata["cot_style"] for e in exs} == {"verbatim", "words", "mixed"}
    for e in exs:
        cot, gold = e.metadata["cot"], e.metadata["gold_facts"]
        assert gold == e.visual_annotations
        assert answers_match(cot, e.answer) == e.metadata["cot_correct"]
        n_verbatim = sum(g in cot for g in gold)
        want = {"verbatim": len(gold), "words": 0, "mixed": (len(gold) + 1) // 2}[e.metadata["cot_style"]]
        assert n_verbatim == want, cot
    assert 0 < sum(not e.metadata["cot_correct"] for e in exs) < 15
    assert [e.metadata["cot"] for e in synthetic_chains(30, seed=1)] == [e.metadata["cot"] for e in exs]


def test_fact_matching_after_normalisation():
    assert fact_matches("∠ABC = 40 degrees", "angle ABC = 40°")
    assert fact_matches("Height of bar A = 3.0", "height of bar A = 3")
    assert not fact_matches("height of bar A = 30", "height of bar A = 3")
    assert not fact_matches("height of bar B = 3", "height of bar A = 3")


def test_score_on_a_hand_checked_example():
    exs = synthetic_chains(3, seed=2)
    for e, ok in zip(exs, (True, True, False)):
        e.metadata["cot_correct"] = ok
    g0, g1 = exs[0].metadata["gold_facts"], exs[1].metadata["gold_facts"]
    recs = {exs[0].id: {"status": "kept", "cots_verified": 1, "annotations": [g0[0], "x = 99"]},
            exs[1].id: {"status": "dropped", "cots_verified": 1, "annotations": []},
            exs[2].id: {"status": "error"}}
    r = score_extraction(exs, recs)
    assert (r.passed, r.passed_correct, r.kept, r.errors, r.correct_chains) == (2, 2, 1, 1, 2)
    assert r.precision == pytest.approx(1 / 2)
    assert r.recall == pytest.approx(1 / (len(g0) + len(g1)))
    assert r.passed_share == pytest.approx(2 / 3)


def test_rules_extractor_finds_exactly_the_name_value_facts():
    exs = synthetic_chains(30, seed=3)
    res = asyncio.run(annotate(exs, AnnotateConfig(cot_column="cot"), extractor=RulesExtractor(),
                               show_progress=False))
    r = score_extraction(exs, {x.id: x.to_json() for x in res.results})
    assert r.precision == 1.0 and r.wrongly_passed == 0 and r.passed == r.correct_chains
    verbatim = sum(len(e.metadata["gold_facts"]) for e in exs if e.metadata["cot_correct"]
                   and e.metadata["cot_style"] == "verbatim")
    mixed = sum((len(e.metadata["gold_facts"]) + 1) // 2 for e in exs if e.metadata["cot_correct"]
                and e.metadata["cot_style"] == "mixed")
    assert r.gold_found == verbatim + mixed  # words-only facts are out of its reach, by design


def test_matching_facts_in_words_names_one_object_and_one_number():
    subjects = ["bar a", "bar b"]
    assert fact_matches("bar A is 2 tall", "height of bar A = 2", subjects)
    assert not fact_matches("bar B is 2 taller than bar A", "height of bar A = 2", subjects)  # two objects
    assert not fact_matches("bar A is 20 tall", "height of bar A = 2", subjects)
    assert not fact_matches("bar A is 2 tall and 3 wide", "height of bar A = 2", subjects)  # two numbers
