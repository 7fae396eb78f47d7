from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from scheduler.fleet import SchedulerFleet, build_schedulers, print_stacks_on_sigusr1


class Command(BaseCommand):
    help = "Poll the job queue and start jobs on every configured backend (PETRI_BACKENDS)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one tick and exit")
        parser.add_argument("--backend", help="run this backend only, not all of PETRI_BACKENDS")

    def handle(self, *args, **options):
        names = [options["backend"]] if options.get("backend") else settings.PETRI_BACKENDS
        schedulers = build_schedulers(names)
        if options["once"]:
            busy = [scheduler.tick() for scheduler in schedulers]
            self.stdout.write("did work" if any(busy) else "nothing to do")
            return
        if settings.PETRI_SCHEDULER_METRICS_PORT:
            # This process's claim and dispatch latency, for Prometheus to scrape beside /metrics.
            start_http_server(settings.PETRI_SCHEDULER_METRICS_PORT)
        print_stacks_on_sigusr1()
        fleet = SchedulerFleet(schedulers)

        def request_stop(*_):
            # Finish the ticks in progress, then leave: nothing is left half-done.
            fleet.request_stop()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        fleet.start()
        fleet.stop_event.wait()
        fleet.join()
