"""Real scheduler processes against one Postgres: exactly-once dispatch, crashes, shutdown."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from jobs.models import Job, JobStatus
from jobs.tests.factories import make_experiment
from petri_pytest.diagnostics import print_stacks

pytestmark = [pytest.mark.requires("postgres"), pytest.mark.django_db(transaction=True)]
MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def start_scheduler(database_url: str, record: Path, identity: str, **extra: str):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PETRI_BACKEND": "noop",
        "PETRI_NOOP_RECORD_FILE": str(record),
        "PETRI_SCHEDULER_ID": identity,
        "PETRI_POLL_INTERVAL": "0.05",
        "PETRI_LOG_LEVEL": "WARNING",
        **extra,
    }
    # Its output goes to a file beside the record: a pipe nobody reads would block it once full.
    log = record.with_name(f"{identity}.log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, MANAGE, "scheduler"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    process.log_path = log
    return process


def wait_until(condition, timeout: float, what: str, *processes) -> None:
    """Poll ``condition``; past the deadline, fail with what ``processes`` printed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            for process in processes:
                if process.poll() is None:
                    print_stacks(process, process.log_path)  # each thread's stack, to its log
            said = "".join(
                f"\n-- {p.log_path.stem} (exit {p.poll()}):\n{p.log_path.read_text()[-3000:]}"
                for p in processes
            )
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{said}")
        time.sleep(0.1)


def undispatched() -> int:
    return Job.objects.filter(status__in=[JobStatus.WAITING, JobStatus.DISPATCHING]).count()


def registered(identity: str) -> bool:
    """The scheduler has set up its signal handlers and run its first tick."""
    from scheduler.models import SchedulerReplica

    return SchedulerReplica.objects.filter(identity=identity).exists()


def stop(processes) -> list[int]:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    return [process.wait(timeout=60) for process in processes]


def test_four_schedulers_drain_ten_thousand_jobs_each_dispatched_exactly_once(
    user, catalog, test_database_url, tmp_path
):
    make_experiment(
        user,
        catalog["sleep-and-score"],
        parameters={"steps": {"start": 1, "stop": 1000, "step": 1}},
        repeats=10,
    )
    assert Job.objects.count() == 10_000
    record = tmp_path / "created.txt"
    schedulers = [
        start_scheduler(test_database_url, record, f"replica-{i}", PETRI_CLAIM_BATCH="100")
        for i in range(4)
    ]
    try:
        for i in range(4):
            wait_until(lambda: registered(f"replica-{i}"), 60, "the replicas", *schedulers)  # noqa: B023
        wait_until(lambda: undispatched() == 0, 180, "the queue to drain", *schedulers)
    finally:
        codes = stop(schedulers)
    assert codes == [0, 0, 0, 0]
    created = record.read_text().split()
    assert len(created) == 10_000
    assert len(set(created)) == 10_000, "no handle was created twice"
    assert set(created) == set(Job.objects.values_list("handle", flat=True))
    assert Job.objects.filter(status=JobStatus.PENDING).count() == 10_000
    by_replica = set(Job.objects.values_list("scheduler", flat=True))
    assert by_replica <= {f"replica-{i}" for i in range(4)} and len(by_replica) > 1


def test_kill_9_at_random_points_loses_no_job_and_creates_no_handle_twice(
    user, catalog, test_database_url, tmp_path
):
    make_experiment(
        user,
        catalog["sleep-and-score"],
        parameters={"steps": {"start": 1, "stop": 1000, "step": 1}},
        repeats=3,
    )
    record = tmp_path / "created.txt"
    rng = random.Random(2026)
    crash = {
        "PETRI_CLAIM_BATCH": "50",
        "PETRI_DISPATCH_TIMEOUT": "1",
        "PETRI_NOOP_SUBMIT_DELAY": "0.002",
    }
    stuck = 0
    for round_ in range(20):
        identity = f"doomed-{round_}"
        process = start_scheduler(test_database_url, record, identity, **crash)
        wait_until(lambda: registered(identity), 60, f"{identity} to start", process)  # noqa: B023
        # Die at a random point of claiming and dispatching.
        time.sleep(rng.uniform(0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stuck = max(stuck, Job.objects.filter(status=JobStatus.DISPATCHING).count())
    survivor = start_scheduler(test_database_url, record, "survivor", **crash)
    try:
        wait_until(lambda: registered("survivor"), 60, "the survivor to start", survivor)
        wait_until(lambda: undispatched() == 0, 180, "the survivor to finish the queue", survivor)
    finally:
        assert stop([survivor]) == [0]
    created = record.read_text().split()
    assert len(created) == len(set(created)) == 3_000, "every job once, no handle twice"
    assert Job.objects.filter(status=JobStatus.PENDING).count() == 3_000
    assert stuck > 0, "some kills landed between claim and dispatch"


def test_sigterm_finishes_the_batch_in_hand_and_exits_cleanly(
    user, catalog, test_database_url, tmp_path
):
    make_experiment(
        user,
        catalog["sleep-and-score"],
        parameters={"steps": {"start": 1, "stop": 1000, "step": 1}},
        repeats=3,
    )
    record = tmp_path / "created.txt"
    process = start_scheduler(
        test_database_url,
        record,
        "graceful",
        PETRI_CLAIM_BATCH="200",
        PETRI_NOOP_SUBMIT_DELAY="0.002",
    )
    wait_until(
        lambda: record.exists() and record.read_text().count("\n") > 0, 60, "dispatch", process
    )
    assert stop([process]) == [0]
    assert not Job.objects.filter(status=JobStatus.DISPATCHING).exists()
    created = set(record.read_text().split())
    assert created == set(
        Job.objects.filter(status=JobStatus.PENDING).values_list("handle", flat=True)
    )
