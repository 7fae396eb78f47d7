"""Sign-in throttling: failures per account and per client address end in 429 + Retry-After."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from jobs.tests.factories import UserFactory

PASSWORD = "s3cret-pass"


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 5
    return settings.AXES_FAILURE_LIMIT


def token_request(client: APIClient, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        "/api/auth/token/",
        {"username": username, "password": password, "name": "throttling"},
        format="json",
        REMOTE_ADDR=address,
    )


def session_request(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        "/api/auth/login/",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_sixty_wrong_passwords_then_the_right_one_are_not_all_answered_normally(user, settings):
    client = APIClient()
    answers = [token_request(client, "alice", f"guess-{n}").status_code for n in range(60)]
    right = token_request(client, "alice", PASSWORD)
    assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(answers[settings.AXES_FAILURE_LIMIT :]) == {429}
    assert right.status_code == 429
    assert "key" not in right.json()
    assert int(right["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())


def test_the_session_sign_in_is_throttled_per_account_from_any_address(user, limit):
    client = Client()
    for n in range(limit):
        session_request(client, "alice", "wrong", address=f"10.0.1.{n}")
    locked = session_request(client, "alice", PASSWORD, address="10.0.2.1")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "try again" in locked.json()["detail"]
    assert client.get("/api/auth/me/").json() == {"authenticated": False}


def test_one_address_guessing_many_accounts_is_throttled_for_every_account(db, limit):
    for n in range(limit + 1):
        UserFactory(username=f"victim{n}")
    client = APIClient()
    for n in range(limit):
        token_request(client, f"victim{n}", "wrong", address="10.9.9.9")
    assert token_request(client, f"victim{limit}", PASSWORD, address="10.9.9.9").status_code == 429
    # Another address and another account are not held back by that address's failures.
    assert token_request(client, f"victim{limit}", PASSWORD, address="10.9.9.8").status_code == 201


def test_signing_in_to_ones_own_account_does_not_clear_failures_at_another(user, db, limit):
    UserFactory(username="mallory")
    client = APIClient()
    for _ in range(limit - 1):
        assert token_request(client, "alice", "wrong").status_code == 400
    assert token_request(client, "mallory", PASSWORD).status_code == 201
    assert token_request(client, "alice", "wrong").status_code == 429
    assert token_request(client, "alice", PASSWORD, address="10.7.7.7").status_code == 429


def test_the_allauth_sign_in_page_is_throttled_too(user, limit):
    client = Client()
    answers = [
        client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
        for _ in range(limit)
    ]
    assert answers[-1].status_code == 429 and int(answers[-1]["Retry-After"]) > 0
    # allauth's own limit may answer first now; either way the right password does not sign in.
    client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_behind_the_tls_proxy_the_address_the_proxy_appended_is_the_client(user, limit, settings):
    settings.PETRI_BEHIND_TLS_PROXY = True
    client = APIClient()
    for n in range(limit):
        client.post(
            "/api/auth/token/",
            {"username": f"nobody{n}", "password": "x", "name": "t"},
            format="json",
            REMOTE_ADDR="10.0.0.254",  # the proxy
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.7",  # a spoofed hop, then the client
        )
    blocked = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": PASSWORD, "name": "t"},
        format="json",
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    other = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": PASSWORD, "name": "t"},
        format="json",
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert blocked.status_code == 429
    assert other.status_code == 201
