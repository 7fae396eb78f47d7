"""GET /api/jobs/?ordering=metrics__<name> and ?metric=<name>__<op>:<value>."""

from __future__ import annotations

import pytest

from jobs.tests.factories import finish_job, make_experiment

SHDS = [3, 0.5, None, 12, 7]  # None: that job reported no shd


@pytest.fixture
def jobs(user):
    experiment = make_experiment(user, parameters={"n": [0, 1, 2, 3, 4]})
    jobs = list(experiment.jobs.order_by("index"))
    for job, shd in zip(jobs, SHDS, strict=True):
        metrics = {"f1": 1.0 / (job.index + 1)}
        if shd is not None:
            metrics["shd"] = shd
        finish_job(job, metrics)
    return jobs


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [job["id"] for job in response.json()["results"]]


def test_jobs_sort_by_a_metric_ascending_with_jobs_lacking_it_last(api, jobs):
    got = ids(api.get("/api/jobs/?ordering=metrics__shd"))
    assert got == [jobs[i].pk for i in (1, 0, 4, 3, 2)]


def test_jobs_sort_by_a_metric_descending_with_jobs_lacking_it_still_last(api, jobs):
    got = ids(api.get("/api/jobs/?ordering=-metrics__shd"))
    assert got == [jobs[i].pk for i in (3, 4, 0, 1, 2)]


def test_a_metric_ordering_combines_with_an_ordinary_field(api, jobs):
    got = ids(api.get("/api/jobs/?ordering=-metrics__f1,id"))
    assert got == [job.pk for job in jobs]


def test_a_metric_condition_filters_jobs_and_skips_those_without_the_metric(api, jobs):
    assert ids(api.get("/api/jobs/?metric=shd__lt:5&ordering=id")) == [jobs[0].pk, jobs[1].pk]
    assert ids(api.get("/api/jobs/?metric=shd__gte:7&ordering=id")) == [jobs[3].pk, jobs[4].pk]
    assert ids(api.get("/api/jobs/?metric=shd__eq:0.5")) == [jobs[1].pk]
    assert ids(api.get("/api/jobs/?metric=shd__lte:3&ordering=id")) == [jobs[0].pk, jobs[1].pk]
    assert ids(api.get("/api/jobs/?metric=shd__gt:-1e9&ordering=id")) == [
        jobs[i].pk for i in (0, 1, 3, 4)
    ]


def test_several_metric_conditions_must_all_hold(api, jobs):
    got = ids(api.get("/api/jobs/?metric=shd__gt:1&metric=f1__gt:0.25&ordering=id"))
    assert got == [jobs[0].pk]


def test_metric_conditions_combine_with_the_other_filters(api, jobs, user):
    other = make_experiment(user, parameters={"n": 1}).jobs.get()
    finish_job(other, {"shd": 1})
    experiment = jobs[0].experiment_id
    got = ids(api.get(f"/api/jobs/?experiment={experiment}&metric=shd__lt:2"))
    assert got == [jobs[1].pk]


@pytest.mark.parametrize(
    "condition", ["shd", "shd:5", "shd__lt", "shd__below:5", "shd__lt:five", "__lt:5", "x__lt:nan"]
)
def test_a_malformed_metric_condition_is_a_400_naming_metric(api, jobs, condition):
    response = api.get("/api/jobs/", {"metric": condition})
    assert response.status_code == 400
    assert list(response.json()) == ["metric"]


@pytest.mark.parametrize("ordering", ["metrics__", "-metrics__", "metrics__shd,secret_field"])
def test_a_malformed_metric_ordering_is_a_400_naming_ordering(api, jobs, ordering):
    response = api.get("/api/jobs/", {"ordering": ordering})
    assert response.status_code == 400
    assert list(response.json()) == ["ordering"]


def test_metric_queries_never_reveal_another_users_jobs(other_api, jobs):
    assert other_api.get("/api/jobs/?ordering=metrics__shd").json()["count"] == 0
    assert other_api.get("/api/jobs/?metric=shd__gt:-1").json()["count"] == 0


@pytest.fixture
def swept(user):
    experiment = make_experiment(
        user, parameters={"n": [10, 2, 33]}, objective="f1", objective_order="max"
    )
    jobs = list(experiment.jobs.order_by("index"))
    finish_job(jobs[0], {"f1": 0.5})
    return experiment, jobs


def test_jobs_sort_by_a_parameter_numerically_in_both_directions(api, swept):
    experiment, jobs = swept
    base = f"/api/jobs/?experiment={experiment.pk}&ordering="
    assert ids(api.get(base + "parameters__n")) == [jobs[i].pk for i in (1, 0, 2)]
    assert ids(api.get(base + "-parameters__n")) == [jobs[i].pk for i in (2, 0, 1)]


def test_jobs_without_a_runtime_sort_last_in_both_directions(api, swept):
    experiment, jobs = swept
    base = f"/api/jobs/?experiment={experiment.pk}&ordering="
    assert ids(api.get(base + "runtime"))[0] == jobs[0].pk
    assert ids(api.get(base + "-runtime"))[0] == jobs[0].pk


def test_a_parameter_condition_filters_jobs_as_numbers(api, swept):
    experiment, jobs = swept
    base = f"/api/jobs/?experiment={experiment.pk}&ordering=id&param="
    assert ids(api.get(base + "n__gt:5")) == [jobs[0].pk, jobs[2].pk]
    assert ids(api.get(base + "n__eq:2")) == [jobs[1].pk]


def test_a_text_parameter_condition_other_than_eq_is_refused_naming_param(api, swept):
    experiment, _ = swept
    response = api.get(f"/api/jobs/?experiment={experiment.pk}&param=n__lt:abc")
    assert response.status_code == 400
    assert "param" in response.json()


def test_an_experiments_columns_name_its_swept_parameters_and_reported_metrics(api, swept):
    experiment, _ = swept
    response = api.get(f"/api/experiments/{experiment.pk}/columns/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["parameters"] == ["n"]
    assert body["metrics"] == ["f1"]
    assert (body["objective"], body["objective_order"]) == ("f1", "max")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("experiment=99999999999999999999", "experiment"),
        ("experiment=1e30", "experiment"),
        ("metric=sh%00d__lt:5", "metric"),
        ("ordering=-metrics__sh%00d", "ordering"),
        ("ordering=na%00me", "ordering"),
    ],
    ids=["experiment-20-digits", "experiment-1e30", "metric-nul", "ordering-metric-nul", "nul"],
)
def test_a_query_parameter_no_database_could_hold_is_a_400_naming_it(api, jobs, query, field):
    response = api.get(f"/api/jobs/?{query}")

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_has_metric_keeps_only_the_jobs_that_reported_it(api, user, catalog):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2, 3]})
    first, second, _ = experiment.jobs.order_by("index")
    finish_job(first, {"score": 1.0, "loss": 2.0})
    finish_job(second, {"loss": 0.5})
    listed = api.get(f"/api/jobs/?experiment={experiment.pk}&has_metric=score").json()
    assert [job["id"] for job in listed["results"]] == [first.pk]
    both = api.get(f"/api/jobs/?experiment={experiment.pk}&has_metric=loss").json()
    assert both["count"] == 2
    assert api.get("/api/jobs/?has_metric=").json() == {"has_metric": ["must be a metric's name"]}
