"""The pc-r algorithm (base R) on whole datasets (its R helpers: test_pc_r_library.py).

Needs R (Rscript): marked requires("r"). Most runs share one R process: a driver sources
main.R (which then does not run by itself) and calls main() once per case, each with its own
environment and output folder, where fail() raises instead of quitting. That fail() quits
with status 1 and its message on stderr is checked by the runs through Rscript at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import petri_kit as kit
import pytest

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "linear-gaussian-6"

pytestmark = pytest.mark.requires("r")


BAD_DATASETS = {
    "text-cell": ("a,b\n1.0,x\n2.0,y\n3.0,z\n4.0,w\n", "row 2 is not numeric"),
    "uneven-row": ("a,b\n1,2\n2,3,4\n3,1\n4,7\n", "row 3 has 3 fields"),
    "nan": ("a,b\n1,2\n2,NaN\n3,1\n4,7\n", "missing or infinite"),
    "duplicate-names": ("a,a\n1,2\n2,3\n3,1\n4,7\n", "duplicate column names"),
    "too-few-rows": ("a,b\n1,2\n2,3\n", "at least 4 rows"),
    "constant-column": ("a,b\n1,2\n1,3\n1,1\n1,7\n", "constant"),
}


@pytest.fixture(scope="module")
def pc_r_runs(tmp_path_factory, generated_dataset, r_main_runs) -> dict:
    folder = tmp_path_factory.mktemp("pc-r-runs")
    unicode_dataset = folder / "names.csv"
    lines = [f"{i},{(i * 7) % 5},{i * 2 + (i % 3)}" for i in range(40)]
    unicode_dataset.write_bytes(
        b"\xef\xbb\xbf" + 'température,"b, c",x\n'.encode() + "\n".join(lines).encode() + b"\n"
    )
    cases = {
        "defaults": ({}, generated_dataset.data, generated_dataset.truth),
        "demo": ({}, DEMO / "data.csv", DEMO / "graph.json"),
        "no-orientation": ({"orient": False}, generated_dataset.data, None),
        "depth-zero": ({"max_depth": 0}, generated_dataset.data, None),
        "unicode-names": ({}, unicode_dataset, None),
    }
    for name, (text, _) in BAD_DATASETS.items():
        (folder / f"{name}.csv").write_text(text)
        cases[name] = ({}, folder / f"{name}.csv", None)
    return r_main_runs(folder, "pc-r", cases)


@pytest.fixture(scope="module")
def pc_r_run(pc_r_runs):
    """The pc-r run with defaults on the generated dataset and its true graph."""
    run = pc_r_runs["defaults"]
    assert run.returncode == 0, run.stderr
    return run


def graph_of(run) -> dict:
    return json.loads((run.output_dir / "graph.json").read_text())


def test_pc_r_writes_a_valid_graph_over_the_dataset_columns(pc_r_run, generated_dataset):
    graph = kit.read_graph(pc_r_run.output_dir / "graph.json")
    assert graph["nodes"] == generated_dataset.graph["nodes"]
    assert all(set(edge) == {"source", "target", "type"} for edge in graph["edges"])


def test_pc_r_recovers_the_cpdag_of_the_generated_dag(pc_r_run, edge_summary):
    assert edge_summary(graph_of(pc_r_run)) == {
        ("X1", "X3", "directed"),
        ("X2", "X3", "directed"),
        ("X4", "X3", "directed"),
        ("X1", "X5", "undirected"),
        ("X2", "X4", "undirected"),
    }


def test_pc_r_metrics_agree_with_a_hand_computed_comparison(
    pc_r_run, generated_dataset, hand_comparison
):
    metrics = pc_r_run.metrics
    graph = graph_of(pc_r_run)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics["edges"] == len(graph["edges"])
    assert metrics["directed_edges"] == sum(1 for e in graph["edges"] if e["type"] == "directed")
    assert (metrics["nodes"], metrics["rows"]) == (5, 300)
    assert metrics["tests"] > 0 and metrics["runtime_s"] >= 0
    for key, value in hand_comparison(graph, generated_dataset.graph).items():
        assert metrics[key] == pytest.approx(value), key


def test_pc_r_agrees_with_causal_learn_pc_on_the_demo_dataset(
    pc_r_runs, run_algorithm, edge_summary
):
    r = pc_r_runs["demo"]
    python = run_algorithm("pc", dataset=DEMO / "data.csv", truth=DEMO / "graph.json")
    assert r.returncode == 0, r.stderr
    assert python.returncode == 0, python.stderr
    assert edge_summary(graph_of(r)) == edge_summary(graph_of(python))
    for key in ("shd", "precision", "recall", "f1"):
        assert r.metrics[key] == python.metrics[key], key


def test_pc_r_without_orientation_gives_the_same_skeleton_undirected(pc_r_runs, pc_r_run):
    run = pc_r_runs["no-orientation"]
    assert run.returncode == 0, run.stderr
    edges = graph_of(run)["edges"]
    assert {e["type"] for e in edges} == {"undirected"}
    oriented = graph_of(pc_r_run)["edges"]
    assert {frozenset((e["source"], e["target"])) for e in edges} == {
        frozenset((e["source"], e["target"])) for e in oriented
    }
    assert "shd" not in run.metrics


def test_pc_r_with_depth_zero_keeps_at_least_the_edges_with_one_test_per_ordered_pair(
    pc_r_runs, pc_r_run
):
    run = pc_r_runs["depth-zero"]
    assert run.returncode == 0, run.stderr
    # Only marginal tests, so it can only remove fewer edges than the full search.
    assert run.metrics["edges"] >= pc_r_run.metrics["edges"]
    # Each of the 10 pairs is tested from both ends, except that a pair removed
    # from its first end is not tested again: 20 - (10 - edges) tests.
    assert run.metrics["tests"] == 10 + run.metrics["edges"]


def test_pc_r_reports_rising_progress_that_ends_at_one(pc_r_run):
    assert len(pc_r_run.progress) >= 3
    assert pc_r_run.progress == sorted(pc_r_run.progress)
    assert pc_r_run.progress[-1] == 1.0


def test_pc_r_keeps_unicode_column_names_and_drops_a_byte_order_mark(pc_r_runs):
    run = pc_r_runs["unicode-names"]
    assert run.returncode == 0, run.stderr
    graph = graph_of(run)
    assert graph["nodes"] == ["température", "b, c", "x"]
    assert {frozenset((e["source"], e["target"])) for e in graph["edges"]} == {
        frozenset(("température", "x"))
    }


@pytest.mark.parametrize("case", BAD_DATASETS)
def test_pc_r_fails_clearly_on_a_bad_dataset(pc_r_runs, case):
    run = pc_r_runs[case]
    assert run.returncode == 1
    assert BAD_DATASETS[case][1] in run.stderr
    assert not (run.output_dir / "metrics.json").exists()


# Through Rscript, as the runner starts it: fail() quits with status 1, its reason on stderr.


def test_pc_r_fails_clearly_without_a_dataset(run_algorithm):
    run = run_algorithm("pc-r")
    assert run.returncode == 1
    assert "error: PC needs a dataset" in run.stderr


def test_pc_r_fails_clearly_on_a_malformed_true_graph(run_algorithm, generated_dataset, tmp_path):
    truth = tmp_path / "graph.json"
    truth.write_text('{"nodes": ["X1", "X2"], "edges": [{"source": "X1", "target": "X9"')
    run = run_algorithm("pc-r", dataset=generated_dataset.data, truth=truth)
    assert run.returncode == 1
    assert "true graph" in run.stderr
    assert not (run.output_dir / "metrics.json").exists()
