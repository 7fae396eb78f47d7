"""Who is on the other end of a websocket: a session cookie (browser) or an API token (script)."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from webapp.accounts.tokens import user_for_key


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


def _user_for_key(key: str) -> tuple[Any, int | None]:
    found = user_for_key(key)
    return (found[0], found[1].pk) if found else (AnonymousUser(), None)


# Not pinned to Django's one sync thread: a burst of handshakes would queue there behind each
# other (and behind every HTTP view) until daphne's handshake timeout drops them.
_user_for_token = database_sync_to_async(_user_for_key, thread_sensitive=False)


class TokenAuthMiddleware(BaseMiddleware):
    """``Authorization: Token <key>`` replaces the session's user; a bad token means anonymous.

    Other schemes are left to the session, as the REST API does. The token's id goes in the
    scope as ``petri_token_id`` so an open connection can be closed once it is revoked.
    """

    async def __call__(self, scope, receive, send):
        header = _header(scope, b"authorization")
        parts = header.split() if header else []
        if parts and parts[0].lower() == "token":
            user, token_id = (
                await _user_for_token(parts[1]) if len(parts) == 2 else (AnonymousUser(), None)
            )
            scope = {**scope, "user": user, "petri_token_id": token_id}
        return await super().__call__(scope, receive, send)


class OriginOrTokenValidator:
    """AllowedHostsOriginValidator, except that a token request may come without an Origin.

    Browsers always send Origin on a websocket handshake and cannot add an Authorization
    header, so a token request without Origin is a script, which cross-site rules don't concern.
    """

    def __init__(self, application) -> None:
        self.application = application
        self.validated = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        if _header(scope, b"origin") is None and _header(scope, b"authorization") is not None:
            return await self.application(scope, receive, send)
        return await self.validated(scope, receive, send)


def authenticated(application):
    """The stack every websocket route sits behind."""
    return OriginOrTokenValidator(AuthMiddlewareStack(TokenAuthMiddleware(application)))
