"""``Client.results_frame``: one DataFrame row per job, pandas imported only when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from jobs import services
from jobs.models import FailureReason, Job, JobStatus, Quota
from jobs.tests.factories import finish_job, make_experiment
from petri_client.client import Client, PetriError
from petri_client.frames import jobs_frame
from petri_client.tests.helpers import ROOT


def test_importing_the_client_and_cli_does_not_import_pandas():
    code = (
        "import sys, petri_client, petri_client.cli, petri_client.client;"
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_without_pandas_the_frame_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(PetriError, match="pip install pandas"):
        jobs_frame([])


def api_jobs(user, experiment) -> list[dict]:
    client = APIClient()
    client.force_authenticate(user)
    answer = client.get(f"/api/jobs/?experiment={experiment.pk}&ordering=id").json()
    return answer["results"]


@pytest.mark.django_db
def test_the_frame_has_parameters_metrics_status_and_timings_per_job(user, catalog):
    Quota.objects.create(user=user, max_running=0)
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"x": [1, 2, 3], "y": -2}, max_attempts=1
    )
    first, second, third = experiment.jobs.order_by("index")
    finish_job(first, {"score": 0.5, "loss": 2})
    finish_job(second, {"score": -1.25})
    Job.objects.filter(pk=third.pk).update(status=JobStatus.RUNNING)
    services.fail_attempt(third.pk, 1, FailureReason.ALGORITHM_ERROR, "boom")

    frame = jobs_frame(api_jobs(user, experiment))
    assert list(frame.index) == [first.pk, second.pk, third.pk]
    columns = list(frame.columns)
    assert columns[:9] == [
        "status",
        "attempt",
        "index",
        "repeat",
        "failure_reason",
        "created_at",
        "started_at",
        "finished_at",
        "runtime",
    ]
    # Every parameter of the schema (swept, fixed or defaulted), then the metrics by name.
    assert columns[9:11] == ["params.x", "params.y"]
    assert all(name.startswith("params.") for name in columns[11:-2])
    assert columns[-2:] == ["metrics.loss", "metrics.score"]
    assert list(frame["status"]) == ["succeeded", "succeeded", "failed"]
    assert list(frame["params.x"]) == [1, 2, 3] and set(frame["params.y"]) == {-2}
    assert frame.loc[second.pk, "metrics.score"] == -1.25
    assert frame["metrics.loss"].isna().tolist() == [False, True, True]
    assert str(frame["finished_at"].dtype).startswith("datetime64")
    assert frame.loc[first.pk, "runtime"] >= 0
    assert frame.loc[third.pk, "failure_reason"] == "algorithm_error"
    assert frame["metrics.score"].idxmax() == first.pk


def test_the_client_reads_an_experiment_as_a_frame_from_a_server(signed_in, user, catalog):
    import json

    Quota.objects.create(user=user, max_running=0)
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2]})
    finish_job(experiment.jobs.get(index=0), {"score": 3.0})
    config = json.loads(signed_in.config.read_text())
    frame = Client(config["url"], config["key"]).results_frame(experiment.pk)
    assert frame.shape[0] == 2
    assert frame["metrics.score"].tolist()[0] == 3.0
    assert frame["status"].tolist() == ["succeeded", "waiting"]
