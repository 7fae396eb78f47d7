"""The fci algorithm run end to end as a subprocess, as the runner does."""

from __future__ import annotations

import json

import numpy as np
import petri_kit as kit
import pytest

# The marks each graph.json type allows at (source, target).
ALLOWED_MARKS = {
    "directed": {("tail", "arrow"), ("circle", "arrow")},
    "bidirected": {("arrow", "arrow")},
    "undirected": {("tail", "tail"), ("circle", "circle"), ("tail", "circle"), ("circle", "tail")},
}


@pytest.fixture(scope="module")
def fci_run(run_shared, generated_dataset):
    """One fci run with defaults on the generated dataset and its true graph."""
    run = run_shared("fci", dataset=generated_dataset.data, truth=generated_dataset.truth)
    assert run.returncode == 0, run.stderr
    return run


def graph_of(run) -> dict:
    return json.loads((run.output_dir / "graph.json").read_text())


def test_fci_writes_a_valid_pag_over_the_dataset_columns(fci_run, generated_dataset):
    graph = kit.read_graph(fci_run.output_dir / "graph.json")
    assert graph["nodes"] == generated_dataset.graph["nodes"]
    assert graph["edges"]
    for edge in graph["edges"]:
        assert set(edge) == {"source", "target", "type", "endpoints"}
        assert tuple(edge["endpoints"]) in ALLOWED_MARKS[edge["type"]], edge


def test_fci_recovers_the_skeleton_and_the_colliders_of_the_generated_dag(fci_run, edge_summary):
    # The true DAG: X1 -> X3 <- X2, X4 -> X3, X4 -> X2, X1 -> X5. FCI finds the
    # three arrowheads into X3; with no other constraint every other mark stays
    # a circle, so X2 o-o X4 and X1 o-o X5 count as undirected.
    graph = graph_of(fci_run)
    assert edge_summary(graph) == {
        ("X1", "X3", "directed"),
        ("X2", "X3", "directed"),
        ("X4", "X3", "directed"),
        ("X1", "X5", "undirected"),
        ("X2", "X4", "undirected"),
    }
    assert all(e["endpoints"][0] == "circle" for e in graph["edges"])
    metrics = fci_run.metrics
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (1.0, 1.0, 1.0)
    assert metrics["shd"] == 2


def test_fci_metrics_agree_with_a_hand_computed_comparison(
    fci_run, generated_dataset, hand_comparison
):
    metrics = fci_run.metrics
    graph = graph_of(fci_run)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics["edges"] == len(graph["edges"])
    for kind in ("directed", "undirected", "bidirected"):
        assert metrics[f"{kind}_edges"] == sum(1 for e in graph["edges"] if e["type"] == kind)
    assert metrics["circle_endpoints"] == sum(
        e["endpoints"].count("circle") for e in graph["edges"]
    )
    assert (metrics["nodes"], metrics["rows"]) == (5, 300)
    for key, value in hand_comparison(graph, generated_dataset.graph).items():
        assert metrics[key] == pytest.approx(value), key


def test_fci_marks_a_hidden_common_cause_with_a_bidirected_edge(run_algorithm, tmp_path):
    # C -> A <- L -> B <- D with L unobserved: A and B stay dependent given
    # anything, and both are colliders, so FCI gives C o-> A <-> B <-o D.
    rng = np.random.default_rng(0)
    n = 3000
    hidden, c, d = rng.standard_normal((3, n))
    a = c + hidden + rng.standard_normal(n)
    b = d + hidden + rng.standard_normal(n)
    dataset = tmp_path / "latent.csv"
    rows = "\n".join(",".join(f"{v:.5f}" for v in row) for row in zip(a, b, c, d, strict=True))
    dataset.write_text("A,B,C,D\n" + rows + "\n")
    run = run_algorithm("fci", dataset=dataset)
    assert run.returncode == 0, run.stderr
    marks = {
        # A bidirected edge may be written either way round; name order makes it one key.
        tuple(sorted((e["source"], e["target"])))
        if e["type"] == "bidirected"
        else (e["source"], e["target"]): (e["type"], tuple(e["endpoints"]))
        for e in graph_of(run)["edges"]
    }
    assert marks == {
        ("A", "B"): ("bidirected", ("arrow", "arrow")),
        ("C", "A"): ("directed", ("circle", "arrow")),
        ("D", "B"): ("directed", ("circle", "arrow")),
    }
    assert run.metrics["bidirected_edges"] == 1


def test_fci_without_ground_truth_reports_no_comparison(run_algorithm, generated_dataset):
    run = run_algorithm("fci", dataset=generated_dataset.data)
    assert run.returncode == 0, run.stderr
    assert run.metrics["edges"] == 5
    assert "shd" not in run.metrics


def test_fci_with_depth_zero_keeps_at_least_the_edges_of_a_full_search(
    run_algorithm, generated_dataset
):
    # Depth 0 only tests marginal independence, so it can only remove fewer edges.
    shallow = run_algorithm("fci", {"depth": 0}, dataset=generated_dataset.data)
    full = run_algorithm("fci", {"depth": -1}, dataset=generated_dataset.data)
    assert shallow.returncode == 0 and full.returncode == 0
    assert shallow.metrics["edges"] >= full.metrics["edges"]


def test_fci_runs_a_discrete_test_on_discrete_data(run_algorithm, tmp_path):
    # A binary chain a -> b -> c with flips: a and c are independent given b.
    rows = []
    for i in range(600):
        a = i % 2
        b = a if i % 10 else 1 - a
        c = b if i % 7 else 1 - b
        rows.append(f"{a},{b},{c}")
    dataset = tmp_path / "discrete.csv"
    dataset.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    run = run_algorithm("fci", {"indep_test": "gsq"}, dataset=dataset)
    assert run.returncode == 0, run.stderr
    assert {frozenset((e["source"], e["target"])) for e in graph_of(run)["edges"]} == {
        frozenset("ab"),
        frozenset("bc"),
    }


def test_fci_reports_rising_progress_that_ends_at_one(fci_run):
    assert len(fci_run.progress) >= 3
    assert fci_run.progress == sorted(fci_run.progress)
    assert fci_run.progress[-1] == 1.0


def test_fci_fails_clearly_without_a_dataset(run_algorithm):
    run = run_algorithm("fci")
    assert run.returncode != 0
    assert "dataset" in run.stderr


def test_fci_fails_clearly_on_a_non_numeric_column(run_algorithm, tmp_path):
    dataset = tmp_path / "words.csv"
    dataset.write_text("a,b\n1.0,x\n2.0,y\n3.0,z\n4.0,w\n")
    run = run_algorithm("fci", dataset=dataset)
    assert run.returncode != 0
    assert "not numeric" in run.stderr
    assert not (run.output_dir / "metrics.json").exists()
