"""The rules extractor: `name = value` facts of a chain of thought, without a model."""

import asyncio

from perceptrl.annotate import AnnotateConfig, annotate
from perceptrl.annotate.rules import RulesExtractor, extract_facts
from perceptrl.synth import generate


def test_synthetic_chains_give_back_their_annotations_exactly():
    exs = [e for d in (1, 2, 3) for e in generate(30, seed=7, difficulty=d)]
    for e in exs:
        assert extract_facts(e.metadata["cot"]) == e.visual_annotations, e.metadata["cot"]


def test_clauses_units_and_what_is_skipped():
    cot = ("<think>So AB = 6 and BC = 4, hence the perimeter = 2 * (6 + 4) = 20.\n"
           "From the figure, angle ABC = 40^\\circ; ∠ACB = 60 degrees.\n"
           "x = 180 - 40 - 60 = 80\nThe answer = 80. total = 9\nAB = 6.\n"
           "height of bar A = 3.5 cm</think><answer>AB = 99</answer>")
    assert extract_facts(cot) == ["AB = 6", "BC = 4", "angle ABC = 40°", "angle ACB = 60°",
                                  "height of bar A = 3.5 cm"]
    assert extract_facts(cot, max_facts=2) == ["AB = 6", "BC = 4"]
    assert extract_facts("bar A is 3 tall; the red circle shows a 7") == []  # words, not `name = value`
    assert not any("<" in f for f in extract_facts("<info1>1</info1> AB = 3\n<info2>1</info2> = 1"))


def test_pipeline_with_rules_extractor_keeps_verified_rows():
    exs = generate(6, seed=2)
    exs[0].metadata["cot"] = exs[0].metadata["cot"].replace(f"\\boxed{{{exs[0].answer}}}", "\\boxed{999}")
    ext = RulesExtractor()
    res = asyncio.run(annotate(exs, AnnotateConfig(cot_column="cot"), extractor=ext, show_progress=False))
    assert [r.status for r in res.results] == ["dropped"] + ["kept"] * 5
    assert [e.visual_annotations for e in res.examples] == [e.visual_annotations for e in exs[1:]]
    assert res.usage["extractions"] == 5
