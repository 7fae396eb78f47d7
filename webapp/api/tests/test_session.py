"""Session sign-in for the web app: password in, cookie out, CSRF checked both ways."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def browser(db):
    """A client that checks CSRF tokens as a browser's requests are checked."""
    return Client(enforce_csrf_checks=True)


def csrf_token(browser: Client) -> str:
    browser.get("/api/auth/me/")
    return browser.cookies["csrftoken"].value


def sign_in(browser: Client, username="alice", password="s3cret-pass"):
    return browser.post(
        "/api/auth/login/",
        {"username": username, "password": password},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf_token(browser),
    )


def test_me_says_nobody_is_signed_in_and_hands_out_the_csrf_cookie(browser):
    response = browser.get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert browser.cookies["csrftoken"].value


def test_the_right_password_signs_in_and_the_api_then_answers_to_the_cookie(browser, user):
    response = sign_in(browser)
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "alice"
    me = browser.get("/api/auth/me/").json()
    assert me == {"authenticated": True, "id": user.pk, "username": "alice", "is_staff": False}
    assert browser.get("/api/experiments/").status_code == 200


def test_a_wrong_password_is_refused_without_signing_in(browser, user):
    response = sign_in(browser, password="nope")
    assert response.status_code == 400
    assert response.json() == {"detail": "wrong username or password"}
    assert browser.get("/api/auth/me/").json() == {"authenticated": False}


def test_signing_in_without_the_csrf_token_is_refused(browser, user):
    browser.get("/api/auth/me/")
    response = browser.post(
        "/api/auth/login/",
        {"username": "alice", "password": "s3cret-pass"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert browser.get("/api/auth/me/").json() == {"authenticated": False}


def test_missing_fields_are_named(browser, user):
    response = browser.post(
        "/api/auth/login/",
        {},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf_token(browser),
    )
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_signing_out_ends_the_session_and_needs_the_csrf_token(browser, user):
    sign_in(browser)
    assert browser.post("/api/auth/logout/").status_code == 403
    assert browser.get("/api/auth/me/").json()["authenticated"] is True
    token = browser.cookies["csrftoken"].value
    response = browser.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert browser.get("/api/auth/me/").json() == {"authenticated": False}
    assert browser.get("/api/experiments/").status_code == 401


def test_a_session_cannot_write_to_the_api_without_the_csrf_token(browser, user, catalog):
    sign_in(browser)
    body = {"algorithm": "sleep-and-score", "parameters": {"x": 1}}
    refused = browser.post("/api/experiments/", body, content_type="application/json")
    assert refused.status_code == 403
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/experiments/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content
