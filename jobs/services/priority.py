"""Operators reorder the queue: a new priority for chosen jobs that still wait."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from jobs.models import Job, JobStatus
from jobs.signals import announce_jobs_changed


def change_priority(jobs: Iterable[Job] | Iterable[int], priority: int) -> int:
    """Set ``priority`` on those of ``jobs`` that are waiting; returns how many changed.

    Priority only orders the claim, so jobs already on a backend or finished keep theirs.
    """
    ids = [job if isinstance(job, int) else job.pk for job in jobs]
    with transaction.atomic():
        waiting = Job.objects.filter(pk__in=ids, status=JobStatus.WAITING).exclude(
            priority=priority
        )
        changed = list(waiting.values_list("id", "experiment_id"))
        Job.objects.filter(pk__in=[job_id for job_id, _ in changed]).update(priority=priority)
        announce_jobs_changed([j for j, _ in changed], [e for _, e in changed])
    return len(changed)
