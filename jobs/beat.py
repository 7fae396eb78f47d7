"""The beat scheduler Petri runs: django-celery-beat's, ticking only in the beat that holds
the beat lock, so a second beat started by mistake sends nothing (docs/schedules.md)."""

from __future__ import annotations

import fcntl
import logging
import os
from typing import Any

import psycopg2
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

log = logging.getLogger(__name__)

# pg_try_advisory_lock's key: "petri beat" in ASCII, as a 64-bit integer.
BEAT_LOCK_KEY = int.from_bytes(b"petribea", "big") & 0x7FFF_FFFF_FFFF_FFFF


class BeatLock:
    """Held for the beat's life: a Postgres advisory lock on its own connection, or, on
    SQLite (one machine), an flock on a file beside the database."""

    def __init__(self, database: dict[str, Any]):
        self.database = database
        self._connection: Any = None
        self._file: int | None = None

    def held(self) -> bool:
        if self._file is not None:
            return True
        if self._connection is None:
            return False
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except psycopg2.Error:
            # The session ended, and the lock with it: another beat may hold it now.
            self.release()
            return False

    def try_acquire(self) -> bool:
        if self.database["ENGINE"].endswith("sqlite3"):
            return self._flock(f"{self.database['NAME']}.beat.lock")
        try:
            connection = psycopg2.connect(
                dbname=self.database["NAME"],
                user=self.database.get("USER") or None,
                password=self.database.get("PASSWORD") or None,
                host=self.database.get("HOST") or None,
                port=self.database.get("PORT") or None,
                application_name="petri beat lock",
            )
        except psycopg2.Error as exc:
            log.warning("cannot reach the database for the beat lock: %s", exc)
            return False
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY])
            if cursor.fetchone()[0]:
                self._connection = connection
                return True
        connection.close()
        return False

    def _flock(self, path: str) -> bool:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._file = fd
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except psycopg2.Error:
                pass
            self._connection = None
        if self._file is not None:
            os.close(self._file)
            self._file = None


class SingleBeatScheduler(DatabaseScheduler):
    """Sends due tasks only while it holds the beat lock; otherwise waits and tries again."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.beat_lock = BeatLock(settings.DATABASES["default"])
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.beat_lock.held():
            if not self.beat_lock.try_acquire():
                return settings.PETRI_BEAT_LOCK_RETRY
            log.info("this beat holds the beat lock and sends the schedules")
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        super().close()
        self.beat_lock.release()
