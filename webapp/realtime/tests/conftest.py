"""Fixtures of the realtime tests: credentials a websocket client presents."""

from __future__ import annotations

import pytest


@pytest.fixture
def token_for(db):
    """A fresh API token key for a user."""
    from webapp.accounts.tokens import issue_token

    def make(user) -> str:
        return issue_token(user, "websocket tests")[1]

    return make


@pytest.fixture
def session_for(db):
    """A session cookie value, as the browser holds after signing in."""
    from django.test import Client

    def make(user) -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    return make
