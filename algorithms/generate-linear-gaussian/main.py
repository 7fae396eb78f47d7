"""Generate a dataset from a random linear-Gaussian DAG, as a Petri algorithm.

Writes data.csv and graph.json (the true DAG) to PETRI_OUTPUT_DIR; the server
registers them as a new dataset (algorithm.yaml says `produces: dataset`).
The sampling follows algorithms/datasets/generate.py step for step, so the same
seed and sizes give the same bytes as the demo datasets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import petri_kit as kit


def edge_count(n_nodes: int, density: float) -> int:
    """Edges for a density over the n(n-1)/2 pairs, rounded half up."""
    pairs = n_nodes * (n_nodes - 1) // 2
    # Half up, not Python's half-to-even: 0.5 of 5 pairs should give 3 edges, not 2.
    # The epsilon absorbs float error such as 0.35 * 10 = 3.4999999999999996.
    return min(pairs, int(np.floor(density * pairs + 0.5 + 1e-9)))


def random_dag(
    rng: np.random.Generator,
    n_nodes: int,
    n_edges: int,
    weight_min: float,
    weight_max: float,
) -> np.ndarray:
    """Weighted adjacency matrix W (W[i, j] != 0 means i -> j) of a random DAG."""
    # Edges only go forward in a random causal order, which guarantees acyclicity
    # without putting the causes in the first columns.
    order = rng.permutation(n_nodes)
    candidates = [(order[a], order[b]) for a in range(n_nodes) for b in range(a + 1, n_nodes)]
    chosen = rng.choice(len(candidates), size=n_edges, replace=False)
    weights = np.zeros((n_nodes, n_nodes))
    for k in sorted(chosen):
        i, j = candidates[k]
        weights[i, j] = rng.choice([-1.0, 1.0]) * rng.uniform(weight_min, weight_max)
    return weights


def topological_order(weights: np.ndarray) -> list[int]:
    """Kahn's algorithm over the nonzero entries of W."""
    indegree = (weights != 0).sum(axis=0)
    ready = [j for j in range(len(indegree)) if indegree[j] == 0]
    order = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in np.flatnonzero(weights[i]):
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(int(j))
    return order


def sample_linear_gaussian(
    rng: np.random.Generator, weights: np.ndarray, n_rows: int, noise_std: float
) -> np.ndarray:
    """Sample X = X W + E with Gaussian noise E of standard deviation noise_std."""
    data = np.zeros((n_rows, weights.shape[0]))
    for j in topological_order(weights):
        data[:, j] = data @ weights[:, j] + noise_std * rng.standard_normal(n_rows)
    return data


def graph_json(weights: np.ndarray, names: list[str]) -> dict:
    edges = [
        {
            "source": names[i],
            "target": names[j],
            "type": "directed",
            "weight": round(float(weights[i, j]), 4),
        }
        for i, j in zip(*np.nonzero(weights), strict=True)
    ]
    return {"nodes": names, "edges": edges}


def write_csv(path: Path, names: list[str], data: np.ndarray) -> None:
    """Four decimals, like the demo datasets; reports progress as the rows go out."""
    step = max(len(data) // 10, 1)
    with path.open("w") as handle:
        handle.write(",".join(names) + "\n")
        for start in range(0, len(data), step):
            block = data[start : start + step]
            handle.write("".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in block))
            kit.progress(0.5 + 0.45 * min(start + step, len(data)) / len(data))


def run(job: kit.Job) -> None:
    """Sample a random DAG and data from it; write data.csv, graph.json and metrics.json."""
    params = job.params
    n_nodes = int(params["nodes"])
    density = float(params["edge_density"])
    n_rows = int(params["samples"])
    seed = int(params["seed"])
    weight_min, weight_max = float(params["weight_min"]), float(params["weight_max"])
    noise_std = float(params["noise_std"])
    if n_nodes < 2:
        kit.fail("nodes must be at least 2")
    if not 0 <= density <= 1:
        kit.fail("edge_density must be between 0 and 1")
    if n_rows < 1:
        kit.fail("samples must be at least 1")
    if not 0 <= weight_min <= weight_max:
        kit.fail(f"need 0 <= weight_min <= weight_max, got {weight_min} and {weight_max}")
    if noise_std <= 0:
        kit.fail("noise_std must be positive")

    kit.progress(0.0)
    n_edges = edge_count(n_nodes, density)
    kit.log(
        f"random DAG: {n_nodes} nodes, {n_edges} edges (density {density}), "
        f"|weights| in [{weight_min}, {weight_max}], seed {seed}"
    )
    rng = np.random.default_rng(seed)
    weights = random_dag(rng, n_nodes, n_edges, weight_min, weight_max)
    kit.progress(0.1)
    data = sample_linear_gaussian(rng, weights, n_rows, noise_std)
    if not np.isfinite(data).all():
        kit.fail("the sampled values overflowed; lower weight_max or the density")
    kit.log(f"sampled {n_rows} rows")
    kit.progress(0.5)

    names = [f"X{k + 1}" for k in range(n_nodes)]
    kit.write_graph(job.output_dir / "graph.json", graph_json(weights, names))
    write_csv(job.output_dir / "data.csv", names, data)
    job.write_metrics({"nodes": n_nodes, "edges": n_edges, "rows": n_rows})
    kit.log(f"wrote data.csv ({n_rows} x {n_nodes}) and graph.json ({n_edges} edges)")
    kit.progress(1.0)


if __name__ == "__main__":
    run(kit.Job.from_env())
