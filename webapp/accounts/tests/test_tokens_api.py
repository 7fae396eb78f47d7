from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from webapp.accounts.models import ApiToken
from webapp.accounts.tokens import issue_token


def _with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_is_created_listed_used_and_revoked(api, user):
    created = api.post("/api/tokens/", {"name": "laptop"}, format="json")
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert body["name"] == "laptop" and key.startswith(body["prefix"])

    listed = api.get("/api/tokens/").json()
    laptop = next(t for t in listed if t["id"] == body["id"])
    assert "key" not in laptop
    assert laptop["prefix"] == body["prefix"] and laptop["last_used_at"] is None

    assert _with_key(key).get("/api/experiments/").status_code == 200
    used = next(t for t in api.get("/api/tokens/").json() if t["id"] == body["id"])
    assert used["last_used_at"] is not None

    assert api.delete(f"/api/tokens/{body['id']}/").status_code == 204
    assert _with_key(key).get("/api/experiments/").status_code == 401
    assert all(t["id"] != body["id"] for t in api.get("/api/tokens/").json())


def test_the_key_itself_is_never_stored(user):
    token, key = issue_token(user, "ci")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(value) for value in row.values()}
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[:12]


def test_using_a_token_records_when_it_was_last_used(user):
    token, key = issue_token(user, "script")
    _with_key(key).get("/api/experiments/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and timezone.now() - first < timedelta(minutes=1)

    # Within a minute the row is not written again; after that it is.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=5))
    _with_key(key).get("/api/experiments/")
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(minutes=5)


def test_a_revoked_token_is_refused(user, api):
    token, key = issue_token(user, "old")
    assert api.delete(f"/api/tokens/{token.pk}/").status_code == 204
    response = _with_key(key).get("/api/experiments/")
    assert response.status_code == 401


def test_users_see_and_revoke_only_their_own_tokens(api, other_user):
    theirs, key = issue_token(other_user, "bobs")
    assert all(t["id"] != theirs.pk for t in api.get("/api/tokens/").json())
    assert api.delete(f"/api/tokens/{theirs.pk}/").status_code == 404
    assert _with_key(key).get("/api/experiments/").status_code == 200


def test_a_token_of_a_deactivated_account_is_refused(user):
    _, key = issue_token(user, "gone")
    user.is_active = False
    user.save()
    assert _with_key(key).get("/api/experiments/").status_code == 401


def test_a_token_needs_a_name(api):
    assert api.post("/api/tokens/", {}, format="json").status_code == 400


def test_signed_out_visitors_cannot_touch_tokens(db):
    assert APIClient().get("/api/tokens/").status_code in (401, 403)
    assert APIClient().post("/api/tokens/", {"name": "x"}).status_code in (401, 403)
