"""Connections handed the same events share one outbox and flush; a latecomer gets its own."""

from __future__ import annotations

import asyncio
import itertools
import json

from webapp.realtime.cohort import Cohorts
from webapp.realtime.frames import FrameCache, expand


class Member:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def base_send(self, message: dict) -> None:
        self.frames.append(message["text"])


def update(job: int, status: str = "running") -> dict:
    data = {"id": job, "experiment": 7, "status": status, "attempt": 1, "progress": None}
    return {"type": "job.updated", "data": data}


def test_members_share_a_flush_and_a_latecomer_is_not_sent_what_came_before_it():
    async def scenario():
        frames = FrameCache()
        cohorts = Cohorts(frames)
        early = [Member(), Member()]
        first = cohorts.enter("g", early[0], 0.05, 0.01)
        assert cohorts.enter("g", early[1], 0.05, 0.01) is first
        batch = [update(1), update(2)]
        for _ in early:
            first.deliver(batch)  # the hub hands the batch to every member: taken once
        late = Member()
        second = cohorts.enter("g", late, 0.05, 0.01)
        assert second is not first, "events are waiting in the first cohort"
        after = [update(3)]
        first.deliver(after)
        second.deliver(after)
        await asyncio.sleep(0.2)
        # Both flushed: a newcomer now shares the first cohort's future.
        newcomer = Member()
        assert cohorts.enter("g", newcomer, 0.05, 0.01) is first
        cohorts.leave("g", late, second)
        assert cohorts.by_group["g"] == [first]
        return early, late, frames

    early, late, frames = asyncio.run(scenario())
    assert early[0].frames == early[1].frames and len(early[0].frames) == 1
    (frame,) = early[0].frames
    assert [m["data"]["id"] for m in expand(json.loads(frame))] == [1, 2, 3]
    assert [json.loads(f)["data"]["id"] for f in late.frames] == [3]
    assert frames.misses == 2, "one encoding per cohort flush"


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


class Timed(Member):
    """Records when each frame was sent, and what ``clock`` read then."""

    def __init__(self, clock=None) -> None:
        super().__init__()
        self.clock = clock or asyncio.get_running_loop().time
        self.at: list[float] = []

    async def base_send(self, message: dict) -> None:
        await super().base_send(message)
        self.at.append(self.clock())


def test_after_a_lull_a_second_flush_leaves_at_once_and_a_third_waits_an_interval():
    interval = 0.5

    async def scenario():
        member = Timed()
        cohort = Cohorts(FrameCache()).enter("g", member, interval, 0.01)
        for count, job in enumerate((1, 2, 3), start=1):
            cohort.deliver([update(job)])  # each as soon as the one before went out
            await until(lambda count=count: len(member.frames) == count)
        return member.at

    first, second, third = asyncio.run(scenario())
    assert second - first < interval / 2, "a lone event does not hold back the next one"
    assert third - second >= interval * 0.9, "then one flush per interval"


def test_a_flush_lets_the_loop_run_between_its_members():
    """daphne only buffers a frame; the loop must get to write it before the next member's."""

    async def scenario():
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count_turns())
        members = [Timed(clock=lambda: turns) for _ in range(5)]
        cohorts = Cohorts(FrameCache())
        cohort, *others = [cohorts.enter("g", member, 0.05, 0.01) for member in members]
        assert all(other is cohort for other in others)
        cohort.deliver([update(1)])
        await until(lambda: all(member.at for member in members))
        counter.cancel()
        return [member.at[0] for member in members]

    turns_seen = asyncio.run(scenario())
    assert all(later > earlier for earlier, later in itertools.pairwise(turns_seen))
