"""The event reporter: batching, coalescing, backpressure, heartbeats and send failures."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from petri_runner.errors import AttemptOver
from petri_runner.events import EventReporter, make_event


class Recorder:
    """A ``send`` function that records batches and lets tests wait for them."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.cond = threading.Condition()
        self.fail_with = fail_with

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        with self.cond:
            self.batches.append(batch)
            self.cond.notify_all()
        if self.fail_with is not None:
            raise self.fail_with

    def wait_for(self, predicate, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "condition not met in time"


def test_progress_is_coalesced_to_the_latest_value_per_flush() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=60)
    for value in (0.1, 0.5, 0.7):
        reporter.progress(value)
    reporter.log("one")
    reporter.log("two")
    reporter.send_now()

    [batch] = send.batches
    assert [(e["type"], e.get("lines"), e.get("value")) for e in batch] == [
        ("log", ["one", "two"], None),
        ("progress", None, 0.7),
    ]


def test_metrics_and_logs_keep_their_order_and_extra_events_go_last() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=60)
    reporter.log("before")
    reporter.metric("loss", 0.5, 3)
    reporter.log("after")
    reporter.send_now(make_event("started"))

    [batch] = send.batches
    assert [e["type"] for e in batch] == ["log", "metric", "log", "started"]
    assert batch[1] | {"time": None} == {
        "type": "metric",
        "time": None,
        "name": "loss",
        "value": 0.5,
        "step": 3,
    }


def test_progress_is_clamped_and_long_lines_truncated() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=60)
    reporter.progress(3.0)
    reporter.log("y" * 12_000)
    reporter.send_now()

    [log, progress] = send.batches[0]
    assert progress["value"] == 1.0
    assert log["lines"] == ["y" * 10_000]


def test_a_full_buffer_is_flushed_at_once_in_batches_of_at_most_max_lines() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=600, flush_interval=600, max_lines=500)
    reporter.start()
    for i in range(1200):
        reporter.log(f"line {i}")
    reporter.close()

    assert [sum(len(e["lines"]) for e in batch) for batch in send.batches] == [500, 500, 200]
    lines = [line for batch in send.batches for e in batch for line in e["lines"]]
    assert lines == [f"line {i}" for i in range(1200)]


def test_a_send_now_splits_a_large_backlog_into_batches_of_max_lines() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=600, max_lines=500)
    reporter.unbounded()
    for i in range(1200):
        reporter.log(f"line {i}")
    reporter.progress(0.5)
    reporter.send_now(make_event("started"))

    assert [sum(len(e["lines"]) for e in b if e["type"] == "log") for b in send.batches] == [
        500,
        500,
        200,
    ]
    lines = [line for b in send.batches for e in b if e["type"] == "log" for line in e["lines"]]
    assert lines == [f"line {i}" for i in range(1200)]
    assert [e["type"] for e in send.batches[-1]] == ["log", "started"]
    assert [e["type"] for e in send.batches[0]] == ["log", "progress"]


def test_buffered_events_are_flushed_after_the_flush_interval() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=600, flush_interval=0.05)
    reporter.start()
    reporter.log("soon")
    send.wait_for(lambda: send.batches)
    reporter.close()

    assert send.batches[0][0]["lines"] == ["soon"]


def test_a_bare_heartbeat_is_sent_when_nothing_else_went_out() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=0.05)
    reporter.start()
    send.wait_for(lambda: len(send.batches) >= 3)
    reporter.close()

    assert all([e["type"] for e in batch] == ["heartbeat"] for batch in send.batches)


def test_a_failed_send_is_kept_for_the_main_thread_and_stops_backpressure() -> None:
    failure = AttemptOver("POST /api/runner/events/ answered HTTP 409")
    send = Recorder(fail_with=failure)
    woken = threading.Event()
    reporter = EventReporter(
        send, heartbeat_interval=600, flush_interval=600, max_lines=2, on_error=woken.set
    )
    reporter.start()
    for i in range(10):  # would block forever if a dead flusher still applied backpressure
        reporter.log(f"line {i}")

    assert woken.wait(10)
    assert reporter.error is failure
    with pytest.raises(AttemptOver):
        reporter.close()


def test_an_event_queued_within_a_delay_leaves_by_then_though_the_flush_is_far() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=600, flush_interval=600)
    reporter.start()
    reporter.queue(make_event("started"), within=0.05)
    send.wait_for(lambda: send.batches)
    reporter.close()

    assert [e["type"] for e in send.batches[0]] == ["started"]


def test_an_event_queued_within_a_delay_rides_with_the_last_batch_if_the_job_ends_first() -> None:
    send = Recorder()
    reporter = EventReporter(send, heartbeat_interval=600, flush_interval=600)
    reporter.start()
    reporter.queue(make_event("started"), within=600)
    reporter.log("done")

    last = reporter.finish()

    assert send.batches == []
    assert [e["type"] for e in last] == ["started", "log"]
