"""A connection's outbox: events wait here between flushes and are merged so bursts stay small."""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from jobs.models import JobStatus

# Most log lines (and metric points) one job gets in one flush; older ones are counted as dropped.
MAX_LINES = 1000
MAX_POINTS = 1000
# Jobs whose last state a connection remembers to drop stale updates; bounded for huge sweeps.
REMEMBERED_JOBS = 20_000

# Within an attempt a job only moves forward through these ranks, and a retry raises the attempt,
# so (attempt, rank) never decreases. An update that would lower it was read before a newer one
# (two processes racing to publish) and must not overwrite it on the client.
_RANK = {
    JobStatus.WAITING: 0,
    JobStatus.DISPATCHING: 1,
    JobStatus.PENDING: 2,
    JobStatus.RUNNING: 3,
    JobStatus.CANCELLING: 4,
    JobStatus.SUCCEEDED: 5,
    JobStatus.FAILED: 5,
    JobStatus.CANCELLED: 5,
    JobStatus.PRUNED: 5,
}


class _Batch:
    """Consecutive log lines or metric points of one job's attempt, capped to the newest."""

    __slots__ = ("attempt", "dropped", "experiment", "items", "job", "kind")

    def __init__(self, kind: str, data: dict[str, Any], limit: int) -> None:
        self.kind, self.job, self.experiment = kind, data["job"], data["experiment"]
        self.attempt = data["attempt"]
        self.items: deque[Any] = deque(maxlen=limit)
        self.dropped = 0

    @property
    def field(self) -> str:
        return "lines" if self.kind == "job.log" else "points"

    def extend(self, data: dict[str, Any]) -> None:
        new = data[self.field]
        overflow = len(self.items) + len(new) - self.items.maxlen
        self.dropped += data.get("dropped", 0) + max(0, overflow)
        self.items.extend(new)

    def absorb(self, other: _Batch) -> None:
        self.extend({self.field: list(other.items), "dropped": other.dropped})

    def message(self) -> dict[str, Any]:
        data = {
            "job": self.job,
            "experiment": self.experiment,
            "attempt": self.attempt,
            self.field: list(self.items),
        }
        if self.dropped:
            data["dropped"] = self.dropped
        return {"type": self.kind, "data": data}


# Whole-object states: a newer one replaces the older, which nobody needs to see.
LATEST_ONLY = ("experiment.updated", "pipeline.updated")


class Outbox:
    """Keeps, per job and in arrival order, what a client has yet to be sent.

    Only the latest ``job.updated`` of a job, and ``experiment.updated`` of an experiment or
    ``pipeline.updated`` of a pipeline, survive until the flush; log lines and metric points
    of an attempt merge into one message each, capped to the newest ``MAX_LINES``/
    ``MAX_POINTS`` with a ``dropped`` count. A job's messages keep their relative order, so a
    client never sees a job's state older than one it has seen.
    """

    def __init__(self, max_lines: int = MAX_LINES, max_points: int = MAX_POINTS) -> None:
        self.limits = {"job.log": max_lines, "job.metric": max_points}
        self._jobs: dict[int, list[dict[str, Any] | _Batch]] = {}
        self._states: dict[tuple[str, int], dict[str, Any]] = {}
        self._latest: OrderedDict[int, tuple[int, int]] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._jobs or self._states)

    def add(self, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        if kind == "job.updated":
            self._add_update(event)
        elif kind in self.limits:
            self._add_batch(kind, data)
        elif kind in LATEST_ONLY:
            self._states.pop((kind, data["id"]), None)
            self._states[(kind, data["id"])] = event

    def _add_update(self, event: dict[str, Any]) -> None:
        data = event["data"]
        job = data["id"]
        key = (data["attempt"], _RANK.get(data["status"], 0))
        if job in self._latest and key < self._latest[job]:
            return
        self._latest[job] = key
        self._latest.move_to_end(job)
        if len(self._latest) > REMEMBERED_JOBS:
            self._latest.popitem(last=False)
        entries = self._jobs.setdefault(job, [])
        for index, entry in enumerate(entries):
            if isinstance(entry, dict):
                # The superseded state goes; the batches on both sides of it now touch.
                del entries[index]
                if 0 < index < len(entries):
                    before, after = entries[index - 1], entries[index]
                    if _mergeable(before, after):
                        before.absorb(after)
                        del entries[index]
                break
        entries.append(event)

    def _add_batch(self, kind: str, data: dict[str, Any]) -> None:
        entries = self._jobs.setdefault(data["job"], [])
        last = entries[-1] if entries else None
        if not (isinstance(last, _Batch) and last.kind == kind and last.attempt == data["attempt"]):
            # A metric between two log batches (or the reverse) is rare; keep them apart
            # rather than reorder them.
            last = _Batch(kind, data, self.limits[kind])
            entries.append(last)
        last.extend(data)

    def drain(self) -> list[dict[str, Any]]:
        """Everything waiting, as protocol messages: jobs in order of arrival, then experiments."""
        messages = [
            entry.message() if isinstance(entry, _Batch) else entry
            for entries in self._jobs.values()
            for entry in entries
        ]
        messages.extend(self._states.values())
        self._jobs, self._states = {}, {}
        return messages


def _mergeable(before: Any, after: Any) -> bool:
    return (
        isinstance(before, _Batch)
        and isinstance(after, _Batch)
        and before.kind == after.kind
        and before.attempt == after.attempt
    )
