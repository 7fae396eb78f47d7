"""GET /api/experiments/<id>/summary/, export.csv and outputs.zip, each re-read and checked."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from jobs.tests.factories import finish_job, make_experiment


@pytest.fixture
def experiment(user):
    """Four jobs: three scored (loss 0.3, 0.1, 0.2), one still waiting."""
    experiment = make_experiment(
        user, parameters={"n": [0, 1, 2, 3], "mode": "b"}, objective="loss", objective_order="min"
    )
    jobs = list(experiment.jobs.order_by("index"))
    for job, loss in zip(jobs[:3], (0.3, 0.1, 0.2), strict=True):
        finish_job(
            job,
            {"loss": loss, "steps": 10 + job.index},
            {"out.txt": f"job {job.index}".encode(), "plots/curve.csv": b"x,y\n1,2\n"},
        )
    experiment.test_jobs = jobs
    return experiment


def test_the_summary_ranks_jobs_by_the_objective_best_first_with_counts(api, experiment):
    response = api.get(f"/api/experiments/{experiment.pk}/summary/")
    assert response.status_code == 200, response.content
    body = response.json()
    jobs = experiment.test_jobs
    assert (body["metric"], body["order"]) == ("loss", "min")
    assert [row["id"] for row in body["jobs"]] == [jobs[i].pk for i in (1, 2, 0, 3)]
    assert body["best"]["id"] == jobs[1].pk
    assert body["best"]["parameters"] == {"n": 1, "mode": "b"}
    assert body["best"]["metrics"] == {"loss": 0.1, "steps": 11}
    assert body["best"]["status"] == "succeeded" and body["best"]["runtime"] is not None
    assert body["counts"]["succeeded"] == 3 and body["counts"]["waiting"] == 1
    assert body["counts"]["total"] == 4 and body["with_metric"] == 3


def test_the_summary_ranks_by_any_metric_in_either_direction(api, experiment):
    jobs = experiment.test_jobs
    body = api.get(f"/api/experiments/{experiment.pk}/summary/?metric=steps&order=max").json()
    assert [row["id"] for row in body["jobs"]] == [jobs[i].pk for i in (2, 1, 0, 3)]
    assert body["best"]["id"] == jobs[2].pk
    limited = api.get(f"/api/experiments/{experiment.pk}/summary/?metric=loss&limit=1").json()
    assert [row["id"] for row in limited["jobs"]] == [jobs[1].pk]  # the objective order: min


def test_a_summary_by_a_metric_no_job_has_has_no_best_job(api, experiment):
    body = api.get(f"/api/experiments/{experiment.pk}/summary/?metric=accuracy").json()
    assert body["best"] is None and body["with_metric"] == 0


@pytest.mark.parametrize(
    ("query", "field"), [("order=best", "order"), ("limit=x", "limit"), ("limit=0", "limit")]
)
def test_bad_summary_parameters_are_a_400_naming_the_field(api, experiment, query, field):
    response = api.get(f"/api/experiments/{experiment.pk}/summary/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_summary_needs_a_metric_when_the_experiment_has_no_objective(api, user):
    experiment = make_experiment(user)
    response = api.get(f"/api/experiments/{experiment.pk}/summary/")
    assert response.status_code == 400
    assert list(response.json()) == ["metric"]


def test_the_objective_is_set_on_create_and_read_back(api, catalog):
    response = api.post(
        "/api/experiments/",
        {"algorithm": "sleep-and-score", "objective": "score", "objective_order": "max"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["objective"], response.json()["objective_order"]) == ("score", "max")
    bad = api.post(
        "/api/experiments/",
        {"algorithm": "sleep-and-score", "objective_order": "up"},
        format="json",
    )
    assert bad.status_code == 400 and "objective_order" in bad.json()


def test_the_csv_export_has_one_row_per_job_with_parameters_metrics_and_runtime(api, experiment):
    response = api.get(f"/api/experiments/{experiment.pk}/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == [
        "id",
        "status",
        "attempt",
        "params.n",
        "params.mode",
        "metrics.loss",
        "metrics.steps",
        "runtime",
    ]
    jobs = experiment.test_jobs
    assert [row["id"] for row in rows] == [str(job.pk) for job in jobs]
    assert rows[1]["status"] == "succeeded" and rows[1]["attempt"] == "1"
    assert (rows[1]["params.n"], rows[1]["params.mode"]) == ("1", "b")
    assert (float(rows[1]["metrics.loss"]), float(rows[1]["metrics.steps"])) == (0.1, 11)
    assert float(rows[1]["runtime"]) >= 0
    assert rows[3]["status"] == "waiting"
    assert rows[3]["metrics.loss"] == "" and rows[3]["runtime"] == ""


def test_the_outputs_zip_holds_every_jobs_files_under_its_folder(api, experiment):
    response = api.get(f"/api/experiments/{experiment.pk}/outputs.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    expected = {}
    for job in experiment.test_jobs[:3]:
        expected[f"job-{job.pk}/out.txt"] = f"job {job.index}".encode()
        expected[f"job-{job.pk}/plots/curve.csv"] = b"x,y\n1,2\n"
    assert {name: archive.read(name) for name in archive.namelist()} == expected


def test_the_outputs_zip_keeps_only_each_jobs_current_attempt(api, experiment):
    from jobs.models import Job

    job = experiment.test_jobs[0]
    Job.objects.filter(pk=job.pk).update(attempt=2)
    job.refresh_from_db()
    finish_job(job, {"loss": 0.5}, {"second.txt": b"2"})
    response = api.get(f"/api/experiments/{experiment.pk}/outputs.zip")
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert [n for n in names if n.startswith(f"job-{job.pk}/")] == [f"job-{job.pk}/second.txt"]


def test_an_empty_experiment_exports_a_header_and_an_empty_zip(api, user):
    experiment = make_experiment(user)
    text = b"".join(api.get(f"/api/experiments/{experiment.pk}/export.csv").streaming_content)
    assert text.decode().splitlines()[0] == "id,status,attempt,params.n,params.mode,runtime"
    data = b"".join(api.get(f"/api/experiments/{experiment.pk}/outputs.zip").streaming_content)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == []


def test_another_users_experiment_exports_nothing(other_api, experiment):
    for path in ("summary/", "export.csv", "outputs.zip"):
        assert other_api.get(f"/api/experiments/{experiment.pk}/{path}").status_code == 404
