"""The built-in compare stage: every discovery job against its dataset's truth, one table.

Each row is what /api/jobs/<id>/compare/?with=truth answers (results.compare_job), so the
table and the job page never disagree; a job that cannot be scored gets a row saying why.
"""

from __future__ import annotations

from typing import Any

from jobs.errors import InvalidInput
from jobs.models import Job, JobStatus, Stage
from jobs.services.results import compare_job

MAX_ROWS = 10_000
COLUMNS = [
    "stage",
    "algorithm",
    "dataset",
    "experiment",
    "job",
    "parameters",
    "shd",
    "precision",
    "recall",
    "f1",
    "orientation_precision",
    "orientation_recall",
    "orientation_f1",
    "problem",
]


def _row(stage: Stage, job: Job) -> dict[str, Any]:
    experiment = job.experiment
    row: dict[str, Any] = {
        "stage": stage.name,
        "algorithm": experiment.algorithm.name,
        "dataset": {"id": experiment.dataset_id, "name": getattr(experiment.dataset, "name", "")},
        "experiment": experiment.pk,
        "job": job.pk,
        "parameters": job.parameters,
        "problem": "",
    }
    try:
        scores = compare_job(job, "truth", Job.objects.none())
    except InvalidInput as exc:
        row["problem"] = "; ".join(
            str(message) for messages in exc.errors.values() for message in messages
        )
        return row
    edges, arrows = scores["edges"], scores["orientations"]
    row.update(
        shd=scores["shd"],
        precision=edges["precision"],
        recall=edges["recall"],
        f1=edges["f1"],
        orientation_precision=arrows["precision"],
        orientation_recall=arrows["recall"],
        orientation_f1=arrows["f1"],
    )
    return row


def compare_table(upstream: list[Stage]) -> dict[str, Any]:
    """Rows of every succeeded job of these stages, by stage, dataset and job."""
    jobs = (
        Job.objects.filter(experiment__pipeline_stage__in=upstream, status=JobStatus.SUCCEEDED)
        .select_related(
            "experiment__algorithm", "experiment__dataset", "experiment__pipeline_stage"
        )
        .order_by("experiment__dataset_id", "experiment__pipeline_stage__position", "id")
    )
    total = jobs.count()
    rows = [_row(job.experiment.pipeline_stage, job) for job in jobs[:MAX_ROWS]]
    return {"columns": COLUMNS, "rows": rows, "truncated": total > MAX_ROWS}
