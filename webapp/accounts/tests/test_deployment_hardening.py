"""PETRI_BEHIND_TLS_PROXY, the embedded database's file modes, and sharing without name probes.

Settings are read once, at import, so the first two run Django in a child process with the
environment under test.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.tests.factories import UserFactory, make_experiment

ROOT = Path(__file__).resolve().parents[3]

TLS_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
answer = Client().get("/api/auth/me/", HTTP_X_FORWARDED_PROTO="https")
plain = Client().get("/api/auth/me/")
print(json.dumps({
    "session_secure": getattr(settings, "SESSION_COOKIE_SECURE", False),
    "csrf_secure": answer.cookies["csrftoken"]["secure"] is True,
    "hsts": answer.headers.get("Strict-Transport-Security", ""),
    "plain_redirect_or_hsts": plain.headers.get("Strict-Transport-Security", ""),
}))
"""

# Every Petri process starts through manage.py, which prepares var/ before the settings load.
PREPARED = "from webapp.var import prepare_var_dir; prepare_var_dir()\n"
SQLITE_PROBE = (
    PREPARED
    + """
import json, os, stat, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
    # SQLite removes -wal and -shm when the last connection closes: look while it is open.
    name = str(settings.DATABASES["default"]["NAME"])
    print(json.dumps({
        suffix: oct(stat.S_IMODE(os.stat(name + suffix).st_mode))
        for suffix in ("", "-wal", "-shm")
    }))
"""
)


def run_django(code: str, tmp_path: Path, **env: str) -> str:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PETRI_") and key != "DATABASE_URL"
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="webapp.settings", PETRI_VAR_DIR=str(tmp_path / "var"), **env
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import os; os.umask(0o022)\n{code}"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_behind_a_tls_proxy_cookies_are_secure_the_scheme_is_trusted_and_hsts_sent(tmp_path):
    seen = json.loads(
        run_django(TLS_PROBE, tmp_path, PETRI_BEHIND_TLS_PROXY="true").splitlines()[-1]
    )
    assert seen["session_secure"] is True
    assert seen["csrf_secure"] is True
    assert seen["hsts"].startswith("max-age=31536000")
    # Without the proxy's header the request is plain HTTP, which HSTS is never sent over.
    assert seen["plain_redirect_or_hsts"] == ""


def test_without_the_setting_nothing_changes(tmp_path):
    seen = json.loads(run_django(TLS_PROBE, tmp_path).splitlines()[-1])
    assert seen == {
        "session_secure": False,
        "csrf_secure": False,
        "hsts": "",
        "plain_redirect_or_hsts": "",
    }


def test_a_bad_value_of_the_setting_fails_loudly(tmp_path):
    with pytest.raises(AssertionError, match="PETRI_BEHIND_TLS_PROXY"):
        run_django("import django; django.setup()", tmp_path, PETRI_BEHIND_TLS_PROXY="maybe")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_database_and_its_wal_and_shm_are_readable_by_the_owner_only(tmp_path):
    modes = json.loads(run_django(SQLITE_PROBE, tmp_path).splitlines()[-1])
    assert modes == {"": "0o600", "-wal": "0o600", "-shm": "0o600"}


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    database = tmp_path / "var" / "petri.sqlite3"
    database.parent.mkdir()
    database.touch(mode=0o644)
    Path(f"{database}-wal").touch(mode=0o644)
    database.chmod(0o644)
    run_django(PREPARED + "import django; django.setup()", tmp_path)
    assert mode(database) == 0o600 and mode(Path(f"{database}-wal")) == 0o600


@pytest.mark.django_db
def test_sharing_answers_alike_for_an_unknown_name_and_an_account_that_cannot_receive_it(user, api):
    UserFactory(username="dormant", is_active=False)
    experiment = make_experiment(user)
    answers = {
        name: api.post(
            f"/api/experiments/{experiment.pk}/share/", {"usernames": [name]}, format="json"
        )
        for name in ("dormant", "no-such-person")
    }
    assert {a.status_code for a in answers.values()} == {400}
    texts = {name: a.json()["usernames"][0].replace(name, "NAME") for name, a in answers.items()}
    assert texts["dormant"] == texts["no-such-person"]
    assert "no such user" not in texts["dormant"]
