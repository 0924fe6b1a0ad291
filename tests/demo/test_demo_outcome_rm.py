"""The synthetic world's outcome RM: AUC by hand, a learnable signal is learnt, and the
``reward_model`` arm scores through the runner with HERO's disjoint strata."""

import json

import pytest

from perceptrl.demo.arms import reward_terms, train_overrides
from perceptrl.demo.config import DemoConfig
from perceptrl.demo.outcome_rm import OutcomeRMConfig, fit_outcome_rm, roc_auc, train_outcome_rm
from perceptrl.train import load_train_config


def test_roc_auc_by_hand():
    # pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) loss, (0.8, 0.1) win, (0.8, 0.4) win -> 3/4
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5  # a tie counts half
    assert roc_auc([0.1, 0.2], [1, 1]) is None


@pytest.fixture(scope="module")
def tokenizer():
    from perceptrl.models.tokenizer import train_bpe_tokenizer

    return train_bpe_tokenizer(vocab_size=512)


def test_the_rm_learns_a_signal_it_can_read(tmp_path, tokenizer):
    """Label = the question's rule holds for the boxed answer ("small" answers are right): readable
    from the text alone, as arithmetic consistency is in the synthetic world's chains."""
    rows = []
    for i in range(60):
        for j in range(4):
            ans = (i + 3 * j) % 9 + 1
            rows.append(("Give a small number.", f"<answer>\\boxed{{{ans}}}</answer>", int(ans <= 4), i))
    rec = fit_outcome_rm(rows, tokenizer, tmp_path / "rm", seed=0,
                         cfg=OutcomeRMConfig(hidden_size=32, steps=150, batch_size=32, learning_rate=3e-3))
    assert 0.3 < rec["right_share"] < 0.6 and rec["loss_last"] < rec["loss_first"]
    assert rec["auc_held_out"] > 0.9, rec
    assert (tmp_path / "rm" / "config.json").is_file() and (tmp_path / "rm" / "tokenizer.json").is_file()


def test_reward_model_arm_terms_and_scores(tmp_path):
    """From a (random) tiny VLM: the RM is trained, reused on a second call, and the arm's hybrid
    puts right answers in [0.81, 0.99] + format and wrong ones in [-0.09, 0.09] + format."""
    from perceptrl.models import build_tiny_vlm
    from perceptrl.rewards.runner import RewardRunner
    from perceptrl.synth import generate
    from perceptrl.train.rewards_setup import build_rewards

    model, processor = build_tiny_vlm(seed=0)
    train = generate(6, seed=0, kinds=("chart",))
    small = OutcomeRMConfig(problems=6, samples=2, hidden_size=32, steps=3, batch_size=4)
    rec = train_outcome_rm(model, processor, train, tmp_path / "rm", template="plain", temperature=1.0,
                           max_new_tokens=8, seed=0, cfg=small)
    assert rec["responses"] == 12 and json.loads((tmp_path / "rm" / "rm.json").read_text()) == rec
    assert train_outcome_rm(model, processor, train, tmp_path / "rm", template="plain", temperature=1.0,
                            max_new_tokens=8, seed=0, cfg=small) == rec  # read back, not retrained

    cfg = DemoConfig()
    terms = reward_terms(cfg, "reward_model", str(tmp_path / "rm"))
    assert terms[0] == {"name": "accuracy", "weight": 0.0}
    assert terms[-1]["name"] == "reward_model" and terms[-1]["params"]["stratify"] == "accuracy"
    tcfg = load_train_config(None, overrides=train_overrides(cfg, "reward_model", 0, tmp_path / "arm", str(tmp_path / "rm")))
    setup = build_rewards(tcfg)
    try:
        row = dict(train[0].to_row(), id="p0")
        cot = row["metadata"]["cot"]
        wrong = cot.replace("\\boxed{" + row["answer"] + "}", "\\boxed{" + str(int(row["answer"]) + 50) + "}")
        out = setup.runner.score([cot, cot + " ", wrong, wrong + " "], [row] * 4)
    finally:
        setup.runner.close()
    hero = out.components["reward_model"]
    assert all(0.9 - 1e-6 <= v <= 1.1 + 1e-6 for v in hero[:2]) and all(-0.1 - 1e-6 <= v <= 0.1 + 1e-6 for v in hero[2:])
    assert min(out.total[:2]) > max(out.total[2:])  # the RM never flips a verdict
