"""Every catalog algorithm through the real runner: its one end-to-end run.

The generator runs first; its data.csv and graph.json are uploaded as a dataset with its
truth; then every other Python algorithm runs on it (or without a dataset when it takes none).
The R algorithms, which need R, run in a test of their own on the demo dataset. Each graph
algorithm's self-reported SHD and skeleton scores must equal the server's own comparison of its
graph.json with the truth. The algorithms' behaviour in detail: algorithms/tests.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

# As algorithms/tests/conftest.py: 5 nodes, 5 edges, 300 rows; colliders X1 -> X3 <- X2 and
# X1 -> X3 <- X4, and X2 - X4 and X1 - X5 left undirected by the CPDAG.
SMALL_GENERATED = {"nodes": 5, "edge_density": 0.5, "samples": 300, "seed": 8}
GRAPH_ALGORITHMS = {"pc", "fci", "ges", "pc-r"}
DEMO = Path(settings.PETRI_ALGORITHMS_DIR) / "datasets" / "linear-gaussian-6"
# Small settings where the defaults would only cost time.
PARAMETERS = {
    "sklearn-digits": {"model": "logreg", "cv_folds": 2},
    "sleep-and-score": {"x": 1, "y": 0, "steps": 2, "duration": 0.1},
}


def catalog_names(language: str) -> set[str]:
    """The catalog's algorithms written in `language`."""
    root = Path(settings.PETRI_ALGORITHMS_DIR)
    specs = [yaml.safe_load(p.read_text()) for p in root.glob("*/algorithm.yaml")]
    return {spec["name"] for spec in specs if spec["language"] == language}


def run(api, local_scheduler, experiments: dict[str, int], timeout: float) -> dict[str, list]:
    """Tick the scheduler until every experiment ended; each one's jobs by algorithm."""

    def ended():
        bodies = {n: api.get(f"/api/experiments/{e}/").json() for n, e in experiments.items()}
        return (
            bodies
            if all(b["status"] not in ("waiting", "running") for b in bodies.values())
            else None
        )

    local_scheduler.run_until(ended, timeout=timeout, what=f"{sorted(experiments)} to end")
    jobs = {}
    for name, experiment in experiments.items():
        jobs[name] = api.get(f"/api/jobs/?experiment={experiment}").json()["results"]
        for job in jobs[name]:
            assert job["status"] == "succeeded", (
                name,
                job["error"],
                Job.objects.get(pk=job["id"]).error,
            )
    return jobs


def submit(api, algorithm: str, dataset: int | None = None, **parameters) -> int:
    body = {"algorithm": algorithm, "parameters": parameters}
    if dataset is not None:
        body["dataset"] = dataset
    response = api.post("/api/experiments/", body, format="json")
    assert response.status_code == 201, (algorithm, response.content)
    return response.json()["id"]


def download(api, job_id: int, name: str) -> bytes:
    response = api.get(f"/api/jobs/{job_id}/files/{name}")
    assert response.status_code == 200, (job_id, name)
    return b"".join(response.streaming_content)


def check_graph_job(api, name: str, job: dict, truth: dict) -> None:
    """A graph algorithm's graph.json, its self-reported scores and the server's comparison."""
    metrics = job["metrics"]
    graph = api.get(f"/api/jobs/{job['id']}/graph/")
    assert graph.status_code == 200, (name, graph.content)
    assert graph.json()["nodes"] == truth["nodes"], name
    assert metrics["edges"] == len(graph.json()["edges"]), name
    compared = api.get(f"/api/jobs/{job['id']}/compare/?with=truth").json()
    assert compared["shd"] == metrics["shd"], name
    for key in ("precision", "recall", "f1"):
        assert compared["edges"][key] == pytest.approx(metrics[key]), (name, key)
        assert 0 <= metrics[key] <= 1, (name, key)
    assert compared["edges"]["true_positives"] == metrics["true_positives"], name
    # A small linear-Gaussian model (5 or 6 nodes, 300 or 1000 rows): most of it is found.
    assert metrics["f1"] >= 0.6 and metrics["shd"] <= 5, (name, metrics)
    assert 0 <= compared["orientations"]["f1"] <= 1, name
    graphml = api.get(f"/api/jobs/{job['id']}/graph/?format=graphml")
    assert graphml.status_code == 200 and b"<graphml" in graphml.content, name


def test_every_python_catalog_algorithm_runs_through_the_runner_and_reports_sensible_results(
    api, catalog, local_scheduler
):
    names = catalog_names("python")
    assert names <= set(catalog)
    assert names | catalog_names("r") == set(catalog), "an algorithm in neither end-to-end test"
    assert {"pc", "fci", "ges", "sklearn-digits", "generate-linear-gaussian"} <= names

    # 1. The generator makes the dataset and its true graph.
    generated = run(
        api,
        local_scheduler,
        {"generate-linear-gaussian": submit(api, "generate-linear-gaussian", **SMALL_GENERATED)},
        timeout=120,
    )["generate-linear-gaussian"][0]
    assert generated["metrics"] == {"nodes": 5, "edges": 5, "rows": 300}
    data, truth_bytes = (
        download(api, generated["id"], "data.csv"),
        download(api, generated["id"], "graph.json"),
    )
    truth = api.get(f"/api/jobs/{generated['id']}/graph/").json()
    assert len(truth["edges"]) == 5 and all(e["type"] == "directed" for e in truth["edges"])
    assert all(isinstance(e["weight"], float) for e in truth["edges"])

    upload = api.post(
        "/api/datasets/",
        {
            "file": _named(data, "small.csv"),
            "truth": _named(truth_bytes, "graph.json"),
            "name": "small",
        },
        format="multipart",
    )
    # 200 when the generator's output was already registered as this user's dataset.
    assert upload.status_code in (200, 201), upload.content
    dataset = upload.json()
    assert dataset["has_truth"] and dataset["rows"] == 300
    assert dataset["columns"] == truth["nodes"]

    # 2. Everything else, at once.
    experiments = {}
    for name in sorted(names - {"generate-linear-gaussian"}):
        takes = catalog[name].dataset_input
        experiments[name] = submit(
            api, name, dataset["id"] if takes != "none" else None, **PARAMETERS.get(name, {})
        )
    jobs = run(api, local_scheduler, experiments, timeout=420)

    for name in sorted(GRAPH_ALGORITHMS & names):
        check_graph_job(api, name, jobs[name][0], truth)

    digits = jobs["sklearn-digits"][0]["metrics"]
    assert 0.85 <= digits["accuracy"] <= 1 and 0.85 <= digits["f1_macro"] <= 1

    scored = jobs["sleep-and-score"][0]["metrics"]
    assert scored["score"] == pytest.approx(-4.0)  # -(1-1)^2 - (0+2)^2
    assert scored["rows"] == 300 and scored["steps"] == 2

    # The results endpoints over what really ran: graph algorithms ranked by SHD.
    ranked = api.get("/api/jobs/?ordering=metrics__shd&metric=shd__gte:0&page_size=50").json()
    ranked_shd = [job["metrics"]["shd"] for job in ranked["results"]]
    assert ranked["count"] == len(GRAPH_ALGORITHMS & names)
    assert ranked_shd == sorted(ranked_shd)


@pytest.mark.requires("r")
def test_every_r_catalog_algorithm_runs_through_the_runner_and_reports_sensible_results(
    api, catalog, local_scheduler
):
    names = catalog_names("r")
    assert "pc-r" in names and names <= set(catalog)
    upload = api.post(
        "/api/datasets/",
        {
            "file": _named((DEMO / "data.csv").read_bytes(), "demo.csv"),
            "truth": _named((DEMO / "graph.json").read_bytes(), "graph.json"),
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    dataset = upload.json()
    truth = api.get(f"/api/datasets/{dataset['id']}/truth/").json()
    jobs = run(api, local_scheduler, {n: submit(api, n, dataset["id"]) for n in names}, 180)
    for name in sorted(names):
        assert jobs[name][0]["metrics"]["rows"] == 1000, name
        if name in GRAPH_ALGORITHMS:
            check_graph_job(api, name, jobs[name][0], truth)


def _named(content: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = name
    return stream
