"""Periodic rules the scheduler applies: deadlines, silent runners, retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Q

from jobs.models import BACKEND_STATUSES, FINAL_STATUSES, Experiment, Job, JobStatus

ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)


def past_deadline(backend: str, now: datetime) -> list[tuple[int, int, str]]:
    """(id, attempt, handle) of running attempts older than their experiment's timeout."""
    rows = Job.objects.filter(
        status__in=ACTIVE,
        backend=backend,
        experiment__timeout__isnull=False,
        started_at__isnull=False,
    ).values_list("id", "attempt", "handle", "started_at", "experiment__timeout")
    return [
        (job_id, attempt, handle)
        for job_id, attempt, handle, started_at, timeout in rows
        if started_at + timedelta(seconds=timeout) < now
    ]


def silent_since(backend: str, before: datetime) -> list[tuple[int, int, str]]:
    """(id, attempt, handle) of running attempts with no runner event since ``before``."""
    return list(
        Job.objects.filter(
            status=JobStatus.RUNNING, backend=backend, last_event_at__lt=before
        ).values_list("id", "attempt", "handle")
    )


def orphaned_handles(handles: list[str]) -> list[str]:
    """Those of ``handles`` (``petri-<installation>-<job>-<attempt>``) whose attempt is not live:
    its job is gone, finished, or on another attempt. A waiting job keeps its attempt's handle
    alive, since its next dispatch adopts what the backend already holds under that name."""
    parsed: dict[str, tuple[int, int]] = {}
    for handle in handles:
        try:
            job_part, attempt_part = handle.rsplit("-", 2)[1:]
            parsed[handle] = (int(job_part), int(attempt_part))
        except ValueError:
            continue
    live_statuses = (JobStatus.WAITING, *BACKEND_STATUSES)
    live = set(
        Job.objects.filter(
            pk__in={job_id for job_id, _ in parsed.values()}, status__in=live_statuses
        ).values_list("id", "attempt")
    )
    return sorted(handle for handle, key in parsed.items() if key not in live)


def prune_finished_jobs(older_than: datetime, batch: int) -> int:
    """Delete one batch of finished queue rows; their Result and output files stay.

    Their counts and times are folded into their experiment's ``pruned_*`` fields in the
    same transaction, so the experiment's counts, status and times do not change.
    """
    with transaction.atomic():
        # Locked, so a retry of one of them (which makes it unfinished) waits or is skipped.
        ids = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(status__in=FINAL_STATUSES, finished_at__lt=older_than)
            .order_by("finished_at")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return 0
        pruned = (
            Job.objects.filter(pk__in=ids)
            .values("experiment_id")
            .annotate(
                **{s.value: Count("id", filter=Q(status=s.value)) for s in FINAL_STATUSES},
                first_started=Min("started_at"),
                last_finished=Max("finished_at"),
            )
            .order_by("experiment_id")
        )
        for row in pruned:
            experiment = Experiment.objects.select_for_update().get(pk=row["experiment_id"])
            for status in FINAL_STATUSES:
                field = f"pruned_{status.value}"
                setattr(experiment, field, getattr(experiment, field) + row[status.value])
            started = filter(None, (experiment.pruned_started_at, row["first_started"]))
            finished = filter(None, (experiment.pruned_finished_at, row["last_finished"]))
            experiment.pruned_started_at = min(started, default=None)
            experiment.pruned_finished_at = max(finished, default=None)
            experiment.save(update_fields=list(_PRUNED_FIELDS))
        Job.objects.filter(pk__in=ids).delete()
    return len(ids)


def prune_expired_jobs(now: datetime) -> int:
    """Retention (PETRI_RETENTION_DAYS; 0 keeps everything): prune every finished job older than
    that, batch by batch, so no transaction holds many locks. Runs on a beat schedule."""
    if not settings.PETRI_RETENTION_DAYS:
        return 0
    cutoff = now - timedelta(days=settings.PETRI_RETENTION_DAYS)
    total = 0
    while pruned := prune_finished_jobs(cutoff, settings.PETRI_RETENTION_BATCH):
        total += pruned
    return total


_PRUNED_FIELDS = (
    "pruned_succeeded",
    "pruned_failed",
    "pruned_cancelled",
    "pruned_started_at",
    "pruned_finished_at",
)
