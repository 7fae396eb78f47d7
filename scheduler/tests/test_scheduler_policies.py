"""Retries, leases, deadlines and retention, driven with a controllable clock."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import FailureReason, Job, JobStatus, Result
from jobs.services.retry import backoff
from jobs.tests.factories import make_experiment
from scheduler.backends.base import BackendState
from scheduler.backends.noop import NoopBackend
from scheduler.loop import Scheduler

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        # Ahead of real time, so jobs queued by the test (at real time) are already due.
        self.now = timezone.now() + timedelta(minutes=1)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


class GoneBackend(NoopBackend):
    """Knows none of the attempts it was given: every one is lost."""

    def reconcile(self, handles):
        return {h: BackendState(h, "gone", reason="lost", message="vanished") for h in handles}


@pytest.fixture
def clock():
    return Clock()


def scheduler_with(backend, clock):
    return Scheduler(backend, identity="s", reconcile_interval=0, clock=clock)


def test_backoff_grows_exponentially_with_jitter_inside_its_window():
    rng = random.Random(7)
    for attempt, ceiling in ((1, 5), (2, 10), (3, 20), (10, 600)):
        delays = [backoff(attempt, rng).total_seconds() for _ in range(200)]
        assert min(delays) >= ceiling / 2 and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4, "jitter spreads retries out"


def test_a_lost_attempt_waits_out_its_backoff_before_it_is_claimed_again(user, catalog, clock):
    make_experiment(user, catalog["sleep-and-score"])
    scheduler = scheduler_with(GoneBackend(), clock)
    scheduler.tick()  # dispatch attempt 1, then reconcile: gone -> retry
    job = Job.objects.get()
    assert (job.status, job.attempt, job.failure_reason) == ("waiting", 2, FailureReason.LOST)
    wait = job.not_before - clock.now
    assert timedelta(seconds=2.5) <= wait <= timedelta(seconds=5)
    clock.now = job.not_before - timedelta(milliseconds=10)
    assert services.claim_waiting_jobs(scheduler="s", backend="noop", limit=5, now=clock.now) == []
    clock.now = job.not_before
    (again,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=5, now=clock.now)
    assert again.attempt == 2


def test_a_job_fails_for_good_after_max_attempts(user, catalog, clock):
    make_experiment(user, catalog["sleep-and-score"], max_attempts=2)
    scheduler = scheduler_with(GoneBackend(), clock)
    for _ in range(2):
        scheduler.tick()
        clock.advance(seconds=1)
        scheduler.tick()
        clock.now = Job.objects.get().not_before + timedelta(seconds=1)
    job = Job.objects.get()
    assert (job.status, job.attempt, job.failure_reason) == (JobStatus.FAILED, 2, "lost")
    assert Result.objects.get(job=job).status == JobStatus.FAILED


def test_a_running_job_silent_past_two_leases_is_stopped_and_failed_as_lost(
    user, catalog, clock, settings
):
    settings.PETRI_HEARTBEAT_TIMEOUT = 60
    make_experiment(user, catalog["sleep-and-score"], max_attempts=1)
    backend = NoopBackend()
    scheduler = scheduler_with(backend, clock)
    scheduler.tick()
    job = Job.objects.get()
    services.record_events(job.pk, 1, [{"type": "started"}])
    Job.objects.update(last_event_at=clock.now)
    clock.advance(seconds=119)
    scheduler.tick()
    assert Job.objects.get().status == JobStatus.RUNNING, "one lease is not enough"
    clock.advance(seconds=2)
    scheduler.tick()
    job = Job.objects.get()
    assert (job.status, job.failure_reason) == (JobStatus.FAILED, FailureReason.LOST)
    assert backend.cancelled == [job.handle]


def test_a_job_past_its_deadline_is_cancelled_and_not_retried(user, catalog, clock):
    make_experiment(user, catalog["sleep-and-score"], timeout=30)
    backend = NoopBackend()
    scheduler = scheduler_with(backend, clock)
    scheduler.tick()
    job = Job.objects.get()
    services.record_events(job.pk, 1, [{"type": "started"}])
    Job.objects.update(started_at=clock.now, last_event_at=clock.now)
    clock.advance(seconds=29)
    scheduler.tick()
    assert Job.objects.get().status == JobStatus.RUNNING
    clock.advance(seconds=2)
    scheduler.tick()
    job = Job.objects.get()
    assert (job.status, job.failure_reason, job.attempt) == (
        JobStatus.FAILED,
        FailureReason.DEADLINE_EXCEEDED,
        1,
    )
    assert backend.cancelled == [job.handle]


def test_a_tick_records_the_replica_and_what_it_dispatched(user, catalog, clock):
    from scheduler.models import SchedulerReplica

    make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    scheduler_with(NoopBackend(), clock).tick()
    replica = SchedulerReplica.objects.get(identity="s")
    assert (replica.backend, replica.dispatched) == ("noop", 2)
    assert set(Job.objects.values_list("scheduler", "status")) == {("s", "pending")}
