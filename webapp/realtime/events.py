"""Turn the job domain's announcements into protocol messages and hand them to the broadcaster."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jobs.models import FINAL_STATUSES, Experiment, Job, Pipeline
from jobs.status import (
    annotated_counts,
    derive_status,
    experiment_progress,
    is_searching,
    with_job_counts,
)
from webapp.realtime.broadcast import broadcaster, experiment_group, user_group
from webapp.realtime.outbox import ITEMS, MAX_LINES, MAX_POINTS

# Small enough for SQLite's limit on query parameters, large enough for a claim batch.
READ_CHUNK = 900
JOB_FIELDS = (
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
# What experiment_message reads besides the counts: no deferred field is loaded one by one.
EXPERIMENT_FIELDS = ("id", "owner_id", "job_count", "strategy", "stop_reason", "max_jobs")

# Reading the state and queueing it happen under one lock, so within a process a newer read
# can never be queued before an older one.
_ordered = threading.Lock()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_message(row: dict[str, Any]) -> dict[str, Any]:
    """``job.updated`` from a row of ``Job.objects.values(*JOB_FIELDS)``."""
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
    return {
        "type": "experiment.updated",
        "data": {
            "id": experiment.pk,
            "counts": counts,
            "status": derive_status(counts, is_searching(experiment)),
            "stop_reason": experiment.stop_reason,
            "progress": experiment_progress(experiment, counts),
            "job_count": experiment.job_count,
        },
    }


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
        job_ids, experiment_ids = list(job_ids), list(experiment_ids)
        for start in range(0, len(job_ids), READ_CHUNK):
            jobs = Job.objects.filter(pk__in=job_ids[start : start + READ_CHUNK]).order_by("id")
            for row in jobs.values(*JOB_FIELDS):
                _, messages = batches.setdefault(row["experiment_id"], (row["owner_id"], []))
                messages.append(job_message(row))
        for start in range(0, len(experiment_ids), READ_CHUNK):
            chunk = Experiment.objects.filter(pk__in=experiment_ids[start : start + READ_CHUNK])
            for experiment in with_job_counts(chunk).only(*EXPERIMENT_FIELDS):
                _, messages = batches.setdefault(experiment.pk, (experiment.owner_id, []))
                messages.append(experiment_message(experiment))
        broadcaster.publish(
            (_groups(experiment_id, owner), messages)
            for experiment_id, (owner, messages) in batches.items()
        )


def _publish_items(
    kind: str, limit: int, items: list, job_id: int, experiment_id: int, owner_id: int, attempt: int
) -> None:
    if not items or not broadcaster.listening():
        return
    # No outbox keeps more than `limit` of a burst, so the channel layer needn't carry more.
    data = {"job": job_id, "experiment": experiment_id, "attempt": attempt, ITEMS[kind]: items}
    if len(items) > limit:
        data.update({ITEMS[kind]: items[-limit:], "dropped": len(items) - limit})
    with _ordered:
        broadcaster.publish([(_groups(experiment_id, owner_id), [{"type": kind, "data": data}])])


def on_job_logged(sender: Any, lines: list, signal: Any = None, **ids: Any) -> None:
    _publish_items("job.log", MAX_LINES, lines, **ids)


def on_job_measured(sender: Any, points: list, signal: Any = None, **ids: Any) -> None:
    _publish_items("job.metric", MAX_POINTS, points, **ids)


def on_pipeline_changed(sender: Any, pipeline_id: int, owner_id: int, **_) -> None:
    """``pipeline.updated`` to its owner: the page re-reads the pipeline over REST."""
    if not broadcaster.listening():
        return
    status = Pipeline.objects.filter(pk=pipeline_id).values_list("status", flat=True).first()
    if status is None:
        return
    message = {"type": "pipeline.updated", "data": {"id": pipeline_id, "status": status}}
    with _ordered:
        broadcaster.publish([([user_group(owner_id)], [message])])
