"""Reading the settings writes nothing; manage.py makes var/ and its lasting secret key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from django.conf import settings

from webapp.var import prepare_var_dir, stored_secret_key


def _clean_env(var_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PETRI_SECRET_KEY"}
    return {**env, "PETRI_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "webapp.settings"}


def test_importing_the_settings_creates_no_file_or_directory(tmp_path):
    var = tmp_path / "var"
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=_clean_env(var),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip()
    assert not var.exists()


def test_starting_django_its_urls_scheduler_and_tasks_imports_neither_optuna_nor_twisted(tmp_path):
    # Every server, scheduler, worker and command starts Django: those two alone cost each one
    # about a second of CPU here, and only a search (Optuna) or serve (daphne's Twisted) needs them.
    code = (
        "import sys, django; django.setup()\n"
        "import webapp.urls, scheduler.loop, jobs.tasks\n"
        "print(sorted({'optuna', 'twisted'} & {name.split('.')[0] for name in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=_clean_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_manage_py_keeps_one_secret_key_readable_only_by_its_owner(tmp_path):
    var = tmp_path / "var"
    run = [sys.executable, str(settings.BASE_DIR / "manage.py"), "shell", "--no-imports", "-c"]
    keys = [
        subprocess.run(
            [*run, "from django.conf import settings; print(settings.SECRET_KEY)"],
            env=_clean_env(var),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
        for _ in range(2)
    ]
    assert keys[0] == keys[1] == stored_secret_key(var)
    assert stat.S_IMODE((var / "secret_key").stat().st_mode) == 0o600


def test_a_configured_secret_key_is_never_written(tmp_path, monkeypatch):
    monkeypatch.setenv("PETRI_SECRET_KEY", "from-the-environment")
    prepare_var_dir(tmp_path / "var")
    assert (tmp_path / "var").is_dir()
    assert not (tmp_path / "var" / "secret_key").exists()
