"""Fixtures shared by every package's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def catalog(db):
    """The real algorithm catalog, loaded as `make up` loads it."""
    from django.conf import settings

    from jobs.catalog import sync_algorithms

    return {a.name: a for a in sync_algorithms(settings.PETRI_ALGORITHMS_DIR)}


@pytest.fixture
def user(db):
    from jobs.tests.factories import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    from jobs.tests.factories import UserFactory

    return UserFactory(username="bob")


def _client_for(user):
    from rest_framework.test import APIClient

    from webapp.accounts.tokens import issue_token

    client = APIClient()
    _, key = issue_token(user, "tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def client_for(db):
    """Make an API client authenticated as any user."""
    return _client_for


@pytest.fixture
def api(user):
    """An API client authenticated with a token of ``user``."""
    return _client_for(user)


@pytest.fixture
def other_api(other_user):
    return _client_for(other_user)


class SchedulerDriver:
    """Runs scheduler ticks in the test's thread until a condition holds or a deadline passes."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.backend = scheduler.backend

    def run_until(self, condition, timeout: float = 60.0, what: str = "condition"):
        import threading
        import time

        deadline = time.monotonic() + timeout
        idle = threading.Event()
        while time.monotonic() < deadline:
            self.scheduler.tick()
            value = condition()
            if value:
                return value
            idle.wait(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def local_scheduler(live_server, tmp_path, settings):
    """A scheduler on the real local backend whose runners call the live test server."""
    from scheduler.backends.local import LocalBackend
    from scheduler.loop import Scheduler

    backend = LocalBackend(
        max_running=4,
        runner_dir=settings.PETRI_RUNNER_DIR,
        algorithms_dir=settings.PETRI_ALGORITHMS_DIR,
        log_dir=tmp_path / "runner-logs",
    )
    yield SchedulerDriver(Scheduler(backend, identity="test-scheduler", api_url=live_server.url))
    backend.shutdown()


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (SKIP LOCKED, NOTIFY)")


def pytest_collection_modifyitems(config, items):
    """Skip Postgres-only tests on SQLite; CI sets PETRI_REQUIRE_POSTGRES so they can never skip."""
    import os

    from django.conf import settings

    if not settings.configured:  # run with -p no:django (runner and catalog tests alone)
        return
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    if os.environ.get("PETRI_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("PETRI_REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
