"""How a connection's flushes become websocket frames, through the whole ASGI stack."""

from __future__ import annotations

import pytest

from jobs.tests.factories import make_experiment
from webapp.realtime.hub import broadcast, experiment_group, hub
from webapp.realtime.tests.helpers import communicator, frames, run, unwrap

pytestmark = pytest.mark.django_db(transaction=True)


def burst(experiment_id: int, jobs: range) -> list[dict]:
    updates = [
        {
            "type": "job.updated",
            "data": {
                "id": j,
                "experiment": experiment_id,
                "status": "running",
                "attempt": 1,
                "progress": j / 100,
            },
        }
        for j in jobs
    ]
    log = {
        "type": "job.log",
        "data": {"job": jobs[-1], "experiment": experiment_id, "attempt": 1, "lines": ["a", "b"]},
    }
    done = {"type": "experiment.updated", "data": {"id": experiment_id, "status": "running"}}
    return [*updates, log, done]


def test_a_burst_reaches_each_connection_as_one_batch_frame_in_order(user, token_for):
    experiment = make_experiment(user)
    token = token_for(user)
    group = experiment_group(experiment.pk)

    async def scenario():
        clients = [communicator(f"/ws/experiments/{experiment.pk}/", token=token) for _ in range(3)]
        for client in clients:
            assert (await client.connect())[0]
        assert len(hub().groups[group].members) == 3, "they coalesce together"
        # Several publications close together: the hub hands them over as they come, each
        # connection's flush still leaves as one frame.
        events = burst(experiment.pk, range(1, 11))
        broadcast([group], events[:4])
        broadcast([group], events[4:9])
        broadcast([group], events[9:])
        received = [await frames(client, lambda ms: len(ms) >= len(events)) for client in clients]
        single = {"type": "job.updated", "data": {**events[0]["data"], "progress": 0.5}}
        broadcast([group], [single])
        alone = [await frames(client, lambda ms: ms) for client in clients]
        for client in clients:
            await client.disconnect()
        return events, single, received, alone

    events, single, received, alone = run(scenario)
    expected = [{"type": e["type"], "data": e["data"]} for e in events]
    for mine in received:
        assert len(mine) == 1 and unwrap(mine[0]) == expected
        updates, *rest = mine[0]["data"]["messages"]
        assert len(updates["rows"]) == 10 and rest == expected[10:], "the updates as one table"
    for mine in alone:
        assert mine == [{"type": single["type"], "data": single["data"]}], "sent as itself"


def test_merged_lines_and_a_superseded_state_still_leave_as_one_frame(user, token_for):
    """Log lines merged and a superseded state left out: still one frame, in order."""
    experiment = make_experiment(user)
    token = token_for(user)
    group = experiment_group(experiment.pk)

    def update(status: str) -> dict:
        data = {"id": 1, "experiment": experiment.pk, "status": status, "attempt": 1}
        return {"type": "job.updated", "data": {**data, "progress": None}}

    def log(*lines: str) -> dict:
        data = {"job": 1, "experiment": experiment.pk, "attempt": 1, "lines": list(lines)}
        return {"type": "job.log", "data": data}

    async def scenario():
        client = communicator(f"/ws/experiments/{experiment.pk}/", token=token)
        assert (await client.connect())[0]
        for event in (update("pending"), log("a"), log("b", "c"), update("running"), log("d")):
            broadcast([group], [event])
        received = await frames(client, lambda ms: log("d") in ms)
        await client.disconnect()
        return received

    (frame,) = run(scenario)
    assert frame == {
        "type": "batch",
        "data": {"messages": [log("a", "b", "c"), update("running"), log("d")]},
    }
