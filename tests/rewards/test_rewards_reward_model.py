"""The ``reward_model`` term with a tiny, locally built sequence-classification reward model.

The model is a real ``Qwen2ForSequenceClassification`` (about 200 K parameters, random weights)
with the project's tiny BPE tokenizer, saved with ``save_pretrained`` and loaded back by hub-id-or-path
like any checkpoint. Every number the term returns is checked against a hand computation from
single, unbatched forwards of the same model.
"""

from __future__ import annotations

import math
import time

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from perceptrl.errors import PerceptrlError  # noqa: E402
from perceptrl.rewards.hybrid import HybridSpec, RewardTerm, build_hybrid  # noqa: E402
from perceptrl.rewards.limits import set_max_response_chars  # noqa: E402
from perceptrl.rewards.registry import available_rewards, get_reward  # noqa: E402
from perceptrl.rewards.reward_model import EPS, confidence_mask, pad_batch, row_prompt, stratified_normalize  # noqa: E402
from perceptrl.rewards.runner import RewardRunner  # noqa: E402
from bounds import LINEAR_SCAN_S  # noqa: E402


@pytest.fixture(scope="module")
def tiny_rm_dir(tmp_path_factory):
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    from perceptrl.models.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(vocab_size=512)
    cfg = Qwen2Config(vocab_size=len(tok) + (-len(tok) % 64), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, num_labels=1, pad_token_id=tok.pad_token_id,
                      eos_token_id=tok.eos_token_id, bos_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForSequenceClassification(cfg)
    with torch.no_grad():  # a score head with some spread, so logits differ visibly between texts
        model.score.weight.mul_(50.0)
    assert sum(p.numel() for p in model.parameters()) < 500_000
    out = tmp_path_factory.mktemp("tiny_rm")
    model.save_pretrained(out)
    tok.model_max_length = 128
    tok.save_pretrained(out)
    return out


GOOD = "<think>\nAB = 10 and DE = 4, so x = 3.\n</think>\n<answer>\n\\boxed{3}\n</answer>"
WRONG = GOOD.replace("{3}", "{5}")
OTHER = "<think>\nThe bars are 3 and 6.\n</think>\n<answer>\n\\boxed{3}\n</answer>"
ROWS = [{"id": "g1", "problem": "<image>What is x?", "answer": "3"}] * 4


def _single_logit(rm, prompt: str, response: str) -> float:
    """A hand computation: one pair, no padding, straight through the model."""
    ids = torch.tensor([rm.scorer.encode(prompt, response)])
    with torch.no_grad():
        return float(rm.scorer._model(input_ids=ids).logits[0, 0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_registered_and_needs_a_model():
    assert "reward_model" in available_rewards()
    info = get_reward("reward_model")
    assert info.kind == "group"
    with pytest.raises(PerceptrlError, match="params.model"):
        info.fn([GOOD], ROWS[:1], {})


def test_offline_errors_name_the_fix(tmp_path):
    with pytest.raises(PerceptrlError) as e:  # HF_HUB_OFFLINE=1 in tests: a hub id that is not cached
        get_reward("reward_model", model="no-such-org/no-such-reward-model")
    assert "hf download" in str(e.value) and "no-such-org/no-such-reward-model" in str(e.value)
    with pytest.raises(PerceptrlError, match="does not exist"):
        get_reward("reward_model", model=str(tmp_path / "missing"))


def test_bad_options_are_config_errors(tiny_rm_dir):
    with pytest.raises(PerceptrlError, match="overlap"):
        get_reward("reward_model", model=str(tiny_rm_dir), stratify="accuracy", alpha=0.5, beta=0.5)
    with pytest.raises(PerceptrlError, match="confidence"):
        get_reward("reward_model", model=str(tiny_rm_dir), confidence=0.7)
    with pytest.raises(PerceptrlError, match="transform"):
        get_reward("reward_model", model=str(tiny_rm_dir), transform="softmax")


def test_batched_scores_equal_single_forwards(tiny_rm_dir):
    rm = get_reward("reward_model", model=str(tiny_rm_dir), batch_size=3).fn
    texts = [GOOD, WRONG, OTHER, GOOD]  # different lengths: padded batches; a duplicate: scored once
    out = rm(texts, ROWS, {})
    hand = [sig(_single_logit(rm, "What is x?", t)) for t in texts]
    assert out == pytest.approx(hand, abs=1e-5)
    assert out[0] == out[3] and len(set(round(v, 6) for v in out[:3])) == 3
    assert rm.counters["scored"] == 3  # the duplicate pair was scored once
    raw = get_reward("reward_model", model=str(tiny_rm_dir), transform="raw").fn(texts, ROWS, {})
    assert raw == pytest.approx([_single_logit(rm, "What is x?", t) for t in texts], abs=1e-4)


def test_confidence_gate_gives_the_floor(tiny_rm_dir):
    base = get_reward("reward_model", model=str(tiny_rm_dir)).fn
    texts = [GOOD, WRONG, OTHER]
    probs = base(texts, ROWS[:3], {})
    c = sorted(abs(p - 0.5) for p in probs)[1]  # the median confidence: the least confident one is gated
    gated = get_reward("reward_model", model=str(tiny_rm_dir), confidence=c).fn(texts, ROWS[:3], {})
    assert gated == pytest.approx([p if abs(p - 0.5) >= c else 0.0 for p in probs])
    assert 0.0 in gated and min(p for p in probs) > 0.0  # the floor is below every present score
    assert confidence_mask([0.0, 3.0, None], 0.2) == [False, True, False]
    # raw scores: the floor is the lowest present score of the group, never above a present one
    raw = get_reward("reward_model", model=str(tiny_rm_dir), transform="raw", confidence=c).fn(texts, ROWS[:3], {})
    logits = [math.log(p / (1 - p)) for p in probs]
    present = [x for x, p in zip(logits, probs) if abs(p - 0.5) >= c]
    assert raw == pytest.approx([x if abs(p - 0.5) >= c else min(present) for x, p in zip(logits, probs)], abs=1e-4)


def test_pad_batch_right_pads_with_a_mask():
    ids, mask = pad_batch([[5, 6, 7], [8]], pad=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_row_prompt_drops_image_placeholders():
    assert row_prompt({"prompt": "<image>What is AB?"}) == "What is AB?"
    assert row_prompt({"prompt": [{"role": "user", "content": "<image> Find x."}]}) == "Find x."
    assert row_prompt({}) == ""


def test_stratified_normalisation_by_hand():
    # group g: right answers score 0.2 and 0.6 -> [0.9, 1.1]; wrong answers 0.9, 0.1, gated -> [-0.1, 0.1]
    scores = [0.2, 0.6, 0.9, 0.1, None, 0.5]
    verdicts = [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    groups = ["g", "g", "g", "g", "g", "h"]
    out = stratified_normalize(scores, verdicts, groups, alpha=0.1, beta=0.1)
    assert out[0] == pytest.approx(0.9)
    assert out[1] == pytest.approx(0.9 + 0.2 * 0.4 / (0.4 + EPS))
    assert out[2] == pytest.approx(-0.1 + 0.2 * 0.8 / (0.8 + EPS))
    assert out[3] == pytest.approx(-0.1) and out[4] == pytest.approx(-0.1)  # gated: the bottom of its range
    assert out[5] == pytest.approx(0.9)  # alone in its stratum
    assert min(out[i] for i in (0, 1, 5)) > max(out[i] for i in (2, 3, 4))  # never flips a verdict
    unjudged = stratified_normalize([1.0, 3.0], [None, None], ["u", "u"])
    assert unjudged == pytest.approx([0.0, 2.0 / (2.0 + EPS)])


def test_hybrid_accuracy_plus_reward_model_through_the_runner(tiny_rm_dir):
    spec = HybridSpec([
        RewardTerm("accuracy", 1.0),
        RewardTerm("rm", 0.5, reward="reward_model", params={"model": str(tiny_rm_dir), "stratify": "accuracy"}),
    ])
    hybrid = build_hybrid(spec)
    texts = [GOOD, WRONG, OTHER, WRONG.replace("so x = 3", "so x = 5")]
    with RewardRunner(hybrid, workers=1) as runner:
        batch = runner.score(texts, ROWS)
    acc = batch.components["accuracy"]
    assert acc == [1.0, 0.0, 1.0, 0.0]
    rm = hybrid.terms[1].info.fn
    probs = [sig(_single_logit(rm, "What is x?", t)) for t in texts]

    def norm(i, j, lo):
        a, b = probs[i], probs[j]
        return lo + 0.2 * (a - min(a, b)) / (abs(a - b) + EPS)

    hand = [norm(0, 2, 0.9), norm(1, 3, -0.1), norm(2, 0, 0.9), norm(3, 1, -0.1)]
    assert batch.components["rm"] == pytest.approx(hand, abs=1e-5)
    assert batch.total == pytest.approx([a + 0.5 * h for a, h in zip(acc, hand)], abs=1e-5)
    assert min(batch.total[0], batch.total[2]) > max(batch.total[1], batch.total[3])
    assert "rm/mean" in batch.metrics
    assert batch.metrics["rm/scored"] >= 4  # the term's own counters reach the runner's metrics


def test_stratify_needs_the_verifier_term(tiny_rm_dir):
    rm = get_reward("reward_model", model=str(tiny_rm_dir), stratify="accuracy").fn
    with pytest.raises(PerceptrlError, match="not a term"):
        rm([GOOD], ROWS[:1], {"format": [1.0]})


def test_truncation_keeps_the_response_and_long_inputs_are_cheap(tiny_rm_dir):
    rm = get_reward("reward_model", model=str(tiny_rm_dir)).fn
    scorer = rm.scorer
    long_prompt = "What is x? " * 500
    ids = scorer.encode(long_prompt, GOOD)
    assert len(ids) <= scorer.max_length == 128
    text = scorer._tok.decode(ids)
    assert GOOD in text and "What is x?" in text  # the response whole, the prompt's end
    assert ids[:3] == scorer.encode("What is x?", GOOD)[:3]  # the template's start is intact
    t0 = time.perf_counter()
    huge = "\\boxed{" * 30_000  # 210 KB: over the response cap, never tokenised
    just_under = "x = 3. " * 9_000  # 63 KB: tokenised, truncated to the last tokens
    out = rm([huge, just_under, GOOD], [dict(r) for r in ROWS[:3]], {})
    assert time.perf_counter() - t0 < LINEAR_SCAN_S
    assert out[0] == 0.0 and 0.0 < out[1] < 1.0 and 0.0 < out[2] < 1.0
    assert rm.counters["over_cap"] == 1
    set_max_response_chars(10)  # the cap is the rewards' one: a lower cap floors every response here
    try:
        assert rm([GOOD], ROWS[:1], {}) == [0.0]
    finally:
        set_max_response_chars(None)


def test_recipe_builds_with_a_local_model(tiny_rm_dir):
    from pathlib import Path

    from perceptrl.train.config import load_train_config
    from perceptrl.train.rewards_setup import build_spec

    cfg = load_train_config(Path(__file__).resolve().parents[2] / "configs" / "reward_model.yaml")
    spec = build_spec(cfg)
    assert [t.name for t in spec.terms] == ["accuracy", "reward_model", "repetition"]
    rm = spec.terms[1]
    assert rm.params["stratify"] == "accuracy" and rm.params["alpha"] + rm.params["beta"] < 1
    rm.params.update(model=str(tiny_rm_dir), device="cpu", dtype="float32")
    hybrid = build_hybrid(spec)
    with RewardRunner(hybrid, workers=1) as runner:
        batch = runner.score([GOOD, WRONG], ROWS[:2])
    assert batch.components["accuracy"] == [1.0, 0.0]
    assert batch.total[0] >= 1.0 + 0.5 * 0.9 - 1e-6 and batch.total[1] <= 0.5 * 0.1 + 1e-6
