"""Datasets defined by SQL on real PostgreSQL (the test database's server) and MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from jobs.models import Dataset, RemoteDatabase
from jobs.tests.factories import make_experiment
from petri_pytest.services import MARIADB, postgres_settings

# The role Petri queries with holds write privileges on purpose: what must refuse the writes
# is the server's read-only cursor, not a careful operator.
PG_READER_GRANTS = (
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "GRANT CREATE ON SCHEMA public TO {role}",
)


@dataclass
class Source:
    """A scratch table on a real database server, registered as a RemoteDatabase."""

    database: RemoteDatabase
    table: str
    execute: Callable[[str], list[tuple]]


@pytest.fixture
def pg_source(db) -> Iterator[Source]:
    import psycopg2

    name = f"petri_remote_{uuid.uuid4().hex[:10]}"
    server = postgres_settings()  # the server the test database lives on
    admin = psycopg2.connect(dbname="postgres", **server, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    conn = psycopg2.connect(dbname=name, **server)
    conn.autocommit = True

    def execute(sql: str) -> list[tuple]:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []

    execute("CREATE TABLE measurements (x integer, y double precision, label text)")
    execute("INSERT INTO measurements VALUES (1, 0.5, 'a'), (2, 1.5, NULL), (3, 2.5, 'c')")
    execute("CREATE SEQUENCE counter")
    role = f"{name}_reader"
    execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
    for grant in PG_READER_GRANTS:
        execute(grant.format(role=role))
    database = RemoteDatabase.objects.create(
        name="pg-lab",
        engine="postgresql",
        database=name,
        statement_timeout=5,
        **{**server, "user": role, "password": ""},
    )
    yield Source(database, "measurements", execute)
    conn.close()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
    admin.close()


@pytest.fixture
def maria_source(db) -> Iterator[Source]:
    import pymysql

    conn = pymysql.connect(**MARIADB, autocommit=True, connect_timeout=5)
    table = f"petri_remote_{uuid.uuid4().hex[:10]}"

    def execute(sql: str) -> list[tuple]:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    execute(f"CREATE TABLE {table} (x integer, y double, label varchar(10))")
    execute(f"INSERT INTO {table} VALUES (1, 0.5, 'a'), (2, 1.5, NULL), (3, 2.5, 'c')")
    database = RemoteDatabase.objects.create(
        name="maria-lab", engine="mysql", statement_timeout=5, **MARIADB
    )
    yield Source(database, table, execute)
    execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.requires("postgres")),
        pytest.param("mysql", marks=pytest.mark.requires("mariadb")),
    ]
)
def source(request) -> Source:
    return request.getfixturevalue("pg_source" if request.param == "postgresql" else "maria_source")


def _load(api, source: Source, query: str, name: str = "lab data"):
    return api.post(
        "/api/datasets/query/",
        {"database": source.database.name, "query": query, "name": name},
        format="json",
    )


def test_a_query_becomes_a_dataset_with_its_hash_query_and_load_time(api, source) -> None:
    query = f"SELECT x, y, label FROM {source.table} ORDER BY x"

    response = _load(api, source, query)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["columns"] == ["x", "y", "label"]
    assert body["rows"] == 3
    assert body["query"] == query
    assert body["source_database"] == source.database.name
    assert body["version"] == 1 and body["previous"] is None
    assert body["loaded_at"] is not None and body["load_seconds"] >= 0
    csv = b"".join(api.get(body["download_url"]).streaming_content).decode()
    assert csv == "x,y,label\n1,0.5,a\n2,1.5,\n3,2.5,c\n"
    assert len(body["sha256"]) == 64


def test_the_same_result_loaded_twice_gives_back_the_same_dataset(api, source) -> None:
    query = f"SELECT x FROM {source.table} ORDER BY x"
    first = _load(api, source, query).json()

    again = _load(api, source, query)

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert Dataset.objects.count() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET x = 99",
        "DROP TABLE {table}",
        "DELETE FROM {table}",
    ],
    ids=["update", "drop", "delete"],
)
def test_a_writing_statement_is_refused_by_the_database_and_changes_nothing(
    api, source, statement: str
) -> None:
    response = _load(api, source, statement.format(table=source.table))

    assert response.status_code == 400
    [message] = response.json()["query"]
    # The server's own words: a read-only transaction, or (Postgres) no cursor over a write.
    assert ("read" in message.lower() and "only" in message.lower()) or ("cannot open" in message)
    assert source.execute(f"SELECT x FROM {source.table} ORDER BY x") == [(1,), (2,), (3,)]
    assert not Dataset.objects.exists()


@pytest.mark.requires("postgres")
def test_a_postgres_function_that_writes_is_refused_by_the_read_only_transaction(
    api, pg_source
) -> None:
    response = _load(api, pg_source, "SELECT nextval('counter')")

    assert response.status_code == 400
    assert "read-only transaction" in response.json()["query"][0]
    assert pg_source.execute("SELECT last_value, is_called FROM counter") == [(1, False)]


def test_a_second_statement_cannot_end_the_read_only_transaction(api, source) -> None:
    query = f"SELECT 1; COMMIT; DROP TABLE {source.table}"

    response = _load(api, source, query)

    assert response.status_code == 400
    assert "query" in response.json()
    assert len(source.execute(f"SELECT x FROM {source.table}")) == 3


def test_a_result_over_the_row_cap_is_refused(api, source) -> None:
    RemoteDatabase.objects.filter(pk=source.database.pk).update(row_cap=2)

    response = _load(api, source, f"SELECT x FROM {source.table}")

    assert response.status_code == 400
    assert "more than 2 rows" in response.json()["query"][0]
    assert not Dataset.objects.exists()


def test_a_query_past_the_statement_timeout_is_stopped(api, source) -> None:
    RemoteDatabase.objects.filter(pk=source.database.pk).update(statement_timeout=1)
    sleep = "SELECT pg_sleep(5)" if source.database.engine == "postgresql" else "SELECT SLEEP(5)"

    response = _load(api, source, sleep)

    assert response.status_code == 400
    assert any(w in response.json()["query"][0] for w in ("timeout", "max_statement_time"))


def test_a_bad_query_is_a_400_naming_the_query(api, source) -> None:
    response = _load(api, source, "SELECT nonsense FROM nowhere_at_all")

    assert response.status_code == 400
    assert "refused the query" in response.json()["query"][0]


@pytest.mark.requires("postgres")
def test_an_unknown_or_disabled_database_is_a_400_naming_the_database(api, pg_source) -> None:
    RemoteDatabase.objects.filter(pk=pg_source.database.pk).update(enabled=False)

    response = _load(api, pg_source, "SELECT 1")

    assert response.status_code == 400
    assert "database" in response.json()


def test_reload_of_unchanged_content_gives_the_same_dataset(api, source) -> None:
    first = _load(api, source, f"SELECT x, y FROM {source.table} ORDER BY x").json()

    response = api.post(f"/api/datasets/{first['id']}/reload/")

    assert response.status_code == 200
    assert response.json()["id"] == first["id"]
    assert response.json()["version"] == 1


def test_reload_of_changed_content_makes_a_new_version_and_keeps_the_old_one(
    api, user, source
) -> None:
    first = _load(api, source, f"SELECT x, y FROM {source.table} ORDER BY x").json()
    old = Dataset.objects.get(pk=first["id"])
    experiment = make_experiment(user, dataset=old)
    source.execute(f"INSERT INTO {source.table} VALUES (4, 3.5, 'd')")

    response = api.post(f"/api/datasets/{first['id']}/reload/")

    assert response.status_code == 201, response.content
    new = response.json()
    assert new["id"] != first["id"]
    assert (new["version"], new["previous"], new["rows"]) == (2, first["id"], 4)
    assert new["name"] == first["name"] and new["query"] == first["query"]
    old.refresh_from_db()
    assert (old.rows, old.sha256, old.version) == (3, first["sha256"], 1)
    experiment.refresh_from_db()
    assert experiment.dataset_id == old.pk  # experiments keep the version they ran on


def test_another_user_cannot_reload_my_dataset(api, other_api, source) -> None:
    first = _load(api, source, f"SELECT x FROM {source.table}").json()

    assert other_api.post(f"/api/datasets/{first['id']}/reload/").status_code == 404


def test_an_uploaded_dataset_cannot_be_reloaded(api) -> None:
    from jobs.tests.factories import make_csv

    uploaded = api.post("/api/datasets/", {"file": make_csv()}, format="multipart").json()

    response = api.post(f"/api/datasets/{uploaded['id']}/reload/")

    assert response.status_code == 400
    assert "dataset" in response.json()


def test_the_database_list_names_engines_and_never_credentials(api, db) -> None:
    RemoteDatabase.objects.create(
        name="lab",
        engine="postgresql",
        host="db.internal",
        port=5432,
        database="lab",
        user="reader",
        password="hunter2-secret",
    )
    RemoteDatabase.objects.create(
        name="old", engine="mysql", host="h", port=3306, database="d", user="u", enabled=False
    )

    response = api.get("/api/databases/")

    assert response.status_code == 200
    assert response.json() == [
        {"name": "lab", "engine": "postgresql", "row_cap": 1_000_000, "statement_timeout": 60}
    ]
    text = response.content.decode()
    for secret in ("db.internal", "reader", "hunter2-secret"):
        assert secret not in text


@pytest.mark.requires("postgres")
def test_reloading_an_old_version_numbers_the_new_one_after_the_newest(api, pg_source) -> None:
    first = _load(api, pg_source, f"SELECT x FROM {pg_source.table} ORDER BY x").json()
    pg_source.execute(f"INSERT INTO {pg_source.table} VALUES (4, 0, 'd')")
    second = api.post(f"/api/datasets/{first['id']}/reload/").json()
    pg_source.execute(f"INSERT INTO {pg_source.table} VALUES (5, 0, 'e')")

    third = api.post(f"/api/datasets/{first['id']}/reload/").json()

    assert (second["version"], third["version"]) == (2, 3)
    assert third["rows"] == 5


BACKSLASH_QUOTE_ATTACKS = [
    # sqlparse reads \' as an escaped quote and sees one statement; Postgres does not.
    "SELECT '\\' AS a; COMMIT; BEGIN READ WRITE; CREATE TABLE stolen (v text); "
    "INSERT INTO stolen VALUES ('pwned'); COMMIT; SELECT 1 AS b --'",
    "SELECT '\\' AS a; COMMIT; BEGIN READ WRITE; DELETE FROM measurements; "
    "CREATE TABLE stolen (v text); COMMIT; SELECT 1 AS b --'",
]


@pytest.mark.requires("postgres")
@pytest.mark.parametrize("query", BACKSLASH_QUOTE_ATTACKS, ids=["create-insert", "delete-create"])
def test_the_backslash_quote_trick_cannot_run_a_second_statement_on_postgres(
    api, pg_source, query: str
) -> None:
    assert "'\\'" in query

    response = _load(api, pg_source, query)

    assert response.status_code == 400
    assert "refused the query" in response.json()["query"][0]
    assert pg_source.execute("SELECT to_regclass('public.stolen')") == [(None,)]
    assert len(pg_source.execute("SELECT x FROM measurements")) == 3
    assert not Dataset.objects.exists()


@pytest.mark.requires("postgres")
def test_postgres_refuses_a_second_statement_itself(api, pg_source) -> None:
    response = _load(api, pg_source, BACKSLASH_QUOTE_ATTACKS[1])

    assert "cannot open multi-query plan as cursor" in response.json()["query"][0]


@pytest.mark.requires("postgres")
def test_a_delete_inside_a_select_is_refused_by_the_read_only_transaction(api, pg_source) -> None:
    query = f"WITH gone AS (DELETE FROM {pg_source.table} RETURNING x) SELECT x FROM gone"

    response = _load(api, pg_source, query)

    assert response.status_code == 400
    assert "read-only transaction" in response.json()["query"][0]
    assert len(pg_source.execute(f"SELECT x FROM {pg_source.table}")) == 3


@pytest.mark.requires("postgres")
def test_a_query_cannot_turn_its_transaction_read_write(api, pg_source) -> None:
    query = "SELECT set_config('transaction_read_only', 'off', false)"

    response = _load(api, pg_source, query)

    assert response.status_code == 400
    message = response.json()["query"][0]
    assert "read-only transaction" in message or "read-write mode must be set" in message


@pytest.mark.requires("postgres")
def test_a_postgres_database_registered_with_a_superuser_runs_no_query(api, pg_source) -> None:
    RemoteDatabase.objects.filter(pk=pg_source.database.pk).update(user="postgres")

    response = _load(api, pg_source, f"SELECT x FROM {pg_source.table}")

    assert response.status_code == 400
    assert "superuser" in response.json()["query"][0]


@pytest.mark.requires("postgres")
def test_postgres_rows_are_streamed_and_the_fetch_stops_past_the_cap(api, pg_source) -> None:
    # 10^8 rows could neither be fetched whole within the 5 s timeout nor held in memory;
    # a server-side cursor reads cap + 1 of them and stops.
    RemoteDatabase.objects.filter(pk=pg_source.database.pk).update(row_cap=10)

    response = _load(api, pg_source, "SELECT generate_series(1, 100000000) AS n")

    assert response.status_code == 400
    assert "more than 10 rows" in response.json()["query"][0]


@pytest.mark.requires("postgres")
def test_postgres_rows_up_to_the_cap_are_loaded_across_fetch_batches(api, pg_source) -> None:
    RemoteDatabase.objects.filter(pk=pg_source.database.pk).update(row_cap=12_000)

    response = _load(api, pg_source, "SELECT generate_series(1, 12000) AS n")

    assert response.status_code == 201, response.content
    assert response.json()["rows"] == 12_000
