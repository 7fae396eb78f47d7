"""PC causal discovery (causal-learn) as a Petri algorithm.

Reads the dataset CSV, runs PC, writes graph.json and metrics.json to
PETRI_OUTPUT_DIR, and compares with PETRI_TRUTH_FILE when there is one.
"""

from __future__ import annotations

import time

import numpy as np
import petri_kit as kit

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
    return kit.validate_graph({"nodes": general_graph.get_node_names(), "edges": edges})


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


def run(job: kit.Job) -> None:
    """Learn the CPDAG of the job's dataset; write graph.json and metrics.json."""
    dataset = job.require_dataset("PC")
    alpha = float(job.params["alpha"])
    indep_test = str(job.params["indep_test"])
    stable = bool(job.params["stable"])
    kit.progress(0.0)
    names, rows = kit.read_csv(dataset)
    data = np.array(rows, dtype=float).reshape(len(rows), len(names))
    kit.log(f"loaded {data.shape[0]} rows x {data.shape[1]} columns from the dataset")
    if data.shape[0] < 3:
        kit.fail("PC needs at least 3 rows")
    kit.progress(0.1)

    # Imported late: causal-learn takes seconds to import, and bad input should fail fast.
    from causallearn.search.ConstraintBased.PC import pc

    kit.log(f"running PC: alpha={alpha} indep_test={indep_test} stable={stable}")
    started = time.perf_counter()
    with kit.library_output("causal-learn"):
        result = pc(
            data,
            alpha=alpha,
            indep_test=indep_test,
            stable=stable,
            show_progress=False,
            node_names=names,
        )
    runtime = time.perf_counter() - started
    kit.progress(0.8)

    graph = to_graph_json(result.G)
    graph["sepsets"] = separation_sets(result.sepset, names)
    kit.write_graph(job.output_dir / "graph.json", graph)
    kit.log(f"PC found {len(graph['edges'])} edges in {runtime:.3f}s")

    job.write_metrics(
        {
            "edges": len(graph["edges"]),
            "directed_edges": sum(1 for e in graph["edges"] if e["type"] == "directed"),
            "nodes": len(names),
            "rows": int(data.shape[0]),
            "runtime_s": round(runtime, 6),
            **job.compare_with_truth(graph),
        }
    )
    kit.progress(1.0)


if __name__ == "__main__":
    run(kit.Job.from_env())
