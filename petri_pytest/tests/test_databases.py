"""Each test process gets a clone of the run's one migrated template, and nothing is left over."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INNER = """
import os

import pytest
from django.db import connection


@pytest.mark.parametrize("n", range(6))
def test_writes(n, django_user_model, db):
    django_user_model.objects.create(username=f"user-{n}")
    assert django_user_model.objects.count() == 1
    with open(f"database-{n}.txt", "w") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + " " + connection.settings_dict["NAME"])
"""


def test_two_workers_migrate_once_write_to_their_own_clones_and_leave_nothing_behind(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = pytester.mkdir("scratch")
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the template and the clones go
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "webapp.settings")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{scratch}/never-used.sqlite3")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_inner=INNER)

    result = pytester.runpytest_subprocess(
        *("-p", "pytest_django.plugin", "-p", "xdist.plugin", "-p", "petri_pytest.databases"),
        *("-p", "no:cacheprovider", "-n", "2", "--dist", "load"),
    )

    result.assert_outcomes(passed=6)
    used = {(pytester.path / f"database-{n}.txt").read_text() for n in range(6)}
    assert {line.split()[0] for line in used} == {"gw0", "gw1"}, used
    for worker, name in (line.split() for line in used):
        assert Path(name).name == f"template_{worker}.sqlite3"
    assert not list(scratch.iterdir()), "a database or the template was left behind"
