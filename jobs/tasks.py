"""Celery tasks that beat fires: thin wrappers around services (docs/schedules.md)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from jobs.services import housekeeping, pipelines, recurring

log = logging.getLogger(__name__)


@shared_task(name=recurring.FIRE_TASK)
def fire_recurring_run(recurring_run: int) -> int | None:
    """One firing of a user's schedule; the id of the experiment it submitted, if any."""
    firing = recurring.fire_recurring_run(recurring_run)
    return firing.experiment_id if firing is not None else None


@shared_task(name="petri.prune_expired_jobs")
def prune_expired_jobs() -> int:
    """Retention: drop finished queue rows older than PETRI_RETENTION_DAYS (results stay)."""
    pruned = housekeeping.prune_expired_jobs(timezone.now())
    if pruned:
        log.info("pruned %s finished jobs", pruned)
    return pruned


@shared_task(name="petri.advance_running_pipelines")
def advance_running_pipelines() -> int:
    """Pipelines whose advance was lost (a process died after an experiment ended) move on."""
    return pipelines.advance_running_pipelines()
