"""GES causal discovery (causal-learn) as a Petri algorithm.

Reads the dataset CSV, runs GES, writes graph.json and metrics.json to
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

# Endpoint pairs (at node1, at node2) of a causal-learn CPDAG edge.
EDGE_KINDS = {
    ("TAIL", "ARROW"): "directed",
    ("TAIL", "TAIL"): "undirected",
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
            fail(f"row {i + 2} is not numeric ({error}); GES needs numeric columns")
    if not np.isfinite(values).all():
        fail("the dataset has missing or infinite values")
    return header, values


def to_graph_json(general_graph) -> dict:
    """causal-learn GeneralGraph (a CPDAG) -> Petri graph.json."""
    edges = []
    for edge in general_graph.get_graph_edges():
        node1, node2 = edge.get_node1().get_name(), edge.get_node2().get_name()
        end1, end2 = edge.get_endpoint1().name, edge.get_endpoint2().name
        if (end1, end2) == ("ARROW", "TAIL"):
            node1, node2, end1, end2 = node2, node1, end2, end1
        kind = EDGE_KINDS.get((end1, end2))
        if kind is None:
            raise ValueError(f"unexpected edge endpoints {end1}/{end2} between {node1} and {node2}")
        edges.append({"source": node1, "target": node2, "type": kind})
    graph = {"nodes": general_graph.get_node_names(), "edges": edges}
    validate_graph(graph)
    return graph


def main() -> None:
    params = json.loads(Path(os.environ["PETRI_PARAMS_FILE"]).read_text())
    output_dir = Path(os.environ["PETRI_OUTPUT_DIR"])
    output_dir.mkdir(parents=True, exist_ok=True)
    dataset = os.environ.get("PETRI_DATASET_FILE")
    if not dataset:
        fail("GES needs a dataset (PETRI_DATASET_FILE is not set)")

    score_func = str(params["score_func"])
    max_parents = int(params["max_parents"])
    lambda_value = float(params["lambda_value"])
    progress(0.0)
    names, data = read_csv(dataset)
    log(f"loaded {data.shape[0]} rows x {data.shape[1]} columns from the dataset")
    if data.shape[0] < 3:
        fail("GES needs at least 3 rows")
    if score_func == "local_score_BDeu" and not np.array_equal(data, np.round(data)):
        # BDeu counts every distinct value as a category: on continuous data it
        # would run for ages and mean nothing.
        fail("local_score_BDeu needs discrete data (integer-coded columns)")
    progress(0.1)

    # Imported late: causal-learn takes seconds to import, and bad input should fail fast.
    from causallearn.search.ScoreBased.GES import ges

    log(
        f"running GES: score_func={score_func} max_parents={max_parents} "
        f"lambda_value={lambda_value}"
    )
    options: dict = {"score_func": score_func, "node_names": names}
    if max_parents >= 0:
        options["maxP"] = max_parents
    if score_func == "local_score_BIC":
        options["lambda_value"] = lambda_value
    started = time.perf_counter()
    # Keep any library chatter as labelled log lines, never mistaken for ::directives.
    chatter = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(chatter):
        warnings.simplefilter("always")
        record = ges(data, **options)
    runtime = time.perf_counter() - started
    for line in chatter.getvalue().splitlines():
        if line.strip():
            log(f"causal-learn: {line}")
    for warning in caught:
        log(f"warning: {warning.message}")
    progress(0.8)

    graph = to_graph_json(record["G"])
    (output_dir / "graph.json").write_text(json.dumps(graph, indent=2) + "\n")
    log(
        f"GES found {len(graph['edges'])} edges in {runtime:.3f}s "
        f"({len(record['update1'])} insertions, {len(record['update2'])} deletions)"
    )

    metrics: dict[str, float] = {
        "edges": len(graph["edges"]),
        "directed_edges": sum(1 for e in graph["edges"] if e["type"] == "directed"),
        "nodes": len(names),
        "rows": int(data.shape[0]),
        "score": float(record["score"]),
        "insertions": len(record["update1"]),
        "deletions": len(record["update2"]),
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
