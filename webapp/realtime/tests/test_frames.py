"""One frame per flush: how messages are wrapped, and when connections share an encoding."""

from __future__ import annotations

import json

from webapp.realtime.broadcast import encode
from webapp.realtime.coalesce import Outbox
from webapp.realtime.frames import FrameCache, encode_frame, expand


def update(job: int, status: str = "running") -> dict:
    data = {"id": job, "experiment": 7, "status": status, "attempt": 1, "progress": 0.5}
    return {"type": "job.updated", "data": data}


def log(job: int, *lines: str) -> dict:
    return {
        "type": "job.log",
        "data": {"job": job, "experiment": 7, "attempt": 1, "lines": [*lines]},
    }


def test_one_message_is_its_own_frame_and_several_are_one_batch_in_order():
    first, second = update(1), log(2, "ü", 'say "hi"')
    assert encode_frame([first]) == encode(first)
    frame = encode_frame([first, second, update(3)])
    assert json.loads(frame) == {
        "type": "batch",
        "data": {"messages": [first, second, update(3)]},
    }
    wrapped = {"type": "batch", "data": {"messages": [first, second, update(3)]}}
    assert frame == encode(wrapped), "compact, like every other message"


def test_a_run_of_alike_messages_is_one_table_in_its_place():
    updates = [update(job) for job in (1, 2, 3)]
    messages = [log(9, "a"), *updates, log(9, "b")]
    frame = json.loads(encode_frame(messages))
    assert frame == {
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
    assert expand(frame) == messages


def test_short_runs_and_runs_with_other_fields_stay_messages():
    finished = {"type": "job.updated", "data": {**update(3)["data"], "metrics": {"f1": 0.9}}}
    messages = [update(1), update(2), finished, log(1, "a"), log(2, "b")]
    frame = json.loads(encode_frame(messages))
    assert frame["data"]["messages"] == messages, "no run of three alike"
    assert expand(frame) == messages
    assert expand(update(1)) == [update(1)], "a lone message is its own frame"


def test_a_table_is_much_smaller_than_its_messages():
    updates = [update(job) for job in range(1000)]
    as_messages = len(encode({"type": "batch", "data": {"messages": updates}}))
    assert len(encode_frame(updates)) < as_messages / 2


def test_the_broadcasters_encoding_of_a_message_is_reused():
    message = {**update(1), "text": '{"type":"job.updated","data":{"reused":true}}'}
    assert json.loads(encode_frame([message, update(2)]))["data"]["messages"][0] == {
        "type": "job.updated",
        "data": {"reused": True},
    }


def test_connections_that_flush_the_same_published_messages_share_one_encoding():
    published = [update(1), log(1, "a"), log(1, "b"), update(2)]
    outboxes = [Outbox(), Outbox()]
    for outbox in outboxes:
        for event in published:
            outbox.add(event)
    cache = FrameCache()
    texts = [cache.frame(outbox.drain()) for outbox in outboxes]
    assert texts[0] == texts[1] and (cache.misses, cache.hits) == (1, 1)
    assert len(json.loads(texts[0])["data"]["messages"]) == 3  # the two log events merged


def test_connections_whose_merged_messages_differ_are_encoded_apart():
    published = [log(1, "a"), log(1, "b")]
    late, early = Outbox(), Outbox(max_lines=1)
    for event in published:
        late.add(event)
        early.add(event)
    cache = FrameCache()
    assert json.loads(cache.frame(late.drain()))["data"]["lines"] == ["a", "b"]
    capped = json.loads(cache.frame(early.drain()))["data"]
    assert (capped["lines"], capped["dropped"]) == (["b"], 1)
    assert cache.misses == 2
    # Same lines, a different message: not mistaken for one another.
    only = Outbox()
    only.add(published[1])
    assert json.loads(cache.frame(only.drain()))["data"] == {
        "job": 1,
        "experiment": 7,
        "attempt": 1,
        "lines": ["b"],
    }


def test_the_cache_stays_small():
    cache = FrameCache(size=2)
    for job in range(5):
        cache.frame([update(job)])
    assert len(cache._frames) == 2
