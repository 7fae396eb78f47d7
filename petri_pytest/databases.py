"""One migrated test database a run, cloned for each test process.

Migrating from nothing took each xdist worker ~3 s of CPU on SQLite and more on PostgreSQL. The
first process that needs a database migrates a template under a file lock; every process then
clones it, as Django's own parallel runner does (a file copy on SQLite, ``CREATE DATABASE ...
TEMPLATE`` on PostgreSQL). The process that started the run drops the template at its end.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SHARED = "PETRI_TEST_TEMPLATE_DIR"  # exported to the xdist workers, which inherit it
_owned: dict[str, Path] = {}


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # xdist's controller, or a run without workers
        shared = Path(tempfile.mkdtemp(prefix="petri-test-template-"))
        os.environ[SHARED] = str(shared)
        _owned["shared"] = shared
    if config.getoption("reuse_db", False) or config.getoption("nomigrations", False):
        raise pytest.UsageError(
            "--reuse-db and --no-migrations are not supported: each run migrates one template "
            "database and clones it for each process (petri_pytest/databases.py)"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = _owned.pop("shared", None)
    if shared is None:
        return
    marker = shared / "template"
    if marker.exists() and not marker.read_text().endswith(".sqlite3"):
        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        with config.stash[blocking_manager_key].unblock():
            connection.creation._destroy_test_db(marker.read_text(), verbosity=0)
    shutil.rmtree(shared, ignore_errors=True)


@contextmanager
def _locked(shared: Path) -> Iterator[None]:
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _template_name(connection, shared: Path) -> str:
    if connection.vendor == "sqlite":
        return str(shared / "template.sqlite3")
    # Unique to the run: two suites on one PostgreSQL never share a template.
    return f"test_{connection.settings_dict['NAME']}_{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker) -> Iterator[None]:
    """This process's clone of the run's template database, dropped at the end."""
    from django.conf import settings
    from django.db import connection

    shared = Path(os.environ[SHARED])
    workerinput = getattr(request.config, "workerinput", {})
    suffix = workerinput.get("workerid", "main")
    original = connection.settings_dict["NAME"]
    marker = shared / "template"
    with django_db_blocker.unblock():
        with _locked(shared):
            if marker.exists():
                template = marker.read_text()
            else:
                template = _template_name(connection, shared)
                connection.settings_dict["TEST"]["NAME"] = template
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
                marker.write_text(template)
            # Closed, so SQLite checkpoints its log into the file that is copied, and
            # PostgreSQL copies a template that no session uses.
            connection.close()
            connection.settings_dict["NAME"] = template
            connection.creation.clone_test_db(suffix, verbosity=0, autoclobber=True)
        clone = connection.creation.get_test_db_clone_settings(suffix)["NAME"]
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = clone
    yield
    with django_db_blocker.unblock():
        _close_other_sessions(connection)
        connection.creation.destroy_test_db(original, verbosity=0)
        settings.DATABASES["default"]["NAME"] = original


def _close_other_sessions(connection) -> None:
    """Threads of the tests (asgiref's pool, listeners) may still hold a session; PostgreSQL
    refuses to drop a database in use, which would leave the clone behind."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
