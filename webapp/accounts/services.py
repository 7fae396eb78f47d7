"""Account rules: profiles, approval of new accounts, tokens and preferences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs.errors import InvalidInput
from webapp.accounts.models import ApiToken, Profile
from webapp.accounts.tokens import issue_token, replace_token


def profile_of(user: Any) -> Profile:
    """The user's profile; accounts older than profiles get one on first use."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def create_profile(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save receiver: every new account gets a profile (approved: operators' accounts)."""
    if created and not kwargs.get("raw"):
        Profile.objects.get_or_create(user=instance)


def signup_needs_approval() -> bool:
    return settings.PETRI_SIGNUP == "closed"


def hold_for_approval(user: Any) -> None:
    """Keep a self-registered account inactive until an operator approves it.

    Inactive is what every authentication path (password, session, API token) already
    refuses; ``approved`` tells a waiting account from one an operator switched off.
    """
    with transaction.atomic():
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        Profile.objects.update_or_create(user=user, defaults={"approved": False})


def approve_users(users: QuerySet) -> int:
    """Let waiting accounts in; returns how many were approved."""
    with transaction.atomic():
        ids = list(users.values_list("pk", flat=True))
        for user_id in ids:
            Profile.objects.update_or_create(user_id=user_id, defaults={"approved": True})
        users.model.objects.filter(pk__in=ids).update(is_active=True)
    return len(ids)


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def create_token(user: Any, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new personal token; the plain key is returned this once. Names are one per user."""
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise InvalidInput({"name": [f"you already have a token named {name!r}"]})
    return issue_token(user, name, expires_at)


def sign_in_token(user: Any, name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    """The token a password sign-in hands out: the client's token of that name, replaced.

    ``expires_in_days`` None means PETRI_TOKEN_EXPIRY_DAYS; 0 means it never expires.
    """
    days = settings.PETRI_TOKEN_EXPIRY_DAYS if expires_in_days is None else expires_in_days
    expires_at = timezone.now() + timedelta(days=days) if days else None
    return replace_token(user, name, expires_at)


def revoke_token(user: Any, token_id: int) -> bool:
    """Delete one of the user's own tokens; False when there is no such token of theirs."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


def set_email_notifications(user: Any, enabled: bool) -> Profile:
    profile = profile_of(user)
    if profile.email_notifications != enabled:
        profile.email_notifications = enabled
        profile.save(update_fields=["email_notifications"])
    return profile
