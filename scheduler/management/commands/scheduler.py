from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from scheduler.backends import create_backend
from scheduler.loop import Scheduler, run_forever
from scheduler.wakeup import Waker


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
        if settings.PETRI_SCHEDULER_METRICS_PORT:
            # This process's claim and dispatch latency, for Prometheus to scrape beside /metrics.
            start_http_server(settings.PETRI_SCHEDULER_METRICS_PORT)
        stop, waker = threading.Event(), Waker()

        def request_stop(*_):
            # Finish the tick in progress, then leave: nothing is left half-done.
            stop.set()
            waker.wake()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            run_forever(scheduler, stop, waker)
        finally:
            backend.shutdown()
