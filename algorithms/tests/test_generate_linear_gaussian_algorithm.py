"""The generate-linear-gaussian generator run end to end as a subprocess."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import petri_kit as kit
import pytest

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "linear-gaussian-6"
NAME = "generate-linear-gaussian"


def read_data(run) -> tuple[list[str], np.ndarray]:
    with open(run.output_dir / "data.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, np.array(rows, dtype=float)


def is_acyclic(graph: dict) -> bool:
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    nodes = set(graph["nodes"])
    # Remove sinks until nothing is left; a cycle would leave nodes behind.
    while nodes:
        sinks = {n for n in nodes if not any(s == n for s, _ in edges)}
        if not sinks:
            return False
        nodes -= sinks
        edges = {(s, t) for s, t in edges if t not in sinks}
    return True


def test_the_generator_reproduces_the_demo_dataset_byte_for_byte(run_algorithm):
    # The demo has 7 of the 15 pairs of 6 nodes; 0.4667 * 15 rounds to 7.
    run = run_algorithm(NAME, {"nodes": 6, "edge_density": 0.4667, "samples": 1000, "seed": 21})
    assert run.returncode == 0, run.stderr
    for name in ("data.csv", "graph.json"):
        assert (run.output_dir / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_the_generator_writes_a_valid_dag_over_the_data_columns(generated_dataset):
    graph = kit.read_graph(generated_dataset.truth)
    header = generated_dataset.data.read_text().splitlines()[0].split(",")
    assert graph["nodes"] == header == ["X1", "X2", "X3", "X4", "X5"]
    assert all(edge["type"] == "directed" for edge in graph["edges"])
    assert is_acyclic(graph)
    assert len(generated_dataset.data.read_text().splitlines()) == 1 + 300


@pytest.mark.parametrize(
    ("nodes", "density", "edges"),
    [(5, 0.5, 5), (5, 0.0, 0), (5, 1.0, 10), (5, 0.35, 4), (5, 0.34, 3), (2, 1.0, 1)],
)
def test_the_edge_count_is_the_density_of_all_pairs_rounded_half_up(
    run_algorithm, nodes, density, edges
):
    run = run_algorithm(NAME, {"nodes": nodes, "edge_density": density, "samples": 20})
    assert run.returncode == 0, run.stderr
    graph = json.loads((run.output_dir / "graph.json").read_text())
    assert len(graph["edges"]) == edges
    assert is_acyclic(graph)
    assert run.metrics == {"nodes": nodes, "edges": edges, "rows": 20}


def test_the_data_follow_the_true_coefficients_and_noise(run_algorithm):
    run = run_algorithm(
        NAME,
        {
            "nodes": 6,
            "edge_density": 0.6,
            "samples": 20000,
            "seed": 3,
            "weight_min": 0.8,
            "weight_max": 1.2,
            "noise_std": 0.5,
        },
    )
    assert run.returncode == 0, run.stderr
    names, data = read_data(run)
    graph = json.loads((run.output_dir / "graph.json").read_text())
    for node in names:
        parents = {e["source"]: e["weight"] for e in graph["edges"] if e["target"] == node}
        column = data[:, names.index(node)]
        residual = column
        if parents:
            design = data[:, [names.index(p) for p in parents]]
            coefficients, *_ = np.linalg.lstsq(design, column, rcond=None)
            # Least squares on the true parents recovers each coefficient.
            assert coefficients == pytest.approx(list(parents.values()), abs=0.03), node
            residual = column - design @ coefficients
        assert residual.mean() == pytest.approx(0, abs=0.02), node
        assert residual.std() == pytest.approx(0.5, abs=0.02), node
    assert all(0.8 <= abs(e["weight"]) <= 1.2 for e in graph["edges"])


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_data(run_algorithm):
    first = run_algorithm(NAME, {"nodes": 4, "samples": 50, "seed": 5})
    again = run_algorithm(NAME, {"nodes": 4, "samples": 50, "seed": 5})
    other = run_algorithm(NAME, {"nodes": 4, "samples": 50, "seed": 6})
    data = [(run.output_dir / "data.csv").read_bytes() for run in (first, again, other)]
    assert data[0] == data[1] != data[2]
    assert (first.output_dir / "graph.json").read_bytes() == (
        again.output_dir / "graph.json"
    ).read_bytes()


def test_the_generator_reports_rising_progress_that_ends_at_one(run_algorithm):
    run = run_algorithm(NAME, {"nodes": 3, "samples": 100})
    assert run.returncode == 0, run.stderr
    assert len(run.progress) >= 3
    assert run.progress == sorted(run.progress)
    assert run.progress[-1] == 1.0


def test_the_generator_refuses_a_weight_range_upside_down(run_algorithm):
    run = run_algorithm(NAME, {"weight_min": 2.0, "weight_max": 1.0})
    assert run.returncode != 0
    assert "weight_min" in run.stderr
    assert not (run.output_dir / "data.csv").exists()
    assert not (run.output_dir / "metrics.json").exists()


def test_the_generator_ignores_any_dataset_it_is_given(run_algorithm):
    # inputs.dataset is none; a stray PETRI_DATASET_FILE must not change the output.
    plain = run_algorithm(NAME, {"nodes": 3, "samples": 10})
    given = run_algorithm(NAME, {"nodes": 3, "samples": 10}, dataset=DEMO / "data.csv")
    assert (plain.output_dir / "data.csv").read_bytes() == (
        given.output_dir / "data.csv"
    ).read_bytes()
