"""Who may follow what: checked at the handshake, then again while the websocket stays open.

A share is revoked, a token deleted or expired, a session ended, an account switched off: every
PETRI_WS_RECHECK_SECONDS each process's hub checks all its connections' grants in one batch of
queries, and a connection whose grant lapsed stops receiving and is closed with 4403. A
revocation made in this process triggers that check at once, after its commit; the periodic one
covers the other processes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from jobs.models import Experiment
from webapp.accounts.models import ApiToken

REVOKED = 4403  # a websocket close code: 4000-4999 are the application's own


@dataclass(frozen=True)
class Grant:
    """What a connection was let in on: who, by which credential, to follow what."""

    user_id: int
    token_id: int | None = None
    session_key: str | None = None
    experiment_id: int | None = None


def grant_for(scope: dict[str, Any], experiment_id: int | None = None) -> Grant:
    """The grant a handshake asks for: by the token it used, else by the session's key."""
    token_id = scope.get("petri_token_id")
    session = scope.get("session") if token_id is None else None
    return Grant(scope["user"].pk, token_id, getattr(session, "session_key", None), experiment_id)


def lapsed(grants: set[Grant]) -> set[Grant]:
    """The grants that do not hold, in a few queries whatever their number."""
    now = timezone.now()
    users = {
        user.pk: user
        for user in get_user_model().objects.filter(
            pk__in={grant.user_id for grant in grants}, is_active=True
        )
    }
    tokens = set(
        ApiToken.objects.filter(pk__in={grant.token_id for grant in grants})
        .exclude(expires_at__lte=now)
        .values_list("pk", flat=True)
    )
    # A session ended (signed out, expired, flushed) no longer names its user.
    sessions = {
        row.session_key: row.get_decoded().get("_auth_user_id")
        for row in Session.objects.filter(
            session_key__in={grant.session_key for grant in grants}, expire_date__gt=now
        )
    }
    wanted: dict[int, set[int]] = {}
    for grant in grants:
        if grant.experiment_id is not None and grant.user_id in users:
            wanted.setdefault(grant.user_id, set()).add(grant.experiment_id)
    visible = {
        (user_id, pk)
        for user_id, ids in wanted.items()
        for pk in Experiment.objects.visible_to(users[user_id])
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    }
    return {
        grant
        for grant in grants
        if grant.user_id not in users
        or (grant.token_id is not None and grant.token_id not in tokens)
        or (grant.session_key is not None and sessions.get(grant.session_key) != str(grant.user_id))
        or (grant.experiment_id is not None and (grant.user_id, grant.experiment_id) not in visible)
    }


# Off Django's one sync thread, as the handshake's token lookup (consumers.py).
check = database_sync_to_async(lapsed, thread_sensitive=False)


@receiver(post_delete, sender=ApiToken)
@receiver(user_logged_out)
def recheck_soon(**_: Any) -> None:
    """Once the revoking transaction commits, the serving hub checks its connections."""

    def poke() -> None:
        from webapp.realtime.hub import serving

        if (found := serving()) is not None:
            asyncio.run_coroutine_threadsafe(found.recheck(), found.loop)

    transaction.on_commit(poke, robust=True)


@receiver(m2m_changed, sender=Experiment.shared_with.through)
def on_shares_removed(action: str, **_: Any) -> None:
    if action in ("post_remove", "post_clear"):
        recheck_soon()


@receiver(post_save, sender=get_user_model())
def on_user_saved(instance: Any, update_fields: Any = None, **_: Any) -> None:
    if not instance.is_active and (update_fields is None or "is_active" in update_fields):
        recheck_soon()
