"""When a failed attempt goes back to the queue, how long it waits, and retries on request."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.errors import Conflict
from jobs.models import (
    RETRYABLE_REASONS,
    Experiment,
    FailureReason,
    Job,
    JobEvent,
    JobStatus,
    Result,
)
from jobs.signals import announce_jobs_changed

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 600.0


def should_retry(job: Job, reason: str) -> bool:
    if job.attempt >= job.max_attempts:
        return False
    if reason == FailureReason.ALGORITHM_ERROR:
        return job.experiment.retry_algorithm_errors
    return reason in RETRYABLE_REASONS


def backoff(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    jitter = (rng or random).uniform(0, ceiling / 2)
    return timedelta(seconds=ceiling / 2 + jitter)


def requeued_fields(now: datetime) -> dict[str, Any]:
    """What a job retried on request starts again from, besides its attempt and budget."""
    return {
        "status": JobStatus.WAITING,
        "not_before": now,
        "failure_reason": "",
        "error": "",
        "handle": "",
        "runner_token_hash": "",
        "exit_code": None,
        "progress": None,
        "started_at": None,
        "finished_at": None,
        "last_event_at": None,
        "claimed_at": None,
    }


def retry_failed_jobs(experiment: Experiment) -> int:
    """Queue every failed job of the experiment again, each as a new attempt with a fresh
    retry budget, in one transaction; returns how many. Conflict when none failed."""
    now = timezone.now()
    with transaction.atomic():
        failed = Job.objects.select_for_update(of=("self",)).filter(
            experiment=experiment, status=JobStatus.FAILED
        )
        requeued = [(pk, attempt + 1) for pk, attempt in failed.values_list("pk", "attempt")]
        if not requeued:
            raise Conflict(f"experiment {experiment.pk} has no failed jobs")
        Result.objects.filter(job__experiment=experiment, job__status=JobStatus.FAILED).delete()
        # Every right-hand side reads the row as it was: attempt + 1 + max_attempts - 1.
        Job.objects.filter(experiment=experiment, status=JobStatus.FAILED).update(
            attempt=F("attempt") + 1,
            max_attempts=F("attempt") + experiment.max_attempts,
            **requeued_fields(now),
        )
        JobEvent.objects.bulk_create(
            [
                JobEvent(
                    job_id=pk,
                    attempt=attempt,
                    kind=JobEvent.Kind.LOG,
                    time=now,
                    data={
                        "lines": [f"petri: retry requested; attempt {attempt} queued"],
                        "source": "petri",
                    },
                )
                for pk, attempt in requeued
            ],
            batch_size=1000,
        )
        announce_jobs_changed([pk for pk, _ in requeued], [experiment.pk])
    return len(requeued)
