"""The local backend with real runner subprocesses against a live test server."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jobs import services
from jobs.models import FINAL_STATUSES, FailureReason, Job, JobEvent, JobStatus
from jobs.tests.factories import make_experiment

pytestmark = pytest.mark.django_db(transaction=True)


def job_of(experiment) -> Job:
    return Job.objects.get(experiment=experiment)


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_cancelling_a_running_job_terminates_its_process_group(user, catalog, local_scheduler):
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"duration": 120, "steps": 120}
    )
    running = local_scheduler.run_until(
        lambda: job_of(experiment).status == JobStatus.RUNNING, what="the job to start"
    )
    assert running
    job = job_of(experiment)
    proc = local_scheduler.backend._procs[job.handle]
    assert proc.poll() is None

    services.cancel_job(job)
    local_scheduler.run_until(
        lambda: job_of(experiment).status == JobStatus.CANCELLED, what="the job to be cancelled"
    )
    assert proc.poll() is not None
    assert group_is_gone(proc.pid)
    assert job_of(experiment).failure_reason == FailureReason.CANCELLED


def test_an_algorithm_exiting_non_zero_fails_the_job_and_keeps_its_log(
    user, catalog, local_scheduler
):
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"fail": True, "exit_code": 3, "duration": 0}
    )
    local_scheduler.run_until(
        lambda: job_of(experiment).status in FINAL_STATUSES, what="the job to end"
    )
    job = job_of(experiment)
    assert (job.status, job.failure_reason, job.exit_code) == (
        JobStatus.FAILED,
        FailureReason.ALGORITHM_ERROR,
        3,
    )
    assert job.attempt == 1, "algorithm errors are not retried unless the experiment asks"
    lines = [line for e in JobEvent.objects.filter(job=job, kind="log") for line in e.data["lines"]]
    assert any("step" in line for line in lines)
    assert "3" in job.error


def test_a_runner_killed_without_a_result_is_reconciled_as_lost(user, catalog, local_scheduler):
    experiment = make_experiment(
        user, catalog["sleep-and-score"], max_attempts=1, parameters={"duration": 120, "steps": 120}
    )
    local_scheduler.run_until(
        lambda: job_of(experiment).status == JobStatus.RUNNING, what="the job to start"
    )
    proc = local_scheduler.backend._procs[job_of(experiment).handle]
    os.killpg(proc.pid, signal.SIGKILL)
    local_scheduler.run_until(
        lambda: job_of(experiment).status in FINAL_STATUSES, what="reconciliation"
    )
    job = job_of(experiment)
    assert (job.status, job.failure_reason) == (JobStatus.FAILED, FailureReason.LOST)


def test_a_lost_attempt_is_retried_as_a_new_attempt(user, catalog, local_scheduler):
    experiment = make_experiment(
        user, catalog["sleep-and-score"], max_attempts=2, parameters={"duration": 120, "steps": 120}
    )
    local_scheduler.run_until(
        lambda: job_of(experiment).status == JobStatus.RUNNING, what="the job to start"
    )
    proc = local_scheduler.backend._procs[job_of(experiment).handle]
    os.killpg(proc.pid, signal.SIGKILL)
    local_scheduler.run_until(lambda: job_of(experiment).attempt == 2, what="a retry")
    job = job_of(experiment)
    assert job.status == JobStatus.WAITING
    assert job.not_before > job.created_at


def test_no_more_than_max_running_jobs_run_at_once(user, catalog, local_scheduler):
    local_scheduler.backend.max_running = 2
    experiment = make_experiment(
        user,
        catalog["sleep-and-score"],
        parameters={"x": [1, 2, 3, 4, 5], "duration": 0.5, "steps": 2},
    )
    peak = 0

    def all_done():
        nonlocal peak
        active = Job.objects.filter(
            experiment=experiment, status__in=["dispatching", "pending", "running"]
        ).count()
        peak = max(
            peak, active, local_scheduler.backend.max_running - local_scheduler.backend.capacity()
        )
        return not Job.objects.filter(experiment=experiment).exclude(status="succeeded").exists()

    local_scheduler.run_until(all_done, timeout=120, what="all five jobs")
    assert peak == 2


def test_preparing_the_backend_starts_the_runner_host_before_any_job(local_scheduler):
    backend = local_scheduler.backend
    assert not backend.host.running
    backend.prepare()
    deadline = time.monotonic() + 30
    while not backend.host.running:
        assert time.monotonic() < deadline, "the runner host never started"
        time.sleep(0.02)


def test_a_finished_attempts_exited_runner_is_dropped_by_a_reconcile(
    user, catalog, local_scheduler
):
    quick = make_experiment(user, catalog["sleep-and-score"], parameters={"duration": 0})
    local_scheduler.run_until(
        lambda: job_of(quick).status == JobStatus.SUCCEEDED, what="the quick job"
    )
    slow = make_experiment(
        user, catalog["sleep-and-score"], parameters={"duration": 120, "steps": 120}
    )
    procs = local_scheduler.backend._procs
    # Each pass reconciles here (the slow job is active); kept, an exited runner would make
    # every capacity() walk each runner this server ever started.
    local_scheduler.run_until(
        lambda: job_of(slow).status == JobStatus.RUNNING and job_of(quick).handle not in procs,
        what="the slow job running and the quick one's runner dropped",
    )
    assert procs[job_of(slow).handle].poll() is None
