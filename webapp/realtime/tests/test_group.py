"""A group's local connections share one outbox: one flush, one frame, sent to each in turn."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from webapp.realtime import hub
from webapp.realtime.hub import Group
from webapp.realtime.tests.helpers import decode


class Member:
    """Records the frames it is sent, and what ``clock`` read when each came."""

    def __init__(self, clock=None) -> None:
        self.frames: list[str] = []
        self.clock = clock or asyncio.get_running_loop().time
        self.at: list[float] = []

    async def base_send(self, message: dict) -> None:
        assert message["type"] == "websocket.send"
        self.frames.append(message["text"])
        self.at.append(self.clock())


def update(job: int, status: str = "running") -> dict:
    data = {"id": job, "experiment": 7, "status": status, "attempt": 1, "progress": None}
    return {"type": "job.updated", "data": data}


@pytest.fixture
def pace(monkeypatch):
    """Flushes paced at ``interval``, ``quiet`` after the last arrival."""

    def set_pace(interval: float, quiet: float) -> None:
        monkeypatch.setattr(hub, "FLUSH_INTERVAL", interval)
        monkeypatch.setattr(hub, "QUIET", quiet)

    return set_pace


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_every_member_is_sent_the_same_one_frame_for_what_arrived_together(pace):
    pace(0.05, 0.01)

    async def scenario():
        group = Group()
        group.members = [Member(), Member()]
        group.add([update(1), update(2)])
        group.add([update(3), update(1, "succeeded")])
        await until(lambda: group.flusher is None)  # done: nothing else is coming
        return group.members

    first, second = asyncio.run(scenario())
    assert first.frames == second.frames and len(first.frames) == 1
    assert [(m["data"]["id"], m["data"]["status"]) for m in decode(first.frames[0])] == [
        (1, "succeeded"),
        (2, "running"),
        (3, "running"),
    ]


def test_after_a_lull_a_second_flush_leaves_at_once_and_a_third_waits_an_interval(pace):
    interval = 0.5
    pace(interval, 0.01)

    async def scenario():
        group = Group()
        member = Member()
        group.members = [member]
        for count, job in enumerate((1, 2, 3), start=1):
            group.add([update(job)])  # each as soon as the one before went out
            await until(lambda count=count: len(member.frames) == count)
        return member.at

    first, second, third = asyncio.run(scenario())
    assert second - first < interval / 2, "a lone event does not hold back the next one"
    assert third - second >= interval * 0.9, "then one flush per interval"


def test_a_flush_lets_the_loop_run_between_its_members(pace):
    """daphne only buffers a frame; the loop must get to write it before the next member's."""
    pace(0.05, 0.01)

    async def scenario():
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count_turns())
        group = Group()
        group.members = [Member(clock=lambda: turns) for _ in range(5)]
        group.add([update(1)])
        await until(lambda: all(member.at for member in group.members))
        counter.cancel()
        return [member.at[0] for member in group.members]

    turns_seen = asyncio.run(scenario())
    assert all(later > earlier for earlier, later in itertools.pairwise(turns_seen))
