"""Resume picks the newest *complete* checkpoint; the parameter digest tracks every weight."""

import torch

from perceptrl.train.checkpoints import last_complete_checkpoint, parameter_digest


def test_incomplete_checkpoint_is_skipped(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-11").mkdir()  # killed while saving: no trainer state
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")


def test_digest_changes_with_any_weight():
    model = torch.nn.Linear(3, 2)
    d0 = parameter_digest(model)
    assert parameter_digest(model) == d0
    with torch.no_grad():
        model.bias[1] += 1e-6
    assert parameter_digest(model) != d0
