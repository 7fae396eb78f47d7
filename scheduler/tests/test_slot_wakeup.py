"""A job's end wakes an idle scheduler, so a freed slot is filled without waiting for a poll."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from jobs import services, wakeups
from jobs.models import Job, JobStatus
from jobs.tests.factories import make_experiment
from scheduler.backends.local import LocalBackend
from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler, run_forever
from scheduler.wakeup import Waker

pytestmark = pytest.mark.django_db(transaction=True)


class OneSlot(NoopBackend):
    """Runs one attempt at a time: a slot frees only when the job in it ends."""

    def capacity(self):
        busy = Job.objects.filter(
            status__in=(JobStatus.DISPATCHING, JobStatus.PENDING, JobStatus.RUNNING)
        ).count()
        return max(0, 1 - busy)


class WatchedWaker(Waker):
    """Says when the loop has gone to sleep, so the test knows only a wake-up can rouse it."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()

    def wait(self, timeout: float) -> bool:
        self.sleeping.set()
        try:
            return super().wait(timeout)
        finally:
            self.sleeping.clear()


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_finished_job_wakes_the_scheduler_to_dispatch_the_next_at_once(user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    first, second = experiment.jobs.order_by("index")
    scheduler = Scheduler(OneSlot(), identity="one-slot", reconcile_interval=3600)
    stop, waker = threading.Event(), WatchedWaker()
    # The poll is an hour: only a wake-up can dispatch the second job within the test.
    loop = threading.Thread(target=run_forever, args=(scheduler, stop, waker, 3600), daemon=True)
    loop.start()
    try:
        _wait_for(
            lambda: Job.objects.filter(pk=first.pk, status=JobStatus.PENDING).exists(),
            10,
            "the first job to be dispatched",
        )
        # The second job cannot start while the first holds the slot: the loop goes to sleep.
        assert waker.sleeping.wait(10), "the loop never went idle"
        assert Job.objects.get(pk=second.pk).status == JobStatus.WAITING
        first.refresh_from_db()
        services.finish_attempt(first.pk, first.attempt, succeeded=True, metrics={"score": 1})
        _wait_for(
            lambda: Job.objects.filter(pk=second.pk, status=JobStatus.PENDING).exists(),
            10,
            "the freed slot to go to the second job",
        )
    finally:
        stop.set()
        waker.wake()
        loop.join(10)


def test_a_pass_asks_for_another_at_once_only_after_claiming_a_whole_batch(user, catalog):
    make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2, 3]})
    scheduler = Scheduler(NoopBackend(), batch=2)

    assert scheduler.tick()  # a whole batch: more may be waiting
    assert not scheduler.tick()  # the last job, short of a batch: sleep until woken
    assert Job.objects.filter(status=JobStatus.PENDING).count() == 3
    assert not scheduler.tick()


class SlowBackend(NoopBackend):
    """Takes 0.6 s of the scheduler's monotonic clock per attempt."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self.clock = clock

    def submit(self, spec):
        self.clock[0] += 0.6
        super().submit(spec)


def _pending() -> int:
    return Job.objects.filter(status=JobStatus.PENDING).count()


def test_a_fast_backend_that_takes_whole_claims_gets_bigger_ones_up_to_eight_batches(user, catalog):
    make_experiment(user, catalog["sleep-and-score"], parameters={"x": list(range(5))}, repeats=5)
    scheduler = Scheduler(NoopBackend(), batch=1)

    taken = []
    while scheduler.tick():
        taken.append(_pending() - sum(taken))
    taken.append(_pending() - sum(taken))

    assert taken == [1, 2, 4, 8, 8, 2]
    assert scheduler._claim_size == 1  # a short claim: back to the configured batch


def test_a_slow_backend_keeps_the_configured_batch(user, catalog):
    make_experiment(user, catalog["sleep-and-score"], parameters={"x": list(range(6))})
    clock = [0.0]
    scheduler = Scheduler(SlowBackend(clock), batch=2, monotonic=lambda: clock[0])

    taken = []
    while scheduler.tick():
        taken.append(_pending() - sum(taken))

    assert taken == [2, 2, 2]


def test_an_attempts_end_wakes_the_schedulers_that_need_it(user, catalog):
    """In this process (SQLite): only those whose backend does not wake them when the attempt's
    process exits. On PostgreSQL: every listening scheduler, by NOTIFY, across processes."""
    woken: list[str] = []

    def any_change() -> None:
        woken.append("any change")

    def queued_only() -> None:
        woken.append("queued only")

    wakeups.register(any_change)
    wakeups.register(queued_only, on_end=False)
    listening = Waker(on_end=False)
    listening.wait(0)  # on PostgreSQL, LISTEN is set up now
    try:
        make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1]})
        # The submission's NOTIFY heard (on SQLite: the in-process wake read, no listener).
        assert listening.wait(5) is (connection.vendor == "postgresql")
        (item,) = services.claim_waiting_jobs(scheduler="t", backend="noop", limit=1)
        services.mark_dispatched([item])
        woken.clear()

        services.finish_attempt(item.job_id, item.attempt, succeeded=True, metrics={})

        if connection.vendor == "postgresql":
            assert woken == [], "NOTIFY wakes the listeners, not this process's wakers"
            assert listening.wait(5) is True, "woken by NOTIFY though its backend wakes on exit"
        else:
            assert woken == ["any change"]
        assert LocalBackend.wakes_on_exit and not NoopBackend.wakes_on_exit
    finally:
        listening.close()
        wakeups.unregister(any_change)
        wakeups.unregister(queued_only)


class QueuesMoreOnFirstSubmit(NoopBackend):
    """Its first submit queues another job, as a user might while the loop's first tick runs."""

    def __init__(self, user, algorithm) -> None:
        super().__init__()
        self.queue_more = lambda: make_experiment(user, algorithm, parameters={"x": [9]})

    def submit(self, spec):
        super().submit(spec)
        if self.queue_more is not None:
            self.queue_more, queue_more = None, self.queue_more
            queue_more()


def test_jobs_queued_during_the_first_tick_wake_the_loop_after_it(user, catalog):
    make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1]})
    backend = QueuesMoreOnFirstSubmit(user, catalog["sleep-and-score"])
    scheduler = Scheduler(backend, identity="first-tick", reconcile_interval=3600)
    stop, waker = threading.Event(), Waker()
    # The poll is an hour: the job queued in the first tick is dispatched only if its wake-up
    # (on PostgreSQL a NOTIFY, which is lost unless LISTEN began before that tick) is heard.
    loop = threading.Thread(target=run_forever, args=(scheduler, stop, waker, 3600), daemon=True)
    loop.start()
    try:
        _wait_for(lambda: _pending() == 2, 10, "the job queued during the first tick")
    finally:
        stop.set()
        waker.wake()
        loop.join(10)
