#!/usr/bin/env python
"""A PC sweep through Petri's local backend against running PC's entrypoint directly.

Usage: .venv/bin/python benchmarks/pc_sweep.py [--jobs 1000] [--slots 2] [--rows 300]
           [--variables 8]

Makes a small linear-Gaussian dataset (--variables columns, --rows rows, fixed seed), serves
Petri embedded for real (as benchmarks/local_overhead.py does), uploads the dataset and submits
one PC experiment of --jobs jobs (a sweep over alpha, repeated). Side by side, the floor: PC's
entrypoint (`python main.py` in algorithms/pc) run directly --jobs times, --slots at a time, on
the same file. Each direct run pays causal-learn's import; Petri's warm zygote pays it once. The
goal is at most 0.3x the floor. Prints both, their ratio and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_overhead import run_directly, run_experiment, serving

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.3
ALPHAS = [0.01, 0.02, 0.05, 0.1]
PARAMS = {"alpha": 0.05, "indep_test": "fisherz", "stable": True}


def make_dataset(path: Path, rows: int, variables: int) -> None:
    """A random linear-Gaussian DAG's samples: each variable depends on up to two before it."""
    rng = np.random.default_rng(16)
    data = np.zeros((rows, variables))
    for j in range(variables):
        data[:, j] = rng.normal(size=rows)
        for parent in rng.choice(j, size=min(j, 2), replace=False) if j else []:
            data[:, j] += rng.uniform(0.5, 1.5) * data[:, parent]
    header = ",".join(f"X{j + 1}" for j in range(variables))
    np.savetxt(path, data, delimiter=",", header=header, comments="", fmt="%.5f")


def upload(url: str, token: str, path: Path) -> int:
    from petri_client.client import Client

    return Client(url, token).upload_dataset(path, "pc-sweep")["id"]


def through_petri(jobs: int, slots: int, workdir: Path, dataset: Path) -> float:
    with serving(workdir, slots) as (url, token):
        dataset_id = upload(url, token, dataset)
        repeats, rest = divmod(jobs, len(ALPHAS))
        if rest:
            raise SystemExit(f"--jobs must be a multiple of {len(ALPHAS)} (the alphas swept)")
        spec = {
            "algorithm": "pc",
            "dataset": dataset_id,
            "parameters": {**PARAMS, "alpha": ALPHAS},
            "repeats": repeats,
        }
        return run_experiment(url, token, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--variables", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="petri-pc-sweep-") as tmp:
        workdir = Path(tmp)
        dataset = workdir / "data.csv"
        make_dataset(dataset, args.rows, args.variables)
        floor = run_directly("pc", args.jobs, args.slots, workdir, PARAMS, dataset)
        petri = through_petri(args.jobs, args.slots, workdir, dataset)
    ratio = petri / floor
    load = os.getloadavg()[0]
    print(f"{'measure':<44}{'seconds':>10}  per job")
    print(f"{'PC run directly (the floor)':<44}{floor:>10.2f}  {floor / args.jobs * 1000:.0f} ms")
    per_job = petri / args.jobs * 1000
    print(f"{'through Petri (local backend, warm)':<44}{petri:>10.2f}  {per_job:.0f} ms")
    print(f"{'ratio (goal <= 0.3x)':<44}{ratio:>10.2f}x {'met' if ratio <= GOAL else 'not met'}")
    print(f"{'load average (1 min)':<44}{load:>10.2f}")
    print(
        json.dumps(
            {
                "jobs": args.jobs,
                "slots": args.slots,
                "rows": args.rows,
                "variables": args.variables,
                "floor_s": round(floor, 3),
                "petri_s": round(petri, 3),
                "ratio": round(ratio, 3),
                "load": round(load, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
