"""Operators register remote databases in the admin; the password is never shown back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from jobs.models import RemoteDatabase
from jobs.tests.factories import UserFactory

FORM = {
    "name": "lab",
    "engine": "postgresql",
    # Nothing listens there: the role check can only warn that it could not connect.
    "host": "127.0.0.1",
    "port": 9,
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


def test_a_database_that_cannot_be_reached_is_registered_with_a_warning(operator) -> None:
    response = operator.post(
        "/admin/jobs/remotedatabase/add/", {**FORM, "password": "x"}, follow=True
    )

    assert RemoteDatabase.objects.filter(name="lab").exists()
    assert b"could not check the role" in response.content.lower()


@pytest.fixture
def pg_role() -> Iterator[tuple[str, object]]:
    """A scratch login role on the local Postgres; the test may alter it."""
    import psycopg2

    name = f"petri_role_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    cursor = admin.cursor()
    cursor.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER")
    yield name, cursor
    cursor.execute(f"DROP ROLE IF EXISTS {name}")
    admin.close()


def _pg_form(role: str) -> dict:
    return {**FORM, "port": 5432, "database": "postgres", "user": role, "password": ""}


@pytest.mark.requires("postgres")
def test_a_superuser_role_is_refused_at_registration(operator, pg_role) -> None:
    role, cursor = pg_role
    cursor.execute(f"ALTER ROLE {role} SUPERUSER")

    response = operator.post("/admin/jobs/remotedatabase/add/", _pg_form(role))

    assert response.status_code == 200  # the form again, with the error
    assert b"is a superuser" in response.content
    assert not RemoteDatabase.objects.exists()


@pytest.mark.requires("postgres")
def test_a_role_that_can_write_is_registered_with_a_warning_naming_the_privilege(
    operator, pg_role
) -> None:
    role, cursor = pg_role
    cursor.execute(f"ALTER ROLE {role} CREATEDB")

    response = operator.post("/admin/jobs/remotedatabase/add/", _pg_form(role), follow=True)

    assert RemoteDatabase.objects.filter(name="lab").exists()
    assert b"can change this database" in response.content.lower()
    assert b"CREATEDB" in response.content


@pytest.mark.requires("postgres")
def test_a_read_only_role_is_registered_without_a_warning(operator, pg_role) -> None:
    role, _ = pg_role

    response = operator.post("/admin/jobs/remotedatabase/add/", _pg_form(role), follow=True)

    assert RemoteDatabase.objects.filter(name="lab").exists()
    assert b"can change this database" not in response.content.lower()
    assert b"could not check" not in response.content.lower()
