"""The outbox a group keeps between flushes: what survives, in which order, what is dropped."""

from __future__ import annotations

from webapp.realtime import hub
from webapp.realtime.hub import Group


def keep(monkeypatch, items: int) -> None:
    """Each job's flush keeps at most ``items`` lines (points)."""
    monkeypatch.setattr(hub, "MAX_ITEMS", items)


def update(job: int, status: str, attempt: int = 1, progress: float | None = None) -> dict:
    return {
        "type": "job.updated",
        "data": {
            "id": job,
            "experiment": 7,
            "status": status,
            "attempt": attempt,
            "progress": progress,
        },
    }


def log(job: int, *lines: str, attempt: int = 1) -> dict:
    data = {"job": job, "experiment": 7, "attempt": attempt, "lines": list(lines)}
    return {"type": "job.log", "data": data}


def metric(job: int, *steps: int) -> dict:
    points = [{"name": "loss", "value": 1.0, "step": s, "time": "t"} for s in steps]
    return {
        "type": "job.metric",
        "data": {"job": job, "experiment": 7, "attempt": 1, "points": points},
    }


def shape(messages: list[dict]) -> list[tuple]:
    out = []
    for m in messages:
        data = m["data"]
        if m["type"] == "job.updated":
            out.append(("updated", data["id"], data["status"], data["progress"]))
        elif m["type"] == "job.log":
            out.append(("log", data["job"], *data["lines"]))
        elif m["type"] == "job.metric":
            out.append(("metric", data["job"], *(p["step"] for p in data["points"])))
        else:
            out.append(("experiment", data["id"], data["status"]))
    return out


def test_only_the_latest_state_of_a_job_is_kept_until_the_flush():
    outbox = Group()
    for progress in (0.1, 0.2, 0.3):
        outbox.merge(update(1, "running", progress=progress))
    assert shape(outbox.drain()) == [("updated", 1, "running", 0.3)]
    assert outbox.drain() == []


def test_log_batches_on_both_sides_of_a_superseded_state_merge():
    outbox = Group()
    outbox.merge(log(1, "a"))
    outbox.merge(update(1, "running", progress=0.1))
    outbox.merge(log(1, "b"))
    outbox.merge(update(1, "running", progress=0.2))
    assert shape(outbox.drain()) == [("log", 1, "a", "b"), ("updated", 1, "running", 0.2)]


def test_a_jobs_messages_keep_the_order_they_arrived_in():
    outbox = Group()
    outbox.merge(log(1, "a"))
    outbox.merge(update(2, "running"))
    outbox.merge(update(1, "succeeded"))
    outbox.merge(log(1, "after the end"))
    outbox.merge(metric(1, 1, 2))
    assert shape(outbox.drain()) == [
        ("log", 1, "a"),
        ("updated", 1, "succeeded", None),
        ("log", 1, "after the end"),
        ("metric", 1, 1, 2),
        ("updated", 2, "running", None),
    ]


def test_a_state_older_than_one_already_seen_is_dropped_even_after_a_flush():
    outbox = Group()
    outbox.merge(update(1, "succeeded"))
    outbox.drain()
    outbox.merge(update(1, "running", progress=0.9))  # read before the success, published after
    outbox.merge(update(1, "pending"))
    assert outbox.drain() == []
    outbox.merge(update(1, "waiting", attempt=2))  # a retry moves on: a new attempt
    assert shape(outbox.drain()) == [("updated", 1, "waiting", None)]


def test_a_burst_of_lines_keeps_the_newest_and_counts_the_rest_as_dropped(monkeypatch):
    keep(monkeypatch, 3)
    outbox = Group()
    for n in range(10):
        outbox.merge(log(1, f"line {n}"))
    (message,) = outbox.drain()
    assert message["data"]["lines"] == ["line 7", "line 8", "line 9"]
    assert message["data"]["dropped"] == 7


def test_dropped_lines_reported_by_the_publisher_are_added_to_the_count(monkeypatch):
    keep(monkeypatch, 3)
    outbox = Group()
    burst = log(1, "x", "y")
    burst["data"]["dropped"] = 5
    outbox.merge(burst)
    outbox.merge(log(1, "z"))
    (message,) = outbox.drain()
    assert message["data"] == {
        "job": 1,
        "experiment": 7,
        "attempt": 1,
        "lines": ["x", "y", "z"],
        "dropped": 5,
    }


def test_lines_of_a_new_attempt_start_a_new_message():
    outbox = Group()
    outbox.merge(log(1, "first try"))
    outbox.merge(log(1, "second try", attempt=2))
    assert [m["data"]["attempt"] for m in outbox.drain()] == [1, 2]


def test_metric_points_are_capped_like_lines(monkeypatch):
    keep(monkeypatch, 2)
    outbox = Group()
    outbox.merge(metric(1, 1, 2, 3))
    (message,) = outbox.drain()
    assert [p["step"] for p in message["data"]["points"]] == [2, 3]
    assert message["data"]["dropped"] == 1


def test_an_experiments_latest_counts_come_after_its_jobs():
    outbox = Group()
    outbox.merge({"type": "experiment.updated", "data": {"id": 7, "status": "waiting"}})
    outbox.merge(update(1, "running"))
    outbox.merge({"type": "experiment.updated", "data": {"id": 7, "status": "running"}})
    assert shape(outbox.drain()) == [
        ("updated", 1, "running", None),
        ("experiment", 7, "running"),
    ]


def test_the_publishers_messages_are_never_modified(monkeypatch):
    """With Redis one decoded message is shared by every connection of the process."""
    keep(monkeypatch, 1)
    shared = log(1, "a")
    first, second = Group(), Group()
    for outbox in (first, second):
        outbox.merge(shared)
        outbox.merge(log(1, "b"))
    assert shared["data"]["lines"] == ["a"]
    assert first.drain() == second.drain()


def test_every_final_state_outranks_running_a_pruned_one_too():
    finals = ("succeeded", "failed", "cancelled", "pruned")
    outbox = Group()
    for job in range(len(finals)):
        outbox.merge(update(job, "running", progress=0.4))
    outbox.drain()
    for job, status in enumerate(finals):
        outbox.merge(update(job, status))
    assert [m["data"]["status"] for m in outbox.drain()] == list(finals)
