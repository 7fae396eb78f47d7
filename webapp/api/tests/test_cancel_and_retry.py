from __future__ import annotations

from jobs import services
from jobs.models import FailureReason, Job, JobStatus
from jobs.tests.factories import make_experiment


def test_cancelling_an_experiment_cancels_waiting_jobs_at_once_and_running_ones_via_backend(
    api, user, catalog
):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2, 3]})
    services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    response = api.post(f"/api/experiments/{experiment.pk}/cancel/")
    assert response.status_code == 200
    assert response.json() == {"cancelled": 3}
    statuses = sorted(Job.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "cancelling"]
    body = api.get(f"/api/experiments/{experiment.pk}/").json()
    assert body["status"] == "cancelling"


def test_cancelling_a_finished_job_is_a_conflict(api, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.finish_attempt(item.job_id, 1, succeeded=True, metrics={"score": 1})
    response = api.post(f"/api/jobs/{item.job_id}/cancel/")
    assert response.status_code == 409
    assert "succeeded" in response.json()["detail"]
    assert api.post(f"/api/experiments/{experiment.pk}/cancel/").status_code == 409


def test_a_failed_job_can_be_retried_as_a_new_attempt(api, user, catalog):
    make_experiment(user, catalog["sleep-and-score"], max_attempts=1)
    (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.fail_attempt(item.job_id, 1, FailureReason.LOST, "gone")
    assert Job.objects.get().status == JobStatus.FAILED
    response = api.post(f"/api/jobs/{item.job_id}/retry/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempt"]) == ("waiting", 2)
    assert api.post(f"/api/jobs/{item.job_id}/retry/").status_code == 409


def test_a_result_posted_twice_changes_nothing_the_second_time(user, catalog):
    make_experiment(user, catalog["sleep-and-score"])
    (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    services.finish_attempt(item.job_id, 1, succeeded=True, metrics={"score": 1})
    job = services.finish_attempt(item.job_id, 1, succeeded=False, error="late")
    assert (job.status, job.result.metrics, job.error) == (JobStatus.SUCCEEDED, {"score": 1}, "")


def test_an_algorithm_error_is_retried_only_when_the_experiment_asks(user, catalog):
    make_experiment(user, catalog["sleep-and-score"], retry_algorithm_errors=True)
    (item,) = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=1)
    job = services.finish_attempt(
        item.job_id, 1, succeeded=False, exit_code=2, failure_reason=FailureReason.ALGORITHM_ERROR
    )
    assert (job.status, job.attempt) == (JobStatus.WAITING, 2)
