"""A sweep through the whole system: API, queue, scheduler, local backend, real runners."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_3x2_sweep_with_two_repeats_runs_all_twelve_jobs_to_success(
    user, catalog, local_scheduler
):
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": "alice", "password": "s3cret-pass"}, format="json"
    )
    assert token.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['key']}")

    created = client.post(
        "/api/experiments/",
        {
            "algorithm": "sleep-and-score",
            "parameters": {"x": [0, 1, 2], "y": [-2, 0], "duration": 0.2, "steps": 4},
            "repeats": 2,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    experiment_id = created.json()["id"]

    def finished():
        body = client.get(f"/api/experiments/{experiment_id}/").json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = local_scheduler.run_until(finished, timeout=120, what="all 12 jobs to finish")
    assert body["status"] == "succeeded", Job.objects.values_list("status", "error")
    assert body["counts"]["succeeded"] == 12

    jobs = client.get(f"/api/jobs/?experiment={experiment_id}&page_size=100").json()
    assert jobs["count"] == 12
    for job in jobs["results"]:
        x, y = job["parameters"]["x"], job["parameters"]["y"]
        assert job["status"] == "succeeded"
        assert job["attempt"] == 1
        assert job["metrics"]["score"] == pytest.approx(-((x - 1) ** 2) - (y + 2) ** 2)
        assert job["metrics"]["steps"] == 4
        assert job["runtime"] is not None and job["runtime"] > 0

    one = jobs["results"][0]["id"]
    log = client.get(f"/api/jobs/{one}/log/").json()
    assert any("step" in line for line in log["lines"])
    files = {f["name"] for f in client.get(f"/api/jobs/{one}/files/").json()}
    assert {"metrics.json", "output.txt"} <= files
    download = client.get(f"/api/jobs/{one}/files/output.txt")
    assert download.status_code == 200
    assert b"".join(download.streaming_content)
    assert (
        client.get(f"/api/jobs/?experiment={experiment_id}&status=succeeded").json()["count"] == 12
    )
    assert not Job.objects.exclude(status=JobStatus.SUCCEEDED).exists()
