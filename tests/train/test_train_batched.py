"""The doubled forward (clean + masked image in one batch) gives what two separate forwards give:
per-token log-probs, PAPO's loss and its gradient, on the tiny Qwen2.5-VL and Qwen2-VL."""

import pytest
import torch

from perceptrl.train.batched import double_batch, split_halves
from perceptrl.train.trainer import PerceptrlGRPOTrainer

from test_train_trainer import _trainer, examples  # noqa: F401 - the module fixture

# float32 on CPU: the doubled batch changes only the reduction order of a few kernels
ATOL = 1e-5


def test_double_batch_repeats_every_index_family_and_appends_the_second_pixels():
    call = dict(model="m", input_ids=torch.tensor([[1, 2], [3, 4]]), attention_mask=torch.ones(2, 2),
                logits_to_keep=1, batch_size=2, pixel_values=torch.zeros(5, 3), image_grid_thw=torch.tensor([[1, 1, 2],
                [1, 1, 3]]), num_images=[1, 1], token_type_ids=None)
    out = double_batch(call, torch.ones(5, 3))
    assert out["input_ids"].tolist() == [[1, 2], [3, 4], [1, 2], [3, 4]]
    assert out["num_images"] == [1, 1, 1, 1] and out["image_grid_thw"][:, 2].tolist() == [2, 3, 2, 3]
    assert out["pixel_values"][:5].sum() == 0 and out["pixel_values"][5:].sum() == 15
    assert out["batch_size"] == 4 and out["model"] == "m" and out["token_type_ids"] is None
    a, b = split_halves(torch.arange(4))
    assert a.tolist() == [0, 1] and b.tolist() == [2, 3]
    with pytest.raises(ValueError, match="batched_forward=false"):
        double_batch(call, torch.ones(4, 3))


def _papo_loss_and_grads(trainer, batch):
    trainer.model.zero_grad()
    torch.manual_seed(0)
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    grads = {k: p.grad.clone() for k, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.detach(), grads, dict(trainer._metrics["train"])


@pytest.mark.parametrize("model", ["tiny_qwen25vl_dir", "tiny_qwen2vl_dir"])
def test_batched_papo_equals_two_forwards(model, request, examples, tmp_path):  # noqa: F811
    trainer, _ = _trainer(request.getfixturevalue(model), examples, "papo", tmp_path)
    batch = trainer._generate_and_score_completions([{"row_id": 2}] * 4)
    masked = torch.cat(batch["masked_pixel_values"])
    # log-probs: one doubled forward == two forwards
    clean2, masked2 = trainer._forward_logps(batch, batch["pixel_values"], second=masked)
    assert torch.allclose(clean2, trainer._forward_logps(batch, batch["pixel_values"]), atol=ATOL)
    assert torch.allclose(masked2, trainer._forward_logps(batch, masked), atol=ATOL)
    assert not torch.allclose(clean2, masked2, atol=1e-3)  # the masked image does change them

    calls = []
    original = PerceptrlGRPOTrainer.__mro__[1]._get_per_token_logps_and_entropies

    def count(self, *a, **kw):
        calls.append(kw["input_ids"].size(0))
        return original(self, *a, **kw)

    PerceptrlGRPOTrainer.__mro__[1]._get_per_token_logps_and_entropies = count
    try:
        trainer._batched = True
        loss_b, grads_b, _ = _papo_loss_and_grads(trainer, batch)
        assert calls == [8]  # one forward of 2 x 4 rows
        trainer._batched, calls[:] = False, []
        loss_2, grads_2, _ = _papo_loss_and_grads(trainer, batch)
        assert calls == [4, 4]  # the clean pass, then the masked pass
    finally:
        PerceptrlGRPOTrainer.__mro__[1]._get_per_token_logps_and_entropies = original
    assert loss_b.item() == pytest.approx(loss_2.item(), rel=1e-5, abs=1e-6)
    assert grads_b.keys() == grads_2.keys() and grads_b
    for k in grads_b:
        assert torch.allclose(grads_b[k], grads_2[k], atol=1e-5, rtol=1e-3), k
