"""The websocket routes: who may connect (session or token), and the group each one follows."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from django.urls import path

from webapp.accounts.tokens import user_for_key
from webapp.metrics import WEBSOCKET_CLIENTS
from webapp.realtime.access import REVOKED, Grant, check
from webapp.realtime.hub import experiment_group, hub, user_group

# Off Django's one sync thread: a burst of handshakes would queue there behind each other (and
# every HTTP view) until daphne's handshake timeout drops them.
_user_for_key = database_sync_to_async(user_for_key, thread_sensitive=False)


class EventStream(AsyncWebsocketConsumer):
    """``/ws/events/``: the user's own experiments; ``/ws/experiments/<id>/``: one they may see."""

    channel_layer_alias = None  # no channel per connection: the process's hub receives for all
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope["user"]
        experiment_id = self.scope["url_route"]["kwargs"].get("experiment_id")
        # By the token it used, else by the session: either going away closes the connection.
        token_id = self.scope.get("petri_token_id")
        session = self.scope.get("session") if token_id is None else None
        self.grant = Grant(user.pk, token_id, getattr(session, "session_key", None), experiment_id)
        if not user.is_authenticated or await check({self.grant}):
            await self.close()  # before accept: the client sees its handshake refused
            return
        group = user_group(user.pk) if experiment_id is None else experiment_group(experiment_id)
        # Joined before the handshake completes: whatever commits once the client is
        # connected reaches it, so a REST read made then misses nothing.
        await hub().join(group, self)
        self.group = group
        WEBSOCKET_CLIENTS.inc()  # paired with the dec in disconnect, which checks self.group
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            group, self.group = self.group, None
            WEBSOCKET_CLIENTS.dec()
            await hub().leave(group, self)

    async def revoke(self) -> None:
        """The grant lapsed: stop delivering at once, then close the socket."""
        await self.disconnect(REVOKED)
        await self.close(code=REVOKED)


def websocket_application() -> Any:
    """The routes behind a session from an allowed origin, or ``Authorization: Token <key>``.

    A token replaces the session's user (a bad key: anonymous). Browsers always send Origin on
    a websocket handshake and cannot add that header: a token without Origin is a script.
    """
    stream = EventStream.as_asgi()
    routes = URLRouter(
        [path("ws/events/", stream), path("ws/experiments/<int:experiment_id>/", stream)]
    )
    from_allowed_origin = AllowedHostsOriginValidator(routes)
    by_session = AllowedHostsOriginValidator(AuthMiddlewareStack(routes))

    async def application(scope, receive, send):
        headers = dict(scope["headers"])  # ASGI servers lowercase the names
        scheme, _, key = headers.get(b"authorization", b"").decode("latin1").partition(" ")
        if scheme.lower() != "token":
            return await by_session(scope, receive, send)
        found = await _user_for_key(key.strip())
        user, token_id = (found[0], found[1].pk) if found else (AnonymousUser(), None)
        scope = {**scope, "user": user, "petri_token_id": token_id}
        checked = routes if b"origin" not in headers else from_allowed_origin
        return await checked(scope, receive, send)

    return application
