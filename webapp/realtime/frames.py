"""One websocket frame per flush: a lone message as itself, several wrapped in a ``batch``.

Every frame is a protocol message ``{"type", "data"}``; a flush of several messages is sent as
``{"type": "batch", "data": {"messages": [...]}}`` in order. Connections of one process that
flush the same messages share one encoding of the frame (see FrameCache).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

from webapp.realtime.broadcast import encode

BATCH_TYPE = "batch"
# Frames a process remembers; connections flushing alike do so within moments of each other.
CACHED_FRAMES = 16


def encoded(message: dict[str, Any]) -> str:
    """A message's wire form; the broadcaster already encoded those it published (``text``)."""
    return message.get("text") or encode(message)


def encode_frame(messages: Sequence[dict[str, Any]]) -> str:
    """The text of the one frame carrying ``messages`` (at least one)."""
    if len(messages) == 1:
        return encoded(messages[0])
    # Equal to encode() of the batch message: the parts are compact JSON already.
    return '{"type":"batch","data":{"messages":[' + ",".join(map(encoded, messages)) + "]}}"


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
