"""A search through the whole system: API, Optuna's TPE, scheduler, local backend, runners."""

from __future__ import annotations

import pytest

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_tpe_search_runs_its_budget_through_the_local_backend_and_stops_with_its_reason(
    api, catalog, local_scheduler
):
    created = api.post(
        "/api/experiments/",
        {
            "algorithm": "sleep-and-score",
            "strategy": "tpe",
            "objective": "score",
            "objective_order": "max",
            "parameters": {
                "x": {"distribution": "uniform", "low": -3, "high": 3},
                "y": {"distribution": "uniform", "low": -3, "high": 3},
                "duration": 0.1,
                "steps": 2,
            },
            "max_jobs": 6,
            "parallelism": 2,
            "seed": 3,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    experiment_id = created.json()["id"]

    def finished():
        body = api.get(f"/api/experiments/{experiment_id}/").json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = local_scheduler.run_until(finished, timeout=180, what="the search's 6 jobs")
    assert body["status"] == "succeeded", Job.objects.values_list("status", "error")
    assert body["stop_reason"] == "max_jobs" and body["counts"]["succeeded"] == 6
    study = api.get(f"/api/experiments/{experiment_id}/study/").json()
    assert len(study["trials"]) == 6
    for trial in study["trials"]:
        x, y = trial["params"]["x"], trial["params"]["y"]
        assert trial["values"][0] == pytest.approx(-((x - 1) ** 2) - (y + 2) ** 2)
