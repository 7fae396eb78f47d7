"""Regenerate the demo datasets deterministically: `python generate.py`.

Each dataset is a folder with `data.csv` (header row, one column per variable)
and `graph.json` (the true DAG, edge weights are the linear coefficients).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def random_dag(rng: np.random.Generator, n_nodes: int, n_edges: int) -> np.ndarray:
    """Weighted adjacency matrix W (W[i, j] != 0 means i -> j) of a random DAG."""
    # Edges only go forward in a random causal order, which guarantees acyclicity
    # without putting the causes in the first columns.
    order = rng.permutation(n_nodes)
    candidates = [(order[a], order[b]) for a in range(n_nodes) for b in range(a + 1, n_nodes)]
    chosen = rng.choice(len(candidates), size=n_edges, replace=False)
    weights = np.zeros((n_nodes, n_nodes))
    for k in sorted(chosen):
        i, j = candidates[k]
        # Coefficients bounded away from zero keep every edge detectable.
        weights[i, j] = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
    return weights


def sample_linear_gaussian(
    rng: np.random.Generator, weights: np.ndarray, n_rows: int
) -> np.ndarray:
    """Sample X = X W + E with standard normal noise E."""
    n_nodes = weights.shape[0]
    data = np.zeros((n_rows, n_nodes))
    for j in topological_order(weights):
        data[:, j] = data @ weights[:, j] + rng.standard_normal(n_rows)
    return data


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


def write_dataset(folder: Path, data: np.ndarray, weights: np.ndarray) -> None:
    names = [f"X{k + 1}" for k in range(data.shape[1])]
    folder.mkdir(parents=True, exist_ok=True)
    lines = [",".join(names)]
    lines += [",".join(f"{v:.4f}" for v in row) for row in data]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    (folder / "graph.json").write_text(json.dumps(graph_json(weights, names), indent=2) + "\n")


def linear_gaussian_6(out: Path) -> None:
    rng = np.random.default_rng(21)
    weights = random_dag(rng, n_nodes=6, n_edges=7)
    data = sample_linear_gaussian(rng, weights, n_rows=1000)
    write_dataset(out / "linear-gaussian-6", data, weights)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write datasets into")
    args = parser.parse_args()
    linear_gaussian_6(args.out)


if __name__ == "__main__":
    main()
