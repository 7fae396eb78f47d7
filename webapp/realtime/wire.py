"""The wire format: one websocket frame per flush, and how a client reads it back.

One message is sent as itself, ``{"type", "data"}``; several as ``{"type": "batch", "data":
{"messages": [...]}}``, in order, where a run of messages of one type with the same fields is a
table, ``{"type", "columns", "rows"}`` (a third of the bytes for 1,000 ``job.updated``). The SPA
reads it in webapp/frontend/src/frames.ts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

BATCH_TYPE = "batch"
TABLE_MIN_ROWS = 3  # shorter runs gain little from a table and are easier to read as messages


def encode(messages: Sequence[dict[str, Any]]) -> str:
    """The compact JSON text of the one frame carrying ``messages`` (at least one)."""
    entries: list[dict[str, Any]] = []
    for (kind, columns), run in itertools.groupby(
        messages, key=lambda message: (message["type"], tuple(message["data"]))
    ):
        run = list(run)
        if len(run) < TABLE_MIN_ROWS:
            entries += ({"type": kind, "data": message["data"]} for message in run)
        else:
            rows = [list(message["data"].values()) for message in run]
            entries.append({"type": kind, "columns": list(columns), "rows": rows})
    frame = (
        entries[0] if len(messages) == 1 else {"type": BATCH_TYPE, "data": {"messages": entries}}
    )
    return json.dumps(frame, separators=(",", ":"))


def decode(frame: str | bytes | dict[str, Any]) -> list[dict[str, Any]]:
    """The protocol messages one frame (its text, or that parsed) carries, in order."""
    frame = frame if isinstance(frame, dict) else json.loads(frame)
    if frame["type"] != BATCH_TYPE:
        return [frame]
    messages = []
    for entry in frame["data"]["messages"]:
        if "rows" not in entry:
            messages.append(entry)
            continue
        columns = entry["columns"]
        messages += (
            {"type": entry["type"], "data": dict(zip(columns, row, strict=True))}
            for row in entry["rows"]
        )
    return messages
