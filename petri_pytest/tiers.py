"""Every test lands in exactly one tier, chosen from what it uses; ``-m <tier>`` runs one tier.

- ``browser``: drives chromium (webapp/frontend/tests, the ``page`` fixture, requires chromium);
- ``system``: starts real servers, subprocess backends or clusters (``petri_server``,
  ``local_scheduler``, processes handed ``test_database_url``, requires kube/slurm, or an
  explicit ``@pytest.mark.system``);
- ``db``: its behaviour depends on the database or channel layer (pytest-django's database
  fixtures and mark, ``live_server``, requires postgres/redis/mariadb);
- ``unit``: everything else, which touches no database (pytest-django refuses it) nor server.

An explicit tier mark wins over the automatic one, except ``unit`` on a test that uses the
database, which is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from petri_pytest.services import services_of

TIERS = ("unit", "db", "system", "browser")
DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)
# Fixtures that start a server process or a subprocess backend, or hand the test database to
# other processes.
SYSTEM_FIXTURES = frozenset(
    {"petri_process", "petri_server", "local_scheduler", "test_database_url"}
)
BROWSER_FIXTURES = frozenset({"page", "chromium_browser"})
BROWSER_DIRS = (Path("webapp", "frontend", "tests"),)
SERVICE_TIERS = {
    "chromium": "browser",
    "kube": "system",
    "slurm": "system",
    "postgres": "db",
    "redis": "db",
    "mariadb": "db",
}


def _in_browser_dir(item: pytest.Item) -> bool:
    relative = Path(item.path).resolve().relative_to(item.config.rootpath.resolve())
    return any(relative.is_relative_to(folder) for folder in BROWSER_DIRS)


def _uses_database(item: pytest.Item, fixtures: set[str]) -> bool:
    return bool(fixtures & DB_FIXTURES) or item.get_closest_marker("django_db") is not None


def automatic_tier(item: pytest.Item) -> str:
    """The tier a test's fixtures, marks and folder put it in."""
    fixtures = set(getattr(item, "fixturenames", ()))
    implied = {SERVICE_TIERS.get(name) for name in services_of(item)}
    if fixtures & BROWSER_FIXTURES or "browser" in implied or _in_browser_dir(item):
        return "browser"
    if fixtures & SYSTEM_FIXTURES or "system" in implied:
        return "system"
    if _uses_database(item, fixtures) or "db" in implied:
        return "db"
    return "unit"


def tier_of(item: pytest.Item) -> str:
    explicit = [name for name in TIERS if item.get_closest_marker(name) is not None]
    if len(explicit) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked with several tiers: {explicit}")
    if not explicit:
        return automatic_tier(item)
    if explicit == ["unit"] and _uses_database(item, set(getattr(item, "fixturenames", ()))):
        raise pytest.UsageError(f"{item.nodeid} is marked unit but uses the database")
    return explicit[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier before ``-m`` deselects (that hook runs after this one)."""
    for item in items:
        tier = tier_of(item)
        if item.get_closest_marker(tier) is None:
            item.add_marker(tier)
