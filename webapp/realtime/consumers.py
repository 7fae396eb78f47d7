"""Websocket consumers: a user's own experiments, or one experiment, pushed live."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from jobs.models import Experiment
from webapp.metrics import WEBSOCKET_CLIENTS
from webapp.realtime.access import REVOKED, grant_for
from webapp.realtime.broadcast import experiment_group, user_group
from webapp.realtime.hub import hub


class EventStream(AsyncWebsocketConsumer):
    """A member of one group of the process's hub, which sends it the group's frames."""

    # A connection has no channel of its own: the process's hub receives for all of them.
    channel_layer_alias = None
    group: str | None = None
    experiment_id: int | None = None  # set by routes that follow one experiment

    async def connect(self) -> None:
        user = self.scope.get("user")
        group = await self.group_for(user) if user is not None and user.is_authenticated else None
        if group is None:
            await self.close()  # before accept: the client sees its handshake refused
            return
        self.grant = grant_for(self.scope, self.experiment_id)
        self.hub = hub()
        # Joined before the handshake completes: whatever commits once the client is
        # connected reaches it, so a REST read made then misses nothing.
        await self.hub.join(group, self)
        self.group = group
        WEBSOCKET_CLIENTS.inc()  # paired with the dec in _leave, which checks self.group
        await self.accept()

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
            WEBSOCKET_CLIENTS.dec()
            await self.hub.leave(group, self)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The stream is one-way; whatever a client sends is ignored."""


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
