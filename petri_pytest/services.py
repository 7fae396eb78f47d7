"""Outside services the tests need: how each one is detected, and what a missing one does.

A test that needs one carries ``@pytest.mark.requires("postgres", ...)``. ``PETRI_REQUIRE`` lists
the services that must be present (CI lists them all): if one of those is missing the run stops
at once with a message naming it. Any other missing service skips the tests that need it, with
one line per service in the summary (pytest folds skips raised from one place). A service still
starting (``PETRI_STARTING``) is waited for at its first test instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# The MariaDB the remote-database tests use: root without a password, database `test`.
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "database": "test"}
# Debian's chromium (the browser tests never install a browser of their own). Its headless shell
# first: the same Chromium build without the desktop browser around it, which is what Playwright
# itself runs headless tests in, at about a third of the full browser's CPU here.
CHROMIUM_PATHS = (
    "/usr/bin/chromium-headless-shell",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
)
PROBE_TIMEOUT = 5.0
# How long the first test of a service still starting waits for its starter's word.
STARTING_TIMEOUT = 900.0
# Shared fixtures that need a service, so that every test using them asks for it.
FIXTURE_SERVICES = {"chromium_browser": "chromium"}

needed_key = pytest.StashKey[frozenset[str]]()


def _django_database() -> dict | None:
    from django.conf import settings

    return settings.DATABASES["default"] if settings.configured else None


def postgres_settings() -> dict:
    """Host, port, user and password of the PostgreSQL server the test database lives on."""
    db = _django_database() or {}
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": int(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or "",
    }


def _postgres() -> str | None:
    db = _django_database()
    if db is None or db["ENGINE"] != "django.db.backends.postgresql":
        return "DATABASE_URL is not PostgreSQL (set DATABASE_URL=postgres://...)"
    import psycopg2

    server = postgres_settings()
    try:
        psycopg2.connect(dbname="postgres", connect_timeout=int(PROBE_TIMEOUT), **server).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL at {server['host']}:{server['port']} does not answer: {exc}".strip()
    return None


def _redis() -> str | None:
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "") if settings.configured else ""
    if not url:
        return "REDIS_URL is not set (the in-memory channel layer is in use)"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=PROBE_TIMEOUT).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} does not answer: {exc}"
    return None


def _mariadb() -> str | None:
    import pymysql

    try:
        pymysql.connect(connect_timeout=int(PROBE_TIMEOUT), **MARIADB).close()
    except pymysql.Error as exc:
        return f"MariaDB at {MARIADB['host']}:{MARIADB['port']} does not answer: {exc}"
    return None


def _r() -> str | None:
    return None if shutil.which("Rscript") else "Rscript (R) is not on PATH"


def chromium_path() -> Path | None:
    """Debian's chromium (its headless shell where installed), where it is installed."""
    found = next((Path(p) for p in CHROMIUM_PATHS if Path(p).is_file()), None)
    return found or (Path(shutil.which("chromium")) if shutil.which("chromium") else None)


def _chromium() -> str | None:
    if chromium_path() is None:
        return "Debian's chromium is not installed (/usr/bin/chromium-headless-shell, chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def _answers(argv: list[str]) -> str | None:
    """None when the command exits 0 within the probe timeout, else why not."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT * 2, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(argv)}` failed: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`{' '.join(argv)}` exited {done.returncode}: {last}"
    return None


def _bwrap() -> str | None:
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not on PATH"
    # Installed is not enough: a container may forbid the namespaces it needs.
    sandbox = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all"]
    return _answers(["bwrap", *sandbox, "--die-with-parent", "true"])


def _kube() -> str | None:
    path = os.environ.get("KUBECONFIG")
    if not path:
        return "KUBECONFIG is not set"
    from kubernetes import client, config

    try:
        api = config.new_client_from_config(config_file=path)
        client.VersionApi(api).get_code(_request_timeout=PROBE_TIMEOUT)
    except Exception as exc:  # any failure to reach the API means no cluster for the tests
        return f"the Kubernetes API of KUBECONFIG={path} does not answer: {exc}"
    return None


def _slurm() -> str | None:
    if not shutil.which("sinfo"):
        return "Slurm's sinfo is not on PATH"
    return _answers(["sinfo", "--noheader"])


DETECTORS: dict[str, Callable[[], str | None]] = {
    "postgres": _postgres,
    "redis": _redis,
    "mariadb": _mariadb,
    "r": _r,
    "chromium": _chromium,
    "bwrap": _bwrap,
    "kube": _kube,
    "slurm": _slurm,
}


def starting() -> dict[str, Path]:
    """Services whose starter is still at work: ``PETRI_STARTING=kube=/path,...``.

    The starter writes ``ready`` or ``failed ...`` to the file when it is done; until then the
    rest of the run goes on, and a test needing the service waits (``.ci/run`` starts the
    cluster this way while the other tests run).
    """
    entries = [e.strip() for e in os.environ.get("PETRI_STARTING", "").split(",") if e.strip()]
    found = {}
    for entry in entries:
        name, _, path = entry.partition("=")
        if not path:
            raise pytest.UsageError(f"PETRI_STARTING entry {entry!r} is not name=path")
        found[name.strip().lower()] = Path(path)
    _unknown(set(found), "PETRI_STARTING")
    return found


def _started(marker: Path) -> str | None:
    """Wait until a service's starter says it is done; None when it is ready."""
    deadline = time.monotonic() + STARTING_TIMEOUT
    while True:
        word = marker.read_text().strip() if marker.is_file() else ""
        if word == "ready":
            return None
        if word.startswith("failed"):
            return f"its starter says: {word}"
        if time.monotonic() > deadline:
            return f"still starting after {STARTING_TIMEOUT:.0f} s ({marker} says nothing)"
        time.sleep(1)


@functools.cache
def missing(service: str) -> str | None:
    """Why ``service`` is not usable here, or None when it is (probed once per process)."""
    marker = starting().get(service)
    still_starting = _started(marker) if marker is not None else None
    return still_starting or DETECTORS[service]()


def _unknown(names: set[str], where: str) -> None:
    unknown = sorted(names - set(DETECTORS))
    if unknown:
        raise pytest.UsageError(
            f"{where} names unknown service(s) {', '.join(unknown)}; known: {', '.join(DETECTORS)}"
        )


def required() -> frozenset[str]:
    """The services PETRI_REQUIRE lists (comma-separated)."""
    names = {n.strip().lower() for n in os.environ.get("PETRI_REQUIRE", "").split(",")}
    names.discard("")
    _unknown(names, "PETRI_REQUIRE")
    return frozenset(names)


def services_of(item: pytest.Item) -> frozenset[str]:
    """The services a test asks for: @pytest.mark.requires, the old postgres mark, fixtures."""
    names = {str(n) for mark in item.iter_markers("requires") for n in mark.args}
    fixtures = getattr(item, "fixturenames", ())
    names.update(service for name, service in FIXTURE_SERVICES.items() if name in fixtures)
    if item.get_closest_marker("postgres") is not None:
        names.add("postgres")
    _unknown(names, f"@pytest.mark.requires on {item.nodeid}")
    return frozenset(names)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist: the controller checked already
    later = starting()  # checked at their first test, once started
    absent = {
        name: why for name in sorted(required() - set(later)) if (why := missing(name)) is not None
    }
    if absent:
        lines = "\n".join(f"  {name}: {why}" for name, why in absent.items())
        raise pytest.UsageError(f"PETRI_REQUIRE lists services that are missing:\n{lines}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.stash[needed_key] = services_of(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for name in sorted(item.stash.get(needed_key, frozenset())):
        why = missing(name)
        if why is not None and name in required():
            pytest.fail(f"PETRI_REQUIRE lists {name}, which is missing: {why}", pytrace=False)
        if why is not None:
            # Raised here, not by a mark, so that pytest folds these skips into one line.
            pytest.skip(f"needs {name}: {why}")
