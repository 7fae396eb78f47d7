"""Sign-up and sign-in: local accounts, GitHub and Google with their HTTP mocked by `responses`.

`responses` replaces requests' transport adapter, so allauth's real OAuth client code runs and
any request to an address not registered here fails the test instead of leaving the machine.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from webapp.accounts.models import Profile
from webapp.accounts.tokens import issue_token

GITHUB = {"client_id": "gh-client", "secret": "gh-secret", "key": ""}
GOOGLE = {"client_id": "google-client", "secret": "google-secret", "key": ""}


@pytest.fixture
def providers(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {"APPS": [GITHUB], "SCOPE": ["read:user", "user:email"]},
        "google": {"APPS": [GOOGLE], "SCOPE": ["profile", "email"]},
    }
    return settings


def _state_from(response) -> str:
    assert response.status_code == 302, response.content[:500]
    return parse_qs(urlparse(response["Location"]).query)["state"][0]


def _github_sign_in(client: Client, login: str = "octocat", uid: int = 583231) -> object:
    state = _state_from(client.post("/accounts/github/login/"))
    with responses.RequestsMock() as mock:
        mock.post(
            "https://github.com/login/oauth/access_token",
            json={"access_token": "gho_test", "token_type": "bearer", "scope": "read:user"},
        )
        mock.get(
            "https://api.github.com/user",
            json={"id": uid, "login": login, "name": "Mona Octocat", "email": None},
        )
        mock.get(
            "https://api.github.com/user/emails",
            json=[{"email": f"{login}@example.org", "primary": True, "verified": True}],
        )
        return client.get("/accounts/github/login/callback/", {"code": "c0de", "state": state})


def _google_sign_in(client: Client) -> object:
    state = _state_from(client.post("/accounts/google/login/"))
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": GOOGLE["client_id"],
        "sub": "1098765",
        "email": "ada@example.org",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "iat": now,
        "exp": now + 3600,
    }
    # Received straight from the token endpoint over TLS, so allauth need not check the key.
    id_token = jwt.encode(claims, "not-googles-key-but-long-enough-for-hs256", algorithm="HS256")
    with responses.RequestsMock() as mock:
        mock.post(
            "https://oauth2.googleapis.com/token",
            json={
                "access_token": "ya29.test",
                "expires_in": 3599,
                "token_type": "Bearer",
                "id_token": id_token,
            },
        )
        return client.get("/accounts/google/login/callback/", {"code": "c0de", "state": state})


@pytest.mark.django_db
def test_a_link_to_a_provider_asks_before_leaving_for_it(providers):
    page = Client().get("/accounts/github/login/")
    assert page.status_code == 200 and b"<form" in page.content


def _signed_in_user(client: Client):
    return client.get("/api/auth/me/").json()


@pytest.mark.django_db
def test_github_sign_in_creates_an_account_when_sign_up_is_open(providers):
    providers.PETRI_SIGNUP = "open"
    client = Client()
    response = _github_sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    me = _signed_in_user(client)
    assert me["authenticated"] and me["username"] == "octocat"
    user = get_user_model().objects.get(username="octocat")
    assert user.email == "octocat@example.org" and user.is_active
    assert user.profile.approved


@pytest.mark.django_db
def test_google_sign_in_creates_an_account_when_sign_up_is_open(providers):
    providers.PETRI_SIGNUP = "open"
    client = Client()
    response = _google_sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    me = _signed_in_user(client)
    assert me["authenticated"]
    user = get_user_model().objects.get(pk=me["id"])
    assert user.email == "ada@example.org" and user.socialaccount_set.get().provider == "google"


@pytest.mark.django_db
def test_with_sign_up_closed_a_github_account_waits_for_an_operator(providers, admin_client):
    providers.PETRI_SIGNUP = "closed"
    client = Client()
    response = _github_sign_in(client, login="newcomer")
    assert response.status_code == 302 and response["Location"] == "/accounts/inactive/"
    assert not _signed_in_user(client)["authenticated"]
    user = get_user_model().objects.get(username="newcomer")
    assert not user.is_active and not user.profile.approved

    # An operator approves the account in the admin; the next sign-in goes through.
    approved = admin_client.post(
        "/admin/auth/user/",
        {"action": "approve", "_selected_action": [user.pk], "index": 0},
    )
    assert approved.status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.profile.approved
    again = Client()
    assert _github_sign_in(again, login="newcomer")["Location"] == "/"
    assert _signed_in_user(again)["username"] == "newcomer"


@pytest.mark.django_db
def test_a_returning_github_user_signs_in_to_the_same_account(providers):
    providers.PETRI_SIGNUP = "open"
    _github_sign_in(Client())
    _github_sign_in(Client())
    assert get_user_model().objects.filter(username__startswith="octocat").count() == 1


@pytest.mark.django_db
def test_local_sign_up_when_closed_makes_an_account_that_cannot_sign_in_yet(settings):
    settings.PETRI_SIGNUP = "closed"
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "carol@example.org",
            "password1": "a-long-pass-42",
            "password2": "a-long-pass-42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/inactive/"
    carol = get_user_model().objects.get(username="carol")
    assert not carol.is_active and not Profile.objects.get(user=carol).approved

    # Neither the web app's password sign-in nor a token works until approval.
    api = APIClient()
    refused = api.post("/api/auth/token/", {"username": "carol", "password": "a-long-pass-42"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this account is waiting for an operator's approval"
    _, key = issue_token(carol, "early")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/experiments/").status_code == 401


@pytest.mark.django_db
def test_local_sign_up_when_open_signs_the_new_user_in(settings):
    settings.PETRI_SIGNUP = "open"
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "username": "dave",
            "email": "",
            "password1": "a-long-pass-42",
            "password2": "a-long-pass-42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert _signed_in_user(client)["username"] == "dave"


@pytest.mark.django_db
def test_local_password_sign_in_always_works(user):
    client = Client()
    response = client.post("/accounts/login/", {"login": "alice", "password": "s3cret-pass"})
    assert response.status_code == 302
    assert _signed_in_user(client)["username"] == "alice"


@pytest.mark.django_db
def test_providers_are_listed_only_when_configured(providers):
    listed = APIClient().get("/api/auth/providers/").json()
    assert [p["id"] for p in listed["providers"]] == ["github", "google"]
    assert listed["providers"][0]["login_url"] == "/accounts/github/login/"
    assert listed["signup"] == "closed"


@pytest.mark.django_db
def test_an_unconfigured_provider_is_switched_off(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APPS": []}, "google": {"APPS": []}}
    assert APIClient().get("/api/auth/providers/").json()["providers"] == []
    assert Client().get("/accounts/github/login/").status_code == 404


def test_half_a_provider_configuration_stops_petri_at_start(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from webapp.settings import _oauth_app

    monkeypatch.setenv("PETRI_GITHUB_CLIENT_ID", "only-the-id")
    monkeypatch.delenv("PETRI_GITHUB_CLIENT_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="PETRI_GITHUB_CLIENT_SECRET"):
        _oauth_app("GITHUB")
    monkeypatch.setenv("PETRI_GITHUB_CLIENT_SECRET", "s")
    assert _oauth_app("GITHUB") == [{"client_id": "only-the-id", "secret": "s", "key": ""}]


@pytest.mark.django_db
def test_allauths_pages_render(providers):
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/inactive/"):
        assert Client().get(url).status_code == 200, url
