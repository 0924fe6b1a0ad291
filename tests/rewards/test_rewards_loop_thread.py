"""LoopThread: one loop across calls, usable from a thread that runs a loop of its own."""

import asyncio

from perceptrl.rewards.loop_thread import LoopThread


async def _which_loop():
    return asyncio.get_running_loop()


def test_every_call_reaches_the_same_loop_and_close_starts_afresh():
    lt = LoopThread("test-loop")
    first, second = lt.run(_which_loop()), lt.run(_which_loop())
    assert first is second and first.is_running()
    lt.close()
    assert first.is_closed()
    third = lt.run(_which_loop())
    assert third is not first
    lt.close()
    lt.close()  # closing twice is harmless


def test_callable_from_inside_a_running_loop():
    lt = LoopThread("test-loop")

    async def caller():
        # a synchronous score() called by async code: asyncio.run would refuse here
        return lt.run(_which_loop()), asyncio.get_running_loop()

    theirs, ours = asyncio.run(caller())
    assert theirs is not ours
    lt.close()
