"""The wire format, in one place: one websocket frame per flush, and how a client reads it.

A flush of one message is sent as that message, ``{"type", "data"}``; several as
``{"type": "batch", "data": {"messages": [...]}}``, in order. Within a batch, a run of messages of
one type with the same fields (a claim's or a cancel's hundreds of ``job.updated``) is a table,
``{"type", "columns", "rows"}``: a field's name is sent once rather than once per job, a third of
the bytes for 1,000 jobs. The SPA reads it in webapp/frontend/src/frames.ts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

BATCH_TYPE = "batch"
# Shorter runs gain little from a table and are easier to read as messages.
TABLE_MIN_ROWS = 3


def _alike(message: dict[str, Any]) -> tuple:
    return message["type"], tuple(message["data"])


def encode(messages: Sequence[dict[str, Any]]) -> str:
    """The text of the one frame carrying ``messages`` (at least one), compact JSON."""
    if len(messages) == 1:
        frame = {"type": messages[0]["type"], "data": messages[0]["data"]}
    else:
        entries: list[dict[str, Any]] = []
        for (kind, columns), run in itertools.groupby(messages, key=_alike):
            run = list(run)
            if len(run) < TABLE_MIN_ROWS:
                entries += ({"type": kind, "data": m["data"]} for m in run)
            else:
                rows = [list(m["data"].values()) for m in run]
                entries.append({"type": kind, "columns": list(columns), "rows": rows})
        frame = {"type": BATCH_TYPE, "data": {"messages": entries}}
    return json.dumps(frame, separators=(",", ":"))


def decode(frame: str | bytes | dict[str, Any]) -> list[dict[str, Any]]:
    """The protocol messages one frame (its text, or that parsed) carries, in order."""
    frame = frame if isinstance(frame, dict) else json.loads(frame)
    if frame["type"] != BATCH_TYPE:
        return [frame]
    messages = []
    for entry in frame["data"]["messages"]:
        if "rows" in entry:
            messages += (
                {"type": entry["type"], "data": dict(zip(entry["columns"], row, strict=True))}
                for row in entry["rows"]
            )
        else:
            messages.append(entry)
    return messages
