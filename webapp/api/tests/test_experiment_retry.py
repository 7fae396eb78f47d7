"""POST /api/experiments/<id>/retry/: every failed job queued again, the others untouched."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from jobs import services
from jobs.models import FailureReason, Job, JobEvent, JobStatus, Result
from jobs.tests.factories import make_experiment


def fail_and_finish(user, catalog):
    """Four jobs: two failed after their retry budget, one succeeded, one not finished."""
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"x": [1, 2, 3, 4]}, max_attempts=2
    )
    claimed = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=3)
    first, second, third = (item.job_id for item in claimed)
    for job_id in (first, second):
        for attempt in (1, 2):  # the retry budget used up: the job ends failed
            services.fail_attempt(job_id, attempt, FailureReason.LOST, "gone")
            if attempt == 1:
                Job.objects.filter(pk=job_id).update(not_before=timezone.now() - timedelta(hours=1))
                services.claim_waiting_jobs(scheduler="s", backend="noop", limit=10)
    services.finish_attempt(third, 1, succeeded=True, metrics={"score": 1})
    return experiment, (first, second), third


def test_retrying_an_experiment_queues_each_failed_job_as_a_new_attempt(api, user, catalog):
    experiment, failed, succeeded = fail_and_finish(user, catalog)
    assert set(Job.objects.filter(status=JobStatus.FAILED).values_list("pk", flat=True)) == set(
        failed
    )
    response = api.post(f"/api/experiments/{experiment.pk}/retry/")
    assert response.status_code == 200, response.content
    assert response.json() == {"retried": 2}
    for job in Job.objects.filter(pk__in=failed):
        assert (job.status, job.attempt, job.max_attempts) == (JobStatus.WAITING, 3, 4)
        assert (job.failure_reason, job.error, job.finished_at) == ("", "", None)
        assert JobEvent.objects.filter(
            job=job, attempt=3, data__lines=["petri: retry requested; attempt 3 queued"]
        ).exists()
    untouched = Job.objects.get(pk=succeeded)
    assert (untouched.status, untouched.attempt) == (JobStatus.SUCCEEDED, 1)
    assert Result.objects.filter(job_id=succeeded).exists()
    # The retried jobs are claimable again, as the scheduler will do.
    claimed = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=10)
    assert set(failed) <= {item.job_id for item in claimed}


def test_retrying_an_experiment_without_failed_jobs_is_a_conflict(api, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    response = api.post(f"/api/experiments/{experiment.pk}/retry/")
    assert response.status_code == 409
    assert "no failed jobs" in response.json()["detail"]


def test_only_the_owner_may_retry(api, user, other_user, other_api, catalog):
    experiment, failed, _ = fail_and_finish(user, catalog)
    assert other_api.post(f"/api/experiments/{experiment.pk}/retry/").status_code == 404
    services.share_experiment(experiment, [other_user.username])
    assert other_api.post(f"/api/experiments/{experiment.pk}/retry/").status_code == 403
    assert Job.objects.filter(pk__in=failed, status=JobStatus.FAILED).count() == 2
