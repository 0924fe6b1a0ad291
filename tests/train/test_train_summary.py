"""The summary printed before step 1: expected steps count whole batches only, method settings named."""

from perceptrl.train import load_train_config
from perceptrl.train.rewards_setup import RewardSetup
from perceptrl.train.run import _grpo_args
from perceptrl.train.summary import build_summary, print_summary


class _Model:  # build_summary reads only parameter counts and the config's name
    config = type("C", (), {"_name_or_path": "m"})()

    def parameters(self):
        return []


def _summary(tmp_path, *extra):
    cfg = load_train_config(None, ["trl.num_generations=2", "trl.use_cpu=true", "trl.report_to=none",
                                   f"trl.output_dir={tmp_path / 'out'}", *extra])
    return build_summary(cfg, _grpo_args(cfg), _Model(), 3, RewardSetup(funcs=[], weights=[], names=[]))


def test_expected_steps_count_only_whole_batches(tmp_path):
    s = _summary(tmp_path, "trl.per_device_train_batch_size=4", "trl.num_train_epochs=1")  # 2 prompts per step
    assert s["expected steps"] == 1  # 3 rows: one whole batch of 2, the third row is dropped (was 2)


def test_summary_names_the_method_settings_and_prints_aligned(tmp_path, capsys):
    s = _summary(tmp_path, "trl.per_device_train_batch_size=2", "method.name=grpo+papo")
    assert s["method"].startswith("grpo+papo (mask p=") and "gamma=" in s["method"]
    print_summary(s)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "perceptrl train"
    assert all(line.endswith(str(v)) for line, v in zip(lines[1:], s.values(), strict=True))
    assert len({len(line) - len(str(v)) for line, v in zip(lines[1:], s.values())}) == 1  # one value column
