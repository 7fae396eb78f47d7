"""The one check of a username and password, for both the token and the session sign-in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from rest_framework import status
from rest_framework.exceptions import APIException


class WrongCredentials(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "wrong username or password"
    default_code = "wrong_credentials"


def signed_in_user(request: Any, username: str, password: str) -> Any:
    """The active user these credentials belong to; a 400 without telling which part was wrong."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise WrongCredentials()
    return user
