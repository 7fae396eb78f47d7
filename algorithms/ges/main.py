"""GES causal discovery (causal-learn) as a Petri algorithm.

Reads the dataset CSV, runs GES, writes graph.json and metrics.json to
PETRI_OUTPUT_DIR, and compares with PETRI_TRUTH_FILE when there is one.
"""

from __future__ import annotations

import time

import numpy as np
import petri_kit as kit

# Endpoint pairs (at node1, at node2) of a causal-learn CPDAG edge.
EDGE_KINDS = {
    ("TAIL", "ARROW"): "directed",
    ("TAIL", "TAIL"): "undirected",
}


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
    return kit.validate_graph({"nodes": general_graph.get_node_names(), "edges": edges})


def run(job: kit.Job) -> None:
    """Learn the CPDAG of the job's dataset; write graph.json and metrics.json."""
    dataset = job.require_dataset("GES")
    score_func = str(job.params["score_func"])
    max_parents = int(job.params["max_parents"])
    lambda_value = float(job.params["lambda_value"])
    kit.progress(0.0)
    names, rows = kit.read_csv(dataset)
    data = np.array(rows, dtype=float).reshape(len(rows), len(names))
    kit.log(f"loaded {data.shape[0]} rows x {data.shape[1]} columns from the dataset")
    if data.shape[0] < 3:
        kit.fail("GES needs at least 3 rows")
    if score_func == "local_score_BDeu" and not np.array_equal(data, np.round(data)):
        # BDeu counts every distinct value as a category: on continuous data it
        # would run for ages and mean nothing.
        kit.fail("local_score_BDeu needs discrete data (integer-coded columns)")
    kit.progress(0.1)

    # Imported late: causal-learn takes seconds to import, and bad input should fail fast.
    from causallearn.search.ScoreBased.GES import ges

    kit.log(
        f"running GES: score_func={score_func} max_parents={max_parents} "
        f"lambda_value={lambda_value}"
    )
    options: dict = {"score_func": score_func, "node_names": names}
    if max_parents >= 0:
        options["maxP"] = max_parents
    if score_func == "local_score_BIC":
        options["lambda_value"] = lambda_value
    started = time.perf_counter()
    with kit.library_output("causal-learn"):
        record = ges(data, **options)
    runtime = time.perf_counter() - started
    kit.progress(0.8)

    graph = to_graph_json(record["G"])
    kit.write_graph(job.output_dir / "graph.json", graph)
    kit.log(
        f"GES found {len(graph['edges'])} edges in {runtime:.3f}s "
        f"({len(record['update1'])} insertions, {len(record['update2'])} deletions)"
    )

    job.write_metrics(
        {
            "edges": len(graph["edges"]),
            "directed_edges": sum(1 for e in graph["edges"] if e["type"] == "directed"),
            "nodes": len(names),
            "rows": int(data.shape[0]),
            "score": float(record["score"]),
            "insertions": len(record["update1"]),
            "deletions": len(record["update2"]),
            "runtime_s": round(runtime, 6),
            **job.compare_with_truth(graph),
        }
    )
    kit.progress(1.0)


if __name__ == "__main__":
    run(kit.Job.from_env())
