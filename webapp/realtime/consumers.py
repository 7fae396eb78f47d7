"""Websocket consumers: a user's own experiments, or one experiment, pushed live."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from jobs.models import Experiment
from webapp.metrics import WEBSOCKET_CLIENTS
from webapp.realtime.broadcast import broadcaster, experiment_group, user_group
from webapp.realtime.coalesce import Outbox
from webapp.realtime.hub import hub

# No connection is sent more than one batch per this many seconds, whatever the event rate,
# and no event waits longer than this for its batch (besides the previous batch's interval).
FLUSH_INTERVAL = 0.25
# A batch goes out once events stopped arriving for this long: a burst that reaches the
# connection as several channel-layer messages still leaves as one batch, soon after its end.
QUIET = 0.02


class EventStream(AsyncWebsocketConsumer):
    """Buffers the group's events in an Outbox; flushes it after QUIET, at most every interval.

    A flush is one websocket frame: its single message, or a ``batch`` of them (frames.py).
    """

    # A connection has no channel of its own: the process's GroupHub receives for all of them.
    channel_layer_alias = None
    flush_interval = FLUSH_INTERVAL
    quiet = QUIET
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        group = await self.group_for(user) if user is not None and user.is_authenticated else None
        if group is None:
            await self.close()  # before accept: the client sees its handshake refused
            return
        self.outbox = Outbox()
        self._flusher: asyncio.Task | None = None
        self._last_flush = float("-inf")
        self._first_event = self._last_event = 0.0
        broadcaster.attach(asyncio.get_running_loop())
        self._hub = hub()
        await self._hub.join(group, self)
        self.group = group
        WEBSOCKET_CLIENTS.inc()  # paired with the dec in disconnect, which checks self.group
        await self.accept()

    async def group_for(self, user: Any) -> str | None:
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            if self._flusher is not None:
                self._flusher.cancel()
            await self._hub.leave(self.group, self)
            WEBSOCKET_CLIENTS.dec()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The stream is one-way; whatever a client sends is ignored."""

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Called by the hub, on this loop, with a batch of the group's protocol messages."""
        now = asyncio.get_running_loop().time()
        if not self.outbox:
            self._first_event = now
        self._last_event = now
        for event in events:
            self.outbox.add(event)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())

    def _due(self) -> float:
        settled = min(self._last_event + self.quiet, self._first_event + self.flush_interval)
        return max(settled, self._last_flush + self.flush_interval)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.outbox:
                wait = self._due() - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue  # more may have arrived meanwhile: look again
                messages = self.outbox.drain()
                self._last_flush = loop.time()
                # Each frame costs the server about as much as its content: one per flush, its
                # text shared with the other local connections that flush the same messages.
                text = self._hub.frames.frame(messages)
                # Straight to the server: AsyncWebsocketConsumer.send adds nothing here.
                await self.base_send({"type": "websocket.send", "text": text})
        finally:
            self._flusher = None


class UserEventsConsumer(EventStream):
    """``/ws/events/``: every event about the connecting user's own experiments."""

    async def group_for(self, user: Any) -> str | None:
        return user_group(user.pk)


class ExperimentConsumer(EventStream):
    """``/ws/experiments/<id>/``: one experiment the user may see (staff: any)."""

    async def group_for(self, user: Any) -> str | None:
        experiment_id = int(self.scope["url_route"]["kwargs"]["experiment_id"])
        visible = await database_sync_to_async(
            Experiment.objects.visible_to(user).filter(pk=experiment_id).exists,
            thread_sensitive=False,  # see auth._user_for_token
        )()
        return experiment_group(experiment_id) if visible else None
