"""GET /api/jobs/<id>/log/ and metrics/: a bad query parameter is a 400 naming that parameter."""

from __future__ import annotations

import pytest

from jobs.models import Job
from jobs.tests.factories import make_experiment

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(user):
    make_experiment(user, parameters={"n": 1})
    return Job.objects.get()


def test_a_non_integer_attempt_on_the_log_is_a_400_on_attempt(api, job):
    response = api.get(f"/api/jobs/{job.pk}/log/?attempt=x")
    assert response.status_code == 400
    assert response.json() == {"attempt": ["must be an integer"]}


def test_a_non_integer_after_on_the_log_is_a_400_on_after(api, job):
    response = api.get(f"/api/jobs/{job.pk}/log/?after=x&attempt=1")
    assert response.status_code == 400
    assert response.json() == {"after": ["must be an integer"]}


def test_a_non_integer_attempt_on_the_metrics_is_a_400_on_attempt(api, job):
    response = api.get(f"/api/jobs/{job.pk}/metrics/?attempt=x")
    assert response.status_code == 400
    assert response.json() == {"attempt": ["must be an integer"]}
