"""Pipelines in the admin: read-only pages, and actions that go through the services."""

from __future__ import annotations

import pytest

from jobs.models import Pipeline
from jobs.services.pipelines import submit_pipeline
from jobs.tests.factories import UserFactory, finish_job
from jobs.tests.pipeline_helpers import algorithms, stage_jobs, study

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, db):
    client.force_login(UserFactory(username="op", is_staff=True, is_superuser=True))
    return client


def test_advance_catches_up_a_pipeline_whose_hook_never_ran(operator, user):
    algorithms()
    pipeline = submit_pipeline(user, study())
    for job in stage_jobs(pipeline, "generate"):
        # No on-commit callbacks run here: as if the process died right after the commit.
        finish_job(job, files={"data.csv": f"x,y\n{job.pk},1\n".encode()})
    assert pipeline.stages.get(name="disc").status == "pending"

    response = operator.post(
        "/admin/jobs/pipeline/", {"action": "advance_pipelines", "_selected_action": [pipeline.pk]}
    )

    assert response.status_code == 302
    assert pipeline.stages.get(name="generate").status == "succeeded"
    assert pipeline.stages.get(name="disc").status == "running"


def test_cancel_from_the_admin_and_the_pages_render(operator, user):
    algorithms()
    pipeline = submit_pipeline(user, study())

    operator.post(
        "/admin/jobs/pipeline/", {"action": "cancel_pipelines", "_selected_action": [pipeline.pk]}
    )

    assert Pipeline.objects.get().status == "cancelled"
    assert operator.get("/admin/jobs/pipeline/").status_code == 200
    page = operator.get(f"/admin/jobs/pipeline/{pipeline.pk}/change/")
    assert page.status_code == 200 and b"generate" in page.content
