"""Driving websocket consumers in tests: connect, then collect until a condition holds."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from webapp.realtime.hub import TABLE_MIN_ROWS

ORIGIN = "http://testserver"


def unwrap(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """The protocol messages one frame carries, in order, checking the frame's shape on the way."""
    if frame["type"] != "batch":
        assert set(frame) == {"type", "data"}, frame
        return [frame]
    assert set(frame) == {"type", "data"} and set(frame["data"]) == {"messages"}, frame
    messages = []
    for entry in frame["data"]["messages"]:
        assert entry["type"] != "batch", "batches don't nest"
        if "rows" not in entry:
            assert set(entry) == {"type", "data"}, entry
            messages.append(entry)
            continue
        assert set(entry) == {"type", "columns", "rows"}, entry
        assert len(entry["rows"]) >= TABLE_MIN_ROWS, "short runs are sent as messages"
        messages += (
            {"type": entry["type"], "data": dict(zip(entry["columns"], row, strict=True))}
            for row in entry["rows"]
        )
    assert len(messages) > 1, "a flush of one message is sent as itself"
    return messages


def decode(text: str) -> list[dict[str, Any]]:
    """The protocol messages of one frame's text."""
    return unwrap(json.loads(text))


def run(scenario, *args, **kwargs):
    """Run an async scenario from a sync test (one event loop for the whole scenario)."""
    return async_to_sync(scenario)(*args, **kwargs)


class Communicator(WebsocketCommunicator):
    """Channels' communicator, whose handshake may take more than a second on a loaded machine."""

    async def connect(self, timeout: float = 10):
        return await super().connect(timeout)


def communicator(
    path: str,
    *,
    token: str | None = None,
    session: str | None = None,
    origin: str | None = ORIGIN,
) -> WebsocketCommunicator:
    """A client of the real ASGI stack (origin check, cookie and token auth, routing)."""
    from webapp.asgi import application

    headers = []
    if origin:
        headers.append((b"origin", origin.encode()))
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return Communicator(application, path, headers=headers)


async def frames(
    client: WebsocketCommunicator,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """Receive frames, as sent, until ``until(the messages they carry)`` holds."""
    received: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(messages):
        left = deadline - time.monotonic()
        # receive_nothing waits without cancelling the consumer as a timed-out receive would.
        if left <= 0 or await client.receive_nothing(timeout=left, interval=0.005):
            raise AssertionError(f"condition not met after {timeout} s; got {messages!r:.2000}")
        received.append(frame := json.loads(await client.receive_from()))
        messages += unwrap(frame)
    return received


async def collect(
    client: WebsocketCommunicator,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """Receive frames, unwrapped into messages, until ``until(messages)`` holds."""
    return [message for frame in await frames(client, until, timeout) for message in unwrap(frame)]


_markers = itertools.count(1)


async def drain(groups: Sequence[str], *clients: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Every message sent to the clients until nothing published so far is on its way.

    A marker is published to ``groups`` last: a whole state, it leaves after everything handed
    to the group before it (docs/realtime.md), so once it arrives all that came before has.
    """
    from webapp.realtime.hub import broadcast

    marker = {"type": "experiment.updated", "data": {"id": -next(_markers)}}
    broadcast(groups, [marker])
    received = []
    for client in clients:
        received += await collect(client, lambda messages: marker in messages)
        received.remove(marker)
    return received
