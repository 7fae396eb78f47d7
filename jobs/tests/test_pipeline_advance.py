"""A pipeline advances when its experiments end: fan-out, policies, compare, cancel and retry."""

from __future__ import annotations

import pytest

from jobs.errors import Conflict
from jobs.models import Dataset, JobStatus, Pipeline
from jobs.services.pipelines import (
    advance_pipeline,
    cancel_pipeline,
    retry_pipeline,
    submit_pipeline,
)
from jobs.tests.factories import finish_job
from jobs.tests.pipeline_helpers import (
    FOUND,
    algorithms,
    experiments,
    fail,
    stage_jobs,
    study,
    succeed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog_algorithms(db):
    return algorithms()


def statuses(pipeline) -> dict[str, str]:
    pipeline.refresh_from_db()
    return {"pipeline": pipeline.status, **dict(pipeline.stages.values_list("name", "status"))}


def test_each_generated_dataset_fans_out_into_one_experiment_per_downstream_stage(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study())

    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))

    assert statuses(pipeline) == {
        "pipeline": "running",
        "generate": "succeeded",
        "disc": "running",
        "other": "running",
        "compare": "pending",
    }
    generated = set(Dataset.objects.filter(generated_by__isnull=False).values_list("pk", flat=True))
    assert len(generated) == 2
    for stage in ("disc", "other"):
        assert set(experiments(pipeline, stage).values_list("dataset", flat=True)) == generated


def test_the_compare_stage_scores_every_discovery_job_against_its_datasets_truth(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study())
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "disc"), graph=FOUND)
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "other"))

    assert statuses(pipeline)["pipeline"] == "succeeded"
    table = pipeline.stages.get(name="compare").result
    rows = table["rows"]
    assert len(rows) == 4
    assert {(row["stage"], row["algorithm"]) for row in rows} == {
        ("disc", "disc"),
        ("other", "other"),
    }
    scored = [row for row in rows if row["stage"] == "disc"]
    # The reversed edge: the skeleton is right, the orientation wrong, SHD 1.
    assert all(row["shd"] == 1 and row["precision"] == 1.0 for row in scored)
    assert all(row["orientation_recall"] == 0.0 for row in scored)
    unscored = [row for row in rows if row["stage"] == "other"]
    assert all("wrote no graph.json" in row["problem"] for row in unscored)


def test_a_failed_stage_that_stops_the_pipeline_cancels_the_rest(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study())
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))

    fail(django_capture_on_commit_callbacks, stage_jobs(pipeline, "disc")[:1])

    assert statuses(pipeline) == {
        "pipeline": "failed",
        "generate": "succeeded",
        "disc": "failed",
        "other": "cancelled",
        "compare": "skipped",
    }
    unfinished = stage_jobs(pipeline, "other").exclude(status=JobStatus.CANCELLED)
    assert not unfinished.exists()
    assert stage_jobs(pipeline, "disc").filter(status=JobStatus.CANCELLED).count() == 1


def test_a_stage_that_continues_on_failure_feeds_on_what_succeeded(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study(generate={"on_failure": "continue"}))
    first, second = stage_jobs(pipeline, "generate")

    fail(django_capture_on_commit_callbacks, [first])
    succeed(django_capture_on_commit_callbacks, [second])

    assert statuses(pipeline)["generate"] == "failed"
    assert experiments(pipeline, "disc").count() == 1
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "disc"), graph=FOUND)
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "other"), graph=FOUND)
    assert statuses(pipeline) == {
        "pipeline": "failed",  # it ran to the end, but not everything succeeded
        "generate": "failed",
        "disc": "succeeded",
        "other": "succeeded",
        "compare": "succeeded",
    }
    assert len(pipeline.stages.get(name="compare").result["rows"]) == 2


def test_a_stage_whose_upstream_produced_nothing_is_skipped(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study(generate={"on_failure": "continue"}))

    fail(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))

    state = statuses(pipeline)
    assert state["pipeline"] == "failed"
    assert state["disc"] == state["other"] == "skipped"
    assert pipeline.stages.get(name="disc").error == "stage 'generate' produced no dataset"


def test_the_best_jobs_parameters_feed_the_next_stage(user, django_capture_on_commit_callbacks):
    spec = study(
        disc={"parameters": {"n": [3, 7]}, "objective": "score"},
        other={"inputs": {"dataset": "generate", "parameters": "disc"}},
    )
    pipeline = submit_pipeline(user, spec)
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))
    for job in stage_jobs(pipeline, "disc"):
        succeed(django_capture_on_commit_callbacks, [job], metrics={"score": job.parameters["n"]})

    assert {job.parameters["n"] for job in stage_jobs(pipeline, "other")} == {7}


def test_cancel_stops_every_running_experiment_and_pending_stage(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study())

    with django_capture_on_commit_callbacks(execute=True):
        cancel_pipeline(pipeline)

    assert set(statuses(pipeline).values()) == {"cancelled"}
    assert set(stage_jobs(pipeline, "generate").values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(Conflict):
        cancel_pipeline(pipeline)


def test_retry_reruns_what_did_not_succeed_and_keeps_what_did(
    user, django_capture_on_commit_callbacks
):
    pipeline = submit_pipeline(user, study())
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))
    fail(django_capture_on_commit_callbacks, stage_jobs(pipeline, "disc")[:1])
    generate_experiments = list(experiments(pipeline, "generate"))
    failed_experiments = set(experiments(pipeline, "disc").values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        retry_pipeline(pipeline)

    assert statuses(pipeline) == {
        "pipeline": "running",
        "generate": "succeeded",
        "disc": "running",
        "other": "running",
        "compare": "pending",
    }
    assert list(experiments(pipeline, "generate")) == generate_experiments
    disc = pipeline.stages.get(name="disc")
    assert set(disc.previous_experiments) == failed_experiments
    assert not failed_experiments & set(experiments(pipeline, "disc").values_list("pk", flat=True))
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "disc"), graph=FOUND)
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "other"), graph=FOUND)
    assert statuses(pipeline)["pipeline"] == "succeeded"


def test_retry_of_a_running_pipeline_is_a_conflict(user):
    pipeline = submit_pipeline(user, study())

    with pytest.raises(Conflict):
        retry_pipeline(pipeline)


def test_advancing_again_changes_nothing(user, django_capture_on_commit_callbacks):
    pipeline = submit_pipeline(user, study())
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))
    before = statuses(pipeline), experiments(pipeline, "disc").count()

    advance_pipeline(pipeline.pk)
    advance_pipeline(pipeline.pk)

    assert (statuses(pipeline), experiments(pipeline, "disc").count()) == before
    assert Pipeline.objects.count() == 1


def test_a_named_output_file_of_each_upstream_job_becomes_a_dataset_input(
    user, django_capture_on_commit_callbacks
):
    spec = study(other={"inputs": {"dataset": {"stage": "disc", "file": "out.csv"}}})
    pipeline = submit_pipeline(user, spec)
    succeed(django_capture_on_commit_callbacks, stage_jobs(pipeline, "generate"))
    for job in stage_jobs(pipeline, "disc"):
        with django_capture_on_commit_callbacks(execute=True):
            finish_job(job, files={"out.csv": f"a,b\n{job.pk},0\n".encode()})

    datasets = Dataset.objects.filter(experiment__pipeline_stage__name="other")
    assert sorted(datasets.values_list("rows", flat=True)) == [1, 1]
    assert all(dataset.truth is None and dataset.columns == ["a", "b"] for dataset in datasets)
    assert statuses(pipeline)["other"] == "running"


def test_beats_safety_net_advances_a_pipeline_whose_hook_was_lost(
    user, django_capture_on_commit_callbacks
):
    from functools import partial

    from jobs.tasks import advance_running_pipelines

    pipeline = submit_pipeline(user, study())
    # The jobs end, but the process dies before the on-commit hooks advance the pipeline.
    lost = partial(django_capture_on_commit_callbacks, execute=False)
    succeed(lambda execute: lost(), stage_jobs(pipeline, "generate"))
    assert statuses(pipeline)["generate"] == "running"

    assert advance_running_pipelines() == 1

    assert statuses(pipeline)["generate"] == "succeeded"
    assert experiments(pipeline, "disc").count() == 2
