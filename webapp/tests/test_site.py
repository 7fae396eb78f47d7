from __future__ import annotations

import pytest
from django.core.management import call_command

from jobs.tests.factories import UserFactory


def test_healthz_answers_ok_without_signing_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_ready_once_every_migration_is_applied(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_answers_503_while_migrations_are_pending(client, db, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("x", False)])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "migrating"


def test_the_openapi_schema_generates_without_warnings(tmp_path, db):
    call_command(
        "spectacular", "--file", str(tmp_path / "schema.yaml"), "--validate", "--fail-on-warn"
    )
    assert "/api/experiments/{id}/cancel/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_and_swagger_ui_are_served_from_local_assets(client, db):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.parametrize("page", ["algorithm", "dataset", "experiment", "job", "quota"])
def test_operators_see_each_model_in_the_admin(client, db, page, catalog):
    staff = UserFactory(username="op", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(f"/admin/jobs/{page}/").status_code == 200


def test_the_token_endpoint_exchanges_a_password_for_a_working_token(client, user):
    refused = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": "nope"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    issued = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": "s3cret-pass"},
        content_type="application/json",
    )
    assert issued.status_code == 201
    key = issued.json()["key"]
    ok = client.get("/api/experiments/", HTTP_AUTHORIZATION=f"Token {key}")
    assert ok.status_code == 200
    assert client.get("/api/experiments/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_tokens_are_stored_only_as_hashes(user):
    from webapp.accounts.models import ApiToken
    from webapp.accounts.tokens import issue_token

    token, key = issue_token(user, "cli")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix)
    assert stored.prefix == key[:12]
