"""An experiment's counts, status and times: while it runs, and after retention pruned its jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import FailureReason, Job
from jobs.services.housekeeping import prune_finished_jobs
from jobs.tests.factories import finish_job, make_experiment

pytestmark = pytest.mark.django_db


def finish_all(experiment, fail_last: bool = False) -> None:
    jobs = list(Job.objects.filter(experiment=experiment).order_by("id"))
    for job in jobs[:-1] if fail_last else jobs:
        finish_job(job, metrics={"score": 1})
    if fail_last:
        (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
        services.fail_attempt(item.job_id, item.attempt, FailureReason.ALGORITHM_ERROR, "boom")


def age_finished_jobs(days: int) -> None:
    Job.objects.filter(status__in=("succeeded", "failed")).update(
        finished_at=timezone.now() - timedelta(days=days)
    )


def test_a_fully_pruned_experiment_keeps_its_counts_status_progress_and_times(user, api):
    experiment = make_experiment(user, parameters={"n": [1, 2, 3]}, max_attempts=1)
    finish_all(experiment, fail_last=True)
    before = api.get(f"/api/experiments/{experiment.pk}/").json()
    age_finished_jobs(days=10)
    before_finished_at = api.get(f"/api/experiments/{experiment.pk}/").json()["finished_at"]

    assert prune_finished_jobs(timezone.now() - timedelta(days=7), batch=2) == 2
    assert prune_finished_jobs(timezone.now() - timedelta(days=7), batch=2) == 1
    assert not Job.objects.filter(experiment=experiment).exists()

    after = api.get(f"/api/experiments/{experiment.pk}/").json()
    assert after["counts"] == before["counts"]
    assert (after["counts"]["succeeded"], after["counts"]["failed"]) == (2, 1)
    assert (after["status"], after["progress"]) == ("failed", 1.0)
    assert after["started_at"] == before["started_at"] is not None
    assert after["finished_at"] == before_finished_at is not None


def test_a_partly_pruned_experiment_counts_pruned_and_live_jobs_together(user, api):
    experiment = make_experiment(user, parameters={"n": [1, 2, 3, 4]})
    first, second, *_ = Job.objects.filter(experiment=experiment).order_by("id")
    finish_job(first)
    finish_job(second)
    Job.objects.filter(pk=first.pk).update(finished_at=timezone.now() - timedelta(days=10))

    assert prune_finished_jobs(timezone.now() - timedelta(days=7), batch=100) == 1

    body = api.get(f"/api/experiments/{experiment.pk}/").json()
    assert (body["counts"]["succeeded"], body["counts"]["waiting"]) == (2, 2)
    assert (body["status"], body["progress"]) == ("running", 0.5)
    listed = api.get("/api/experiments/").json()["results"][0]
    assert listed["counts"] == body["counts"]


def test_a_running_experiment_has_no_finished_at_until_its_last_job_ends(user, api):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    first, second = Job.objects.filter(experiment=experiment).order_by("id")
    finish_job(first)

    running = api.get(f"/api/experiments/{experiment.pk}/").json()
    assert running["status"] == "running"
    assert running["finished_at"] is None

    finish_job(second)
    done = api.get(f"/api/experiments/{experiment.pk}/").json()
    assert done["status"] == "succeeded"
    assert done["finished_at"] == Job.objects.get(pk=second.pk).finished_at.isoformat().replace(
        "+00:00", "Z"
    )
