"""Turn the job domain's announcements into protocol messages and hand them to the broadcaster."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from jobs.models import FINAL_STATUSES, Experiment, Job, Pipeline
from jobs.status import annotated_counts, derive_status, is_searching, with_job_counts
from webapp.realtime.broadcast import broadcaster, experiment_group, user_group
from webapp.realtime.coalesce import MAX_LINES, MAX_POINTS

# Small enough for SQLite's limit on query parameters, large enough for a claim batch.
READ_CHUNK = 900
_JOB_FIELDS = (
    "id",
    "experiment_id",
    "owner_id",
    "status",
    "attempt",
    "progress",
    "failure_reason",
    "started_at",
    "finished_at",
    "result__metrics",
)

# Reading the state and queueing it happen under one lock, so within a process a newer read
# can never be queued before an older one.
_ordered = threading.Lock()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_message(row: dict[str, Any]) -> dict[str, Any]:
    """``job.updated`` from a row of ``Job.objects.values(*_JOB_FIELDS)``."""
    final = row["status"] in FINAL_STATUSES
    return {
        "type": "job.updated",
        "data": {
            "id": row["id"],
            "experiment": row["experiment_id"],
            "status": row["status"],
            "attempt": row["attempt"],
            "progress": row["progress"],
            "failure_reason": row["failure_reason"],
            "started_at": _iso(row["started_at"]),
            "finished_at": _iso(row["finished_at"]),
            "metrics": (row["result__metrics"] or {}) if final else None,
        },
    }


def experiment_message(experiment: Experiment) -> dict[str, Any]:
    """``experiment.updated`` from an experiment annotated by ``with_job_counts``."""
    counts = annotated_counts(experiment)
    total = sum(counts.values())
    finished = sum(counts[status] for status in FINAL_STATUSES)
    return {
        "type": "experiment.updated",
        "data": {
            "id": experiment.pk,
            "counts": counts,
            "status": derive_status(counts, is_searching(experiment)),
            "stop_reason": experiment.stop_reason,
            "progress": round(finished / total, 4) if total else 0.0,
            "job_count": experiment.job_count,
        },
    }


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), READ_CHUNK):
        yield ids[start : start + READ_CHUNK]


def _groups(experiment_id: int, owner_id: int) -> tuple[str, str]:
    return experiment_group(experiment_id), user_group(owner_id)


def on_jobs_changed(
    sender: Any, job_ids: Sequence[int], experiment_ids: Sequence[int], **_
) -> None:
    """Re-read what changed (one query per chunk each) and publish its current state."""
    if not broadcaster.listening():
        return
    with _ordered:
        # Per experiment: its jobs' states first, then its counts, which already include them.
        batches: dict[int, tuple[int, list[dict[str, Any]]]] = {}
        for chunk in _chunks(list(job_ids)):
            for row in Job.objects.filter(pk__in=chunk).order_by("id").values(*_JOB_FIELDS):
                _, events = batches.setdefault(row["experiment_id"], (row["owner_id"], []))
                events.append(job_message(row))
        for chunk in _chunks(list(experiment_ids)):
            experiments = with_job_counts(Experiment.objects.filter(pk__in=chunk)).only(
                "id", "owner_id", "job_count"
            )
            for experiment in experiments:
                _, events = batches.setdefault(experiment.pk, (experiment.owner_id, []))
                events.append(experiment_message(experiment))
        broadcaster.publish_many(
            (_groups(experiment_id, owner), events)
            for experiment_id, (owner, events) in batches.items()
        )


def _capped(items: list[Any], limit: int) -> tuple[list[Any], int]:
    # No connection keeps more than `limit` of a burst, so the channel layer needn't carry more.
    return (items[-limit:], len(items) - limit) if len(items) > limit else (items, 0)


def _publish_batch(kind: str, field: str, limit: int, items: list[Any], **ids: Any) -> None:
    if not items or not broadcaster.listening():
        return
    kept, dropped = _capped(items, limit)
    data = {"job": ids["job_id"], "experiment": ids["experiment_id"], "attempt": ids["attempt"]}
    data[field] = kept
    if dropped:
        data["dropped"] = dropped
    with _ordered:
        broadcaster.publish(
            _groups(ids["experiment_id"], ids["owner_id"]), [{"type": kind, "data": data}]
        )


def on_job_logged(
    sender: Any, job_id: int, experiment_id: int, owner_id: int, attempt: int, lines: list, **_
) -> None:
    _publish_batch(
        "job.log",
        "lines",
        MAX_LINES,
        lines,
        job_id=job_id,
        experiment_id=experiment_id,
        owner_id=owner_id,
        attempt=attempt,
    )


def on_job_measured(
    sender: Any, job_id: int, experiment_id: int, owner_id: int, attempt: int, points: list, **_
) -> None:
    _publish_batch(
        "job.metric",
        "points",
        MAX_POINTS,
        points,
        job_id=job_id,
        experiment_id=experiment_id,
        owner_id=owner_id,
        attempt=attempt,
    )


def on_pipeline_changed(sender: Any, pipeline_id: int, owner_id: int, **_) -> None:
    """``pipeline.updated`` to its owner: the page re-reads the pipeline over REST."""
    if not broadcaster.listening():
        return
    status = Pipeline.objects.filter(pk=pipeline_id).values_list("status", flat=True).first()
    if status is None:
        return
    message = {"type": "pipeline.updated", "data": {"id": pipeline_id, "status": status}}
    with _ordered:
        broadcaster.publish([user_group(owner_id)], [message])
