"""PC causal discovery (causal-learn) as a Petri algorithm.

Reads the dataset CSV, runs PC, writes graph.json and metrics.json to
PETRI_OUTPUT_DIR, and compares with PETRI_TRUTH_FILE when there is one.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

import numpy as np
from graphs import compare, load_graph, validate_graph

# Endpoint pairs (at node1, at node2) of causal-learn edges. A circle is an
# undetermined mark; PC never emits one, so it is read as a tail.
EDGE_KINDS = {
    ("TAIL", "ARROW"): "directed",
    ("CIRCLE", "ARROW"): "directed",
    ("TAIL", "TAIL"): "undirected",
    ("CIRCLE", "CIRCLE"): "undirected",
    ("TAIL", "CIRCLE"): "undirected",
    ("CIRCLE", "TAIL"): "undirected",
    ("ARROW", "ARROW"): "bidirected",
}


def progress(fraction: float) -> None:
    print(f"::progress {fraction:.2f}", flush=True)


def log(message: str) -> None:
    print(message, flush=True)


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def read_csv(path: str) -> tuple[list[str], np.ndarray]:
    """Numeric CSV with a header row -> (column names, rows x columns array)."""
    # utf-8-sig: spreadsheets often save a byte-order mark before the header.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        rows = [row for row in reader if row]
    if not header:
        fail("the dataset is empty")
    if len(set(header)) != len(header):
        fail("the dataset has duplicate column names")
    values = np.empty((len(rows), len(header)))
    for i, row in enumerate(rows):
        if len(row) != len(header):
            fail(f"row {i + 2} has {len(row)} fields, the header has {len(header)}")
        try:
            values[i] = [float(cell) for cell in row]
        except ValueError as error:
            fail(f"row {i + 2} is not numeric ({error}); PC needs numeric columns")
    if not np.isfinite(values).all():
        fail("the dataset has missing or infinite values")
    return header, values


def to_graph_json(general_graph) -> dict:
    """causal-learn GeneralGraph -> Petri graph.json."""
    edges = []
    for edge in general_graph.get_graph_edges():
        node1, node2 = edge.get_node1().get_name(), edge.get_node2().get_name()
        end1, end2 = edge.get_endpoint1().name, edge.get_endpoint2().name
        kind = EDGE_KINDS.get((end1, end2))
        if kind is None and (end2, end1) in EDGE_KINDS:
            # Only arrow-left edges reach here; turn them around.
            node1, node2 = node2, node1
            kind = EDGE_KINDS[(end2, end1)]
        if kind is None:
            raise ValueError(f"unexpected edge endpoints {end1}/{end2} between {node1} and {node2}")
        edges.append({"source": node1, "target": node2, "type": kind})
    graph = {"nodes": general_graph.get_node_names(), "edges": edges}
    validate_graph(graph)
    return graph


def separation_sets(sepset, names: list[str]) -> list[dict]:
    """The conditioning sets that made each removed pair independent (causal-learn's sepset)."""
    found = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            sets = sepset[i, j] if sepset is not None else None
            if not sets:
                continue
            # causal-learn may record the same set more than once; keep each once, in order.
            unique = list(dict.fromkeys(tuple(sorted(int(k) for k in s)) for s in sets))
            for members in unique:
                found.append({"x": names[i], "y": names[j], "set": [names[k] for k in members]})
    return found


def main() -> None:
    params = json.loads(Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    output_dir = Path(os.environ["PETRI_OUTPUT_DIR"])
    output_dir.mkdir(parents=True, exist_ok=True)
    dataset = os.environ.get("PETRI_DATASET_FILE")
    if not dataset:
        fail("PC needs a dataset (PETRI_DATASET_FILE is not set)")

    alpha = float(params["alpha"])
    indep_test = str(params["indep_test"])
    stable = bool(params["stable"])
    progress(0.0)
    names, data = read_csv(dataset)
    log(f"loaded {data.shape[0]} rows x {data.shape[1]} columns from the dataset")
    if data.shape[0] < 3:
        fail("PC needs at least 3 rows")
    progress(0.1)

    # Imported late: causal-learn takes seconds to import, and bad input should fail fast.
    from causallearn.search.ConstraintBased.PC import pc

    log(f"running PC: alpha={alpha} indep_test={indep_test} stable={stable}")
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pc(
            data,
            alpha=alpha,
            indep_test=indep_test,
            stable=stable,
            show_progress=False,
            node_names=names,
        )
    runtime = time.perf_counter() - started
    for warning in caught:
        log(f"warning: {warning.message}")
    progress(0.8)

    graph = to_graph_json(result.G)
    graph["sepsets"] = separation_sets(result.sepset, names)
    (output_dir / "graph.json").write_text(json.dumps(graph, indent=2) + "\n")
    log(f"PC found {len(graph['edges'])} edges in {runtime:.3f}s")

    metrics: dict[str, float] = {
        "edges": len(graph["edges"]),
        "directed_edges": sum(1 for e in graph["edges"] if e["type"] == "directed"),
        "nodes": len(names),
        "rows": int(data.shape[0]),
        "runtime_s": round(runtime, 6),
    }
    truth_file = os.environ.get("PETRI_TRUTH_FILE")
    if truth_file:
        comparison = compare(graph, load_graph(truth_file))
        metrics.update(comparison)
        log("against the true graph: " + ", ".join(f"{k}={v:.4g}" for k, v in comparison.items()))
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    progress(1.0)


if __name__ == "__main__":
    main()
