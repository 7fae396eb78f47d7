"""A pipeline through the real runner: generate two datasets -> PC and GES -> compare.

The local backend runs every job; the pipeline advances only through the ended rule, as the
runners' results arrive at the live server.
"""

from __future__ import annotations

import pytest

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = {
    "name": "generate-pc-ges",
    "stages": [
        {
            "name": "generate",
            "algorithm": "generate-linear-gaussian",
            "parameters": {"nodes": 5, "edge_density": 0.5, "samples": 300, "seed": [8, 9]},
        },
        {"name": "pc", "algorithm": "pc", "inputs": {"dataset": "generate"}},
        {"name": "ges", "algorithm": "ges", "inputs": {"dataset": "generate"}},
        {"name": "compare", "type": "compare", "needs": ["pc", "ges"]},
    ],
}


def test_generate_then_pc_and_ges_then_compare_runs_end_to_end(api, catalog, local_scheduler):
    response = api.post("/api/pipelines/", SPEC, format="json")
    assert response.status_code == 201, response.content
    url = f"/api/pipelines/{response.json()['id']}/"

    def ended():
        body = api.get(url).json()
        return body if body["status"] != "running" else None

    body = local_scheduler.run_until(ended, timeout=600, what="the pipeline to end")

    stages = {stage["name"]: stage for stage in body["stages"]}
    assert body["status"] == "succeeded", {n: (s["status"], s["error"]) for n, s in stages.items()}
    datasets = {e["dataset"] for e in stages["pc"]["experiments"]}
    assert len(datasets) == 2
    assert {e["dataset"] for e in stages["ges"]["experiments"]} == datasets
    table = api.get(f"{url}table/").json()
    rows = table["rows"]
    assert sorted((row["algorithm"], row["dataset"]["id"]) for row in rows) == sorted(
        (algorithm, dataset) for algorithm in ("pc", "ges") for dataset in datasets
    )
    for row in rows:
        assert row["problem"] == "", row
        # The table's scores are the job's own report against the same truth.
        reported = Job.objects.get(pk=row["job"]).result.metrics
        assert row["shd"] == reported["shd"], row
        assert row["f1"] == pytest.approx(reported["f1"]), row
        assert row["f1"] >= 0.6 and row["shd"] <= 5, row
