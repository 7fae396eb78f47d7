from __future__ import annotations

import pytest

from jobs.models import JobStatus
from jobs.tests.factories import make_dataset, make_experiment


@pytest.fixture
def alices_work(user, catalog):
    dataset = make_dataset(user)
    experiment = make_experiment(
        user, catalog["sleep-and-score"], dataset=dataset, parameters={"x": [1, 2]}
    )
    return dataset, experiment, experiment.jobs.first()


def test_another_user_cannot_list_alices_work(other_api, alices_work):
    for url in ("/api/experiments/", "/api/jobs/", "/api/datasets/"):
        response = other_api.get(url)
        assert response.status_code == 200
        assert response.json()["count"] == 0, url


def test_another_user_cannot_read_alices_objects(other_api, alices_work):
    dataset, experiment, job = alices_work
    for url in (
        f"/api/experiments/{experiment.pk}/",
        f"/api/jobs/{job.pk}/",
        f"/api/jobs/{job.pk}/log/",
        f"/api/jobs/{job.pk}/files/",
        f"/api/datasets/{dataset.pk}/",
        f"/api/datasets/{dataset.pk}/download/",
    ):
        assert other_api.get(url).status_code == 404, url


def test_another_user_cannot_cancel_or_retry_alices_work(other_api, alices_work):
    _, experiment, job = alices_work
    assert other_api.post(f"/api/experiments/{experiment.pk}/cancel/").status_code == 404
    assert other_api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    assert other_api.post(f"/api/jobs/{job.pk}/retry/").status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING


def test_alice_sees_her_own_work(api, alices_work):
    dataset, experiment, _ = alices_work
    assert api.get(f"/api/experiments/{experiment.pk}/").json()["job_count"] == 2
    assert api.get(f"/api/jobs/?experiment={experiment.pk}").json()["count"] == 2
    assert api.get(f"/api/datasets/{dataset.pk}/download/").status_code == 200


def test_staff_see_everyones_work(alices_work, other_user, client_for):
    other_user.is_staff = True
    other_user.save()
    assert client_for(other_user).get("/api/jobs/").json()["count"] == 2


def test_anonymous_requests_are_refused(client, alices_work):
    assert client.get("/api/experiments/").status_code == 401
