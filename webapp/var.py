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


def stored_secret_key(var: Path) -> str:
    """The key kept in ``var/secret_key`` by an earlier command; empty when there is none."""
    path = var / "secret_key"
    return path.read_text().strip() if path.exists() else ""


def prepare_var_dir(var: Path | None = None) -> None:
    """Make ``var/`` and, unless PETRI_SECRET_KEY is set, a lasting secret key in it."""
    var = var or var_dir()
    var.mkdir(parents=True, exist_ok=True)
    path = var / "secret_key"
    if not os.environ.get("PETRI_SECRET_KEY") and not path.exists():
        # Created 0600 from the start: the key is never readable by others, even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(50))
