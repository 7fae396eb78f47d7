"""Issuing and checking personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from webapp.accounts.models import ApiToken

PREFIX = "petri_"
# last_used_at is only written this often, so a busy script does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user: Any, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token; the plain key is returned once and never stored."""
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:12], key_hash=_hash(key), expires_at=expires_at
    )
    return token, key


def replace_token(user: Any, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """The user's one token of this name, issued anew (a key cannot be shown twice).

    Signing in again from the same client replaces its token instead of piling up another;
    the user's expired tokens go at the same time.
    """
    with transaction.atomic():
        mine = ApiToken.objects.filter(user=user)
        (mine.filter(name=name) | mine.filter(expires_at__lte=timezone.now())).delete()
        return issue_token(user, name, expires_at)


def user_for_key(key: str) -> tuple[Any, ApiToken] | None:
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key))
        .exclude(expires_at__lte=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token
