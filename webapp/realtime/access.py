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
import logging
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model

log = logging.getLogger(__name__)

REVOKED = 4403  # a websocket close code: 4000-4999 are the application's own


@dataclass(frozen=True)
class Grant:
    """What a connection was let in on: who, by which credential, to follow what."""

    user_id: int
    token_id: int | None = None
    session_key: str | None = None
    experiment_id: int | None = None


class Watched(Protocol):
    grant: Grant

    async def revoke(self) -> None: ...


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


_lapsed = database_sync_to_async(lapsed, thread_sensitive=False)


class AccessWatch:
    """The running loop's open connections, re-checked together while there are any."""

    def __init__(self) -> None:
        self.members: set[Watched] = set()
        self._task: asyncio.Task | None = None

    def watch(self, member: Watched) -> None:
        self.members.add(member)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="petri-realtime-access")

    async def forget(self, member: Watched) -> None:
        self.members.discard(member)
        if not self.members and self._task is not None:
            task, self._task = self._task, None
            if task is not asyncio.current_task():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def recheck(self) -> int:
        """Check every member's grant now; returns how many were revoked."""
        members = list(self.members)
        if not members:
            return 0
        gone = await _lapsed({member.grant for member in members})
        revoked = [member for member in members if member.grant in gone]
        for member in revoked:
            await member.revoke()
        return len(revoked)

    async def _run(self) -> None:
        while self.members:
            await asyncio.sleep(settings.PETRI_WS_RECHECK_SECONDS)
            try:
                await self.recheck()
            except Exception:  # a database hiccup: try again next round
                log.exception("realtime could not re-check websocket access")


_watches: dict[asyncio.AbstractEventLoop, AccessWatch] = {}


def recheck_soon(**_: Any) -> None:
    """Signal receiver: once the revoking transaction commits, every loop's watch checks."""
    from django.db import transaction

    def poke() -> None:
        for loop, watch in list(_watches.items()):
            if watch.members and not loop.is_closed():
                loop.call_soon_threadsafe(lambda w=watch: asyncio.ensure_future(w.recheck()))

    transaction.on_commit(poke, robust=True)


def on_shares_removed(action: str, **kwargs: Any) -> None:
    if action in ("post_remove", "post_clear"):
        recheck_soon()


def on_user_saved(instance: Any, update_fields: Any = None, **_: Any) -> None:
    if not instance.is_active and (update_fields is None or "is_active" in update_fields):
        recheck_soon()


def access_watch() -> AccessWatch:
    """The running loop's watch (daphne has one loop; each test scenario has its own)."""
    loop = asyncio.get_running_loop()
    found = _watches.get(loop)
    if found is None:
        for stale in [other for other in _watches if other.is_closed()]:
            del _watches[stale]
        found = _watches[loop] = AccessWatch()
    return found
