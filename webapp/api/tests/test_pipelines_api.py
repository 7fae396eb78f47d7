"""/api/pipelines/: submit (400 naming stage and field), read, cancel, retry, the compare table."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from jobs.models import Pipeline
from jobs.tests.factories import UserFactory
from jobs.tests.pipeline_helpers import FOUND, algorithms, fail, stage_jobs, study, succeed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog_algorithms(db):
    return algorithms()


def test_submitting_a_pipeline_answers_its_stages_and_first_experiments(api):
    response = api.post("/api/pipelines/", study(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "running"
    stages = {stage["name"]: stage for stage in body["stages"]}
    assert [stage["name"] for stage in body["stages"]] == ["generate", "disc", "other", "compare"]
    assert stages["generate"]["status"] == "running"
    assert [e["status"] for e in stages["generate"]["experiments"]] == ["waiting"]
    assert stages["compare"]["needs"] == ["disc", "other"]


def test_a_bad_spec_is_a_400_naming_the_stage_and_field_and_writes_nothing(api):
    response = api.post(
        "/api/pipelines/", study(disc={"inputs": {"dataset": "nowhere"}}), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "stages": {"disc": {"inputs.dataset": ["stage 'nowhere' does not exist"]}}
    }
    assert not Pipeline.objects.exists()


def test_a_body_that_is_not_a_spec_is_a_400(api):
    response = api.post("/api/pipelines/", [1, 2], format="json")

    assert response.status_code == 400
    assert "spec" in response.json()


def test_pipelines_are_their_owners_only(api, other_api):
    pipeline_id = api.post("/api/pipelines/", study(), format="json").json()["id"]

    assert other_api.get(f"/api/pipelines/{pipeline_id}/").status_code == 404
    assert other_api.post(f"/api/pipelines/{pipeline_id}/cancel/").status_code == 404
    assert other_api.get("/api/pipelines/").json()["count"] == 0
    assert api.get("/api/pipelines/").json()["count"] == 1


def test_cancel_then_retry_through_the_api(api, django_capture_on_commit_callbacks):
    pipeline_id = api.post("/api/pipelines/", study(), format="json").json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api.post(f"/api/pipelines/{pipeline_id}/cancel/")
    again = api.post(f"/api/pipelines/{pipeline_id}/cancel/")
    retried = api.post(f"/api/pipelines/{pipeline_id}/retry/")

    assert cancelled.status_code == 200
    assert {s["status"] for s in cancelled.json()["stages"]} == {"cancelled"}
    assert again.status_code == 409
    assert retried.status_code == 200
    generate = retried.json()["stages"][0]
    assert generate["status"] == "running"
    assert len(generate["previous_experiments"]) == 1
    assert api.post(f"/api/pipelines/{pipeline_id}/retry/").status_code == 409


def test_there_is_no_table_when_a_failing_stage_stopped_the_pipeline_first(
    api, user, django_capture_on_commit_callbacks
):
    pipeline_id = api.post("/api/pipelines/", study(), format="json").json()["id"]
    pipeline = Pipeline.objects.get(pk=pipeline_id)
    assert api.get(f"/api/pipelines/{pipeline_id}/table/").status_code == 404
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "disc"), graph=FOUND)
    fail(django_capture_on_commit_callbacks, stage_jobs(pipeline, "other")[:1])

    body = api.get(f"/api/pipelines/{pipeline_id}/").json()
    table = api.get(f"/api/pipelines/{pipeline_id}/table/")

    assert body["status"] == "failed"
    assert table.status_code == 404  # the failing stage stopped the pipeline before compare
    assert api.get(f"/api/pipelines/{pipeline_id}/table/?stage=disc").status_code == 400


def test_the_compare_table_after_a_whole_run(api, django_capture_on_commit_callbacks):
    pipeline_id = api.post("/api/pipelines/", study(), format="json").json()["id"]
    pipeline = Pipeline.objects.get(pk=pipeline_id)
    for stage in ("generate", "disc", "other"):
        succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, stage), graph=FOUND)

    table = api.get(f"/api/pipelines/{pipeline_id}/table/").json()

    assert table["stage"] == "compare"
    assert len(table["rows"]) == 4
    assert {row["shd"] for row in table["rows"]} == {1}
    assert "shd" in table["columns"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "", {"anonymous": 401, "owner": 200, "other": 404, "staff": 200}),
        ("get", "table/", {"anonymous": 401, "owner": 404, "other": 404, "staff": 404}),
        ("post", "cancel/", {"anonymous": 401, "owner": 200, "other": 404, "staff": 200}),
        ("post", "retry/", {"anonymous": 401, "owner": 409, "other": 404, "staff": 409}),
    ],
)
@pytest.mark.parametrize("role", ["anonymous", "owner", "other", "staff"])
def test_who_may_read_and_change_a_pipeline(api, client_for, role, method, path, expected):
    pipeline_id = api.post("/api/pipelines/", study(), format="json").json()["id"]
    clients = {
        "anonymous": APIClient(),
        "owner": api,
        "other": client_for(UserFactory(username="mallory")),
        "staff": client_for(UserFactory(username="root", is_staff=True)),
    }

    response = getattr(clients[role], method)(f"/api/pipelines/{pipeline_id}/{path}")

    assert response.status_code == expected[role], response.content
