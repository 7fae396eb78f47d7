"""FCI causal discovery (causal-learn) as a Petri algorithm.

Reads the dataset CSV, runs FCI, writes graph.json (a PAG) and metrics.json to
PETRI_OUTPUT_DIR, and compares with PETRI_TRUTH_FILE when there is one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

import numpy as np
from graphs import compare, load_graph, validate_graph

# PAG endpoint pairs (at source, at target) -> graph.json type. A circle is an
# undetermined mark: an edge is directed when exactly its target end is an
# arrowhead (o-> claims "target is not an ancestor of source", like ->),
# bidirected when both ends are, and undirected when neither is.
EDGE_KINDS = {
    ("tail", "arrow"): "directed",
    ("circle", "arrow"): "directed",
    ("arrow", "arrow"): "bidirected",
    ("tail", "tail"): "undirected",
    ("circle", "circle"): "undirected",
    ("tail", "circle"): "undirected",
    ("circle", "tail"): "undirected",
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
            fail(f"row {i + 2} is not numeric ({error}); FCI needs numeric columns")
    if not np.isfinite(values).all():
        fail("the dataset has missing or infinite values")
    return header, values


def pag_edge(node1: str, node2: str, end1: str, end2: str) -> dict:
    """One PAG edge with its marks at node1 and node2 -> a graph.json edge."""
    marks = (end1.lower(), end2.lower())
    if marks not in EDGE_KINDS and marks[::-1] in EDGE_KINDS:
        # Only edges with the arrowhead at node1 reach here; turn them around.
        node1, node2, marks = node2, node1, marks[::-1]
    if marks not in EDGE_KINDS:
        raise ValueError(f"unexpected edge endpoints {end1}/{end2} between {node1} and {node2}")
    # Every edge carries its marks, so a reader can draw the PAG without the type table.
    return {"source": node1, "target": node2, "type": EDGE_KINDS[marks], "endpoints": list(marks)}


def to_graph_json(general_graph) -> dict:
    """causal-learn GeneralGraph (a PAG) -> Petri graph.json."""
    edges = [
        pag_edge(
            edge.get_node1().get_name(),
            edge.get_node2().get_name(),
            edge.get_endpoint1().name,
            edge.get_endpoint2().name,
        )
        for edge in general_graph.get_graph_edges()
    ]
    graph = {"nodes": general_graph.get_node_names(), "edges": edges}
    validate_graph(graph)
    return graph


def main() -> None:
    params = json.loads(Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    output_dir = Path(os.environ["PETRI_OUTPUT_DIR"])
    output_dir.mkdir(parents=True, exist_ok=True)
    dataset = os.environ.get("PETRI_DATASET_FILE")
    if not dataset:
        fail("FCI needs a dataset (PETRI_DATASET_FILE is not set)")

    alpha = float(params["alpha"])
    indep_test = str(params["indep_test"])
    depth = int(params["depth"])
    max_path_length = int(params["max_path_length"])
    progress(0.0)
    names, data = read_csv(dataset)
    log(f"loaded {data.shape[0]} rows x {data.shape[1]} columns from the dataset")
    if data.shape[0] < 4:
        fail("FCI needs at least 4 rows")
    progress(0.1)

    # Imported late: causal-learn takes seconds to import, and bad input should fail fast.
    from causallearn.search.ConstraintBased.FCI import fci

    log(
        f"running FCI: alpha={alpha} indep_test={indep_test} depth={depth} "
        f"max_path_length={max_path_length}"
    )
    started = time.perf_counter()
    # causal-learn prints some edges it removes; keep that chatter, but as
    # labelled log lines that can never be mistaken for ::directives.
    chatter = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(chatter):
        warnings.simplefilter("always")
        pag, _ = fci(
            data,
            independence_test_method=indep_test,
            alpha=alpha,
            depth=depth,
            max_path_length=max_path_length,
            show_progress=False,
            node_names=names,
        )
    runtime = time.perf_counter() - started
    for line in chatter.getvalue().splitlines():
        if line.strip():
            log(f"causal-learn: {line}")
    for warning in caught:
        log(f"warning: {warning.message}")
    progress(0.8)

    graph = to_graph_json(pag)
    (output_dir / "graph.json").write_text(json.dumps(graph, indent=2) + "\n")
    log(f"FCI found {len(graph['edges'])} edges in {runtime:.3f}s")

    edges = graph["edges"]
    metrics: dict[str, float] = {
        "edges": len(edges),
        "directed_edges": sum(1 for e in edges if e["type"] == "directed"),
        "undirected_edges": sum(1 for e in edges if e["type"] == "undirected"),
        "bidirected_edges": sum(1 for e in edges if e["type"] == "bidirected"),
        "circle_endpoints": sum(e["endpoints"].count("circle") for e in edges),
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
