"""GET /api/jobs/<id>/metrics/: the metric points a job reported while running."""

from __future__ import annotations

from jobs.models import JobEvent
from jobs.tests.factories import make_experiment


def _job_with_points(user):
    job = make_experiment(user, parameters={"n": 1}).jobs.get()
    for attempt, step, value in ((1, 1, 0.9), (1, 2, 0.5), (2, 1, 0.7)):
        JobEvent.objects.create(
            job=job,
            attempt=attempt,
            kind=JobEvent.Kind.METRIC,
            data={"name": "loss", "value": value, "step": step},
        )
    JobEvent.objects.create(job=job, attempt=1, kind=JobEvent.Kind.LOG, data={"lines": ["hi"]})
    return job


def test_a_jobs_metric_points_come_oldest_first_with_their_attempt(api, user):
    job = _job_with_points(user)
    response = api.get(f"/api/jobs/{job.pk}/metrics/")
    assert response.status_code == 200
    points = response.json()
    assert [(p["name"], p["value"], p["step"], p["attempt"]) for p in points] == [
        ("loss", 0.9, 1, 1),
        ("loss", 0.5, 2, 1),
        ("loss", 0.7, 1, 2),
    ]
    assert all(p["time"] for p in points)


def test_metric_points_can_be_read_for_one_attempt(api, user):
    job = _job_with_points(user)
    points = api.get(f"/api/jobs/{job.pk}/metrics/?attempt=2").json()
    assert [(p["value"], p["attempt"]) for p in points] == [(0.7, 2)]
    assert api.get(f"/api/jobs/{job.pk}/metrics/?attempt=x").status_code == 400


def test_another_users_job_metrics_are_not_found(other_api, user):
    job = _job_with_points(user)
    assert other_api.get(f"/api/jobs/{job.pk}/metrics/").status_code == 404
