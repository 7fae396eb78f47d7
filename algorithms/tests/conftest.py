"""Shared fixtures: run an algorithm folder the way the Petri runner does."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ALGORITHMS_DIR = Path(__file__).resolve().parents[1]
DEMO_DATASET = ALGORITHMS_DIR / "datasets" / "linear-gaussian-6"


@dataclass
class Run:
    """What one algorithm run left behind."""

    returncode: int
    stdout: str
    stderr: str
    output_dir: Path

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def progress(self) -> list[float]:
        return [float(line.split()[1]) for line in self.lines if line.startswith("::progress ")]

    @property
    def metric_lines(self) -> list[dict[str, float]]:
        return [
            {k: float(v) for k, v in (pair.split("=", 1) for pair in line.split()[1:])}
            for line in self.lines
            if line.startswith("::metric ")
        ]

    @property
    def metrics(self) -> dict[str, float]:
        return json.loads((self.output_dir / "metrics.json").read_text())


def load_spec(name: str) -> dict:
    return yaml.safe_load((ALGORITHMS_DIR / name / "algorithm.yaml").read_text())


def run_in(
    root: Path,
    name: str,
    params: dict | None = None,
    dataset: Path | None = None,
    truth: Path | None = None,
    timeout: float = 300,
) -> Run:
    """Copy the folder under `root` and run its entrypoint there with the Petri env vars."""
    spec = load_spec(name)
    values = {key: p["default"] for key, p in spec["parameters"].items()}
    values.update(params or {})
    # A fresh directory per run, so one test may run several times.
    base = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    workdir = base / "work"
    shutil.copytree(ALGORITHMS_DIR / name, workdir, ignore=shutil.ignore_patterns("__pycache__"))
    params_file = base / "params.json"
    params_file.write_text(json.dumps(values))
    output_dir = base / "output"
    output_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETRI_")}
    # The entrypoint says "python": make that this interpreter, with its packages.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PETRI_PARAMS_FILE"] = str(params_file)
    env["PETRI_OUTPUT_DIR"] = str(output_dir)
    if dataset is not None:
        env["PETRI_DATASET_FILE"] = str(dataset)
    if truth is not None:
        env["PETRI_TRUTH_FILE"] = str(truth)
    done = subprocess.run(
        spec["entrypoint"],
        check=False,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr, output_dir)


@pytest.fixture
def run_algorithm(tmp_path):
    """run_in(tmp_path, ...): run an algorithm as the Petri runner would."""
    return functools.partial(run_in, tmp_path)


@pytest.fixture(scope="session")
def pc_demo_run(tmp_path_factory) -> Run:
    """One pc run with defaults on the demo dataset and its true graph, shared by tests."""
    run = run_in(
        tmp_path_factory.mktemp("pc-demo"),
        "pc",
        dataset=DEMO_DATASET / "data.csv",
        truth=DEMO_DATASET / "graph.json",
    )
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(scope="session")
def graphs():
    """pc/graphs.py, loaded by path: algorithm folders are not packages."""
    path = ALGORITHMS_DIR / "pc" / "graphs.py"
    spec = importlib.util.spec_from_file_location("petri_pc_graphs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
