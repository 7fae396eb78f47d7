from __future__ import annotations

import pytest

from jobs import services
from jobs.models import FailureReason, Job, JobStatus
from jobs.tests.factories import UserFactory, make_experiment


@pytest.fixture
def operator(client, db):
    client.force_login(UserFactory(username="op", is_staff=True, is_superuser=True))
    return client


def test_the_cancel_action_cancels_through_the_service(operator, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    ids = list(experiment.jobs.values_list("id", flat=True))
    response = operator.post("/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": ids})
    assert response.status_code == 302
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.CANCELLED}


def test_the_retry_action_queues_failed_jobs_and_reports_refusals(operator, user, catalog):
    make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]}, max_attempts=1)
    first, second = services.claim_waiting_jobs(scheduler="s", backend="noop", limit=2)
    services.fail_attempt(first.job_id, 1, FailureReason.LOST)
    response = operator.post(
        "/admin/jobs/job/",
        {"action": "retry_jobs", "_selected_action": [first.job_id, second.job_id]},
        follow=True,
    )
    assert Job.objects.get(pk=first.job_id).status == JobStatus.WAITING
    assert Job.objects.get(pk=second.job_id).status == JobStatus.DISPATCHING
    assert b"only failed or cancelled jobs can be retried" in response.content.lower()


def test_jobs_are_read_only_in_the_admin(operator, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    job = experiment.jobs.get()
    page = operator.get(f"/admin/jobs/job/{job.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert operator.get("/admin/jobs/job/add/").status_code == 403
