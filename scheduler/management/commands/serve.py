from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from channels.routing import get_default_application
from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scheduler.fleet import SchedulerFleet, build_schedulers, print_stacks_on_sigusr1

log = logging.getLogger(__name__)


def listen_endpoints(host: str, port: int, backlog: int | None = None) -> list[str]:
    """daphne's endpoint strings with Twisted's ``backlog`` option.

    Twisted listens with a backlog of 50: a burst of a few hundred connections overflows the
    accept queue and the kernel drops the excess SYNs (benchmarks/serve_burst.py).
    """
    backlog = settings.PETRI_LISTEN_BACKLOG if backlog is None else backlog
    if backlog < 1:
        raise CommandError(f"--backlog must be at least 1; got {backlog}")
    return [
        f"{endpoint}:backlog={backlog}"
        for endpoint in build_endpoint_description_strings(host=host, port=port)
    ]


def _die_with_parent() -> None:
    """In the child: SIGTERM when serve dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def start_embedded_celery() -> subprocess.Popen:
    """One Celery worker with beat inside it, for recurring runs and housekeeping; embedded,
    its broker is kombu's filesystem transport under var/ (no server to run)."""
    command = [
        sys.executable, "-m", "celery", "-A", "webapp.celery", "worker", "--beat",
        "--pool", "solo", "--hostname", f"petri-embedded-{os.getpid()}@%h",
        "--loglevel", settings.LOGGING["root"]["level"], "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return subprocess.Popen(command, preexec_fn=_die_with_parent)


def stop_embedded_celery(process: subprocess.Popen) -> None:
    """Wait for the warm shutdown that SIGTERM (sent first, by the caller) began."""
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Command(BaseCommand):
    help = (
        "Serve Petri (HTTP and websockets, with daphne); run the scheduler in-process and a "
        "Celery worker with beat beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--backlog",
            type=int,
            default=None,
            help="listen backlog (default PETRI_LISTEN_BACKLOG); the kernel caps it at somaxconn",
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="serve only; run `manage.py scheduler` separately",
        )
        parser.add_argument(
            "--no-celery",
            action="store_true",
            help="run no Celery worker and beat here (run them separately: docs/schedules.md)",
        )

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        print_stacks_on_sigusr1()
        # WhiteNoise serves from STATIC_ROOT; embedded, nothing else has made it.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        fleet = None
        if settings.PETRI_SCHEDULER_IN_WEB and not options["no_scheduler"]:
            # Runners on this machine reach this very server unless told otherwise.
            api_url = settings.PETRI_API_URL
            if "PETRI_API_URL" not in os.environ:
                api_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
            fleet = SchedulerFleet(build_schedulers(settings.PETRI_BACKENDS, api_url=api_url))
            fleet.start()
        celery = None
        if settings.PETRI_CELERY_IN_WEB and not options["no_celery"]:
            celery = start_embedded_celery()
        self.stdout.write(f"Petri is serving at http://{host}:{port}/ (Ctrl-C stops it)")
        server = Server(
            application=get_default_application(),
            endpoints=listen_endpoints(host, port, options["backlog"]),
            signal_handlers=True,
            # Daphne's default drops a handshake the application has not answered in 5 s without
            # any HTTP response; on a busy host the browser then sees a dead socket, not a 403.
            websocket_handshake_timeout=20,
        )
        try:
            server.run()
        finally:
            # Both shut down at once: each takes seconds, mostly waiting.
            if celery is not None:
                celery.terminate()
            if fleet is not None:
                fleet.request_stop()
            if celery is not None:
                stop_embedded_celery(celery)
            if fleet is not None:
                fleet.join(timeout=30)
            self.stdout.write("Petri stopped.")
            exit_now()


def exit_now() -> None:
    """End the process without joining asgiref's worker threads.

    A request in flight when the reactor stopped leaves its sync thread waiting for an event
    loop that will never run again, and interpreter exit would join that thread forever.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
