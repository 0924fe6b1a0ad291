"""call_batch: a batch reward gets the deadline when it takes one, and is cut when it ignores it."""

import asyncio
import time

from perceptrl.rewards.batch_call import GRACE_S, accepted_keywords, call_batch

from bounds import DEADLINE_SLACK_S


class _Term:
    def __init__(self, batch):
        self.name, self.batch = "perception", batch


class Polite:
    last_over_budget = 1

    async def ascore(self, completions, rows, *, deadline, groups):
        self.got = (deadline, groups)
        return [0.5] * len(completions)


class Deaf:
    async def ascore(self, completions, rows):
        await asyncio.sleep(60)


def test_the_deadline_and_groups_are_passed_and_over_budget_read():
    polite = Polite()
    values, over = asyncio.run(call_batch(_Term(polite), ["a", "b"], [{}, {}], ["g", "g"], time.monotonic() + 5))
    assert values == [0.5, 0.5] and over == 1 and polite.got[1] == ["g", "g"]


def test_a_reward_that_ignores_the_deadline_is_cut_and_scores_zero():
    t0 = time.monotonic()
    values, over = asyncio.run(call_batch(_Term(Deaf()), ["a", "b"], [{}, {}], ["g", "g"], t0 + 0.2))
    assert values == [0.0, 0.0] and over == 2
    assert time.monotonic() - t0 < 0.2 + GRACE_S + DEADLINE_SLACK_S  # it would sleep 60 s


def test_accepted_keywords():
    assert accepted_keywords(Polite().ascore) == {"completions", "rows", "deadline", "groups"}
    assert accepted_keywords(lambda c, r, **kw: None) == {"deadline", "groups"}
