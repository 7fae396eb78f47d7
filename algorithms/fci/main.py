"""FCI causal discovery (causal-learn) as a Petri algorithm.

Reads the dataset CSV, runs FCI, writes graph.json (a PAG) and metrics.json to
PETRI_OUTPUT_DIR, and compares with PETRI_TRUTH_FILE when there is one.
"""

from __future__ import annotations

import time

import numpy as np
import petri_kit as kit

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
    return kit.validate_graph({"nodes": general_graph.get_node_names(), "edges": edges})


def run(job: kit.Job) -> None:
    """Learn the PAG of the job's dataset; write graph.json and metrics.json."""
    dataset = job.require_dataset("FCI")
    alpha = float(job.params["alpha"])
    indep_test = str(job.params["indep_test"])
    depth = int(job.params["depth"])
    max_path_length = int(job.params["max_path_length"])
    kit.progress(0.0)
    names, rows = kit.read_csv(dataset)
    data = np.array(rows, dtype=float).reshape(len(rows), len(names))
    kit.log(f"loaded {data.shape[0]} rows x {data.shape[1]} columns from the dataset")
    if data.shape[0] < 4:
        kit.fail("FCI needs at least 4 rows")
    kit.progress(0.1)

    # Imported late: causal-learn takes seconds to import, and bad input should fail fast.
    from causallearn.search.ConstraintBased.FCI import fci

    kit.log(
        f"running FCI: alpha={alpha} indep_test={indep_test} depth={depth} "
        f"max_path_length={max_path_length}"
    )
    started = time.perf_counter()
    # causal-learn prints some edges it removes: kept as labelled log lines.
    with kit.library_output("causal-learn"):
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
    kit.progress(0.8)

    graph = to_graph_json(pag)
    kit.write_graph(job.output_dir / "graph.json", graph)
    kit.log(f"FCI found {len(graph['edges'])} edges in {runtime:.3f}s")

    edges = graph["edges"]
    job.write_metrics(
        {
            "edges": len(edges),
            "directed_edges": sum(1 for e in edges if e["type"] == "directed"),
            "undirected_edges": sum(1 for e in edges if e["type"] == "undirected"),
            "bidirected_edges": sum(1 for e in edges if e["type"] == "bidirected"),
            "circle_endpoints": sum(e["endpoints"].count("circle") for e in edges),
            "nodes": len(names),
            "rows": int(data.shape[0]),
            "runtime_s": round(runtime, 6),
            **job.compare_with_truth(graph),
        }
    )
    kit.progress(1.0)


if __name__ == "__main__":
    run(kit.Job.from_env())
