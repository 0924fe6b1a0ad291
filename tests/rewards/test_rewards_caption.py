import pytest

from perceptrl.rewards.caption import caption_overlap, make_caption_reward


def test_identical_caption_scores_one_and_disjoint_zero():
    assert caption_overlap("a red circle with the number 7", "a red circle with the number 7") == pytest.approx(1.0)
    assert caption_overlap("blue square", "a red circle with the number 7") == pytest.approx(0.0, abs=1e-6)


def test_partial_overlap_is_mean_of_bleu_and_rouge():
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    hyp, ref = "a red circle with number 7", "a red circle with the number 7"
    bleu = BLEU(effective_order=True).sentence_score(hyp, [ref]).score / 100
    rouge = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(ref, hyp)["rougeL"].fmeasure
    assert caption_overlap(hyp, ref) == pytest.approx((bleu + rouge) / 2)
    assert 0 < caption_overlap(hyp, ref) < 1


def test_reward_reads_caption_tag():
    fn = make_caption_reward()
    row = {"caption": "three bars of heights 2, 5 and 6"}
    assert fn("<caption>three bars of heights 2, 5 and 6</caption><think>x</think>", row) == pytest.approx(1.0)
    assert fn("<think>no caption</think>", row) == 0.0
    assert fn("<caption>x</caption>", {"caption": None}) is None
    assert make_caption_reward("describe")("<describe>three bars of heights 2, 5 and 6</describe>", row) > 0.99


def test_200kb_and_empty():
    fn = make_caption_reward()
    row = {"caption": "a red circle"}
    assert fn("<caption>" + "a red circle " * 16_000 + "</caption>", row) < 0.5
    assert fn("", row) == 0.0
    assert fn("<caption></caption>", row) == 0.0
