"""One frame per flush: a lone message as itself, several wrapped in a ``batch``.

Every frame is a protocol message ``{"type", "data"}``; a flush of several messages is sent as
``{"type": "batch", "data": {"messages": [...]}}`` in order. Within a batch, a run of messages of
one type with the same fields (a claim's or a cancel's hundreds of ``job.updated``) is a table,
``{"type", "columns", "rows"}``: one message per row, its data the columns zipped with the row.
That sends a field's name once rather than once per job, a third of the bytes for 1,000 jobs.
Connections of one process that flush the same messages share one encoding of the frame.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from webapp.realtime.broadcast import encode

BATCH_TYPE = "batch"
# Shorter runs gain little from a table and are easier to read as messages.
TABLE_MIN_ROWS = 3
# Frames a process remembers; connections flushing alike do so within moments of each other.
CACHED_FRAMES = 16


def encoded(message: dict[str, Any]) -> str:
    """A message's wire form; the broadcaster already encoded those it published (``text``)."""
    return message.get("text") or encode(message)


def _runs(messages: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    """Consecutive messages of one type whose data have the same fields, in order."""
    start = 0
    for index in range(1, len(messages) + 1):
        if index == len(messages) or not _alike(messages[start], messages[index]):
            yield messages[start:index]
            start = index


def _alike(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return first["type"] == second["type"] and first["data"].keys() == second["data"].keys()


def _entries(messages: Sequence[dict[str, Any]]) -> Iterator[str]:
    for run in _runs(messages):
        if len(run) < TABLE_MIN_ROWS:
            yield from map(encoded, run)
            continue
        table = {
            "type": run[0]["type"],
            "columns": list(run[0]["data"]),
            "rows": [list(message["data"].values()) for message in run],
        }
        yield json.dumps(table, separators=(",", ":"))


def expand(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """The protocol messages a decoded frame carries, in order (what a client does)."""
    if frame["type"] != BATCH_TYPE:
        return [frame]
    messages = []
    for entry in frame["data"]["messages"]:
        if "rows" in entry:
            columns = entry["columns"]
            messages += [
                {"type": entry["type"], "data": dict(zip(columns, row, strict=True))}
                for row in entry["rows"]
            ]
        else:
            messages.append(entry)
    return messages


def encode_frame(messages: Sequence[dict[str, Any]]) -> str:
    """The text of the one frame carrying ``messages`` (at least one)."""
    if len(messages) == 1:
        return encoded(messages[0])
    # Compact JSON, like encode(): the parts are compact already.
    return '{"type":"batch","data":{"messages":[' + ",".join(_entries(messages)) + "]}}"


def _sharing_key(message: dict[str, Any]) -> Hashable:
    """Equal for two messages only when they encode alike (the cache keeps both alive)."""
    data = message["data"]
    items = data.get("lines", data.get("points")) if "text" not in message else None
    if isinstance(items, list):
        # A log or metric batch merged per connection: connections that merged the same
        # published lines (the very same objects) into it produce the same message.
        scalars = tuple((k, v) for k, v in data.items() if not isinstance(v, list | dict))
        return (message["type"], scalars, tuple(map(id, items)))
    # Published as is: every local connection was handed this very object.
    return id(message)


class FrameCache:
    """Encodes a flush once per process when several connections send identical content."""

    def __init__(self, size: int = CACHED_FRAMES) -> None:
        self.size = size
        # key -> (text, messages): holding the messages keeps the ids in the key unambiguous.
        self._frames: OrderedDict[tuple, tuple[str, Sequence[dict[str, Any]]]] = OrderedDict()
        self.hits = self.misses = 0

    def frame(self, messages: Sequence[dict[str, Any]]) -> str:
        key = tuple(map(_sharing_key, messages))
        found = self._frames.get(key)
        if found is not None:
            self.hits += 1
            self._frames.move_to_end(key)
            return found[0]
        self.misses += 1
        text = encode_frame(messages)
        self._frames[key] = (text, messages)
        if len(self._frames) > self.size:
            self._frames.popitem(last=False)
        return text
