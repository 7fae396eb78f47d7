"""Queries on a registered Postgres: the server itself refuses a second statement and writes.

psycopg2 speaks Postgres' simple protocol, where one string may carry several statements
(``SELECT '\\' ...; COMMIT; BEGIN READ WRITE; ...``); no client-side parse can be trusted to
split them as the server will. So the query travels as a *value* (a transaction-local setting)
and PL/pgSQL opens a cursor over it: ``OPEN ... FOR EXECUTE`` plans exactly one statement that
returns rows ("cannot open multi-query plan as cursor"), inside a transaction begun READ ONLY.
Rows are then fetched in batches and the fetch stops at the cap plus one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

CONNECT_TIMEOUT_SECONDS = 10
FETCH_BATCH = 5000
CURSOR = "petri_rows"
OPEN_CURSOR = (
    "DO $petri$ DECLARE rows refcursor := 'petri_rows'; "
    "BEGIN OPEN rows NO SCROLL FOR EXECUTE current_setting('petri.query'); END $petri$"
)


class PostgresRefused(Exception):
    """The database refused or failed; the message is safe to show users."""


@dataclass
class RoleCheck:
    """What a registered database's role may do: superusers are refused, writes warned of."""

    superuser: bool = False
    write_privileges: list[str] = field(default_factory=list)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _connect(db: Any):
    import psycopg2

    try:
        conn = psycopg2.connect(
            host=db.host,
            port=db.port,
            dbname=db.database,
            user=db.user,
            password=db.password,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="petri",
            options=f"-c default_transaction_read_only=on "
            f"-c statement_timeout={int(db.statement_timeout) * 1000}",
        )
    except psycopg2.Error as exc:
        raise PostgresRefused(f"cannot connect to {db.name}: {_first_line(exc)}") from None
    # Transactions are begun explicitly below, READ ONLY, rather than by psycopg2.
    conn.autocommit = True
    return conn


def _is_superuser(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def postgres_rows(db: Any, query: str) -> tuple[list[str], list[Sequence[Any]]]:
    """Columns and at most ``row_cap + 1`` rows of ``query``, run read-only on ``db``."""
    import psycopg2

    conn = _connect(db)
    try:
        with conn.cursor() as cursor:
            if _is_superuser(cursor):
                raise PostgresRefused(
                    f"{db.name} is registered with a superuser role; an operator must give "
                    "Petri a read-only role"
                )
            cursor.execute("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), "
                "set_config('petri.query', %s, true)",
                [f"{int(db.statement_timeout)}s", query],
            )
            cursor.execute(OPEN_CURSOR)
            rows: list[Sequence[Any]] = []
            columns: list[str] = []
            while len(rows) <= db.row_cap:
                want = min(FETCH_BATCH, db.row_cap + 1 - len(rows))
                cursor.execute(f"FETCH FORWARD {int(want)} FROM {CURSOR}")
                columns = [col.name for col in cursor.description]
                batch = cursor.fetchall()
                if not batch:
                    break
                rows.extend(batch)
            cursor.execute("ROLLBACK")
        return columns, rows
    except psycopg2.Error as exc:
        raise PostgresRefused(_first_line(exc)) from None
    finally:
        conn.close()


WRITE_PRIVILEGES_SQL = """
SELECT 'role attribute ' || a FROM (
    SELECT unnest(ARRAY[
        CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
        CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
        CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
        CASE WHEN r.rolreplication THEN 'REPLICATION' END]) AS a
    FROM pg_roles r WHERE r.rolname = current_user) attributes WHERE a IS NOT NULL
UNION ALL
SELECT 'CREATE on database ' || current_database()
    WHERE has_database_privilege(current_database(), 'CREATE')
UNION ALL
SELECT 'CREATE on schema ' || n.nspname FROM pg_namespace n
    WHERE has_schema_privilege(n.oid, 'CREATE')
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
UNION ALL
SELECT p || ' on ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
         unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
      AND has_table_privilege(c.oid, p)
UNION ALL
SELECT 'member of ' || g.rolname FROM pg_roles g
    WHERE g.rolname IN ('pg_write_all_data', 'pg_write_server_files',
                        'pg_execute_server_program', 'pg_read_server_files')
      AND pg_has_role(current_user, g.oid, 'MEMBER')
ORDER BY 1
LIMIT 50
"""


def check_role(db: Any) -> RoleCheck:
    """Connect as the registered role and list what it could change (PostgresRefused if not)."""
    import psycopg2

    conn = _connect(db)
    try:
        with conn.cursor() as cursor:
            check = RoleCheck(superuser=_is_superuser(cursor))
            cursor.execute(WRITE_PRIVILEGES_SQL)
            check.write_privileges = [row[0] for row in cursor.fetchall()]
        return check
    except psycopg2.Error as exc:
        raise PostgresRefused(_first_line(exc)) from None
    finally:
        conn.close()
