"""Connections handed the same events share one outbox and flush; a latecomer gets its own."""

from __future__ import annotations

import asyncio
import json

from webapp.realtime.cohort import Cohorts
from webapp.realtime.frames import FrameCache


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
    assert [m["data"]["id"] for m in json.loads(frame)["data"]["messages"]] == [1, 2, 3]
    assert [json.loads(f)["data"]["id"] for f in late.frames] == [3]
    assert frames.misses == 2, "one encoding per cohort flush"
