"""When a failed attempt goes back to the queue, and how long it waits."""

from __future__ import annotations

import random
from datetime import timedelta

from jobs.models import RETRYABLE_REASONS, FailureReason, Job

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
