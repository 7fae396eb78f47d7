"""Django serves the web app's index.html at / and at every client-side route."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.tests.factories import make_experiment

INDEX = b'<!doctype html><div id="app"></div>'


@pytest.fixture
def built(settings, tmp_path):
    (tmp_path / "index.html").write_bytes(INDEX)
    settings.FRONTEND_DIST = tmp_path
    return tmp_path


@pytest.mark.parametrize(
    "path", ["/", "/login", "/experiments", "/experiments/new", "/experiments/12", "/jobs/3/"]
)
def test_client_side_routes_get_the_app_with_a_csrf_cookie(client, db, built, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]
    assert client.cookies["csrftoken"].value


def test_server_paths_are_not_taken_by_the_app(client, db, built):
    assert client.get("/api/auth/me/")["Content-Type"] == "application/json"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/admin/").status_code == 302
    assert client.get("/nothing-here").status_code == 404


def test_an_unbuilt_app_says_how_to_build_it(client, db, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "missing"
    response = client.get("/experiments")
    assert response.status_code == 503
    assert b"make frontend" in response.content


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_experiments_report_their_first_start_and_last_finish(api, user):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    body = api.get(f"/api/experiments/{experiment.pk}/").json()
    assert body["started_at"] is None and body["finished_at"] is None
    first, second = experiment.jobs.order_by("id")
    now = timezone.now()
    finished = {"status": JobStatus.SUCCEEDED}
    Job.objects.filter(pk=first.pk).update(
        **finished, started_at=now, finished_at=now + timedelta(seconds=5)
    )
    Job.objects.filter(pk=second.pk).update(
        **finished, started_at=now + timedelta(seconds=1), finished_at=now + timedelta(seconds=9)
    )
    listed = api.get("/api/experiments/").json()["results"][0]
    assert listed["status"] == "succeeded"
    assert _parse(listed["started_at"]) == now
    assert _parse(listed["finished_at"]) == now + timedelta(seconds=9)
