"""The pc algorithm run end to end as a subprocess, as the runner does."""

from __future__ import annotations

import json
from pathlib import Path

import petri_kit as kit
import pytest

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "linear-gaussian-6"


def edge_key(edge: dict) -> tuple[frozenset, str, str | None]:
    """Pair, type and (for directed edges) the source: equal exactly when edges agree."""
    source = edge["source"] if edge["type"] == "directed" else None
    return frozenset((edge["source"], edge["target"])), edge["type"], source


def hand_comparison(found: dict, truth: dict) -> dict:
    """A second, deliberately plain computation of the metrics kit.compare gives."""
    found_edges = {edge_key(e)[0]: edge_key(e) for e in found["edges"]}
    true_edges = {edge_key(e)[0]: edge_key(e) for e in truth["edges"]}
    pairs = set(found_edges) | set(true_edges)
    shd = len([p for p in pairs if found_edges.get(p) != true_edges.get(p)])
    hits = len(set(found_edges) & set(true_edges))
    precision = hits / len(found_edges)
    recall = hits / len(true_edges)
    return {
        "shd": shd,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
    }


def test_pc_writes_a_valid_graph_over_the_dataset_columns(pc_demo_run):
    graph = kit.read_graph(pc_demo_run.output_dir / "graph.json")
    header = (DEMO / "data.csv").read_text().splitlines()[0].split(",")
    assert graph["nodes"] == header
    assert graph["edges"]
    assert all(set(edge) <= {"source", "target", "type", "weight"} for edge in graph["edges"])


def test_pc_metrics_agree_with_a_hand_computed_comparison(pc_demo_run):
    metrics = pc_demo_run.metrics
    found = json.loads((pc_demo_run.output_dir / "graph.json").read_text())
    truth = json.loads((DEMO / "graph.json").read_text())
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics["edges"] == len(found["edges"])
    assert metrics["runtime_s"] >= 0
    expected = hand_comparison(found, truth)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), key


def test_pc_recovers_the_demo_cpdag(pc_demo_run):
    # The true DAG has one collider at X3 (parents X2, X4, X5, X6); its other three
    # edges are undirected in the CPDAG, which is all PC can tell from data. So the
    # skeleton is exact and the SHD against the DAG is those three edges.
    metrics = pc_demo_run.metrics
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (1.0, 1.0, 1.0)
    assert metrics["shd"] == 3
    graph = json.loads((pc_demo_run.output_dir / "graph.json").read_text())
    directed = {(e["source"], e["target"]) for e in graph["edges"] if e["type"] == "directed"}
    assert directed == {("X2", "X3"), ("X4", "X3"), ("X5", "X3"), ("X6", "X3")}


def test_pc_writes_the_separation_set_of_every_pair_it_removed(pc_demo_run):
    graph = json.loads((pc_demo_run.output_dir / "graph.json").read_text())
    adjacent = {frozenset((e["source"], e["target"])) for e in graph["edges"]}
    separated = {frozenset((s["x"], s["y"])) for s in graph["sepsets"]}
    nodes = graph["nodes"]
    every_pair = {frozenset((a, b)) for i, a in enumerate(nodes) for b in nodes[i + 1 :]}
    assert separated == every_pair - adjacent
    # X3 is a collider of X5 and X6, so it can be in no set separating them.
    x5_x6 = [s["set"] for s in graph["sepsets"] if {s["x"], s["y"]} == {"X5", "X6"}]
    assert x5_x6 and all("X3" not in members for members in x5_x6)


def test_pc_reports_rising_progress_that_ends_at_one(pc_demo_run):
    progress = pc_demo_run.progress
    assert len(progress) >= 3
    assert progress == sorted(progress)
    assert progress[-1] == 1.0


def test_pc_without_ground_truth_reports_no_comparison(run_algorithm):
    run = run_algorithm("pc", dataset=DEMO / "data.csv")
    assert run.returncode == 0, run.stderr
    assert run.metrics["edges"] == 7
    assert "shd" not in run.metrics
    assert "precision" not in run.metrics


def test_pc_with_a_strict_alpha_keeps_fewer_or_equal_edges(run_algorithm):
    loose = run_algorithm("pc", {"alpha": 0.5}, dataset=DEMO / "data.csv")
    strict = run_algorithm("pc", {"alpha": 0.0001, "stable": False}, dataset=DEMO / "data.csv")
    assert loose.returncode == 0 and strict.returncode == 0
    assert strict.metrics["edges"] <= loose.metrics["edges"]


@pytest.mark.parametrize("test", ["chisq", "gsq"])
def test_pc_runs_discrete_tests_on_discrete_data(run_algorithm, tmp_path, test):
    # A binary chain a -> b -> c with 10% flips: a and c are independent given b.
    rows = []
    for i in range(600):
        a = i % 2
        b = a if i % 10 else 1 - a
        c = b if i % 7 else 1 - b
        rows.append(f"{a},{b},{c}")
    dataset = tmp_path / "discrete.csv"
    dataset.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    run = run_algorithm("pc", {"indep_test": test}, dataset=dataset)
    assert run.returncode == 0, run.stderr
    graph = json.loads((run.output_dir / "graph.json").read_text())
    assert {frozenset((e["source"], e["target"])) for e in graph["edges"]} == {
        frozenset("ab"),
        frozenset("bc"),
    }


def test_pc_runs_the_kernel_test_on_a_small_sample(run_algorithm, tmp_path):
    sample = tmp_path / "sample.csv"
    # KCI's cost grows with the cube of the rows: 100 rows take a third of the time of 150
    # and find the same skeleton (5 of the 7 true adjacencies, no false one).
    sample.write_text("\n".join((DEMO / "data.csv").read_text().splitlines()[:101]) + "\n")
    run = run_algorithm("pc", {"indep_test": "kci"}, dataset=sample, truth=DEMO / "graph.json")
    assert run.returncode == 0, run.stderr
    assert run.metrics["rows"] == 100
    assert run.metrics["recall"] >= 0.5


def test_pc_fails_clearly_without_a_dataset(run_algorithm):
    run = run_algorithm("pc")
    assert run.returncode != 0
    assert "dataset" in run.stderr


def test_pc_fails_clearly_on_a_non_numeric_column(run_algorithm, tmp_path):
    dataset = tmp_path / "words.csv"
    dataset.write_text("a,b\n1.0,x\n2.0,y\n3.0,z\n")
    run = run_algorithm("pc", dataset=dataset)
    assert run.returncode != 0
    assert "not numeric" in run.stderr
    assert not (run.output_dir / "metrics.json").exists()
