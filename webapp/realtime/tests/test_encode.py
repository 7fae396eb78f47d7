"""One frame per flush: how messages are wrapped, as a client reads them back."""

from __future__ import annotations

import json

from webapp.realtime.hub import encode
from webapp.realtime.tests.helpers import decode


def update(job: int, status: str = "running") -> dict:
    data = {"id": job, "experiment": 7, "status": status, "attempt": 1, "progress": 0.5}
    return {"type": "job.updated", "data": data}


def log(job: int, *lines: str) -> dict:
    return {
        "type": "job.log",
        "data": {"job": job, "experiment": 7, "attempt": 1, "lines": [*lines]},
    }


def compact(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


def test_one_message_is_its_own_frame_and_several_are_one_batch_in_order():
    first, second = update(1), log(2, "ü", 'say "hi"')
    assert encode([first]) == compact(first)
    assert decode(encode([first])) == [first]
    frame = encode([first, second, update(3)])
    wrapped = {"type": "batch", "data": {"messages": [first, second, update(3)]}}
    assert frame == compact(wrapped), "compact, like a lone message"
    assert decode(frame) == [first, second, update(3)]


def test_only_the_type_and_data_of_a_message_go_on_the_wire():
    assert json.loads(encode([{**update(1), "extra": "kept out"}])) == update(1)


def test_a_run_of_alike_messages_is_one_table_in_its_place():
    updates = [update(job) for job in (1, 2, 3)]
    messages = [log(9, "a"), *updates, log(9, "b")]
    frame = encode(messages)
    assert json.loads(frame) == {
        "type": "batch",
        "data": {
            "messages": [
                log(9, "a"),
                {
                    "type": "job.updated",
                    "columns": ["id", "experiment", "status", "attempt", "progress"],
                    "rows": [
                        [1, 7, "running", 1, 0.5],
                        [2, 7, "running", 1, 0.5],
                        [3, 7, "running", 1, 0.5],
                    ],
                },
                log(9, "b"),
            ]
        },
    }
    assert decode(frame) == messages


def test_short_runs_and_runs_with_other_fields_stay_messages():
    finished = {"type": "job.updated", "data": {**update(3)["data"], "metrics": {"f1": 0.9}}}
    messages = [update(1), update(2), finished, log(1, "a"), log(2, "b")]
    frame = encode(messages)
    assert json.loads(frame)["data"]["messages"] == messages, "no run of three alike"
    assert decode(frame) == messages


def test_a_table_is_much_smaller_than_its_messages():
    updates = [update(job) for job in range(1000)]
    as_messages = len(compact({"type": "batch", "data": {"messages": updates}}))
    assert len(encode(updates)) < as_messages / 2
