from __future__ import annotations

import logging
import os
from pathlib import Path

from channels.routing import get_default_application
from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.core.management.base import BaseCommand

from scheduler.fleet import SchedulerFleet, build_schedulers

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve Petri (HTTP and websockets, with daphne) and run the scheduler in-process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
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
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
        )
        try:
            server.run()
        finally:
            if fleet is not None:
                fleet.request_stop()
                fleet.join(timeout=30)
            self.stdout.write("Petri stopped.")
