"""Recurring runs: an experiment submitted again on a clock (django-celery-beat schedules)."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from celery.schedules import crontab
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.errors import InvalidInput
from jobs.models import Dataset, Experiment, Pipeline, RecurringFiring, RecurringRun
from jobs.services.pipelines import submit_pipeline
from jobs.services.quotas import quota_book
from jobs.services.remote import QueryRefused, reload_dataset
from jobs.services.submit import submit_experiment

log = logging.getLogger(__name__)

FIRE_TASK = "petri.fire_recurring_run"
MAX_EVERY_SECONDS = 366 * 24 * 3600
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def _crontab_fields(expression: Any) -> dict[str, str]:
    """The five fields of a cron expression, checked by parsing them as beat will."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise InvalidInput(
            {"cron": ["must be five fields: minute hour day-of-month month day-of-week"]}
        )
    fields = dict(zip(CRON_FIELDS, expression.split(), strict=True))
    try:
        crontab(**fields)
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidInput({"cron": [f"is not a cron expression: {exc}"]}) from None
    return fields


def _schedule(cron: Any, every_seconds: Any) -> dict[str, Any]:
    """The PeriodicTask fields for a cron expression or an interval; exactly one of them."""
    if bool(cron) == (every_seconds is not None):
        raise InvalidInput({"cron": ["give either cron or every_seconds, not both or neither"]})
    if cron:
        fields = _crontab_fields(cron)
        schedule, _ = CrontabSchedule.objects.get_or_create(**fields, timezone="UTC")
        return {"crontab": schedule, "interval": None}
    if isinstance(every_seconds, bool) or not isinstance(every_seconds, int):
        raise InvalidInput({"every_seconds": ["must be a whole number of seconds"]})
    if not 1 <= every_seconds <= MAX_EVERY_SECONDS:
        raise InvalidInput({"every_seconds": [f"must be between 1 and {MAX_EVERY_SECONDS}"]})
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=every_seconds, period=IntervalSchedule.SECONDS
    )
    return {"crontab": None, "interval": schedule}


def create_recurring_run(
    *,
    owner: Any,
    experiment: Experiment | None = None,
    pipeline: Pipeline | None = None,
    cron: str = "",
    every_seconds: int | None = None,
    newest_datasets: bool = False,
    enabled: bool = True,
) -> RecurringRun:
    """Schedule ``experiment`` (or ``pipeline``) to be submitted again on a cron expression or
    an interval."""
    if (experiment is None) == (pipeline is None):
        raise InvalidInput({"experiment": ["give either an experiment or a pipeline"]})
    what = f"experiment {experiment.pk}" if experiment else f"pipeline {pipeline.pk}"
    with transaction.atomic():
        task = PeriodicTask.objects.create(
            name=f"recurring run of {what} ({timezone.now().isoformat()})",
            task=FIRE_TASK,
            enabled=enabled,
            **_schedule(cron, every_seconds),
        )
        run = RecurringRun.objects.create(
            owner=owner,
            experiment=experiment,
            pipeline=pipeline,
            periodic_task=task,
            newest_datasets=bool(newest_datasets),
        )
        task.name = f"recurring run {run.pk}: {what}"
        task.kwargs = json.dumps({"recurring_run": run.pk})
        task.save(update_fields=["name", "kwargs"])
    return run


def update_recurring_run(
    run: RecurringRun,
    *,
    enabled: bool | None = None,
    cron: str | None = None,
    every_seconds: int | None = None,
    newest_datasets: bool | None = None,
) -> RecurringRun:
    """Pause, resume or reschedule a recurring run."""
    with transaction.atomic():
        task = PeriodicTask.objects.select_for_update().get(pk=run.periodic_task_id)
        fields = []
        if cron is not None or every_seconds is not None:
            for name, value in _schedule(cron or "", every_seconds).items():
                setattr(task, name, value)
            fields += ["crontab", "interval"]
        if enabled is not None:
            task.enabled = bool(enabled)
            fields.append("enabled")
        if fields:
            task.save(update_fields=fields)
        if newest_datasets is not None:
            run.newest_datasets = bool(newest_datasets)
            run.save(update_fields=["newest_datasets"])
        run.periodic_task = task
    return run


def delete_recurring_run(run: RecurringRun) -> None:
    """Stop the schedule for good; the runs it made stay."""
    PeriodicTask.objects.filter(pk=run.periodic_task_id).delete()  # cascades to the run


def delete_schedules_of(experiment: Experiment) -> None:
    """An experiment about to be deleted takes its schedules (beat's rows too) with it."""
    PeriodicTask.objects.filter(recurring_run__experiment=experiment).delete()


def due_slot(task: PeriodicTask, now: datetime) -> datetime:
    """The due time a firing at ``now`` answers: the interval's slot since the epoch, or the
    minute for a crontab (cron's grain), so two deliveries of one firing name the same slot."""
    if task.interval_id:
        seconds = max(int(task.interval.schedule.run_every.total_seconds()), 1)
        epoch = int(now.timestamp()) // seconds * seconds
        return datetime.fromtimestamp(epoch, tz=UTC)
    return now.replace(second=0, microsecond=0)


def _skip_reason(run: RecurringRun) -> str:
    owner = run.owner
    if not owner.is_active:
        return "the owner's account is switched off"
    book = quota_book([owner.pk], backend=run.experiment.backend if run.experiment else "")
    for bucket in book.buckets.get(owner.pk, []):
        if bucket.cpu_budget_spent:
            return bucket.reason("monthly CPU-hours budget").replace("waiting: ", "") + " spent"
    return ""


def _newest(dataset: Dataset | None, asked: bool) -> Dataset | None:
    """``dataset``, re-queried first when asked and it came from a database."""
    if dataset is None or not asked or dataset.source_database_id is None:
        return dataset
    newest = (
        Dataset.objects.filter(
            owner=dataset.owner, source_database=dataset.source_database, query=dataset.query
        )
        .order_by("-version")
        .first()
    )
    reloaded, _ = reload_dataset(newest or dataset)
    return reloaded


def _submitter(run: RecurringRun, stamp: str) -> Callable[[], dict[str, Any]]:
    """What submits the run's template again (its firing's fields). Datasets are re-queried
    here, before the firing's transaction, so a new version's file and row land together; a
    duplicate firing re-queries the same rows and finds that version (no new one)."""
    if run.pipeline_id:
        spec = copy.deepcopy(run.pipeline.spec)
        spec["name"] = f"{spec.get('name') or 'pipeline'}{stamp}"[:200]
        for stage in spec.get("stages") or []:
            if isinstance(stage, dict) and type(stage.get("dataset")) is int:
                mine = Dataset.objects.filter(pk=stage["dataset"], owner=run.owner).first()
                if mine is not None:
                    stage["dataset"] = _newest(mine, run.newest_datasets).pk
        return lambda: {"pipeline": submit_pipeline(run.owner, spec)}
    kwargs = resubmission(run.experiment)
    kwargs["dataset"] = _newest(run.experiment.dataset, run.newest_datasets)
    kwargs["name"] = f"{run.experiment.name}{stamp}"[:200]
    return lambda: {"experiment": submit_experiment(**kwargs)}


def resubmission(experiment: Experiment) -> dict[str, Any]:
    """What submit_experiment needs to submit ``experiment`` again, as it was submitted."""
    return {
        "owner": experiment.owner,
        "algorithm": experiment.algorithm,
        "dataset": experiment.dataset,
        "parameters": experiment.parameters,
        "repeats": experiment.repeats,
        "priority": experiment.priority,
        "resources": experiment.resources,
        "name": experiment.name,
        "max_attempts": experiment.max_attempts,
        "timeout": experiment.timeout,
        "retry_algorithm_errors": experiment.retry_algorithm_errors,
        "objective": experiment.objective,
        "objective_order": experiment.objective_order,
        "backend": experiment.backend,
        "strategy": experiment.strategy,
        "objectives": experiment.objectives or None,
        "max_jobs": experiment.max_jobs,
        "parallelism": experiment.parallelism,
        "max_failed": experiment.max_failed,
        "goal": experiment.goal,
        "max_seconds": experiment.max_seconds,
        "pruner": experiment.pruner or None,
        "seed": experiment.seed,
    }


def fire_recurring_run(run_id: int, now: datetime | None = None) -> RecurringFiring | None:
    """Submit the run's experiment or pipeline again, once per due slot; None when the slot
    already fired (a redelivered task, a second beat) or the schedule is gone."""
    now = now or timezone.now()
    run = (
        RecurringRun.objects.select_related(
            "owner", "experiment__dataset", "pipeline", "periodic_task"
        )
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        return None
    slot = due_slot(run.periodic_task, now)
    if RecurringFiring.objects.filter(recurring_run=run, slot=slot).exists():
        return None
    skipped = _skip_reason(run)
    submit = None
    if not skipped:
        try:
            submit = _submitter(run, f" · {slot:%Y-%m-%d %H:%M:%S}")
        except (InvalidInput, QueryRefused) as exc:
            skipped = f"the dataset's query failed: {_message(exc)}"
    try:
        with transaction.atomic():
            firing = RecurringFiring.objects.create(recurring_run=run, slot=slot, fired_at=now)
            if submit is not None:
                try:
                    with transaction.atomic():
                        for field, made in submit().items():
                            setattr(firing, field, made)
                except InvalidInput as exc:
                    skipped = f"not submitted: {_message(exc)}"
            firing.skipped = skipped[:200]
            firing.save(update_fields=["experiment", "pipeline", "skipped"])
    except IntegrityError:
        return None
    if firing.skipped:
        log.info("recurring run %s skipped at %s: %s", run.pk, slot, firing.skipped)
    return firing


def _message(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return "; ".join(f"{field}: {problems}" for field, problems in exc.errors.items())
    return str(exc)


def firings_of(run: RecurringRun, limit: int = 20) -> list[RecurringFiring]:
    return list(run.firings.select_related("experiment", "pipeline")[:limit])


def next_due(run: RecurringRun, now: datetime | None = None) -> datetime | None:
    """When beat will next fire the run (None when paused)."""
    task = run.periodic_task
    if not task.enabled:
        return None
    now = now or timezone.now()
    last = task.last_run_at or now
    remaining = task.schedule.remaining_estimate(last)
    return max(last + remaining, now) if remaining > timedelta(0) else now
