"""The ges algorithm run end to end as a subprocess, as the runner does."""

from __future__ import annotations

import json
import math

import petri_kit as kit
import pytest


@pytest.fixture(scope="module")
def ges_run(run_shared, generated_dataset):
    """One ges run with defaults on the generated dataset and its true graph."""
    run = run_shared("ges", dataset=generated_dataset.data, truth=generated_dataset.truth)
    assert run.returncode == 0, run.stderr
    return run


def graph_of(run) -> dict:
    return json.loads((run.output_dir / "graph.json").read_text())


def binary_chain(tmp_path):
    """A binary chain a -> b -> c with flips: a and c are independent given b."""
    rows = []
    for i in range(600):
        a = i % 2
        b = a if i % 10 else 1 - a
        c = b if i % 7 else 1 - b
        rows.append(f"{a},{b},{c}")
    dataset = tmp_path / "discrete.csv"
    dataset.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    return dataset


def test_ges_writes_a_valid_cpdag_over_the_dataset_columns(ges_run, generated_dataset):
    graph = kit.read_graph(ges_run.output_dir / "graph.json")
    assert graph["nodes"] == generated_dataset.graph["nodes"]
    assert {e["type"] for e in graph["edges"]} <= {"directed", "undirected"}
    assert all(set(edge) == {"source", "target", "type"} for edge in graph["edges"])


def test_ges_recovers_the_cpdag_of_the_generated_dag(ges_run, edge_summary):
    # The colliders into X3 are oriented; X2 - X4 and X1 - X5 cannot be.
    assert edge_summary(graph_of(ges_run)) == {
        ("X1", "X3", "directed"),
        ("X2", "X3", "directed"),
        ("X4", "X3", "directed"),
        ("X1", "X5", "undirected"),
        ("X2", "X4", "undirected"),
    }
    metrics = ges_run.metrics
    assert (metrics["shd"], metrics["precision"], metrics["recall"]) == (2, 1.0, 1.0)


def test_ges_metrics_agree_with_a_hand_computed_comparison(
    ges_run, generated_dataset, hand_comparison
):
    metrics = ges_run.metrics
    graph = graph_of(ges_run)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics["edges"] == len(graph["edges"])
    assert metrics["directed_edges"] == sum(1 for e in graph["edges"] if e["type"] == "directed")
    assert (metrics["nodes"], metrics["rows"]) == (5, 300)
    # Each insertion adds one adjacency and each deletion removes one.
    assert metrics["insertions"] - metrics["deletions"] == metrics["edges"]
    assert math.isfinite(metrics["score"]) and metrics["score"] < 0
    for key, value in hand_comparison(graph, generated_dataset.graph).items():
        assert metrics[key] == pytest.approx(value), key


def test_ges_with_a_heavier_penalty_keeps_fewer_edges(run_algorithm, generated_dataset):
    light = run_algorithm("ges", {"lambda_value": 0.5}, dataset=generated_dataset.data)
    heavy = run_algorithm("ges", {"lambda_value": 20.0}, dataset=generated_dataset.data)
    assert light.returncode == 0 and heavy.returncode == 0, heavy.stderr
    assert heavy.metrics["edges"] < light.metrics["edges"]


def test_ges_limited_to_few_parents_scores_no_better(run_algorithm, ges_run, generated_dataset):
    # X3 has three parents; capping them constrains the search, so the score can only drop.
    capped = run_algorithm("ges", {"max_parents": 1}, dataset=generated_dataset.data)
    assert capped.returncode == 0, capped.stderr
    assert capped.metrics["score"] < ges_run.metrics["score"]


def test_ges_bdeu_learns_a_discrete_chain(run_algorithm, tmp_path):
    run = run_algorithm("ges", {"score_func": "local_score_BDeu"}, dataset=binary_chain(tmp_path))
    assert run.returncode == 0, run.stderr
    assert {frozenset((e["source"], e["target"])) for e in graph_of(run)["edges"]} == {
        frozenset("ab"),
        frozenset("bc"),
    }


def test_ges_bdeu_refuses_continuous_data(run_algorithm, generated_dataset):
    run = run_algorithm("ges", {"score_func": "local_score_BDeu"}, dataset=generated_dataset.data)
    assert run.returncode != 0
    assert "discrete" in run.stderr
    assert not (run.output_dir / "metrics.json").exists()


def test_ges_without_ground_truth_reports_no_comparison(run_algorithm, generated_dataset):
    run = run_algorithm("ges", dataset=generated_dataset.data)
    assert run.returncode == 0, run.stderr
    assert run.metrics["edges"] == 5
    assert "shd" not in run.metrics


def test_ges_reports_rising_progress_that_ends_at_one(ges_run):
    assert len(ges_run.progress) >= 3
    assert ges_run.progress == sorted(ges_run.progress)
    assert ges_run.progress[-1] == 1.0


def test_ges_fails_clearly_without_a_dataset(run_algorithm):
    run = run_algorithm("ges")
    assert run.returncode != 0
    assert "dataset" in run.stderr


def test_ges_fails_clearly_on_a_non_numeric_column(run_algorithm, tmp_path):
    dataset = tmp_path / "words.csv"
    dataset.write_text("a,b\n1.0,x\n2.0,y\n3.0,z\n")
    run = run_algorithm("ges", dataset=dataset)
    assert run.returncode != 0
    assert "not numeric" in run.stderr
