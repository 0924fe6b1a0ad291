"""EpochRepeatSampler: epoch e's order in a fresh sampler equals TRL's order after e passes."""

from trl.trainer.utils import RepeatSampler

from perceptrl.train.sampler import EpochRepeatSampler


def test_set_epoch_replays_trls_order_in_a_fresh_process():
    data = list(range(10))
    trl = RepeatSampler(data, mini_repeat_count=2, batch_size=5, seed=3)
    orders = [list(trl) for _ in range(3)]
    assert orders[0] != orders[1]
    for epoch in range(3):
        fresh = EpochRepeatSampler(data, mini_repeat_count=2, batch_size=5, seed=3)
        fresh.set_epoch(epoch)
        assert list(fresh) == orders[epoch]
