"""The one check of a username and password, for both the token and the session sign-in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from rest_framework import status
from rest_framework.exceptions import APIException, Throttled

from webapp.accounts.throttling import lockout_message, retry_after_seconds


class WrongCredentials(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "wrong username or password"
    default_code = "wrong_credentials"


class AwaitingApproval(APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "this account is waiting for an operator's approval"
    default_code = "awaiting_approval"


def signed_in_user(request: Any, username: str, password: str) -> Any:
    """The active user these credentials belong to; a 400 without telling which part was wrong.

    A locked-out account or address gets a 429 (django-axes counts the failures); the right
    password of an account still waiting for approval gets a 403 saying so.
    """
    django_request = getattr(request, "_request", request)  # axes marks the Django request
    user = authenticate(django_request, username=username, password=password)
    if user is not None:
        return user
    if getattr(django_request, "axes_locked_out", False):
        raise Throttled(wait=retry_after_seconds(), detail=lockout_message())
    if _awaits_approval(username, password):
        raise AwaitingApproval()
    raise WrongCredentials()


def _awaits_approval(username: str, password: str) -> bool:
    """True only with the right password, so it tells nothing about other usernames."""
    waiting = (
        get_user_model()
        .objects.filter(username=username, is_active=False, profile__approved=False)
        .first()
    )
    return waiting is not None and waiting.check_password(password)
