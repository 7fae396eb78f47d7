"""The embedded installation's own directory (``var/``): where it is, and making it.

Settings only read it; ``manage.py`` makes it (and the secret key kept in it) before any
command runs, so importing the settings never writes a file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("PETRI_VAR_DIR") or BASE_DIR / "var").resolve()


def default_database_url(var: Path) -> str:
    """The embedded database: a SQLite file in ``var/``."""
    return f"sqlite:///{var / 'petri.sqlite3'}"


def private_sqlite_file(database_url: str) -> None:
    """Create a SQLite database file 0600 before SQLite does (it would honour the umask, often
    0644), and take group and other access from one that exists. SQLite gives the -wal and
    -shm files it makes later the main file's mode."""
    if not database_url.startswith("sqlite:///"):
        return
    path = Path(database_url.removeprefix("sqlite:///").split("?")[0])
    if not path.name or str(path) == ":memory:":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if existing.exists() and existing.stat().st_mode & 0o077:
            existing.chmod(0o600)


def stored_secret_key(var: Path) -> str:
    """The key kept in ``var/secret_key`` by an earlier command; empty when there is none."""
    path = var / "secret_key"
    return path.read_text().strip() if path.exists() else ""


def prepare_var_dir(var: Path | None = None) -> None:
    """Make ``var/``, the embedded database file (0600) and, unless PETRI_SECRET_KEY is set, a
    lasting secret key."""
    var = var or var_dir()
    var.mkdir(parents=True, exist_ok=True)
    private_sqlite_file(os.environ.get("DATABASE_URL") or default_database_url(var))
    path = var / "secret_key"
    if not os.environ.get("PETRI_SECRET_KEY") and not path.exists():
        # Created 0600 from the start: the key is never readable by others, even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(50))
