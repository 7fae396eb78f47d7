"""Searches through the API: bad search input is a 400 naming its field; the study view."""

from __future__ import annotations

import pytest

from jobs import services
from jobs.models import Job, JobStatus
from jobs.tests.factories import AlgorithmFactory

SCHEMA = [
    {"name": "x", "type": "float", "default": 0.0, "minimum": -10, "maximum": 10},
    {"name": "y", "type": "float", "default": 0.0, "minimum": -10, "maximum": 10},
    {"name": "model", "type": "choice", "values": ["svm", "tree"], "default": "tree"},
    {"name": "gamma", "type": "float", "default": 1.0, "minimum": 0, "maximum": 100},
]


@pytest.fixture
def algorithm(db):
    return AlgorithmFactory(name="space", parameters=SCHEMA)


def post(api, **body):
    return api.post("/api/experiments/", {"algorithm": "space", **body}, format="json")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"parameters": {"x": {"distribution": "uniform", "low": 0}}}, "x", "needs low and high"),
        (
            {"parameters": {"gamma": {"distribution": "log_uniform", "low": 0, "high": 1}}},
            "gamma",
            "low > 0",
        ),
        (
            {"parameters": {"gamma": {"distribution": "uniform", "low": 0, "high": 1000}}},
            "gamma",
            "above the maximum",
        ),
        (
            {"parameters": {"gamma": {"values": [1, 2], "when": {"kernel": "rbf"}}}},
            "gamma",
            "'kernel', which is no parameter",
        ),
        (
            {"parameters": {"gamma": {"values": [1, 2], "when": {"model": "forest"}}}},
            "gamma",
            "not one of",
        ),
        ({"parameters": {"x": {"distribution": "normal", "low": 0, "high": 1}}}, "x", "one of"),
    ],
)
def test_a_bad_distribution_or_condition_is_a_400_naming_the_parameter(
    api, algorithm, body, field, words
):
    response = post(api, strategy="random", objective="score", **body)
    assert response.status_code == 400, response.content
    assert words in response.json()["parameters"][field][0]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"parameters": {"x": {"distribution": "uniform", "low": 0, "high": 1}}},
            "strategy",
            "step",
        ),
        ({"strategy": "annealing", "objective": "score"}, "strategy", "must be one of"),
        (
            {"strategy": "random", "objective": "score", "parameters": {"x": 1}},
            "strategy",
            "at least one parameter",
        ),
        ({"strategy": "tpe", "parameters": {"x": [1, 2]}}, "objective", "needs the metric"),
        ({"parameters": {"x": [1, 2]}, "max_jobs": 5}, "max_jobs", "search strategies only"),
        (
            {"strategy": "random", "objective": "s", "parameters": {"x": [1, 2]}, "max_jobs": 0},
            "max_jobs",
            "between",
        ),
        (
            {"strategy": "tpe", "objective": "s", "parameters": {"x": [1, 2]}, "pruner": "early"},
            "pruner",
            "median",
        ),
        (
            {
                "strategy": "cmaes",
                "parameters": {"x": {"distribution": "uniform", "low": 0, "high": 1}},
                "objectives": [{"name": "a", "order": "min"}, {"name": "b", "order": "max"}],
            },
            "strategy",
            "several objectives",
        ),
        ({"parameters": {"x": [1, 2]}, "goal": 3}, "goal", "needs an objective"),
    ],
)
def test_a_strategy_or_budget_the_space_cannot_use_is_a_400_naming_its_field(
    api, algorithm, body, field, words
):
    response = post(api, **body)
    assert response.status_code == 400, response.content
    assert words in str(response.json()[field]), response.json()
    assert not Job.objects.exists()


def test_a_search_is_created_with_its_first_points_and_reports_its_budget(api, algorithm):
    response = post(
        api,
        strategy="tpe",
        objective="score",
        parameters={"x": {"distribution": "uniform", "low": -5, "high": 5}, "model": "svm"},
        max_jobs=10,
        parallelism=3,
        seed=1,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["strategy"] == "tpe" and body["max_jobs"] == 10 and body["stop_reason"] == ""
    assert body["status"] == "waiting" and body["job_count"] == 3
    assert Job.objects.filter(experiment_id=body["id"]).count() == 3


def test_the_study_view_gives_trials_best_so_far_and_importance(api, algorithm):
    body = post(
        api,
        strategy="random",
        objective="score",
        parameters={
            "x": {"distribution": "uniform", "low": -5, "high": 5},
            "y": {"distribution": "uniform", "low": -5, "high": 5},
        },
        max_jobs=16,
        parallelism=16,
        seed=1,
    ).json()
    for job in Job.objects.filter(experiment_id=body["id"]):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        score = -(job.parameters["x"] ** 2)  # y has no part in it
        services.finish_attempt(job.pk, 1, succeeded=True, metrics={"score": score})
    study = api.get(f"/api/experiments/{body['id']}/study/").json()
    assert study["objectives"] == [{"name": "score", "direction": "maximize"}]
    assert len(study["trials"]) == 16 and study["parameters"] == ["x", "y"]
    bests = [t["best"][0] for t in study["trials"]]
    assert bests == sorted(bests)  # the best so far never gets worse
    assert set(study["importance"]) == {"x", "y"}
    assert study["importance"]["x"] > 3 * study["importance"]["y"]


def test_the_study_view_gives_the_pareto_front_of_two_objectives(api, algorithm):
    body = post(
        api,
        strategy="random",
        parameters={"x": {"distribution": "uniform", "low": 0, "high": 1}},
        objectives=[{"name": "a", "order": "min"}, {"name": "b", "order": "min"}],
        max_jobs=6,
        parallelism=6,
    ).json()
    assert body["objective"] == "a"
    for job in Job.objects.filter(experiment_id=body["id"]):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        x = job.parameters["x"]
        services.finish_attempt(job.pk, 1, succeeded=True, metrics={"a": x, "b": 1 - x})
    study = api.get(f"/api/experiments/{body['id']}/study/").json()
    # a = x and b = 1 - x: no point dominates another, so every trial is on the front.
    assert study["pareto_front"] == list(range(6))


def test_the_study_of_another_users_experiment_is_not_found(other_api, api, algorithm):
    body = post(api, parameters={"x": [1, 2]}).json()
    assert other_api.get(f"/api/experiments/{body['id']}/study/").status_code == 404


def test_more_points_resume_a_search_that_spent_its_budget_keeping_what_ran(
    api, algorithm, django_capture_on_commit_callbacks
):
    body = post(
        api,
        strategy="random",
        objective="score",
        parameters={"x": {"distribution": "uniform", "low": -5, "high": 5}},
        max_jobs=2,
        parallelism=2,
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        for job in Job.objects.filter(experiment_id=body["id"]):
            Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
            services.finish_attempt(job.pk, 1, succeeded=True, metrics={"score": 1})
    ended = api.get(f"/api/experiments/{body['id']}/").json()
    assert ended["status"] == "succeeded" and ended["stop_reason"] == "max_jobs"
    before = set(Job.objects.filter(experiment_id=body["id"]).values_list("pk", flat=True))

    response = api.post(f"/api/experiments/{body['id']}/more/", {"jobs": 3}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["max_jobs"] == 5 and response.json()["status"] == "running"
    jobs = Job.objects.filter(experiment_id=body["id"]).order_by("index")
    assert before < set(jobs.values_list("pk", flat=True))  # the old ones kept, 2 more asked
    assert [job.index for job in jobs] == [0, 1, 2, 3]


@pytest.mark.parametrize(("jobs", "status"), [(0, 400), ("many", 400), (10**9, 400)])
def test_more_points_must_be_a_positive_number_within_the_limit(api, algorithm, jobs, status):
    body = post(
        api,
        strategy="random",
        objective="score",
        parameters={"x": {"distribution": "uniform", "low": -5, "high": 5}},
    ).json()
    response = api.post(f"/api/experiments/{body['id']}/more/", {"jobs": jobs}, format="json")
    assert response.status_code == status and "jobs" in response.json()


def test_more_points_for_a_grid_is_a_conflict_and_for_another_user_not_found(
    api, other_api, algorithm
):
    grid = post(api, parameters={"x": [1, 2]}).json()
    assert (
        api.post(f"/api/experiments/{grid['id']}/more/", {"jobs": 1}, format="json").status_code
        == 409
    )
    search = post(
        api,
        strategy="random",
        objective="s",
        parameters={"x": {"distribution": "uniform", "low": 0, "high": 1}},
    ).json()
    response = other_api.post(f"/api/experiments/{search['id']}/more/", {"jobs": 1}, format="json")
    assert response.status_code == 404


def test_a_study_reads_in_a_notebook_as_optunas_trials_dataframe(api, algorithm):
    from petri_client.frames import study_frame

    body = post(
        api,
        strategy="random",
        objective="score",
        parameters={"x": {"distribution": "uniform", "low": -5, "high": 5}},
        max_jobs=4,
        parallelism=4,
        seed=3,
    ).json()
    jobs = list(Job.objects.filter(experiment_id=body["id"]).order_by("id"))
    for job in jobs[:3]:
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        services.finish_attempt(job.pk, 1, succeeded=True, metrics={"score": job.parameters["x"]})

    frame = study_frame(api.get(f"/api/experiments/{body['id']}/study/").json())

    assert list(frame.columns) == ["number", "value", "params_x", "user_attrs_job", "state"]
    assert list(frame["number"]) == [0, 1, 2, 3]
    assert list(frame["state"]).count("COMPLETE") == 3
    done = frame[frame["state"] == "COMPLETE"]
    assert list(done["value"]) == list(done["params_x"])  # the score was x itself
    assert set(frame["user_attrs_job"]) == {job.pk for job in jobs}
