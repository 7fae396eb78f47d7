"""A job's transitions after it was queued: events, results, failures, cancel and retry."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jobs.errors import Conflict
from jobs.models import (
    BACKEND_STATUSES,
    FINAL_STATUSES,
    RUNNER_STATUSES,
    Experiment,
    FailureReason,
    Job,
    JobEvent,
    JobStatus,
    Result,
)
from jobs.services.ended import check_ended
from jobs.services.generated import register_generated_dataset
from jobs.services.outputs import store_output_files
from jobs.services.pruning import consider_pruning
from jobs.services.retry import backoff, requeued_fields, should_retry
from jobs.services.search import stop_search
from jobs.services.usage import record_usage
from jobs.signals import announce, announce_jobs_changed, job_logged, job_measured
from jobs.telemetry import RUNNER_EVENTS
from jobs.wakeups import wake_schedulers


def _locked(job_id: int) -> Job:
    # Only the job's row: FOR UPDATE on the join would lock the experiment's too, serializing
    # every runner of an experiment and deadlocking two of them against a third writer.
    # The algorithm comes along: a finished job's generator check reads it.
    locked = Job.objects.select_for_update(of=("self",))
    return locked.select_related("experiment__algorithm").get(pk=job_id)


def _note(job: Job, text: str, now: datetime) -> None:
    """Petri's own line in the job's log, so users read what happened to an attempt."""
    JobEvent.objects.create(
        job=job,
        attempt=job.attempt,
        kind=JobEvent.Kind.LOG,
        time=now,
        data={"lines": [f"petri: {text}"], "source": "petri"},
    )


def record_events(job_id: int, attempt: int, events: list[dict[str, Any]]) -> int:
    """Store a runner's batch of events; refuses (Conflict) once the attempt is over."""
    with transaction.atomic():
        job = _locked(job_id)
        rows = _record_locked(job, attempt, events, timezone.now())
    _after_events(job, events, rows)
    return len(events)


def _record_locked(
    job: Job, attempt: int, events: list[dict[str, Any]], now: datetime, *, save: bool = True
) -> list[JobEvent]:
    """``record_events`` on a row this transaction holds; the event rows it stored. Without
    ``save`` the job's changed fields stay for the caller's own save of the row."""
    if job.attempt != attempt or job.status not in RUNNER_STATUSES:
        raise Conflict(f"attempt {attempt} of job {job.pk} is over")
    fields = {"last_event_at"}
    job.last_event_at = now
    rows: list[JobEvent] = []
    for event in events:
        kind = event["type"]
        when = event.get("time") or now
        if kind == "started" and job.status != JobStatus.RUNNING:
            job.status, job.started_at = JobStatus.RUNNING, _start_time(job, when, now)
            fields |= {"status", "started_at"}
        elif kind == "progress":
            job.progress = event["value"]
            fields.add("progress")
        elif kind == "log":
            rows.append(
                JobEvent(
                    job=job,
                    attempt=attempt,
                    kind=JobEvent.Kind.LOG,
                    time=when,
                    data={"lines": event["lines"]},
                )
            )
        elif kind == "metric":
            data = {"name": event["name"], "value": event["value"], "step": event.get("step")}
            rows.append(
                JobEvent(job=job, attempt=attempt, kind=JobEvent.Kind.METRIC, time=when, data=data)
            )
    JobEvent.objects.bulk_create(rows)
    if save:
        job.save(update_fields=sorted(fields))
    _announce_events(job, attempt, fields, rows)
    return rows


def _after_events(job: Job, events: list[dict[str, Any]], rows: list[JobEvent]) -> bool:
    """Count the events and let the pruner judge a watched metric; True when it judged."""
    for kind in {event["type"] for event in events}:
        RUNNER_EVENTS.labels(kind).inc(sum(1 for event in events if event["type"] == kind))
    watched = job.experiment.pruner.get("metric") if job.experiment.pruner else None
    if watched and any(
        row.kind == JobEvent.Kind.METRIC and row.data["name"] == watched for row in rows
    ):
        consider_pruning(job.pk)
        return True
    return False


def report_result(
    job_id: int,
    attempt: int,
    *,
    events: list[dict[str, Any]],
    files: list[tuple[str, bytes]],
    succeeded: bool,
    metrics: dict[str, float],
    exit_code: int | None,
    error: str,
    failure_reason: str,
) -> Job:
    """A runner's result with its last events and small files: all or nothing, in that order.

    As ``record_events``, ``store_output_files`` and ``finish_attempt`` one after the other,
    with the job's row locked and read once instead of once each.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _locked(job_id)
        if events:
            # The finish below saves the whole row: the events' own UPDATE is needed only
            # when a pruner reads the row in between.
            pruned = bool(job.experiment.pruner and job.experiment.pruner.get("metric"))
            rows = _record_locked(job, attempt, events, now, save=pruned)
            if _after_events(job, events, rows):
                job = _locked(job_id)  # the pruner may have moved the row meanwhile
        if files:
            store_output_files(job, [(name, io.BytesIO(data), len(data)) for name, data in files])
        return _finish_locked(
            job,
            attempt,
            succeeded=succeeded,
            metrics=metrics,
            exit_code=exit_code,
            error=error,
            failure_reason=failure_reason,
            now=now,
        )


def _start_time(job: Job, said: datetime, now: datetime) -> datetime:
    """When the runner says its entrypoint started, kept within what the server saw (after the
    claim, not after now): a short job's started event arrives with its result."""
    earliest = job.claimed_at or job.created_at
    return min(max(said, earliest), now)


def _announce_events(job: Job, attempt: int, fields: set[str], rows: list[JobEvent]) -> None:
    if fields & {"status", "progress"}:
        announce_jobs_changed([job.pk], [job.experiment_id])
    common = {
        "job_id": job.pk,
        "experiment_id": job.experiment_id,
        "owner_id": job.owner_id,
        "attempt": attempt,
    }
    lines = [line for row in rows if row.kind == JobEvent.Kind.LOG for line in row.data["lines"]]
    if lines:
        announce(job_logged, lines=lines, **common)
    points = [
        {**row.data, "time": row.time.isoformat()}
        for row in rows
        if row.kind == JobEvent.Kind.METRIC
    ]
    if points:
        announce(job_measured, points=points, **common)


def _fail(job: Job, reason: str, error: str, exit_code: int | None, now: datetime) -> None:
    job.error, job.exit_code = error, exit_code
    if should_retry(job, reason):
        delay = backoff(job.attempt)
        _note(job, f"attempt {job.attempt} failed ({reason}); retrying in {delay.seconds} s", now)
        job.status, job.failure_reason = JobStatus.WAITING, reason
        job.attempt += 1
        job.not_before = now + delay
        job.handle = job.runner_token_hash = ""
        job.progress = job.started_at = job.last_event_at = None
        return
    _note(job, f"attempt {job.attempt} failed ({reason})", now)
    job.status, job.failure_reason, job.finished_at = JobStatus.FAILED, reason, now


def finish_attempt(
    job_id: int,
    attempt: int,
    *,
    succeeded: bool,
    metrics: dict[str, float] | None = None,
    exit_code: int | None = None,
    error: str = "",
    failure_reason: str = "",
    now: datetime | None = None,
) -> Job:
    """Record an attempt's outcome. Idempotent: a repeated or stale report changes nothing."""
    with transaction.atomic():
        return _finish_locked(
            _locked(job_id),
            attempt,
            succeeded=succeeded,
            metrics=metrics,
            exit_code=exit_code,
            error=error,
            failure_reason=failure_reason,
            now=now or timezone.now(),
        )


def _finish_locked(
    job: Job,
    attempt: int,
    *,
    succeeded: bool,
    metrics: dict[str, float] | None,
    exit_code: int | None,
    error: str,
    failure_reason: str,
    now: datetime,
) -> Job:
    """``finish_attempt`` on a row this transaction holds."""
    if job.attempt != attempt or job.status not in BACKEND_STATUSES:
        return job
    record_usage(job, attempt, now)  # before a retry clears started_at
    if job.status == JobStatus.CANCELLING and not succeeded:
        _mark_cancelled(job, now)
    elif succeeded and (problem := register_generated_dataset(job)):
        _fail(job, FailureReason.ALGORITHM_ERROR, problem, exit_code, now)
    elif succeeded:
        job.status, job.finished_at, job.progress = JobStatus.SUCCEEDED, now, 1.0
        job.exit_code, job.error, job.failure_reason = exit_code, "", ""
    else:
        _fail(job, failure_reason or FailureReason.ALGORITHM_ERROR, error, exit_code, now)
    if job.status in FINAL_STATUSES:
        _store_result(job, attempt, metrics or {}, now)
    job.save()
    announce_jobs_changed([job.pk], [job.experiment_id])
    # A slot is free (and a retry may be due): no need to wait for a poll.
    wake_schedulers(ended=True)
    if job.status in FINAL_STATUSES:
        check_ended([job.experiment_id])
    return job


def _store_result(job: Job, attempt: int, metrics: dict[str, float], now: datetime) -> None:
    """Write the job's one Result row (replacing one left behind). The job's row is locked,
    so no other writer races for it: one upsert where the database has them, else an UPDATE,
    then an INSERT if it found nothing; no savepoint around either."""
    values = {
        "experiment_id": job.experiment_id,
        "parameters": job.parameters,
        "index": job.index,
        "repeat": job.repeat,
        "attempt": attempt,
        "status": job.status,
        "metrics": metrics,
        "created_at": now,
    }
    if connection.features.supports_update_conflicts_with_target:
        Result.objects.bulk_create(
            [Result(job=job, **values)],
            update_conflicts=True,
            unique_fields=["job"],
            update_fields=list(values),
        )
    elif not Result.objects.filter(job=job).update(**values):
        Result.objects.create(job=job, **values)


def fail_attempt(
    job_id: int,
    attempt: int,
    reason: str,
    error: str = "",
    exit_code: int | None = None,
    now: datetime | None = None,
) -> Job:
    """The backend's word that an attempt died without a result (lost, unschedulable...)."""
    return finish_attempt(
        job_id,
        attempt,
        succeeded=False,
        exit_code=exit_code,
        error=error,
        failure_reason=reason,
        now=now,
    )


def _mark_cancelled(job: Job, now: datetime) -> None:
    # A pruner's cancel (jobs/services/pruning.py) left its reason: the job ends ``pruned``.
    pruned = job.failure_reason == FailureReason.PRUNED
    job.status, job.finished_at = (JobStatus.PRUNED if pruned else JobStatus.CANCELLED), now
    job.failure_reason = FailureReason.PRUNED if pruned else FailureReason.CANCELLED
    job.wait_reason = ""


def mark_cancelled(job_id: int, attempt: int) -> Job:
    """The backend has stopped the attempt of a job in ``cancelling``."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked(job_id)
        if job.status == JobStatus.CANCELLING and job.attempt == attempt:
            record_usage(job, attempt, now)
            _mark_cancelled(job, now)
            _note(job, job.status, now)
            job.save()
            announce_jobs_changed([job.pk], [job.experiment_id])
            check_ended([job.experiment_id])
    return job


def cancel_job(job: Job) -> Job:
    """Cancel one job: at once when waiting, through the backend when it may be running."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked(job.pk)
        if job.status == JobStatus.WAITING:
            _mark_cancelled(job, now)
        elif job.status in RUNNER_STATUSES:
            job.status = JobStatus.CANCELLING
        elif job.status != JobStatus.CANCELLING:
            raise Conflict(f"job {job.pk} is already {job.status}")
        job.save()
        announce_jobs_changed([job.pk], [job.experiment_id])
        if job.status == JobStatus.CANCELLED:
            check_ended([job.experiment_id])
    return job


def cancel_experiment(experiment: Experiment) -> int:
    """Cancel every unfinished job of an experiment; returns how many were affected."""
    now = timezone.now()
    with transaction.atomic():
        jobs = Job.objects.filter(experiment=experiment)
        unfinished = (JobStatus.WAITING, *RUNNER_STATUSES)
        affected = list(jobs.filter(status__in=unfinished).values_list("id", flat=True))
        waiting = jobs.filter(status=JobStatus.WAITING).update(
            status=JobStatus.CANCELLED,
            failure_reason=FailureReason.CANCELLED,
            finished_at=now,
            wait_reason="",
        )
        active = jobs.filter(status__in=RUNNER_STATUSES).update(status=JobStatus.CANCELLING)
        # A search between two points has nothing unfinished, yet cancelling it means something.
        searching = stop_search(experiment, now, waiting + active)
        if (
            not waiting + active
            and not searching
            and not jobs.filter(status=JobStatus.CANCELLING).exists()
        ):
            raise Conflict(f"experiment {experiment.pk} has no unfinished jobs")
        announce_jobs_changed(affected, [experiment.pk])
        if waiting or searching:
            check_ended([experiment.pk])
    return waiting + active


def retry_job(job: Job) -> Job:
    """Queue a failed or cancelled job again as a new attempt with a fresh retry budget."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked(job.pk)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise Conflict(
                f"only failed or cancelled jobs can be retried; job {job.pk} is {job.status}"
            )
        job.attempt += 1
        job.max_attempts = job.attempt + job.experiment.max_attempts - 1
        for field, value in requeued_fields(now).items():
            setattr(job, field, value)
        job.save()
        Result.objects.filter(job=job).delete()
        _note(job, f"retry requested; attempt {job.attempt} queued", now)
        announce_jobs_changed([job.pk], [job.experiment_id])
    return job
