"""The demo dataset is small, consistent with its graph, and regenerable."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import petri_kit as kit

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
DEMO = DATASETS / "linear-gaussian-6"


def test_demo_dataset_is_small_and_numeric():
    assert (DEMO / "data.csv").stat().st_size < 100_000
    with open(DEMO / "data.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == [f"X{i}" for i in range(1, 7)]
    assert len(rows) == 1000
    assert all(len(row) == 6 for row in rows)
    assert all(len(cell.split(".")[1]) == 4 for row in rows for cell in row)


def test_demo_graph_is_a_dag_over_the_dataset_columns():
    graph = kit.read_graph(DEMO / "graph.json")
    assert graph["nodes"] == [f"X{i}" for i in range(1, 7)]
    assert all(edge["type"] == "directed" for edge in graph["edges"])
    # Remove sinks until nothing is left; a cycle would leave nodes behind.
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    nodes = set(graph["nodes"])
    while nodes:
        sinks = {n for n in nodes if not any(s == n for s, _ in edges)}
        assert sinks, "the true graph has a cycle"
        nodes -= sinks
        edges = {(s, t) for s, t in edges if t not in sinks}


def test_generate_py_reproduces_the_demo_dataset_byte_for_byte(tmp_path, monkeypatch):
    # Its command line, called in this process: numpy is already imported.
    spec = importlib.util.spec_from_file_location("petri_demo_generate", DATASETS / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    monkeypatch.setattr(sys, "argv", ["generate.py", "--out", str(tmp_path)])
    generate.main()
    for name in ("data.csv", "graph.json"):
        assert (tmp_path / DEMO.name / name).read_bytes() == (DEMO / name).read_bytes()
    assert json.loads((tmp_path / DEMO.name / "graph.json").read_text())["edges"]
