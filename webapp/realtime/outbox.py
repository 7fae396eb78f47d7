"""A group's outbox: messages wait here between flushes, merged so that bursts stay small."""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from jobs.models import JobStatus

# Most log lines (and metric points) one job gets in one flush; older ones are counted as dropped.
MAX_LINES = 1000
MAX_POINTS = 1000
# Jobs whose last state an outbox remembers to drop stale updates; bounded for huge sweeps.
REMEMBERED_JOBS = 20_000
ITEMS = {"job.log": "lines", "job.metric": "points"}

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


# Whole-object states: a newer one replaces the older, which nobody needs to see.
LATEST_ONLY = ("experiment.updated", "pipeline.updated")


class Outbox:
    """Keeps, per job and in arrival order, what a group has yet to be sent.

    Only the latest ``job.updated`` of a job, and of ``experiment.updated`` (``pipeline.updated``)
    of an experiment (a pipeline), survive until the flush; consecutive log lines (metric
    points) of an attempt merge into one message, capped to the newest ``MAX_LINES``
    (``MAX_POINTS``) with a ``dropped`` count. A job's messages keep their order, and a state
    older than one already seen is dropped, so a client never sees a job go back. The
    publisher's messages are read, never modified.
    """

    def __init__(self, max_lines: int = MAX_LINES, max_points: int = MAX_POINTS) -> None:
        self.limits = {"job.log": max_lines, "job.metric": max_points}
        self._jobs: dict[int, list[dict[str, Any]]] = {}
        self._states: dict[tuple[str, int], dict[str, Any]] = {}
        self._latest: OrderedDict[int, tuple[int, int]] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._jobs or self._states)

    def add(self, message: dict[str, Any]) -> None:
        kind, data = message["type"], message["data"]
        if kind in LATEST_ONLY:
            self._states.pop((kind, data["id"]), None)  # moves to the end: the newest comes last
            self._states[(kind, data["id"])] = message
        elif kind == "job.updated":
            self._update(data["id"], message)
        elif kind in ITEMS:
            entries = self._jobs.setdefault(data["job"], [])
            if not (entries and _same_run(entries[-1], message)):
                # A metric between two log batches (or the reverse) stays between them.
                items = deque(maxlen=self.limits[kind])
                entries.append({"type": kind, "data": {**data, ITEMS[kind]: items, "dropped": 0}})
            _extend(entries[-1], data)

    def _update(self, job: int, message: dict[str, Any]) -> None:
        key = (message["data"]["attempt"], _RANK[message["data"]["status"]])
        if key < self._latest.get(job, key):
            return
        self._latest[job] = key
        self._latest.move_to_end(job)
        if len(self._latest) > REMEMBERED_JOBS:
            self._latest.popitem(last=False)
        entries = self._jobs.setdefault(job, [])
        for index, entry in enumerate(entries):
            if entry["type"] == "job.updated":
                # The superseded state goes; the runs of lines on both sides of it now touch.
                del entries[index]
                if 0 < index < len(entries) and _same_run(entries[index - 1], entries[index]):
                    _extend(entries[index - 1], entries.pop(index)["data"])
                break
        entries.append(message)

    def drain(self) -> list[dict[str, Any]]:
        """Everything waiting, as protocol messages: jobs in order of arrival, then experiments
        and pipelines."""
        messages = [_final(entry) for entries in self._jobs.values() for entry in entries]
        messages += self._states.values()
        self._jobs, self._states = {}, {}
        return messages


def _same_run(entry: dict[str, Any], message: dict[str, Any]) -> bool:
    same_kind = entry["type"] == message["type"] in ITEMS
    return same_kind and entry["data"]["attempt"] == message["data"]["attempt"]


def _extend(run: dict[str, Any], data: dict[str, Any]) -> None:
    items, new = run["data"][ITEMS[run["type"]]], data[ITEMS[run["type"]]]
    overflow = max(0, len(items) + len(new) - items.maxlen)
    run["data"]["dropped"] += data.get("dropped", 0) + overflow
    items.extend(new)


def _final(entry: dict[str, Any]) -> dict[str, Any]:
    if entry["type"] not in ITEMS:
        return entry
    data = {**entry["data"], ITEMS[entry["type"]]: list(entry["data"][ITEMS[entry["type"]]])}
    if not data["dropped"]:
        del data["dropped"]
    return {"type": entry["type"], "data": data}
