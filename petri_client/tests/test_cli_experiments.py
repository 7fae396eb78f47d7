"""``petri list``, ``retry``, ``compare``, ``export`` and every experiment key, against a server."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from jobs import services
from jobs.models import Experiment, FailureReason, Job, JobStatus, Quota
from jobs.tests.factories import finish_job, make_experiment
from petri_client.cli import EXPERIMENT_KEYS

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = {"nodes": ["a", "b"], "edges": [{"source": "a", "target": "b", "type": "directed"}]}
REVERSED = {"nodes": ["a", "b"], "edges": [{"source": "b", "target": "a", "type": "directed"}]}


def test_the_cli_takes_exactly_the_keys_the_api_takes():
    from webapp.api.serializers import ExperimentCreateSerializer

    assert set(ExperimentCreateSerializer().fields) == EXPERIMENT_KEYS


@pytest.fixture
def held(user):
    """The scheduler never starts this user's jobs, so the tests decide how each one ends."""
    Quota.objects.create(user=user, max_running=0)
    return user


def fail(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    services.fail_attempt(job.pk, job.attempt, FailureReason.ALGORITHM_ERROR, "boom")


@pytest.fixture
def finished(held, catalog):
    """Three jobs: two succeeded with graphs (one a negative metric), one failed."""
    experiment = make_experiment(
        held,
        catalog["sleep-and-score"],
        name="sweep =1+1",
        parameters={"x": [1, 2, 3]},
        max_attempts=1,
    )
    first, second, third = experiment.jobs.order_by("index")
    finish_job(first, {"score": -3.5}, {"graph.json": json.dumps(GRAPH).encode()})
    finish_job(second, {"score": 2}, {"graph.json": json.dumps(REVERSED).encode()})
    fail(third)
    return experiment


def api_export(user, experiment: Experiment) -> bytes:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/experiments/{experiment.pk}/export.csv")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_export_and_results_csv_write_the_apis_export_byte_for_byte(
    signed_in, finished, user, tmp_path
):
    expected = api_export(user, finished)
    to_stdout = signed_in("export", str(finished.pk), text=False)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout == expected
    written = signed_in("results", str(finished.pk), "--csv", "results.csv")
    assert written.returncode == 0, written.stderr
    assert "3 jobs written to results.csv" in written.stdout
    assert (tmp_path / "results.csv").read_bytes() == expected
    header = next(csv.reader(io.StringIO(expected.decode())))
    assert header[:3] == ["id", "status", "attempt"] and "metrics.score" in header


def test_list_shows_each_experiment_and_filters_by_status(signed_in, finished, held, catalog):
    waiting = make_experiment(held, catalog["sleep-and-score"], name="later")
    listed = signed_in("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "name", "algorithm", "status"]
    assert any(line.startswith(f"{finished.pk} ") and "failed" in line for line in lines)
    assert any(line.startswith(f"{waiting.pk} ") and "waiting" in line for line in lines)
    only = signed_in("list", "--status", "waiting").stdout.splitlines()[2:]
    assert [line.split()[0] for line in only] == [str(waiting.pk)]


def test_retry_queues_the_failed_jobs_again_and_one_job_with_job(signed_in, finished):
    retried = signed_in("retry", str(finished.pk))
    assert retried.returncode == 0, retried.stderr
    assert f"experiment {finished.pk}: 1 failed jobs queued again" in retried.stdout
    job = finished.jobs.get(index=2)
    assert (job.status, job.attempt) == (JobStatus.WAITING, 2)
    again = signed_in("retry", str(finished.pk))
    assert again.returncode == 1 and "no failed jobs" in again.stderr
    fail(job)
    one = signed_in("retry", "--job", str(job.pk))
    assert one.returncode == 0, one.stderr
    assert f"job {job.pk} is waiting (attempt 3)" in one.stdout


def test_compare_prints_the_apis_figures_for_each_other_job(signed_in, finished, user):
    first, second = finished.jobs.filter(status=JobStatus.SUCCEEDED).order_by("index")
    compared = signed_in("compare", str(first.pk), str(second.pk))
    assert compared.returncode == 0, compared.stderr
    header, _, row = compared.stdout.splitlines()[:3]
    client = APIClient()
    client.force_authenticate(user)
    expected = client.get(f"/api/jobs/{first.pk}/compare/?with={second.pk}").json()
    assert header.split()[:2] == ["job", "with"]
    shd = header.split().index("shd")
    assert row.split()[:2] == [str(first.pk), str(second.pk)]
    assert float(row.split()[shd]) == expected["shd"] == 1


def test_submit_takes_the_objective_and_uploaded_code_with_its_schema(signed_in, held, tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "algo.py").write_text("print('hello')\n")
    (tmp_path / "experiment.yaml").write_text(
        "name: uploaded\n"
        "artifact: code\n"
        "entrypoint: [python, algo.py]\n"
        "parameter_schema:\n"
        "  k: {type: int, default: 1, minimum: 0, maximum: 9}\n"
        "parameters: {k: [1, 2]}\n"
        "objective: score\n"
        "objective_order: max\n"
    )
    submitted = signed_in("submit", "experiment.yaml")
    assert submitted.returncode == 0, submitted.stderr
    assert "uploaded" in submitted.stdout and "2 jobs submitted" in submitted.stdout
    experiment = Experiment.objects.get(name="uploaded")
    assert (experiment.objective, experiment.objective_order) == ("score", "max")
    assert experiment.algorithm.owner_id == held.pk
    assert experiment.jobs.count() == 2


def test_an_unknown_key_is_refused_before_anything_is_sent(signed_in, held, tmp_path):
    (tmp_path / "typo.yaml").write_text("algorithm: sleep-and-score\nobjectiv: score\n")
    refused = signed_in("submit", "typo.yaml")
    assert refused.returncode == 1 and "unknown keys objectiv" in refused.stderr
    assert not Experiment.objects.exists()
