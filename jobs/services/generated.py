"""Generators: a succeeded job of an algorithm that produces a dataset registers its output."""

from __future__ import annotations

import json

from jobs.errors import InvalidInput
from jobs.models import Job, OutputFile
from jobs.services.datasets import create_dataset

DATA_FILE = "data.csv"
TRUTH_FILE = "graph.json"


def _message(exc: InvalidInput) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.errors.items())


def register_generated_dataset(job: Job) -> str | None:
    """Store the job's data.csv (and graph.json as truth) as its owner's dataset.

    Returns why the output is not a dataset, or None (also when the job is no generator).
    Runs inside finish_attempt's transaction, so the dataset exists once the job succeeded.
    """
    algorithm = job.experiment.algorithm
    if algorithm.produces != "dataset":
        return None
    files = {f.name: f for f in OutputFile.objects.filter(job=job, attempt=job.attempt)}
    data = files.get(DATA_FILE)
    if data is None:
        return f"{algorithm.name} produces a dataset but the job wrote no {DATA_FILE}"
    truth = None
    if TRUTH_FILE in files:
        try:
            with files[TRUTH_FILE].file.open("rb") as handle:
                truth = json.load(handle)
        except (ValueError, UnicodeDecodeError):
            return f"{TRUTH_FILE} is not a JSON document"
    summary = ", ".join(f"{k}={v}" for k, v in sorted(job.parameters.items()))
    try:
        with data.file.open("rb") as handle:
            create_dataset(
                owner=job.owner,
                upload=handle,
                name=f"{algorithm.name} ({summary})"[:200],
                truth=truth,
                extra={"generated_by": job},
            )
    except InvalidInput as exc:
        return f"the generated dataset was refused: {_message(exc)}"
    return None
