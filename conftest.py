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
    scheduler = Scheduler(
        backend, identity="test-scheduler", api_url=live_server.url, reconcile_interval=0
    )
    yield SchedulerDriver(scheduler)
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


def _test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class PetriServer:
    """A real `manage.py serve` (daphne + in-process scheduler) on the test database."""

    def __init__(self, url: str, process, log_path):
        self.url = url
        self.ws_url = url.replace("http://", "ws://")
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def petri_server(transactional_db, tmp_path, settings):
    """Serve Petri for real, as `make up` does, against this test's (committed) database."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "PETRI_VAR_DIR": str(settings.VAR_DIR),
        "PETRI_MAX_RUNNING": "4",
        "PETRI_POLL_INTERVAL": "0.2",
        "PETRI_SECRET_KEY": settings.SECRET_KEY,
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)
    server = PetriServer(url, process, log_path)
    yield server
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def test_database_url(transactional_db):
    """A DATABASE_URL that points other processes at this test's database."""
    return _test_database_url()
