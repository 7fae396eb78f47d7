"""POST /api/auth/token/: one token per client name, replaced on each sign-in, with an expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.tests.factories import UserFactory
from webapp.accounts.models import ApiToken, Profile
from webapp.accounts.services import hold_for_approval

PASSWORD = "s3cret-pass"
TOKEN_FIELDS = {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "key"}


def sign_in(name: str | None = "laptop", password: str = PASSWORD, **extra):
    body = {"username": "alice", "password": password, **extra}
    if name is not None:
        body["name"] = name
    return APIClient().post("/api/auth/token/", body, format="json")


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/experiments/").status_code == 200


def test_the_answer_names_the_key_key_as_the_tokens_api_does(user, api):
    answer = sign_in()
    assert answer.status_code == 201
    assert set(answer.json()) == TOKEN_FIELDS
    made = api.post("/api/tokens/", {"name": "ci"}, format="json").json()
    assert set(made) == TOKEN_FIELDS
    assert works(answer.json()["key"]) and works(made["key"])


def test_signing_in_again_with_the_same_name_replaces_the_token_instead_of_piling_up(user):
    keys = [sign_in("laptop").json()["key"] for _ in range(35)]
    assert ApiToken.objects.filter(user=user, name="laptop").count() == 1
    assert works(keys[-1])
    assert not any(works(key) for key in keys[:3])
    other = sign_in("desktop").json()["key"]
    assert works(other) and works(keys[-1])
    assert ApiToken.objects.filter(user=user).count() == 2


def test_tokens_from_a_sign_in_expire_after_the_configured_days(user, settings):
    settings.PETRI_TOKEN_EXPIRY_DAYS = 30
    body = sign_in().json()
    token = ApiToken.objects.get(pk=body["id"])
    left = token.expires_at - timezone.now()
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    never = sign_in("server", expires_in_days=0).json()
    assert never["expires_at"] is None
    assert sign_in("x", expires_in_days=-1).status_code == 400


def test_an_expired_token_is_refused_and_swept_at_the_next_sign_in(user):
    body = sign_in("old").json()
    ApiToken.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not works(body["key"])
    sign_in("new")
    assert not ApiToken.objects.filter(pk=body["id"]).exists()


def test_the_token_list_shows_name_created_last_used_and_expiry_never_the_key(user, api):
    key = sign_in("laptop").json()["key"]
    works(key)
    listed = {t["name"]: t for t in api.get("/api/tokens/").json()}
    laptop = listed["laptop"]
    assert "key" not in laptop
    assert laptop["created_at"] and laptop["last_used_at"] and laptop["expires_at"]


def test_the_tokens_api_refuses_a_second_token_of_the_same_name_or_a_past_expiry(user, api):
    assert api.post("/api/tokens/", {"name": "ci"}, format="json").status_code == 201
    again = api.post("/api/tokens/", {"name": "ci"}, format="json")
    assert again.status_code == 400 and "name" in again.json()
    past = (timezone.now() - timedelta(days=1)).isoformat()
    expired = api.post("/api/tokens/", {"name": "old", "expires_at": past}, format="json")
    assert expired.status_code == 400 and "expires_at" in expired.json()


@pytest.mark.django_db
def test_an_account_awaiting_approval_is_told_so_only_with_the_right_password():
    carol = UserFactory(username="carol")
    hold_for_approval(carol)
    client = APIClient()

    def answer(username: str, password: str):
        return client.post(
            "/api/auth/token/", {"username": username, "password": password}, format="json"
        )

    right = answer("carol", PASSWORD)
    assert right.status_code == 403 and "approval" in right.json()["detail"]
    wrong = answer("carol", "not-it")
    nobody = answer("nobody", "not-it")
    assert (wrong.status_code, wrong.json()) == (nobody.status_code, nobody.json())
    assert wrong.json() == {"detail": "wrong username or password"}


@pytest.mark.django_db
def test_an_account_an_operator_switched_off_is_not_told_it_awaits_approval():
    dora = UserFactory(username="dora", is_active=False)
    Profile.objects.update_or_create(user=dora, defaults={"approved": True})
    answer = APIClient().post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 400
