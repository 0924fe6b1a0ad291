"""Our reward through verl's own code (verl 0.9.1, CPU): its dataset class reads ``data convert --to
verl`` output, and its naive, batch and async reward-loop managers score a real ``DataProto`` built
from that file with our ``compute_score`` exactly as :class:`RewardRunner` scores the same rows."""

import asyncio
import math

import pytest

pytest.importorskip("verl", reason="verl is in the test extra (pyproject); install it: pip install -e '.[test]'")

from engine_data import ROLLOUTS, dataproto, examples, reward_rows, rlhf_dataset, rollouts, write_verl  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from perceptrl.engines.rows import reward_fields  # noqa: E402
from perceptrl.rewards import verl_adapter  # noqa: E402

JUDGE = {"backend": "rules", "cache_path": None}
KWARGS = {"preset": "perception_r1", "judge": JUDGE, "runner_options": {"workers": 0}}


@pytest.fixture(scope="module")
def processor(tiny_qwen25vl_dir):
    import perceptrl.models  # noqa: F401 - registers the tiny processor classes
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_qwen25vl_dir)


@pytest.fixture(scope="module")
def converted(tmp_path_factory, processor):
    tmp = tmp_path_factory.mktemp("verl")
    exs = examples()
    ds = rlhf_dataset(write_verl(tmp, exs), processor, tmp)
    return exs, ds


@pytest.fixture(scope="module")
def expected(converted):
    """RewardRunner's scores of the same rollouts on the examples' own rows."""
    from perceptrl.judge import build_perception_reward
    from perceptrl.rewards.hybrid import build_hybrid
    from perceptrl.rewards.runner import RewardRunner

    exs, _ = converted
    hybrid = build_hybrid("perception_r1", perception=build_perception_reward(JUDGE))
    with RewardRunner(hybrid, workers=0) as runner:
        return runner.score(rollouts(exs), reward_rows(exs))


def custom_fn(name: str, kwargs=KWARGS):
    """Our function loaded by verl's own loader, from the adapter's file, with reward_kwargs."""
    from verl.trainer.ppo.reward import get_custom_reward_fn

    cfg = OmegaConf.create({"reward": {"custom_reward_function": {
        "path": verl_adapter.__file__, "name": name, "reward_kwargs": kwargs}}})
    return get_custom_reward_fn(cfg)


def assert_matches(totals, extra, expected):
    assert totals == pytest.approx(expected.total, abs=1e-6)
    for name, vals in expected.components.items():
        assert extra[name] == pytest.approx([0.0 if v is None else v for v in vals], abs=1e-6), name
    assert len(set(expected.total)) >= 3  # a real spread of scores, not all equal


def test_rlhf_dataset_reads_the_converted_file(converted, processor):
    exs, ds = converted
    assert len(ds) == len(exs)
    item = ds[3]
    assert item["extra_info"] == reward_fields(exs[3], 3)
    assert item["reward_model"]["ground_truth"] == exs[3].answer
    parts = item["raw_prompt"][0]["content"]
    assert parts[0]["type"] == "image" and parts[0]["image"].size == (56, 56)
    text = processor.apply_chat_template(item["raw_prompt"], add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], images=[parts[0]["image"]], return_tensors="pt")
    assert inputs["image_grid_thw"].shape == (1, 3)  # one image, through the tiny model's processor
    n_pad = int((inputs["input_ids"] == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")).sum())
    assert n_pad == int(inputs["image_grid_thw"].prod()) // processor.image_processor.merge_size ** 2


def test_naive_and_batch_managers_score_as_the_runner(converted, processor, expected):
    from verl.workers.reward_manager import BatchRewardManager, NaiveRewardManager

    exs, ds = converted
    data = dataproto(ds, processor.tokenizer, rollouts(exs))
    naive = NaiveRewardManager(processor.tokenizer, num_examine=0, compute_score=custom_fn("compute_score"))
    out = naive(data, return_dict=True)
    assert_matches(out["reward_tensor"].sum(-1).tolist(), out["reward_extra_info"], expected)

    batch = BatchRewardManager(processor.tokenizer, num_examine=0, compute_score=custom_fn("compute_score_batched"))
    out = batch(dataproto(ds, processor.tokenizer, rollouts(exs)), return_dict=True)
    assert_matches(out["reward_tensor"].sum(-1).tolist(), out["reward_extra_info"], expected)


def test_reward_loop_manager_runs_the_async_entry_point(converted, processor, expected):
    """verl's async reward-loop manager (what RewardLoopWorker calls per sample, concurrently):
    our coroutine is awaited directly and the concurrent calls are scored as a few batches."""
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

    exs, ds = converted
    data = dataproto(ds, processor.tokenizer, rollouts(exs))
    fn = custom_fn("compute_score_async", {**KWARGS, "batch_window": 0.2})
    mgr = NaiveRewardManager(OmegaConf.create({}), processor.tokenizer, compute_score=fn)
    assert mgr.is_async_reward_score

    async def run_all():  # as RewardLoopWorker.compute_score_batch does
        return await asyncio.gather(*(mgr.run_single(data[i: i + 1]) for i in range(len(data))))

    outs = mgr.loop.run_until_complete(run_all())
    extra = {k: [o["reward_extra_info"][k] for o in outs] for k in outs[0]["reward_extra_info"]}
    assert_matches([o["reward_score"] for o in outs], extra, expected)
    raw_fn = fn.args[0]  # verl wraps the function it loaded from our file in a partial
    (batcher,) = raw_fn.__globals__["_batchers"].values()
    assert sum(batcher.batch_sizes) == len(data) and len(batcher.batch_sizes) < len(data) / ROLLOUTS


def test_judge_failure_scores_by_policy_inside_the_engine(converted, processor):
    """A judge that cannot be reached: the batch manager still returns (within the budget) and the
    perception term follows the failure policy (0 here: every sample of each group failed)."""
    from verl.workers.reward_manager import BatchRewardManager

    exs, ds = converted
    judge = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "none", "cache_path": None,
             "max_retries": 0, "timeout": 2.0}
    fn = custom_fn("compute_score_batched", {"judge": judge, "runner_options": {"workers": 0, "batch_budget": 20}})
    out = BatchRewardManager(processor.tokenizer, 0, compute_score=fn)(
        dataproto(ds, processor.tokenizer, rollouts(exs)), return_dict=True)
    assert out["reward_extra_info"]["perception"] == [0.0] * len(exs) * ROLLOUTS
    assert all(math.isfinite(v) for v in out["reward_tensor"].sum(-1).tolist())
