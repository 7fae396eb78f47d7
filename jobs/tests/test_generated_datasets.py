"""Generators: a succeeded job of a dataset-producing algorithm registers its output."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.base import ContentFile

from jobs import services
from jobs.models import Dataset, Job, JobStatus
from jobs.tests.factories import AlgorithmFactory, make_experiment


def _running_job(owner, algorithm) -> Job:
    experiment = make_experiment(owner, algorithm)
    job = experiment.jobs.get()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    return job


def _output(job: Job, name: str, content: bytes) -> None:
    services.store_output_file(job, name, ContentFile(content), len(content))


@pytest.mark.django_db
def test_a_generator_without_data_csv_fails_with_a_clear_error(user) -> None:
    job = _running_job(user, AlgorithmFactory(produces="dataset", dataset_input="none"))

    job = services.finish_attempt(job.pk, job.attempt, succeeded=True, exit_code=0)

    assert job.status == JobStatus.FAILED
    assert "wrote no data.csv" in job.error
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_a_generator_whose_csv_is_broken_fails_and_stores_nothing(user) -> None:
    job = _running_job(user, AlgorithmFactory(produces="dataset", dataset_input="none"))
    _output(job, "data.csv", b"a,b\n1\n")

    job = services.finish_attempt(job.pk, job.attempt, succeeded=True, exit_code=0)

    assert job.status == JobStatus.FAILED
    assert "line 2 has 1 fields" in job.error
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_a_generator_whose_graph_breaks_the_graph_json_rules_fails_naming_the_truth(user) -> None:
    job = _running_job(user, AlgorithmFactory(produces="dataset", dataset_input="none"))
    _output(job, "data.csv", b"X1,X2\n0.1,0.2\n")
    untyped = {"nodes": ["X1", "X2"], "edges": [{"source": "X1", "target": "X2"}]}
    _output(job, "graph.json", json.dumps(untyped).encode())

    job = services.finish_attempt(job.pk, job.attempt, succeeded=True, exit_code=0)

    assert job.status == JobStatus.FAILED
    assert "truth: edge" in job.error and "type must be one of" in job.error
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_an_ordinary_algorithm_writing_data_csv_registers_nothing(user) -> None:
    job = _running_job(user, AlgorithmFactory())
    _output(job, "data.csv", b"a,b\n1,2\n")

    job = services.finish_attempt(job.pk, job.attempt, succeeded=True, exit_code=0)

    assert job.status == JobStatus.SUCCEEDED
    assert not Dataset.objects.exists()


@pytest.mark.django_db
def test_a_generator_output_becomes_a_dataset_with_its_truth(user) -> None:
    job = _running_job(user, AlgorithmFactory(produces="dataset", dataset_input="none"))
    _output(job, "data.csv", b"X1,X2\n0.1,0.2\n0.3,0.4\n")
    edge = {"source": "X1", "target": "X2", "type": "directed"}
    _output(job, "graph.json", json.dumps({"nodes": ["X1", "X2"], "edges": [edge]}).encode())

    job = services.finish_attempt(job.pk, job.attempt, succeeded=True, exit_code=0)

    assert job.status == JobStatus.SUCCEEDED
    dataset = Dataset.objects.get()
    assert (dataset.owner, dataset.generated_by, dataset.rows) == (user, job, 2)
    assert dataset.truth["edges"] == [edge]
    with dataset.file.open("rb") as handle:
        assert io.BytesIO(handle.read()).getvalue().startswith(b"X1,X2\n")


@pytest.mark.django_db(transaction=True)
def test_the_linear_gaussian_generator_registers_datasets_through_the_real_runner(
    api, user, catalog, local_scheduler
) -> None:
    created = api.post(
        "/api/experiments/",
        {
            "algorithm": "generate-linear-gaussian",
            "parameters": {"nodes": 4, "edge_density": 0.5, "samples": 50, "seed": [1, 2]},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    experiment = created.json()["id"]

    def finished():
        body = api.get(f"/api/experiments/{experiment}/").json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = local_scheduler.run_until(finished, timeout=120, what="both generator jobs")
    assert body["status"] == "succeeded", list(Job.objects.values_list("status", "error"))

    datasets = api.get("/api/datasets/").json()["results"]
    assert len(datasets) == 2
    jobs = set(Job.objects.filter(experiment_id=experiment).values_list("id", flat=True))
    assert {d["generated_by"] for d in datasets} == jobs
    for listed in datasets:
        assert listed["columns"] == ["X1", "X2", "X3", "X4"]
        assert listed["rows"] == 50
        assert listed["has_truth"] is True
        truth = api.get(f"/api/datasets/{listed['id']}/truth/").json()
        assert sorted(truth["nodes"]) == ["X1", "X2", "X3", "X4"]
        assert len(truth["edges"]) == 3  # half of the 6 pairs
    assert datasets[0]["sha256"] != datasets[1]["sha256"]
