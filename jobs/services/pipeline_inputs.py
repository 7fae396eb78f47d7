"""What a stage takes from the stages before it: their datasets or files, their best job."""

from __future__ import annotations

from typing import Any

from jobs.errors import InvalidInput
from jobs.metrics import rank_by_metric
from jobs.models import Dataset, Job, JobStatus, OutputFile, Stage
from jobs.services.datasets import create_dataset
from jobs.services.generated import DATA_FILE


def _succeeded_jobs(stage: Stage):
    return Job.objects.filter(
        experiment__pipeline_stage=stage, status=JobStatus.SUCCEEDED
    ).order_by("experiment_id", "index", "repeat")


def upstream_datasets(stage: Stage, stages: dict[str, Stage]) -> list[Dataset] | None:
    """One dataset per succeeded upstream job (None when the stage takes no dataset input).

    A generator's data.csv is already its dataset (registered when the job succeeded); any
    other file becomes one here. Both go through create_dataset, which returns the stored
    dataset for the same bytes, so identical outputs are one dataset and fan out once.
    """
    source = stage.inputs.get("dataset")
    if not source:
        return None
    name = source.get("file", DATA_FILE)
    upstream = stages[source["stage"]]
    outputs = {
        (output.job_id, output.attempt): output
        for output in OutputFile.objects.filter(job__in=_succeeded_jobs(upstream), name=name)
    }
    datasets: dict[int, Dataset] = {}
    for job in _succeeded_jobs(upstream):
        output = outputs.get((job.pk, job.attempt))
        if output is None:
            continue
        with output.file.open("rb") as handle:
            try:
                dataset, _ = create_dataset(
                    owner=stage.pipeline.owner,
                    upload=handle,
                    name=f"{upstream.name} job {job.pk}: {name.rsplit('/', 1)[-1]}"[:200],
                )
            except InvalidInput as exc:
                raise InvalidInput(
                    {"inputs.dataset": [f"job {job.pk}'s {name}: {exc.errors}"]}
                ) from None
        datasets.setdefault(dataset.pk, dataset)
    return list(datasets.values())


def best_parameters(stage: Stage) -> dict[str, Any]:
    """The parameters of the stage's best succeeded job by its objective ({} when none)."""
    objective = stage.template.get("objective", "")
    order = stage.template.get("objective_order", "max")
    if not objective:
        return {}
    ranked = rank_by_metric(_succeeded_jobs(stage).filter(result__isnull=False), objective, order)
    best = ranked.filter(**{"result__metrics__has_key": objective}).first()
    return dict(best.parameters) if best else {}
