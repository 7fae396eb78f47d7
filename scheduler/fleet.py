"""One scheduler loop per backend, each in its own thread, so a backend that is down or slow
holds up none of the others."""

from __future__ import annotations

import faulthandler
import signal
import threading

from django.conf import settings

from scheduler.backends import create_backend
from scheduler.loop import Scheduler, default_identity, run_forever
from scheduler.wakeup import Waker


def print_stacks_on_sigusr1() -> None:
    """``kill -USR1 <pid>`` prints every thread's stack to stderr: what a stuck process waits on."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def build_schedulers(names: list[str], *, api_url: str | None = None) -> list[Scheduler]:
    """A scheduler for each backend named; jobs bound to no backend go to the default one."""
    several = len(names) > 1
    return [
        Scheduler(
            create_backend(name),
            identity=f"{default_identity()}:{name}" if several else None,
            api_url=api_url,
            takes_default=not several or name == settings.PETRI_BACKEND,
        )
        for name in names
    ]


class SchedulerFleet:
    """Runs schedulers until asked to stop; stopping finishes each one's tick in progress."""

    def __init__(self, schedulers: list[Scheduler]) -> None:
        self.schedulers = schedulers
        self.stop_event = threading.Event()
        self.wakers = [Waker.for_backend(s.backend) for s in schedulers]
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for scheduler, waker in zip(self.schedulers, self.wakers, strict=True):
            thread = threading.Thread(
                target=run_forever,
                args=(scheduler, self.stop_event, waker),
                name=f"petri-scheduler-{scheduler.backend.name}",
                daemon=True,
            )
            thread.start()
            self.threads.append(thread)

    def request_stop(self) -> None:
        self.stop_event.set()
        for waker in self.wakers:
            waker.wake()

    def join(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)
        for scheduler in self.schedulers:
            scheduler.backend.shutdown()
