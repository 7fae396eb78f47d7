"""What a runner is told of its attempt: served by GET /api/runner/job/, or handed at start.

The local backend passes the spec in the runner's environment, which saves each attempt the
round trip of fetching it; both ways give the very same document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from jobs.models import Dataset, Experiment, Job

if TYPE_CHECKING:
    from jobs.services.claim import ClaimedJob


def runner_spec(job: Job) -> dict[str, Any]:
    """The spec of ``job``'s current attempt (its experiment, algorithm and dataset loaded)."""
    experiment = job.experiment
    algorithm = experiment.algorithm
    dataset = experiment.dataset
    return {
        "job": job.pk,
        "attempt": job.attempt,
        "experiment": experiment.pk,
        "algorithm": {
            "name": algorithm.name,
            "entrypoint": algorithm.entrypoint,
            "language": algorithm.language,
            "image": algorithm.image,
        },
        "parameters": job.parameters,
        "dataset_url": "/api/runner/dataset/" if dataset else None,
        "truth_url": "/api/runner/truth/" if dataset and dataset.truth is not None else None,
        # Uploaded code: unpacked into the work dir instead of a catalog folder.
        "artifact_url": "/api/runner/artifact/" if algorithm.artifact_id else None,
        "resources": experiment.resources,
        "timeout": experiment.timeout,
        "heartbeat_interval": settings.PETRI_HEARTBEAT_INTERVAL,
    }


def runner_specs(claimed: Iterable[ClaimedJob]) -> dict[int, dict[str, Any]]:
    """The specs of these claimed attempts, by job id, from the experiments the claim loaded:
    one query for the jobs' parameters (and one for datasets, when any), where loading the
    jobs with their experiments and algorithms again cost a claim as much as its own reads."""
    claimed = list(claimed)
    parameters = dict(
        Job.objects.filter(pk__in=[item.job_id for item in claimed]).values_list("pk", "parameters")
    )
    experiments = {item.experiment.pk: item.experiment for item in claimed}
    missing = {
        experiment.dataset_id
        for experiment in experiments.values()
        if experiment.dataset_id and not Experiment.dataset.is_cached(experiment)
    }
    if missing:
        datasets = Dataset.objects.in_bulk(missing)
        for experiment in experiments.values():
            if experiment.dataset_id in datasets:
                experiment.dataset = datasets[experiment.dataset_id]
    return {
        item.job_id: runner_spec(
            Job(
                pk=item.job_id,
                attempt=item.attempt,
                parameters=parameters[item.job_id],
                experiment=item.experiment,
            )
        )
        for item in claimed
        if item.job_id in parameters
    }
