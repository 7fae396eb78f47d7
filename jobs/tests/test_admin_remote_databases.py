"""Operators register remote databases in the admin; the password is never shown back."""

from __future__ import annotations

import pytest

from jobs.models import RemoteDatabase
from jobs.tests.factories import UserFactory

FORM = {
    "name": "lab",
    "engine": "postgresql",
    "host": "db.internal",
    "port": 5432,
    "database": "lab",
    "user": "reader",
    "row_cap": 1000,
    "statement_timeout": 30,
    "enabled": "on",
}


@pytest.fixture
def operator(client, db):
    client.force_login(UserFactory(username="op", is_staff=True, is_superuser=True))
    return client


def test_an_operator_registers_a_database_with_a_password(operator) -> None:
    response = operator.post(
        "/admin/jobs/remotedatabase/add/", {**FORM, "password": "hunter2-secret"}
    )

    assert response.status_code == 302, response.content
    assert RemoteDatabase.objects.get(name="lab").password == "hunter2-secret"


def test_the_change_form_never_shows_the_password(operator) -> None:
    database = RemoteDatabase.objects.create(**{**FORM, "enabled": True}, password="hunter2")

    page = operator.get(f"/admin/jobs/remotedatabase/{database.pk}/change/")

    assert page.status_code == 200
    assert b"hunter2" not in page.content
    assert b'type="password"' in page.content


def test_an_empty_password_field_keeps_the_stored_one_and_a_new_one_replaces_it(
    operator,
) -> None:
    database = RemoteDatabase.objects.create(**{**FORM, "enabled": True}, password="old-secret")
    url = f"/admin/jobs/remotedatabase/{database.pk}/change/"

    operator.post(url, {**FORM, "row_cap": 5, "password": ""})
    database.refresh_from_db()
    assert (database.row_cap, database.password) == (5, "old-secret")

    operator.post(url, {**FORM, "password": "new-secret"})
    database.refresh_from_db()
    assert database.password == "new-secret"
