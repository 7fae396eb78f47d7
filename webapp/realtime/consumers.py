"""Websocket consumers: a user's own experiments, or one experiment, pushed live."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from jobs.models import Experiment
from webapp.metrics import WEBSOCKET_CLIENTS
from webapp.realtime.access import REVOKED, access_watch, grant_for
from webapp.realtime.broadcast import broadcaster, experiment_group, user_group
from webapp.realtime.cohort import Cohort
from webapp.realtime.hub import hub

# No connection is sent more than one batch per this many seconds on average (cohort.BURST of
# them back to back after a lull), whatever the event rate, and no event waits longer than this
# for its batch (besides the wait for the connection's rate allowance).
FLUSH_INTERVAL = 0.25
# A batch goes out once events stopped arriving for this long: a burst that reaches the
# connection as several channel-layer messages still leaves as one batch, soon after its end.
QUIET = 0.02


class EventStream(AsyncWebsocketConsumer):
    """Buffers the group's events in an Outbox; flushes it after QUIET, at most every interval.

    A flush is one websocket frame: its single message, or a ``batch`` of them (frames.py).
    Connections that were handed the same events since they joined share the outbox, the
    flush and the frame's encoding (cohort.py).
    """

    # A connection has no channel of its own: the process's GroupHub receives for all of them.
    channel_layer_alias = None
    flush_interval = FLUSH_INTERVAL
    quiet = QUIET
    group: str | None = None
    experiment_id: int | None = None  # set by routes that follow one experiment

    async def connect(self) -> None:
        user = self.scope.get("user")
        group = await self.group_for(user) if user is not None and user.is_authenticated else None
        if group is None:
            await self.close()  # before accept: the client sees its handshake refused
            return
        self.cohort: Cohort | None = None
        broadcaster.attach(asyncio.get_running_loop())
        self._hub = hub()
        self._group = group  # deliver() may run before join() returns
        try:
            await self._hub.join(group, self)
        except BaseException:
            if self.cohort is not None:  # handed events while joining
                self._hub.cohorts.leave(group, self, self.cohort)
            raise
        self._enter()
        self.group = group
        WEBSOCKET_CLIENTS.inc()  # paired with the dec in _leave, which checks self.group
        await self.accept()
        self.grant = grant_for(self.scope, self.experiment_id)
        self._watch = access_watch()
        self._watch.watch(self)

    async def group_for(self, user: Any) -> str | None:
        """The group this user may follow here, or None to refuse; each route names its own."""
        return None

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def revoke(self) -> None:
        """The grant is gone (access.py): stop delivering at once, then close the socket."""
        await self._leave()
        await self.close(code=REVOKED)

    async def _leave(self) -> None:
        if self.group is not None:
            group, self.group = self.group, None
            if self.cohort is not None:
                self._hub.cohorts.leave(group, self, self.cohort)
                self.cohort = None
            await self._hub.leave(group, self)
            watch = getattr(self, "_watch", None)  # None when the handshake did not finish
            if watch is not None:
                await watch.forget(self)
            WEBSOCKET_CLIENTS.dec()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The stream is one-way; whatever a client sends is ignored."""

    def _enter(self) -> Cohort:
        if self.cohort is None:
            cohorts = self._hub.cohorts
            self.cohort = cohorts.enter(self._group, self, self.flush_interval, self.quiet)
        return self.cohort

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Called by the hub, on this loop, with a batch of the group's protocol messages."""
        self._enter().deliver(events)


class UserEventsConsumer(EventStream):
    """``/ws/events/``: every event about the connecting user's own experiments."""

    async def group_for(self, user: Any) -> str | None:
        return user_group(user.pk)


class ExperimentConsumer(EventStream):
    """``/ws/experiments/<id>/``: one experiment the user may see (staff: any)."""

    async def group_for(self, user: Any) -> str | None:
        experiment_id = self.experiment_id = int(self.scope["url_route"]["kwargs"]["experiment_id"])
        visible = await database_sync_to_async(
            Experiment.objects.visible_to(user).filter(pk=experiment_id).exists,
            thread_sensitive=False,  # see auth._user_for_token
        )()
        return experiment_group(experiment_id) if visible else None
