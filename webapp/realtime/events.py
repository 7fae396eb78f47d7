"""The job domain's announcements (jobs/signals.py) read back and published as messages."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.dispatch import receiver

from jobs import signals, status
from jobs.models import FINAL_STATUSES, Experiment, Job, Pipeline
from webapp.realtime.hub import ITEMS, broadcast, broadcaster, experiment_group, user_group

READ_CHUNK = 900  # small enough for SQLite's limit on query parameters, enough for a claim
JOB_FIELDS = ("id", "experiment_id", "owner_id", "status", "attempt", "progress")
JOB_FIELDS += ("failure_reason", "started_at", "finished_at", "result__metrics")
# What experiment_message reads besides the counts: no deferred field is loaded one by one.
EXPERIMENT_FIELDS = ("id", "owner_id", "job_count", "strategy", "stop_reason", "max_jobs")
# Each receiver reads and publishes under one lock, so within a process a newer read is never
# published before an older one.
_ordered = threading.Lock()


def job_message(row: dict[str, Any]) -> dict[str, Any]:
    """``job.updated`` from a row of ``Job.objects.values(*JOB_FIELDS)``."""
    data = {"id": row["id"], "experiment": row["experiment_id"]}
    data |= {key: row[key] for key in ("status", "attempt", "progress", "failure_reason")}
    data |= {key: row[key] and row[key].isoformat() for key in ("started_at", "finished_at")}
    data["metrics"] = (row["result__metrics"] or {}) if row["status"] in FINAL_STATUSES else None
    return {"type": "job.updated", "data": data}


def experiment_message(experiment: Experiment) -> dict[str, Any]:
    """``experiment.updated`` from an experiment annotated by ``with_job_counts``."""
    data = {"id": experiment.pk, **status.summary(experiment)}
    data |= {"stop_reason": experiment.stop_reason, "job_count": experiment.job_count}
    return {"type": "experiment.updated", "data": data}


@receiver(signals.jobs_changed)
def on_jobs_changed(job_ids: Sequence[int], experiment_ids: Sequence[int], **_: Any) -> None:
    """Re-read what changed (one query per chunk each) and publish its current state."""
    if broadcaster.loop() is None:
        return  # nobody could hear it: skip the reads
    with _ordered:
        # Per experiment: its jobs' states first, then its counts, which already include them.
        batches: dict[tuple[int, int], list[dict[str, Any]]] = {}  # by experiment and owner
        for start in range(0, len(job_ids), READ_CHUNK):
            jobs = Job.objects.filter(pk__in=job_ids[start : start + READ_CHUNK])
            for row in jobs.order_by("id").values(*JOB_FIELDS):
                key = (row["experiment_id"], row["owner_id"])
                batches.setdefault(key, []).append(job_message(row))
        for start in range(0, len(experiment_ids), READ_CHUNK):
            chunk = Experiment.objects.filter(pk__in=experiment_ids[start : start + READ_CHUNK])
            for experiment in status.with_job_counts(chunk).only(*EXPERIMENT_FIELDS):
                key = (experiment.pk, experiment.owner_id)
                batches.setdefault(key, []).append(experiment_message(experiment))
        for (experiment_id, owner_id), messages in batches.items():
            broadcast((experiment_group(experiment_id), user_group(owner_id)), messages)


@receiver(signals.job_logged)
@receiver(signals.job_measured)
def on_job_items(
    signal: Any, job_id: int, experiment_id: int, owner_id: int, attempt: int, **items: Any
) -> None:
    """``job.log`` (``job.metric``) of a batch of lines (points) a runner reported.

    The hub's outbox keeps the newest MAX_ITEMS and counts the rest as dropped.
    """
    kind = "job.log" if signal is signals.job_logged else "job.metric"
    data = {"job": job_id, "experiment": experiment_id, "attempt": attempt}
    data[ITEMS[kind]] = items[ITEMS[kind]]
    message = {"type": kind, "data": data}
    with _ordered:
        broadcast((experiment_group(experiment_id), user_group(owner_id)), [message])


@receiver(signals.pipeline_changed)
def on_pipeline_changed(pipeline_id: int, owner_id: int, **_: Any) -> None:
    """``pipeline.updated`` to its owner: the page re-reads the pipeline over REST."""
    with _ordered:
        now = Pipeline.objects.filter(pk=pipeline_id).values_list("status", flat=True).first()
        if now is not None:
            message = {"type": "pipeline.updated", "data": {"id": pipeline_id, "status": now}}
            broadcast([user_group(owner_id)], [message])
