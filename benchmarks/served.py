"""Petri served for a benchmark: a throwaway directory and database, daphne without scheduler.

with Served("ws-fanout", redis=args.redis, database_url=args.database_url) as served:
    served.setup_django()     # this process: migrate, then seed through the ORM
    base = served.start()     # `manage.py serve --no-scheduler` on a free port
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """Everything started is stopped, and the directory removed (unless ``keep``), on exit."""

    def __init__(
        self, name: str, *, redis: str, database_url: str | None, keep: bool = False, note: str = ""
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"petri-{name}-"))
        self.keep, self.note = keep, note
        self.env = {
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "PETRI_VAR_DIR": str(self.workdir),
            "DATABASE_URL": database_url or f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            "REDIS_URL": redis,
            "PETRI_SCHEDULER_IN_WEB": "false",
            "PETRI_SECRET_KEY": f"{name}-benchmark",
            "PETRI_LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen] = []

    def setup_django(self) -> None:
        """Django in this process, on the served database, migrated."""
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def start(self) -> str:
        """Serve on a free port; returns the base URL once /healthz answers."""
        port = free_port()
        log = self.workdir / "serve.log"
        command = [sys.executable, str(ROOT / "manage.py"), "serve", "--no-scheduler"]
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*command, "--port", str(port)],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(server)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    return base
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                # Not SIGINT: a shell that runs us in the background makes children ignore it.
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.keep:
            print(f"kept {self.workdir}{self.note}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
