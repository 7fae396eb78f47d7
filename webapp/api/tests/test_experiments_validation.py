from __future__ import annotations

import pytest
from django.test import override_settings

from jobs.models import Experiment, Job
from jobs.tests.factories import make_dataset

URL = "/api/experiments/"


@pytest.fixture
def sleep(catalog):
    return catalog["sleep-and-score"]


def post(api, **body):
    return api.post(URL, body, format="json")


def assert_refused(response, *path):
    """A 400 whose body names the field at ``path``, and nothing was written."""
    assert response.status_code == 400, response.content
    node = response.json()
    for key in path:
        assert key in node, f"{path} not in {response.json()}"
        node = node[key]
    assert Experiment.objects.count() == 0
    assert Job.objects.count() == 0


def test_an_unknown_algorithm_is_refused(api, catalog):
    assert_refused(post(api, algorithm="no-such-thing"), "algorithm")


def test_an_unknown_parameter_is_refused(api, sleep):
    assert_refused(post(api, algorithm="sleep-and-score", parameters={"z": 1}), "parameters", "z")


def test_a_value_of_the_wrong_type_is_refused(api, sleep):
    response = post(api, algorithm="sleep-and-score", parameters={"steps": "many"})
    assert_refused(response, "parameters", "steps")


def test_a_value_out_of_range_is_refused(api, sleep):
    response = post(api, algorithm="sleep-and-score", parameters={"x": [0, 11]})
    assert_refused(response, "parameters", "x")
    assert "maximum" in response.json()["parameters"]["x"][0]


def test_a_choice_not_in_its_values_is_refused(api, sleep):
    response = post(api, algorithm="sleep-and-score", parameters={"mode": "reckless"})
    assert_refused(response, "parameters", "mode")


def test_an_empty_list_is_refused(api, sleep):
    assert_refused(post(api, algorithm="sleep-and-score", parameters={"x": []}), "parameters", "x")


@override_settings(PETRI_MAX_GRID=100)
def test_a_grid_over_the_limit_is_refused_before_any_row_is_written(api, sleep):
    response = post(
        api,
        algorithm="sleep-and-score",
        parameters={
            "x": {"start": -10, "stop": 10, "step": 0.5},
            "y": {"start": 0, "stop": 1, "step": 0.5},
        },
    )
    assert_refused(response, "parameters")
    assert "the limit is 100" in response.json()["parameters"][0]


def test_a_missing_required_dataset_is_refused(api, catalog):
    assert_refused(post(api, algorithm="pc"), "dataset")


def test_someone_elses_dataset_is_refused_as_unknown(api, catalog, other_user):
    foreign = make_dataset(other_user)
    assert_refused(post(api, algorithm="pc", dataset=foreign.pk), "dataset")


def test_bad_repeats_priority_and_resources_are_each_named(api, sleep):
    response = post(
        api, algorithm="sleep-and-score", repeats=0, priority="high", resources={"gpu": -1}
    )
    assert_refused(response, "repeats")
    assert "priority" in response.json()
    assert "gpu" in response.json()["resources"]


def test_a_valid_sweep_writes_one_job_per_combination_and_repeat(api, sleep):
    response = post(
        api,
        algorithm="sleep-and-score",
        name="grid",
        parameters={"x": [0, 1, 2], "y": [0, 1]},
        repeats=2,
        priority=5,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["job_count"] == 12
    assert body["counts"]["waiting"] == 12
    assert body["status"] == "waiting"
    jobs = Job.objects.filter(experiment_id=body["id"])
    assert jobs.count() == 12
    assert {(j.parameters["x"], j.parameters["y"]) for j in jobs} == {
        (x, y) for x in (0.0, 1.0, 2.0) for y in (0.0, 1.0)
    }
    assert set(jobs.values_list("priority", flat=True)) == {5}
