"""Open websockets keep the access they were granted only while it lasts.

The handshake checks who may follow what; afterwards a share is revoked, a token deleted or
expired, a session ended or an account switched off. Every PETRI_WS_RECHECK_SECONDS one batch
of queries per process checks every open connection's grant again, and a connection whose
grant has gone stops receiving and is closed with 4403. A revocation made in this process
(deleting a token, un-sharing, switching an account off, signing out) triggers that check at
once, after its commit; the periodic one covers the other processes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

REVOKED = 4403  # a websocket close code: 4000-4999 are the application's own


@dataclass(frozen=True)
class Grant:
    """What a connection was let in on: who, by which credential, to follow what."""

    user_id: int
    token_id: int | None = None
    session_key: str | None = None
    experiment_id: int | None = None


def grant_for(scope: dict[str, Any], experiment_id: int | None = None) -> Grant:
    """The grant of a handshake that passed: the token it used, else the session's key."""
    user = scope["user"]
    token_id = scope.get("petri_token_id")
    session = scope.get("session")
    session_key = None if token_id is not None else getattr(session, "session_key", None)
    return Grant(user.pk, token_id, session_key, experiment_id)


def lapsed(grants: set[Grant]) -> set[Grant]:
    """The grants that no longer hold, in a few queries whatever the number of connections."""
    from django.utils import timezone

    from jobs.models import Experiment
    from webapp.accounts.models import ApiToken

    users = {
        user.pk: user
        for user in get_user_model().objects.filter(
            pk__in={g.user_id for g in grants}, is_active=True
        )
    }
    token_ids = {g.token_id for g in grants if g.token_id is not None}
    live_tokens = set(
        ApiToken.objects.filter(pk__in=token_ids)
        .exclude(expires_at__lte=timezone.now())
        .values_list("pk", flat=True)
    )
    # A session ended (signed out, expired, flushed) no longer names its user.
    session_users = _session_users({g.session_key for g in grants if g.session_key})
    visible: set[tuple[int, int]] = set()
    wanted: dict[int, set[int]] = {}
    for grant in grants:
        if grant.experiment_id is not None and grant.user_id in users:
            wanted.setdefault(grant.user_id, set()).add(grant.experiment_id)
    for user_id, experiment_ids in wanted.items():
        seen = Experiment.objects.visible_to(users[user_id]).filter(pk__in=experiment_ids)
        visible.update((user_id, pk) for pk in seen.values_list("pk", flat=True))

    def holds(grant: Grant) -> bool:
        if grant.user_id not in users:
            return False
        if grant.token_id is not None and grant.token_id not in live_tokens:
            return False
        signed_in = session_users.get(grant.session_key or "")
        if grant.session_key is not None and signed_in != str(grant.user_id):
            return False
        return grant.experiment_id is None or (grant.user_id, grant.experiment_id) in visible

    return {grant for grant in grants if not holds(grant)}


def _session_users(keys: set[str]) -> dict[str, str]:
    """Session key to the id of the user it signs in, for the sessions still alive."""
    from django.utils import timezone

    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        alive = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
        return {row.session_key: str(row.get_decoded().get("_auth_user_id", "")) for row in alive}
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return {key: str(store(session_key=key).get("_auth_user_id", "")) for key in keys}


def recheck_soon(**_: Any) -> None:
    """Signal receiver: once the revoking transaction commits, every hub checks its members."""
    from django.db import transaction

    def poke() -> None:
        from webapp.realtime.hub import serving

        for loop, hub in serving():
            loop.call_soon_threadsafe(lambda hub=hub: asyncio.ensure_future(hub.recheck()))

    transaction.on_commit(poke, robust=True)


def on_shares_removed(action: str, **kwargs: Any) -> None:
    if action in ("post_remove", "post_clear"):
        recheck_soon()


def on_user_saved(instance: Any, update_fields: Any = None, **_: Any) -> None:
    if not instance.is_active and (update_fields is None or "is_active" in update_fields):
        recheck_soon()
