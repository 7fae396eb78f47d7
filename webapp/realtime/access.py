"""Who may follow what: checked at the handshake, then by the hub while the websocket is open.

The hub checks all its connections' grants in one batch of queries, every
PETRI_WS_RECHECK_SECONDS and at once after a revocation in this process commits (security.md).
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

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


class Grant(NamedTuple):
    """What a connection was let in on: who, by which credential, to follow what."""

    user_id: int | None
    token_id: int | None
    session_key: str | None
    experiment_id: int | None


def lapsed(grants: set[Grant]) -> set[Grant]:
    """The grants that do not hold, in a few queries whatever their number."""
    now = timezone.now()
    users = get_user_model().objects.filter(is_active=True).in_bulk({g.user_id for g in grants})
    tokens = ApiToken.objects.filter(pk__in={g.token_id for g in grants})
    tokens = {None, *tokens.exclude(expires_at__lte=now).values_list("pk", flat=True)}
    # A session ended (signed out, expired, flushed) no longer names its user.
    sessions = Session.objects.filter(
        session_key__in={g.session_key for g in grants}, expire_date__gt=now
    )
    signed_in = {(row.session_key, row.get_decoded().get("_auth_user_id")) for row in sessions}
    watched: dict[int, set[int]] = {}  # per user, the experiments they follow
    for g in grants:
        if g.experiment_id is not None and g.user_id in users:
            watched.setdefault(g.user_id, set()).add(g.experiment_id)
    visible: set[tuple[int, int]] = set()
    for user_id, ids in watched.items():
        theirs = Experiment.objects.visible_to(users[user_id]).filter(pk__in=ids)
        visible |= {(user_id, pk) for pk in theirs.values_list("pk", flat=True)}
    return {
        g
        for g in grants
        if g.user_id not in users
        or g.token_id not in tokens
        or (g.session_key is not None and (g.session_key, str(g.user_id)) not in signed_in)
        or (g.experiment_id is not None and (g.user_id, g.experiment_id) not in visible)
    }


# Off Django's one sync thread, as the handshake's token lookup (consumers.py).
check = database_sync_to_async(lapsed, thread_sensitive=False)


@receiver(post_delete, sender=ApiToken)
@receiver(user_logged_out)
@receiver(m2m_changed, sender=Experiment.shared_with.through)
@receiver(post_save, sender=get_user_model())
def recheck_soon(signal: Any, action: str = "", instance: Any = None, **_: Any) -> None:
    """Once a revoking transaction commits, the serving hub checks its connections."""
    if signal is m2m_changed and action not in ("post_remove", "post_clear"):
        return  # shares added: nothing was revoked
    if signal is post_save and instance.is_active:
        return  # an account saved, still switched on

    def poke() -> None:
        from webapp.realtime.hub import serving

        if (found := serving()) is not None:
            asyncio.run_coroutine_threadsafe(found.recheck(), found.loop)

    transaction.on_commit(poke, robust=True)
