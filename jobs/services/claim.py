"""Taking jobs off the queue for a scheduler, safely when several run at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services.tokens import hash_token, runner_token
from jobs.signals import announce_jobs_changed

# A job still `dispatching` this long after its claim lost its scheduler mid-dispatch.
STALE_DISPATCH = timedelta(seconds=60)


@dataclass(frozen=True)
class ClaimedJob:
    job: Job
    token: str


def handle_for(job_id: int, attempt: int) -> str:
    """The backend's name for an attempt; derived, so re-dispatching it is idempotent."""
    return f"petri-{job_id}-{attempt}"


def _take(queryset, *, scheduler: str, backend: str, limit: int, now: datetime) -> list[ClaimedJob]:
    ids = list(queryset.select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
    if not ids:
        return []
    jobs = list(
        Job.objects.filter(id__in=ids)
        .select_related("experiment__algorithm", "experiment__dataset", "owner")
        .order_by("-priority", "id")
    )
    claimed = []
    for job in jobs:
        token = runner_token(job.pk, job.attempt)
        job.status, job.claimed_at = JobStatus.DISPATCHING, now
        job.scheduler, job.backend = scheduler, backend
        job.handle, job.runner_token_hash = handle_for(job.pk, job.attempt), hash_token(token)
        claimed.append(ClaimedJob(job, token))
    Job.objects.bulk_update(
        jobs, ["status", "claimed_at", "scheduler", "backend", "handle", "runner_token_hash"]
    )
    announce_jobs_changed(ids, {job.experiment_id for job in jobs})
    return claimed


def claim_waiting_jobs(
    *, scheduler: str, backend: str, limit: int, now: datetime | None = None
) -> list[ClaimedJob]:
    """Move up to ``limit`` due waiting jobs to ``dispatching``, highest priority and oldest first.

    Rows locked by another scheduler's claim are skipped, never waited for.
    """
    if limit <= 0:
        return []
    now = now or timezone.now()
    due = Job.objects.filter(status=JobStatus.WAITING, not_before__lte=now).order_by(
        "-priority", "id"
    )
    with transaction.atomic():
        return _take(due, scheduler=scheduler, backend=backend, limit=limit, now=now)


def reclaim_stale_dispatching(
    *, scheduler: str, backend: str, limit: int, now: datetime | None = None
) -> list[ClaimedJob]:
    """Take over jobs whose scheduler died between claim and dispatch; same handle and token."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    stale = Job.objects.filter(
        status=JobStatus.DISPATCHING, backend=backend, claimed_at__lt=now - STALE_DISPATCH
    ).order_by("id")
    with transaction.atomic():
        return _take(stale, scheduler=scheduler, backend=backend, limit=limit, now=now)


def mark_dispatched(jobs: list[Job]) -> int:
    """The backend accepted these attempts. Jobs cancelled meanwhile are left to the cancel pass."""
    if not jobs:
        return 0
    same_attempt = Q()
    for job in jobs:
        same_attempt |= Q(pk=job.pk, attempt=job.attempt)
    with transaction.atomic():
        updated = Job.objects.filter(same_attempt, status=JobStatus.DISPATCHING).update(
            status=JobStatus.PENDING, last_event_at=timezone.now()
        )
        announce_jobs_changed([job.pk for job in jobs], {job.experiment_id for job in jobs})
    return updated
