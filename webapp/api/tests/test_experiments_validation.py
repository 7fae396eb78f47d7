from __future__ import annotations

import pytest
from django.test import override_settings

from jobs.models import Experiment, Job
from jobs.tests.factories import make_dataset

URL = "/api/experiments/"


PUBLISHED_NODE = "node-a"


@pytest.fixture(autouse=True)
def published_node(db, settings):
    """One node, as the scheduler of the default backend publishes it at every reconcile."""
    from jobs.services.nodes import publish_nodes

    node = {
        "name": PUBLISHED_NODE,
        "cpu_allocatable": 8.0,
        "cpu_requested": 0.0,
        "memory_allocatable": 32 * 2**30,
        "memory_requested": 0,
        "gpu_allocatable": 0,
        "gpu_requested": 0,
        "labels": {},
    }
    publish_nodes(settings.PETRI_BACKEND, "test-scheduler", [node])


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


HUGE = int("9" * 400)


@pytest.fixture
def typed(db):
    """An algorithm with a float, an int and a string parameter."""
    from jobs.tests.factories import AlgorithmFactory

    return AlgorithmFactory(
        name="typed",
        parameters=[
            {"name": "alpha", "type": "float", "default": 0.5},
            {"name": "depth", "type": "int", "default": 1},
            {"name": "label", "type": "str", "default": "x"},
        ],
    )


def test_a_range_is_counted_before_any_value_is_listed(api, typed, monkeypatch):
    import jobs.sweeps

    def never(*args, **kwargs):
        raise AssertionError("a range over the limit was expanded")

    monkeypatch.setattr(jobs.sweeps, "sweep_values", never)
    alpha = {"start": 0, "stop": 1, "step": 2e-6}

    response = post(api, algorithm="typed", parameters={"alpha": alpha})

    assert_refused(response, "parameters")
    assert "500001 jobs" in str(response.json()["parameters"])


def test_ranges_whose_product_is_over_the_limit_are_refused_by_their_count(api, typed):
    one_thousand = {"start": 1, "stop": 1000, "step": 1}
    parameters = {"depth": one_thousand, "alpha": {"start": 0, "stop": 999, "step": 1}}

    response = post(api, algorithm="typed", parameters=parameters)

    assert_refused(response, "parameters")
    assert "1000000 jobs" in str(response.json()["parameters"])


@pytest.mark.parametrize(
    "parameters",
    [
        {"alpha": HUGE},
        {"alpha": [0.1, -HUGE]},
        {"alpha": {"start": 0, "stop": HUGE, "step": 1}},
        {"alpha": {"start": 0, "stop": 1, "step": 1e-300}},
        {"depth": HUGE},
        {"depth": {"start": 0, "stop": HUGE, "step": 1}},
    ],
    ids=["float", "float-in-list", "range-stop", "tiny-step", "int", "int-range-stop"],
)
def test_numbers_no_machine_holds_are_a_400_naming_the_parameter(api, typed, parameters):
    response = post(api, algorithm="typed", parameters=parameters)

    assert_refused(response, "parameters", next(iter(parameters)))


def test_a_nul_in_a_string_parameter_is_a_400_naming_it(api, typed):
    response = post(api, algorithm="typed", parameters={"label": "a\x00b"})

    assert_refused(response, "parameters", "label")


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        ({"cpu": HUGE}, "cpu"),
        ({"cpu": "9" * 400 + "m"}, "cpu"),
        ({"cpu": 5000}, "cpu"),
        ({"memory": "9" * 400 + "Ti"}, "memory"),
        ({"memory": "65Ti"}, "memory"),
        ({"memory": "0Mi"}, "memory"),
        ({"gpu": HUGE}, "gpu"),
        ({"gpu": 1.5}, "gpu"),
        ({"node": "a\x00b"}, "node"),
        ({"node": "no-such-node"}, "node"),
    ],
    ids=[
        "cpu-digits",
        "cpu-millis-digits",
        "cpu-more-than-a-node",
        "memory-digits",
        "memory-more-than-a-node",
        "memory-zero",
        "gpu-digits",
        "gpu-fraction",
        "node-nul",
        "node-unknown",
    ],
)
def test_resources_beyond_any_node_are_a_400_naming_the_resource(api, typed, resources, field):
    assert_refused(post(api, algorithm="typed", resources=resources), "resources", field)


def test_kubernetes_quantities_are_accepted_and_cpu_is_stored_in_cores(api, typed):
    response = post(api, algorithm="typed", resources={"cpu": "500m", "memory": "512Mi"})

    assert response.status_code == 201, response.content
    assert response.json()["resources"]["cpu"] == 0.5
    assert response.json()["resources"]["memory"] == "512Mi"


def test_a_node_the_backend_lists_may_be_named(api, typed):
    response = post(api, algorithm="typed", resources={"node": PUBLISHED_NODE})

    assert response.status_code == 201, response.content
    assert response.json()["resources"]["node"] == PUBLISHED_NODE


def test_a_node_that_is_not_listed_is_refused_naming_the_nodes_there_are(api, typed):
    response = post(api, algorithm="typed", resources={"node": "gpu-node-7"})

    assert_refused(response, "resources", "node")
    assert PUBLISHED_NODE in response.json()["resources"]["node"][0]


def test_any_node_is_taken_while_no_scheduler_has_published_its_nodes(api, typed):
    from jobs.models import BackendNode

    BackendNode.objects.all().delete()
    response = post(api, algorithm="typed", resources={"node": "gpu-node-7"})

    assert response.status_code == 201, response.content


def test_a_job_with_a_huge_memory_request_never_breaks_the_usage_report(api, user, typed):
    from jobs.tests.factories import finish_job, make_experiment

    experiment = make_experiment(user, algorithm=typed)
    # As stored before resources were bounded.
    Experiment.objects.filter(pk=experiment.pk).update(
        resources={"cpu": HUGE, "memory": "9" * 400 + "Ti", "gpu": 0}
    )
    job = experiment.jobs.get()
    finish_job(job, {"score": 1.0})

    response = api.get("/api/usage/")

    assert response.status_code == 200, response.content
    assert response.json()[0]["attempts"] == 1


def test_a_body_nested_past_any_parser_is_a_400(api, typed):
    body = b'{"algorithm": "typed", "parameters": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = api.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
