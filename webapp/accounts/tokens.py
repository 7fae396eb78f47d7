"""Issuing and checking personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from webapp.accounts.models import ApiToken

PREFIX = "petri_"
# last_used_at is only written this often, so a busy script does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain key is returned once and never stored."""
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:12], key_hash=_hash(key))
    return token, key


def user_for_key(key: str) -> tuple[Any, ApiToken] | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token
