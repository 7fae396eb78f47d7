from __future__ import annotations

import logging
import os
from pathlib import Path

from channels.routing import get_default_application
from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scheduler.fleet import SchedulerFleet, build_schedulers

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


class Command(BaseCommand):
    help = "Serve Petri (HTTP and websockets, with daphne) and run the scheduler in-process."

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

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
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
        self.stdout.write(f"Petri is serving at http://{host}:{port}/ (Ctrl-C stops it)")
        server = Server(
            application=get_default_application(),
            endpoints=listen_endpoints(host, port, options["backlog"]),
            signal_handlers=True,
        )
        try:
            server.run()
        finally:
            if fleet is not None:
                fleet.request_stop()
                fleet.join(timeout=30)
            self.stdout.write("Petri stopped.")
