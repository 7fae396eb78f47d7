"""Fixtures shared by every package's tests; the plugins give tiers, services and isolation."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "petri_pytest.services",
    "petri_pytest.tiers",
    "petri_pytest.isolation",
    "petri_pytest.databases",
    "petri_pytest.diagnostics",
    "pytester",  # petri_pytest's own tests
]


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

    def log(self, start: int = 0) -> str:
        with self.log_path.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def describe(self, start: int) -> str:
        """For a failed test's report: serve's log since ``start``, then its threads' stacks."""
        if self.process.poll() is not None:
            return f"serve has exited ({self.process.returncode}):\n{self.log(start)}"
        from petri_pytest.diagnostics import print_stacks

        log = self.log(start)
        stacks = print_stacks(self.process, self.log_path)
        return f"{log[-20_000:]}\n-- every thread of serve, now --\n{stacks}"


def _serve(log_path) -> PetriServer:
    """Start `manage.py serve` on a free port and wait until it answers."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from django.conf import settings

    from petri_pytest.isolation import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "PETRI_VAR_DIR": str(settings.VAR_DIR),
        "PETRI_MEDIA_DIR": str(settings.MEDIA_ROOT),
        "PETRI_MAX_RUNNING": "4",
        "PETRI_POLL_INTERVAL": "0.2",
        "PETRI_SECRET_KEY": settings.SECRET_KEY,
        # Beat and its worker are proven by jobs/tests/test_beat_processes.py; not needed here.
        "PETRI_CELERY_IN_WEB": "0",
        "DJANGO_SETTINGS_MODULE": "petri_pytest.serve_settings",
    }
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
                return PetriServer(url, process, log_path)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"serve did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)


def _stop(server: PetriServer) -> None:
    import signal
    import subprocess

    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _settle(server: PetriServer, timeout: float = 60.0) -> None:
    """Cancel what a test left unfinished and wait until the server's backend holds nothing."""
    import threading
    import time

    from jobs import services
    from jobs.errors import Conflict
    from jobs.models import Experiment, Job
    from jobs.models.enums import RUNNER_STATUSES, JobStatus

    unfinished = (JobStatus.WAITING, *RUNNER_STATUSES)
    for experiment in Experiment.objects.filter(jobs__status__in=unfinished).distinct():
        try:
            services.cancel_experiment(experiment)
        except Conflict:
            pass  # its last jobs ended meanwhile: nothing left to cancel
    deadline = time.monotonic() + timeout
    busy = (*RUNNER_STATUSES, JobStatus.CANCELLING)
    while Job.objects.filter(status__in=busy).exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"serve did not stop the test's jobs:\n{server.log()[-5000:]}")
        threading.Event().wait(0.1)


class ServeKeeper:
    """This process's one `serve`, kept across consecutive served tests of any module.

    Starting one costs seconds of CPU, so served tests run in a row share it; but its
    scheduler would claim the jobs of any other test on the same database, so it is stopped
    before a test that does not use it (``_no_serve_beside_other_tests``).
    """

    current: ServeKeeper | None = None

    def __init__(self, log_dir) -> None:
        self.log_dir, self.server, self.started = log_dir, None, 0

    def ensure(self) -> PetriServer:
        if self.server is None:
            self.started += 1
            self.server = _serve(self.log_dir / f"serve-{self.started}.log")
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            _stop(server)


@pytest.fixture(scope="session")
def serve_keeper(django_db_setup, tmp_path_factory):
    keeper = ServeKeeper.current = ServeKeeper(tmp_path_factory.mktemp("serve"))
    yield keeper
    keeper.stop()
    ServeKeeper.current = None


@pytest.fixture(autouse=True)
def _no_serve_beside_other_tests(request):
    """A test that does not use the served Petri never runs beside one (autouse: first)."""
    if ServeKeeper.current is not None and "petri_process" not in request.fixturenames:
        ServeKeeper.current.stop()


@pytest.fixture
def petri_process(serve_keeper):
    """A `manage.py serve` on this process's test database, started if none is running."""
    return serve_keeper.ensure()


@pytest.fixture
def petri_server(petri_process, transactional_db, request):
    """Serve Petri for real, as `make up` does, against this test's (committed) database.

    Served tests run in a row share the process; each test's jobs are cancelled and stopped
    after it, before its rows are flushed, so the next test finds the server idle.
    """
    from petri_pytest.diagnostics import describe_on_failure

    if petri_process.process.poll() is not None:
        raise AssertionError(f"serve has exited:\n{petri_process.log()}")
    start = petri_process.log_size()
    describe_on_failure(request.node, "serve", lambda: petri_process.describe(start))
    yield petri_process
    _settle(petri_process)


@pytest.fixture
def test_database_url(transactional_db):
    """A DATABASE_URL that points other processes at this test's database."""
    return _test_database_url()
