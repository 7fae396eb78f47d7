"""Searches: strategies ask Optuna for points as slots free up, from the job table alone."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from jobs import services
from jobs.models import Experiment, Job, JobStatus
from jobs.services.search import top_up, top_up_searches
from jobs.tests.factories import AlgorithmFactory, make_experiment

SPACE_SCHEMA = [
    {"name": "x", "type": "float", "default": 0.0, "minimum": -10, "maximum": 10},
    {"name": "y", "type": "float", "default": 0.0, "minimum": -10, "maximum": 10},
    {"name": "model", "type": "choice", "values": ["svm", "tree"], "default": "tree"},
    {"name": "gamma", "type": "float", "default": 1.0, "minimum": 0.0001, "maximum": 100},
    {"name": "depth", "type": "int", "default": 3, "minimum": 1, "maximum": 20},
]
SPACE = {
    "x": {"distribution": "uniform", "low": -5, "high": 5},
    "y": {"distribution": "uniform", "low": -5, "high": 5},
}


@pytest.fixture
def algorithm(db):
    return AlgorithmFactory(name="space", parameters=SPACE_SCHEMA)


def search(user, algorithm, **kwargs):
    options = {
        "parameters": SPACE,
        "strategy": "random",
        "objective": "score",
        "objective_order": "max",
        "max_jobs": 6,
        "parallelism": 2,
        "seed": 7,
        **kwargs,
    }
    return make_experiment(user, algorithm, **options)


def succeed(job: Job, metrics: dict) -> None:
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    services.finish_attempt(job.pk, job.attempt, succeeded=True, metrics=metrics)


def finish_live(experiment: Experiment) -> list[Job]:
    live = list(Job.objects.filter(experiment=experiment, status=JobStatus.WAITING))
    for job in live:
        p = job.parameters
        succeed(job, {"score": -((p["x"] - 1) ** 2) - (p["y"] + 2) ** 2})
    return live


def test_a_search_queues_as_many_points_as_its_parallelism_allows(user, algorithm):
    experiment = search(user, algorithm)
    jobs = list(Job.objects.filter(experiment=experiment))
    assert len(jobs) == 2
    assert all(-5 <= job.parameters["x"] <= 5 for job in jobs)
    assert jobs[0].parameters != jobs[1].parameters
    # Fixed parameters are filled from the schema: the runner gets every parameter.
    assert jobs[0].parameters["model"] == "tree" and jobs[0].parameters["depth"] == 3
    assert top_up(experiment.pk) == 0  # no slot is free
    experiment.refresh_from_db()
    assert experiment.job_count == 2 and experiment.stop_reason == ""


def test_a_search_asks_for_more_points_as_jobs_end_and_stops_at_max_jobs(
    user, algorithm, django_capture_on_commit_callbacks
):
    experiment = search(user, algorithm)
    with django_capture_on_commit_callbacks(execute=True):
        while finish_live(experiment):
            top_up_searches()
    experiment.refresh_from_db()
    assert Job.objects.filter(experiment=experiment).count() == 6
    assert experiment.stop_reason == "max_jobs"
    assert experiment.notified_at is not None  # ended, once stopped and its jobs done
    assert [j.index for j in Job.objects.filter(experiment=experiment)] == list(range(6))


def test_a_search_rebuilt_from_the_same_rows_asks_the_same_points(user, algorithm):
    """Nothing lives in a scheduler's memory: a restart (or another replica) asks the same."""
    first = search(user, algorithm, strategy="tpe")
    second = search(user, algorithm, strategy="tpe")
    for _ in range(2):
        for experiment in (first, second):
            finish_live(experiment)
            top_up(experiment.pk)

    def points(experiment):
        return [j.parameters for j in Job.objects.filter(experiment=experiment).order_by("index")]

    assert points(first) == points(second)


@pytest.mark.parametrize("strategy", ["random", "sobol", "tpe", "cmaes"])
def test_every_strategy_searches_the_space_without_asking_a_point_twice(user, algorithm, strategy):
    experiment = search(user, algorithm, strategy=strategy, max_jobs=12, parallelism=3)
    while finish_live(experiment):
        top_up(experiment.pk)
    points = [
        (j.parameters["x"], j.parameters["y"]) for j in Job.objects.filter(experiment=experiment)
    ]
    assert len(points) == 12 and len(set(points)) == 12
    assert all(-5 <= x <= 5 and -5 <= y <= 5 for x, y in points)


def score(x: float, y: float) -> float:
    return -((x - 1) ** 2) - (y + 2) ** 2


def asked_in_one_process(sampler: optuna.samplers.BaseSampler, n: int) -> list[tuple]:
    """Plain Optuna, as its docs use it: ask, suggest x then y, tell, one trial at a time."""
    study = optuna.create_study(direction="maximize", sampler=sampler)
    points = []
    for _ in range(n):
        trial = study.ask()
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
        study.tell(trial, score(x, y))
        points.append((x, y))
    return points


def asked_by_petri(experiment: Experiment, restart_after: int) -> list[tuple]:
    """Run the search to its end, restarting the scheduler once: no Python object kept, and
    numpy's global stream moved on as in a new process."""
    while True:
        live = finish_live(experiment)
        if not live:
            break
        if experiment.job_count >= restart_after > experiment.job_count - len(live):
            np.random.seed(12345)
            experiment = Experiment.objects.get(pk=experiment.pk)
        top_up(experiment.pk)
        experiment.refresh_from_db()
    jobs = Job.objects.filter(experiment=experiment).order_by("index")
    return [(j.parameters["x"], j.parameters["y"]) for j in jobs]


@pytest.mark.parametrize(
    ("strategy", "parallelism", "in_process"),
    [
        ("random", 1, lambda: optuna.samplers.RandomSampler(seed=7)),
        ("random", 3, lambda: optuna.samplers.RandomSampler(seed=7)),
        ("sobol", 1, lambda: optuna.samplers.QMCSampler(qmc_type="sobol", seed=7, scramble=True)),
        ("tpe", 1, lambda: optuna.samplers.TPESampler(seed=7, n_startup_trials=10)),
        ("cmaes", 1, lambda: optuna.samplers.CmaEsSampler(seed=7)),
    ],
)
def test_a_search_asks_the_points_its_sampler_asks_in_one_process_with_the_same_seed(
    user, algorithm, strategy, parallelism, in_process
):
    """Random points do not depend on results, so any parallelism gives Optuna's stream; a
    model-based sampler gives it when each point is told before the next is asked."""
    experiment = search(user, algorithm, strategy=strategy, max_jobs=16, parallelism=parallelism)
    petri = asked_by_petri(experiment, restart_after=5)
    assert len(petri) == 16
    assert petri == asked_in_one_process(in_process(), 16)


def test_a_search_asked_before_its_streams_were_saved_asks_no_point_again(user, algorithm):
    experiment = search(user, algorithm, max_jobs=8)
    finish_live(experiment)
    Experiment.objects.filter(pk=experiment.pk).update(search_state={"study": {}, "trials": {}})
    assert top_up(experiment.pk) == 2
    points = [
        (j.parameters["x"], j.parameters["y"]) for j in Job.objects.filter(experiment=experiment)
    ]
    assert len(set(points)) == 4
    experiment.refresh_from_db()
    assert set(experiment.search_state["rng"]) == {"_rng"}  # saved from now on


def test_sobol_walks_on_through_its_sequence_across_rebuilds(user, algorithm):
    experiment = search(user, algorithm, strategy="sobol", parallelism=1, max_jobs=4)
    while finish_live(experiment):
        top_up(experiment.pk)
    experiment.refresh_from_db()
    assert any(k.startswith("qmc:") for k in experiment.search_state["study"])
    xs = [j.parameters["x"] for j in Job.objects.filter(experiment=experiment)]
    assert len(set(xs)) == 4


def test_a_conditional_parameter_is_sampled_only_when_its_condition_holds(user, algorithm):
    space = {
        "model": {"distribution": "choice", "choices": ["svm", "tree"]},
        "gamma": {
            "distribution": "log_uniform",
            "low": 0.001,
            "high": 10,
            "when": {"model": "svm"},
        },
        "depth": {"distribution": "int", "low": 2, "high": 9, "when": {"model": "tree"}},
    }
    experiment = search(user, algorithm, parameters=space, max_jobs=16, parallelism=16)
    jobs = list(Job.objects.filter(experiment=experiment))
    assert {j.parameters["model"] for j in jobs} == {"svm", "tree"}
    for job in jobs:
        if job.parameters["model"] == "svm":
            assert job.parameters["depth"] == 3 and 0.001 <= job.parameters["gamma"] <= 10
        else:
            assert job.parameters["gamma"] == 1.0 and 2 <= job.parameters["depth"] <= 9


def test_a_grid_with_a_condition_makes_no_duplicate_jobs(user, algorithm):
    space = {
        "model": ["svm", "tree"],
        "gamma": {"values": [0.1, 1, 10], "when": {"model": "svm"}},
        "depth": {"distribution": "int", "low": 2, "high": 4, "when": {"model": "tree"}},
    }
    experiment = make_experiment(user, algorithm, parameters=space)
    params = [j.parameters for j in Job.objects.filter(experiment=experiment)]
    assert experiment.job_count == len(params) == 3 + 3
    assert len({tuple(sorted(p.items())) for p in params}) == 6


def test_a_goal_reached_stops_the_search_and_cancels_what_is_queued(user, algorithm):
    experiment = search(user, algorithm, goal=-1000.0)
    first, second = Job.objects.filter(experiment=experiment)
    succeed(first, {"score": -1.0})
    top_up_searches()
    experiment.refresh_from_db()
    assert experiment.stop_reason == "goal" and experiment.stopped_at is not None
    assert Job.objects.get(pk=second.pk).status == JobStatus.CANCELLED
    assert Job.objects.filter(experiment=experiment).count() == 2


def test_max_failed_stops_a_grid_too_with_its_reason(user, algorithm):
    experiment = make_experiment(user, algorithm, parameters={"depth": [1, 2, 3, 4]}, max_failed=2)
    jobs = list(Job.objects.filter(experiment=experiment))
    for job in jobs[:2]:
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        services.fail_attempt(job.pk, 1, "algorithm_error", "boom")
    top_up_searches()
    experiment.refresh_from_db()
    assert experiment.stop_reason == "max_failed"
    statuses = sorted(Job.objects.filter(experiment=experiment).values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "failed", "failed"]


def test_a_spent_time_budget_stops_the_search(user, algorithm):
    from datetime import timedelta

    experiment = search(user, algorithm, max_seconds=60)
    top_up_searches(experiment.created_at + timedelta(seconds=61))
    experiment.refresh_from_db()
    assert experiment.stop_reason == "time_budget"
    assert not Job.objects.filter(experiment=experiment, status=JobStatus.WAITING).exists()


def test_cancelling_a_search_between_points_stops_it_for_good(
    user, algorithm, django_capture_on_commit_callbacks
):
    experiment = search(user, algorithm)
    finish_live(experiment)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_experiment(experiment)
    assert top_up(experiment.pk) == 0
    experiment.refresh_from_db()
    assert experiment.stop_reason == "cancelled"
    assert experiment.notified_at is not None


def test_a_multi_objective_search_tells_both_values(user, algorithm):
    experiment = search(
        user,
        algorithm,
        strategy="tpe",
        objectives=[{"name": "score", "order": "max"}, {"name": "cost", "order": "min"}],
    )
    for job in Job.objects.filter(experiment=experiment):
        succeed(job, {"score": -(job.parameters["x"] ** 2), "cost": abs(job.parameters["y"])})
    assert top_up(experiment.pk) == 2
    experiment.refresh_from_db()
    assert experiment.objective == "score" and len(experiment.objectives) == 2


def running_with_curve(job: Job, values: list[float]) -> None:
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    events = [
        {"type": "metric", "name": "loss", "value": v, "step": i + 1} for i, v in enumerate(values)
    ]
    services.record_events(job.pk, job.attempt, events)


@pytest.mark.parametrize("pruner", ["median", "successive_halving", "hyperband"])
def test_a_pruner_stops_a_job_worse_than_the_others_and_it_ends_pruned(user, algorithm, pruner):
    config = {"type": pruner, "metric": "loss", "order": "min", "startup_trials": 2}
    if pruner == "hyperband":
        config["max_resource"] = 9
    experiment = search(user, algorithm, pruner=config, max_jobs=6, parallelism=6)
    jobs = list(Job.objects.filter(experiment=experiment).order_by("index"))
    for job in jobs[:4]:
        running_with_curve(job, [1.0, 0.5, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1])
        services.finish_attempt(job.pk, 1, succeeded=True, metrics={"score": 1})
    good, bad = jobs[4], jobs[5]
    running_with_curve(good, [0.9, 0.4, 0.2])
    assert Job.objects.get(pk=good.pk).status == JobStatus.RUNNING
    running_with_curve(bad, [50.0, 40.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0])
    bad.refresh_from_db()
    assert bad.status == JobStatus.CANCELLING and bad.failure_reason == "pruned"
    services.mark_cancelled(bad.pk, bad.attempt)  # the scheduler stopped its process
    bad.refresh_from_db()
    assert bad.status == JobStatus.PRUNED and bad.finished_at is not None
    with pytest.raises(services.lifecycle.Conflict):
        services.retry_job(bad)  # pruned is final: not a failure to retry


def test_metrics_of_an_experiment_without_a_pruner_never_stop_a_job(user, algorithm):
    experiment = search(user, algorithm)
    job = Job.objects.filter(experiment=experiment).first()
    running_with_curve(job, [1e9, 1e9, 1e9])
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_pruned_jobs_count_in_the_experiment_and_are_told_to_the_sampler(user, algorithm):
    from jobs.services.search import trial_records
    from jobs.status import derive_status, job_counts

    experiment = search(user, algorithm, pruner={"type": "median", "metric": "loss"})
    job = Job.objects.filter(experiment=experiment).first()
    running_with_curve(job, [3.0, 2.0])
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLING, failure_reason="pruned")
    services.mark_cancelled(job.pk, 1)
    counts = job_counts(experiment)
    assert counts["pruned"] == 1
    assert derive_status(counts) != "failed"
    experiment.refresh_from_db()
    record = next(r for r in trial_records(experiment) if r.job_id == job.pk)
    assert record.state.name == "PRUNED" and record.intermediate == {1: 3.0, 2: 2.0}


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_topping_up_at_once_ask_each_point_once(user, algorithm, monkeypatch):
    import threading

    from django.db import connections

    from jobs.services import search as search_service

    experiment = search(user, algorithm, parallelism=3, max_jobs=20)
    Job.objects.filter(experiment=experiment).delete()  # three free slots
    inside, release = threading.Event(), threading.Event()
    real_parse = search_service.parse_space

    def slow_parse(*args, **kwargs):
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(10)  # holds the experiment's lock while the second replica tries
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(search_service, "parse_space", slow_parse)
    queued: dict[str, int] = {}

    def replica():
        try:
            queued[threading.current_thread().name] = top_up(experiment.pk)
        finally:
            connections.close_all()

    first = threading.Thread(target=replica, name="first")
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=replica, name="second")
    second.start()
    second.join(10)
    release.set()
    first.join(10)
    assert queued == {"first": 3, "second": 0}
    assert Job.objects.filter(experiment=experiment).count() == 3
