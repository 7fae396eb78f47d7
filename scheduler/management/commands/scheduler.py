from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from scheduler.backends import create_backend
from scheduler.loop import Scheduler, run_forever


class Command(BaseCommand):
    help = "Poll the job queue and start jobs on the configured backend."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one tick and exit")
        parser.add_argument("--backend", help="override PETRI_BACKEND")

    def handle(self, *args, **options):
        backend = create_backend(options.get("backend"))
        scheduler = Scheduler(backend)
        if options["once"]:
            busy = scheduler.tick()
            self.stdout.write("did work" if busy else "nothing to do")
            return
        stop = threading.Event()
        # Finish the tick in progress, then leave: nothing is left half-done.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            run_forever(scheduler, stop)
        finally:
            backend.shutdown()
