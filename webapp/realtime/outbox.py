"""A group's outbox: what its connections are owed until the next flush, merged to stay small."""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from jobs.models import FINAL_STATUSES

ITEMS = {"job.log": "lines", "job.metric": "points"}
MAX_ITEMS = 1000  # log lines (metric points) of one job per flush; older ones count as dropped
REMEMBERED_JOBS = 20_000  # whose last state drops stale updates; bounded for huge sweeps
LATEST_ONLY = ("experiment.updated", "pipeline.updated")  # whole states: the newest replaces
# Within an attempt a job only moves forward through these (then to a final state), and a retry
# raises the attempt, so (attempt, rank) never decreases: an update that would lower it was read
# before a newer one (two processes racing to publish) and must not overwrite it on the client.
_ORDER = ("waiting", "dispatching", "pending", "running", "cancelling")
_RANK = {status: rank for rank, status in enumerate(_ORDER)} | dict.fromkeys(FINAL_STATUSES, 5)


class Outbox:
    """Per job, in arrival order, what a group has yet to be sent; then the latest whole states.

    A job keeps only its latest ``job.updated``, never one older than a state already seen;
    consecutive log lines (metric points) of an attempt merge into one message holding the newest
    ``max_items`` and a ``dropped`` count. The publisher's messages are read, never modified.
    """

    def __init__(self, max_items: int = MAX_ITEMS) -> None:
        self.max_items = max_items
        self._jobs: dict[int, list[dict[str, Any]]] = {}
        self._states: dict[tuple[str, int], dict[str, Any]] = {}
        self._latest: OrderedDict[int, tuple[int, int]] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._jobs or self._states)

    def add(self, message: dict[str, Any]) -> None:
        kind, data = message["type"], message["data"]
        if kind in LATEST_ONLY:
            self._states.pop((kind, data["id"]), None)  # the newest goes last
            self._states[(kind, data["id"])] = message
        elif kind == "job.updated":
            self._update(data["id"], message)
        elif kind in ITEMS:
            entries = self._jobs.setdefault(data["job"], [])
            if not (entries and _same_run(entries[-1], message)):
                # A metric between two log batches (or the reverse) stays between them.
                items = deque(maxlen=self.max_items)
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
        old = next((i for i, entry in enumerate(entries) if entry["type"] == "job.updated"), None)
        if old is not None:
            # The superseded state goes; the runs of items on both sides of it now touch.
            del entries[old]
            if 0 < old < len(entries) and _same_run(entries[old - 1], entries[old]):
                _extend(entries[old - 1], entries.pop(old)["data"])
        entries.append(message)

    def drain(self) -> list[dict[str, Any]]:
        """Everything waiting: jobs in order of arrival, then experiments and pipelines."""
        messages = [_final(entry) for entries in self._jobs.values() for entry in entries]
        messages += self._states.values()
        self._jobs, self._states = {}, {}
        return messages


def _same_run(entry: dict[str, Any], message: dict[str, Any]) -> bool:
    same_kind = entry["type"] == message["type"] in ITEMS
    return same_kind and entry["data"]["attempt"] == message["data"]["attempt"]


def _extend(run: dict[str, Any], data: dict[str, Any]) -> None:
    items, new = run["data"][ITEMS[run["type"]]], data[ITEMS[run["type"]]]
    run["data"]["dropped"] += data.get("dropped", 0) + max(0, len(items) + len(new) - items.maxlen)
    items.extend(new)


def _final(entry: dict[str, Any]) -> dict[str, Any]:
    if entry["type"] not in ITEMS:
        return entry
    key = ITEMS[entry["type"]]
    data = {**entry["data"], key: list(entry["data"][key])}
    if not data["dropped"]:
        del data["dropped"]
    return {"type": entry["type"], "data": data}
