"""Data mixtures: the weighted sampler's draws and schedule by hand, determinism per epoch (resume),
the mixture record, and a tiny-model run that logs per-source metrics."""

import json
from collections import Counter

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.train import load_train_config, train
from perceptrl.train.mixture import Mixture, MixtureSampler, parse_mixture, record_or_check


def _sampler(weights, weights_end=None, sizes=(10, 10), batch=4, epochs=1.0, seed=0):
    mix = Mixture(names=["a", "b"], weights=list(weights), weights_end=list(weights_end or weights), sizes=list(sizes))
    s = MixtureSampler(list(range(sum(sizes))), mini_repeat_count=2, batch_size=batch, repeat_count=1, seed=seed,
                       mixture=mix, total_epochs=epochs)
    return s, mix


def test_weights_at_is_linear_and_normalised():
    mix = Mixture(names=["a", "b"], weights=[1.0, 0.0], weights_end=[0.0, 3.0], sizes=[1, 1])
    assert mix.weights_at(0.0) == [1.0, 0.0]
    assert mix.weights_at(0.5) == pytest.approx([0.5 / 2.0, 1.5 / 2.0])
    assert mix.weights_at(2.0) == [0.0, 1.0]  # clamped to the end of training


def test_sampler_follows_the_weights_and_repeats_like_trl():
    s, mix = _sampler([0.8, 0.2], sizes=(200, 200), batch=8)
    out = list(s)
    assert len(out) == len(s) == 400 * 2
    assert all(out[i] == out[i + 1] for i in range(0, len(out), 2))  # num_generations consecutive copies
    prompts = out[::2]
    share_a = sum(i < 200 for i in prompts) / len(prompts)
    assert 0.72 < share_a < 0.88  # 400 draws at p = 0.8: 4 standard deviations is +-0.08
    # within a source, rows are used without repetition until it is exhausted
    a_rows = [i for i in prompts if i < 200][:200]
    assert len(set(a_rows)) == len(a_rows)


def test_schedule_moves_from_one_source_to_the_other():
    s, _ = _sampler([1.0, 0.0], [0.0, 1.0], sizes=(40, 40), batch=8)
    prompts = list(s)[::2]
    first, last = prompts[:8], prompts[-8:]
    assert all(i < 40 for i in first)  # progress 0: only source a
    assert sum(i >= 40 for i in last) >= 6  # last batch at progress 0.9: p(b) = 0.9


def test_order_depends_only_on_seed_and_epoch():
    s1, _ = _sampler([0.5, 0.5])
    s2, _ = _sampler([0.5, 0.5])
    s1.set_epoch(0)
    first = list(s1)
    s1.set_epoch(1)
    second = list(s1)
    s2.set_epoch(1)  # a resumed run starting in epoch 1
    assert list(s2) == second and first != second


def test_parse_and_record(tmp_path):
    with pytest.raises(PerceptrlError, match="needs a path"):
        parse_mixture([{"weight": 1}], "x")
    with pytest.raises(PerceptrlError, match=">= 0"):
        parse_mixture([{"path": "a.jsonl", "weight": -1}], "x")
    with pytest.raises(PerceptrlError, match="sum to 0"):
        parse_mixture([{"path": "a.jsonl", "weight": 0}], "x")
    assert [e["name"] for e in parse_mixture([{"path": "d/a.jsonl"}, {"path": "e/a.jsonl"}], "x")] == ["a", "a_1"]
    with pytest.raises(PerceptrlError, match="replaces data.path"):
        load_train_config(None, ["data.path=x.jsonl", "data.mixture=[{path: a.jsonl}]"])
    mix = Mixture(names=["a"], weights=[1.0], weights_end=[1.0], sizes=[3], paths=["a.jsonl"])
    record_or_check(mix, str(tmp_path), resume=False)
    assert json.loads((tmp_path / "mixture.json").read_text())["sizes"] == [3]
    record_or_check(mix, str(tmp_path), resume=True)  # same mixture: fine
    other = Mixture(names=["a"], weights=[1.0], weights_end=[1.0], sizes=[4], paths=["a.jsonl"])
    with pytest.raises(PerceptrlError, match="another data mixture"):
        record_or_check(other, str(tmp_path), resume=True)


def test_a_mixture_trains_and_logs_per_source_metrics(tiny_qwen25vl_dir, tmp_path):
    from perceptrl.models import load_vlm

    out = tmp_path / "out"
    cfg = load_train_config(None, [
        "data.mixture=[{path: 'synth:2', name: geo, weight: 0.5}, {path: 'synth:4', name: more, weight: 0.5, "
        "weight_end: 0.0}]",
        "trl.max_steps=2", "trl.per_device_train_batch_size=4", "trl.num_generations=2",
        "trl.max_completion_length=8", "trl.use_cpu=true", "trl.bf16=false", "trl.report_to=none",
        "trl.save_strategy=no", f"trl.output_dir={out}", "rewards.workers=0", "judge.cache_path=null",
        "rewards.preset=easyr1_math",
    ])
    model, processor = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    result = train(cfg, model=model, processor=processor)
    assert json.loads((out / "mixture.json").read_text())["sizes"] == [2, 4]
    logged = [h for h in result.log_history if "loss" in h]
    keys = set().union(*logged)
    assert any(k.startswith("mixture/") and k.endswith("/accuracy") for k in keys)
    for h in logged:
        shares = [v for k, v in h.items() if k.startswith("mixture/") and k.endswith("/share")]
        assert sum(shares) == pytest.approx(1.0)
        for k, v in h.items():
            if k.endswith("/length"):
                assert 0 < v <= 8
    assert "data mixture" in result.summary and Counter(result.summary["data mixture"].split(", ")).total() == 2
