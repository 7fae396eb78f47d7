"""POST /api/experiments/<id>/extend/: more values or repeats, only new points become jobs."""

from __future__ import annotations

import pytest

from jobs.models import Experiment, Job, JobStatus
from jobs.tests.factories import finish_job, make_experiment


def points(experiment) -> list[tuple[float, float, int]]:
    jobs = Job.objects.filter(experiment=experiment)
    return sorted((j.parameters["x"], j.parameters["y"], j.repeat) for j in jobs)


@pytest.fixture
def grid(user, catalog):
    """x in {1, 2}, y fixed at 0, one repeat; the first job already succeeded."""
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    finish_job(experiment.jobs.get(index=0), {"score": 3.0})
    return experiment


def test_added_values_queue_only_the_new_points(api, grid):
    response = api.post(
        f"/api/experiments/{grid.pk}/extend/", {"parameters": {"x": [2, 3], "y": 1}}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    # x in {1, 2, 3} × y in {0, 1}: two points existed, four are new.
    assert body["added"] == 4
    assert body["experiment"]["job_count"] == 6
    assert body["experiment"]["parameters"] == {"x": [1.0, 2.0, 3.0], "y": [0.0, 1.0]}
    assert points(grid) == [(x, y, 0) for x in (1, 2, 3) for y in (0, 1)]
    # What ran is untouched; the new jobs wait, each new point with an index of its own.
    assert Job.objects.get(experiment=grid, index=0).status == JobStatus.SUCCEEDED
    new = Job.objects.filter(experiment=grid, status=JobStatus.WAITING).exclude(
        parameters__y=0, parameters__x__in=[1, 2]
    )
    assert sorted(new.values_list("index", flat=True)) == [2, 3, 4, 5]


def test_more_repeats_queue_the_missing_repeats_of_every_point(api, grid):
    response = api.post(f"/api/experiments/{grid.pk}/extend/", {"repeats": 3}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["added"] == 4
    assert points(grid) == [(x, 0, r) for x in (1, 2) for r in range(3)]
    # A repeat keeps its point's index.
    assert set(
        Job.objects.filter(experiment=grid, parameters__x=1).values_list("index", flat=True)
    ) == {0}
    assert Experiment.objects.get(pk=grid.pk).repeats == 3


def test_extending_twice_builds_on_the_first_extension(api, grid):
    api.post(f"/api/experiments/{grid.pk}/extend/", {"parameters": {"x": 3}}, format="json")
    response = api.post(
        f"/api/experiments/{grid.pk}/extend/",
        {"parameters": {"x": {"start": 3, "stop": 5, "step": 1}}, "repeats": 2},
        format="json",
    )
    assert response.status_code == 200, response.content
    # x in {1..5}, 2 repeats = 10 jobs, of which 3 existed.
    assert response.json()["added"] == 7
    assert Job.objects.filter(experiment=grid).count() == 10


def test_a_point_whose_job_row_was_pruned_is_not_queued_again(api, grid):
    # Retention deletes finished queue rows; their Result stays and still counts as run.
    Job.objects.filter(experiment=grid, index=0).delete()
    response = api.post(
        f"/api/experiments/{grid.pk}/extend/", {"parameters": {"x": 3}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["added"] == 1
    assert sorted(j.parameters["x"] for j in Job.objects.filter(experiment=grid)) == [2, 3]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "parameters"),
        ({"parameters": {"x": [1, 2]}}, "parameters"),
        ({"repeats": 1}, "repeats"),
        ({"repeats": 0}, "repeats"),
        ({"repeats": "3"}, "repeats"),
        ({"repeats": True}, "repeats"),
        ({"parameters": {"x": 99}}, "parameters"),
        ({"parameters": {"nope": 1}}, "parameters"),
        ({"parameters": [1, 2]}, "parameters"),
        ({"parameters": {"x": {"start": 0, "stop": 10, "step": 0}}}, "parameters"),
        ({"parameters": {"x": {"start": -10, "stop": 10, "step": 1e-9}}}, "parameters"),
        ({"repeats": 10**9}, "repeats"),
    ],
)
def test_an_extension_that_adds_nothing_or_is_bad_is_a_400_naming_the_field(api, grid, body, field):
    response = api.post(f"/api/experiments/{grid.pk}/extend/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Job.objects.filter(experiment=grid).count() == 2
    fresh = Experiment.objects.get(pk=grid.pk)
    assert (fresh.job_count, fresh.repeats, fresh.parameters) == (2, 1, {"x": [1, 2]})


def test_an_extension_past_the_grid_limit_is_refused(api, grid, settings):
    settings.PETRI_MAX_GRID = 4
    response = api.post(f"/api/experiments/{grid.pk}/extend/", {"repeats": 3}, format="json")
    assert response.status_code == 400
    assert "limit is 4" in response.json()["repeats"][0]


def test_only_the_owner_may_extend(other_api, grid):
    response = other_api.post(f"/api/experiments/{grid.pk}/extend/", {"repeats": 2}, format="json")
    assert response.status_code == 404
    assert Job.objects.filter(experiment=grid).count() == 2
