"""Shared fixtures: run an algorithm folder as the Petri runner would.

Python algorithms are called in this process (their main.py's ``run(job)``), so causal-learn
and scikit-learn are imported once per session; others (pc-r, in R) run their entrypoint in a
subprocess. Each algorithm's run through the real runner is in
webapp/api/tests/test_every_algorithm_end_to_end.py.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import petri_kit as kit
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


@functools.cache
def algorithm_module(name: str) -> ModuleType:
    """algorithms/<name>/main.py, loaded by path once: algorithm folders are not packages."""
    path = ALGORITHMS_DIR / name / "main.py"
    spec = importlib.util.spec_from_file_location(f"petri_algorithm_{name.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_in(
    root: Path,
    name: str,
    params: dict | None = None,
    dataset: Path | None = None,
    truth: Path | None = None,
    timeout: float = 300,
) -> Run:
    """Run algorithm `name` with its defaults updated by `params`, in a fresh folder under `root`.

    Python algorithms run in this process; their stdout, stderr and exit status are captured as
    a subprocess's would be. Others run their entrypoint with the Petri env vars.
    """
    spec = load_spec(name)
    values = {key: p["default"] for key, p in spec["parameters"].items()}
    values.update(params or {})
    # What the algorithm reads is what JSON carries, as from PETRI_PARAMS_FILE.
    values = json.loads(json.dumps(values))
    # A fresh directory per run, so one test may run several times.
    base = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    output_dir = base / "output"
    output_dir.mkdir()
    if spec["language"] == "python":
        return _call(name, kit.Job(values, output_dir, dataset, truth))
    workdir = base / "work"
    shutil.copytree(ALGORITHMS_DIR / name, workdir, ignore=shutil.ignore_patterns("__pycache__"))
    params_file = base / "params.json"
    params_file.write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETRI_")}
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


def _call(name: str, job: kit.Job) -> Run:
    """main.py's run(job) in this process; SystemExit (kit.fail) becomes the exit status."""
    stdout, stderr = io.StringIO(), io.StringIO()
    returncode = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            algorithm_module(name).run(job)
        except SystemExit as exit_:
            code = exit_.code
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return Run(returncode, stdout.getvalue(), stderr.getvalue(), job.output_dir)


def run_r_main_in_one_process(
    folder: Path, name: str, cases: dict[str, tuple[dict, Path | None, Path | None]]
) -> dict[str, Run]:
    """main() of R algorithm `name` once per case (params, dataset, truth), in one R process.

    A driver sources main.R (which runs main() only when Rscript runs it) and calls main()
    with each case's environment and output folder; fail() raises there instead of quitting,
    so each case's outcome is a Run with exit status 1 and the reason as stderr on failure.
    """
    work = folder / "work"
    shutil.copytree(ALGORITHMS_DIR / name, work)
    defaults = {key: p["default"] for key, p in load_spec(name)["parameters"].items()}
    calls = []
    for case, (params, dataset, truth) in cases.items():
        base = folder / case
        (base / "output").mkdir(parents=True)
        (base / "params.json").write_text(json.dumps({**defaults, **params}))
        env = {
            "PETRI_PARAMS_FILE": base / "params.json",
            "PETRI_OUTPUT_DIR": base / "output",
            "PETRI_DATASET_FILE": dataset,
            "PETRI_TRUTH_FILE": truth,
        }
        calls.append(
            "".join(
                f"Sys.setenv({key} = {json.dumps(str(value))})\n"
                if value is not None
                else f"Sys.unsetenv({json.dumps(key)})\n"
                for key, value in env.items()
            )
            + "out <- capture.output(result <- tryCatch({main(); ''}, "
            "error = function(e) conditionMessage(e)))\n"
            f"writeLines(out, {json.dumps(str(base / 'stdout.txt'))})\n"
            f"writeLines(result, {json.dumps(str(base / 'error.txt'))})\n"
        )
    # The driver sits in the copied folder: main.R sources its helpers from the script's folder.
    driver = work / "driver.R"
    driver.write_text(
        f"source({json.dumps(str(work / 'main.R'))})\n"
        "fail <- function(message) stop(message)\n" + "".join(calls)
    )
    done = subprocess.run(
        ["Rscript", str(driver)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    runs = {}
    for case in cases:
        base = folder / case
        error = (base / "error.txt").read_text().strip()
        stdout = (base / "stdout.txt").read_text()
        runs[case] = Run(1 if error else 0, stdout, error, base / "output")
    return runs


@pytest.fixture(scope="session")
def r_main_runs():
    """run_r_main_in_one_process(folder, name, cases): several runs of an R algorithm at once."""
    return run_r_main_in_one_process


@pytest.fixture
def run_algorithm(tmp_path):
    """run_in(tmp_path, ...): run an algorithm as the Petri runner would."""
    return functools.partial(run_in, tmp_path)


@pytest.fixture(scope="session")
def run_shared(tmp_path_factory):
    """run_in for runs that module- or session-scoped fixtures share between tests."""
    return functools.partial(run_in, tmp_path_factory.mktemp("shared-runs"))


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


# The small generated dataset every causal-discovery test runs on: 5 nodes, 5 edges,
# 300 rows. Its DAG (seed 8) has colliders X1 -> X3 <- X2 and X1 -> X3 <- X4, and
# X2 - X4 and X1 - X5 are the only edges its CPDAG leaves undirected.
SMALL_GENERATED = {"nodes": 5, "edge_density": 0.5, "samples": 300, "seed": 8}


@dataclass
class GeneratedDataset:
    data: Path
    truth: Path

    @property
    def graph(self) -> dict:
        return json.loads(self.truth.read_text())


@pytest.fixture(scope="session")
def generated_dataset(tmp_path_factory) -> GeneratedDataset:
    """data.csv and graph.json made by the generate-linear-gaussian algorithm itself."""
    run = run_in(tmp_path_factory.mktemp("generated"), "generate-linear-gaussian", SMALL_GENERATED)
    assert run.returncode == 0, run.stderr
    return GeneratedDataset(run.output_dir / "data.csv", run.output_dir / "graph.json")


def edge_key(edge: dict) -> tuple[frozenset, str, str | None]:
    """Pair, type and (for directed edges) the source: equal exactly when edges agree."""
    source = edge["source"] if edge["type"] == "directed" else None
    return frozenset((edge["source"], edge["target"])), edge["type"], source


def _hand_comparison(found: dict, truth: dict) -> dict:
    """A second, deliberately plain computation of the metrics graphs.compare gives."""
    found_edges = {edge_key(e)[0]: edge_key(e) for e in found["edges"]}
    true_edges = {edge_key(e)[0]: edge_key(e) for e in truth["edges"]}
    pairs = set(found_edges) | set(true_edges)
    shd = len([p for p in pairs if found_edges.get(p) != true_edges.get(p)])
    hits = len(set(found_edges) & set(true_edges))
    precision = hits / len(found_edges)
    recall = hits / len(true_edges)
    return {
        "shd": shd,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
        "true_positives": hits,
        "false_positives": len(found_edges) - hits,
        "false_negatives": len(true_edges) - hits,
    }


@pytest.fixture(scope="session")
def hand_comparison():
    """hand_comparison(found, truth): metrics against the truth, computed plainly."""
    return _hand_comparison


def _edge_summary(graph: dict) -> set[tuple[str, str, str]]:
    """(source, target, type), undirected and bidirected pairs in name order."""
    summary = set()
    for edge in graph["edges"]:
        source, target = edge["source"], edge["target"]
        if edge["type"] != "directed":
            source, target = sorted((source, target))
        summary.add((source, target, edge["type"]))
    return summary


@pytest.fixture(scope="session")
def edge_summary():
    """edge_summary(graph): its edges as a set of (source, target, type)."""
    return _edge_summary
