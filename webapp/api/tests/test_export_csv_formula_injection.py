"""export.csv neutralises text a spreadsheet would run as a formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from jobs.models import Job
from jobs.tests.factories import finish_job, make_experiment

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tX", "\rY", "=1", "-"]


def export_rows(api, experiment) -> list[dict[str, str]]:
    response = api.get(f"/api/experiments/{experiment.pk}/export.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def experiment(user):
    experiment = make_experiment(user, parameters={"n": list(range(len(HOSTILE)))})
    for job, text in zip(experiment.jobs.order_by("index"), HOSTILE, strict=True):
        # A string parameter (uploaded code's schema allows any text) and a list parameter.
        Job.objects.filter(pk=job.pk).update(
            parameters={"n": job.index, "label": text, "items": [text]}
        )
        finish_job(job, {"loglik": -3.5 - job.index, "zero": 0})
    return experiment


def test_text_starting_like_a_formula_is_prefixed_with_a_quote(api, experiment):
    rows = export_rows(api, experiment)
    assert [row["params.label"] for row in rows] == ["'" + text for text in HOSTILE]
    # A list is written as JSON, which starts with "[": nothing to neutralise.
    assert [json.loads(row["params.items"]) for row in rows] == [[text] for text in HOSTILE]


def test_negative_numbers_stay_numbers(api, experiment):
    rows = export_rows(api, experiment)
    assert [float(row["metrics.loglik"]) for row in rows] == [-3.5 - n for n in range(len(HOSTILE))]
    assert {row["metrics.zero"] for row in rows} == {"0"}


def test_ordinary_text_is_written_as_it_is(api, user):
    experiment = make_experiment(user, parameters={"n": [1]})
    job = experiment.jobs.get()
    Job.objects.filter(pk=job.pk).update(parameters={"n": 1, "label": "a-b=c", "x": "1e-3"})
    (row,) = export_rows(api, experiment)
    assert (row["params.label"], row["params.x"]) == ("a-b=c", "1e-3")
