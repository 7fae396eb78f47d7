"""What a runner is told of its attempt: served by GET /api/runner/job/, or handed at start.

The local backend passes the spec in the runner's environment, which saves each attempt the
round trip of fetching it; both ways give the very same document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from jobs.models import Job


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


def runner_specs(job_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The specs of these jobs' current attempts, by job id, in one query."""
    jobs = Job.objects.select_related("experiment__algorithm", "experiment__dataset").filter(
        pk__in=list(job_ids)
    )
    return {job.pk: runner_spec(job) for job in jobs}
