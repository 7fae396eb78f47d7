"""Datasets defined as SQL queries on registered remote databases, run read-only."""

from __future__ import annotations

import csv
import datetime
import io
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

import sqlparse
from django.db.models import Max
from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.models import Dataset, RemoteDatabase
from jobs.services.datasets import create_dataset
from jobs.services.remote_postgres import PostgresRefused, check_role, postgres_rows

CONNECT_TIMEOUT_SECONDS = 10
FETCH_BATCH = 5000
MAX_QUERY_CHARS = 100_000


class QueryRefused(Exception):
    """The remote database refused or failed the query; the message is safe to show users."""


def _single_statement(query: str) -> str:
    """The query without a trailing semicolon; refuses what plainly is several statements.

    Only a friendly early answer: the servers are what refuse a second statement (MariaDB
    without MULTI_STATEMENTS, Postgres by opening a cursor over exactly one; remote_postgres).
    """
    statements = [s for s in sqlparse.split(query) if sqlparse.format(s, strip_comments=True)]
    if len(statements) != 1:
        raise InvalidInput({"query": ["must be exactly one SQL statement"]})
    return statements[0].strip().rstrip(";").strip()


def _postgres_rows(db: RemoteDatabase, query: str) -> tuple[list[str], list[Sequence[Any]]]:
    try:
        return postgres_rows(db, query)
    except PostgresRefused as exc:
        raise QueryRefused(str(exc)) from None


def check_registered_role(db: RemoteDatabase) -> list[str]:
    """Warnings about the role a database is registered with; InvalidInput for a superuser.

    Only Postgres roles are inspected; a database that cannot be reached is a warning, since
    the operator may register it before it is up.
    """
    if db.engine != RemoteDatabase.Engine.POSTGRESQL:
        return []
    try:
        role = check_role(db)
    except PostgresRefused as exc:
        return [f"could not check the role {db.user!r}: {exc}"]
    if role.superuser:
        raise InvalidInput(
            {"user": [f"{db.user!r} is a superuser; register a role that can only read"]}
        )
    if role.write_privileges:
        return [
            f"the role {db.user!r} can change this database (queries still run read-only): "
            + "; ".join(role.write_privileges)
        ]
    return []


def _mysql_rows(db: RemoteDatabase, query: str) -> tuple[list[str], list[Sequence[Any]]]:
    import pymysql
    import pymysql.cursors

    try:
        # No CLIENT.MULTI_STATEMENTS: the server itself refuses a second statement.
        conn = pymysql.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password,
            database=db.database,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=db.statement_timeout + 30,
            cursorclass=pymysql.cursors.SSCursor,
            autocommit=False,
        )
    except pymysql.Error as exc:
        raise QueryRefused(f"cannot connect to {db.name}: {_mysql_message(exc)}") from None
    try:
        cursor = conn.cursor()
        # Session-wide, not only this transaction: DDL commits implicitly and would
        # otherwise run in a fresh read-write transaction.
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        if "mariadb" in conn.get_server_info().lower():
            cursor.execute(f"SET SESSION max_statement_time = {int(db.statement_timeout)}")
        else:
            cursor.execute(f"SET SESSION max_execution_time = {int(db.statement_timeout) * 1000}")
        cursor.execute("START TRANSACTION READ ONLY")
        cursor.execute(query)
        if cursor.description is None:
            raise QueryRefused("the statement returns no rows")
        columns = [col[0] for col in cursor.description]
        rows: list[Sequence[Any]] = []
        while len(rows) <= db.row_cap:
            batch = cursor.fetchmany(min(FETCH_BATCH, db.row_cap + 1 - len(rows)))
            if not batch:
                break
            rows.extend(batch)
        return columns, rows
    except pymysql.Error as exc:
        raise QueryRefused(_mysql_message(exc)) from None
    finally:
        # Closing the socket (not the cursor) skips draining unread rows past the cap;
        # the pending result must then not try to drain them either when collected.
        pending = getattr(conn, "_result", None)
        if pending is not None:
            pending.unbuffered_active = False
        conn.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _mysql_message(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    return str(args[1]) if len(args) > 1 else _first_line(exc)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _to_csv(columns: list[str], rows: Iterable[Sequence[Any]]) -> IO[bytes]:
    # The fetched rows are in memory already (at most row_cap); their CSV may be too.
    spool = io.BytesIO()
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    text.flush()
    text.detach()
    spool.seek(0)
    return spool


def run_query(db: RemoteDatabase, query: str) -> tuple[IO[bytes], float]:
    """Run ``query`` read-only on ``db``; return its result as CSV bytes and the seconds taken."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput({"query": ["must be a non-empty SQL query"]})
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput({"query": [f"is longer than {MAX_QUERY_CHARS} characters"]})
    if not db.enabled:
        raise InvalidInput({"database": [f"database {db.name!r} is disabled"]})
    statement = _single_statement(query)
    fetch = _postgres_rows if db.engine == RemoteDatabase.Engine.POSTGRESQL else _mysql_rows
    started = time.monotonic()
    try:
        columns, rows = fetch(db, statement)
    except QueryRefused as exc:
        raise InvalidInput({"query": [f"{db.name} refused the query: {exc}"]}) from None
    seconds = time.monotonic() - started
    if len(rows) > db.row_cap:
        raise InvalidInput(
            {"query": [f"returns more than {db.row_cap} rows, the row cap of {db.name}"]}
        )
    if not columns:
        raise InvalidInput({"query": ["returns no columns"]})
    return _to_csv(columns, rows), seconds


def load_query_dataset(*, owner: Any, database: RemoteDatabase, query: str, name: str = ""):
    """Materialize a query's result as a dataset; the same result gives back the same one."""
    content, seconds = run_query(database, query)
    return create_dataset(
        owner=owner,
        upload=_named(content, name or database.name),
        name=name or f"{database.name} query",
        extra={
            "source_database": database,
            "query": query,
            "loaded_at": timezone.now(),
            "load_seconds": round(seconds, 6),
        },
    )


def reload_dataset(dataset: Dataset) -> tuple[Dataset, bool]:
    """Run a dataset's query again; changed content becomes a new version, never a change.

    Experiments keep the version they were submitted with; the old one is left as it is.
    """
    if dataset.source_database is None:
        raise InvalidInput({"dataset": ["was not loaded from a database; upload it again"]})
    content, seconds = run_query(dataset.source_database, dataset.query)
    return create_dataset(
        owner=dataset.owner,
        upload=_named(content, dataset.name),
        name=dataset.name,
        extra={
            "source_database": dataset.source_database,
            "query": dataset.query,
            "loaded_at": timezone.now(),
            "load_seconds": round(seconds, 6),
            "version": _next_version(dataset),
            "previous": dataset,
        },
    )


def _next_version(dataset: Dataset) -> int:
    """One past the newest version of this query, even when an older version is reloaded."""
    versions = Dataset.objects.filter(
        owner=dataset.owner, source_database=dataset.source_database, query=dataset.query
    ).aggregate(newest=Max("version"))
    return max(versions["newest"] or 0, dataset.version) + 1


def _named(content: IO[bytes], name: str) -> IO[bytes]:
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:100] or "query"
    content.name = f"{stem.removesuffix('.csv')}.csv"  # type: ignore[misc]
    return content
