"""An experiment's status, derived from its jobs' counts so it can never drift from them.

Retention deletes finished job rows; what it took is kept on the experiment (``pruned_*``)
and added back here, so a pruned experiment keeps its counts, status and times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest, Least

from jobs.models import FINAL_STATUSES, Experiment, Job, JobStatus

ACTIVE = (JobStatus.DISPATCHING, JobStatus.PENDING, JobStatus.RUNNING)
FINAL_EXPERIMENT_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


def is_searching(experiment: Experiment) -> bool:
    """A search that has not stopped: it may queue more jobs."""
    return experiment.strategy != "grid" and not experiment.stop_reason


def job_counts(experiment: Experiment) -> dict[str, int]:
    counts = {status.value: 0 for status in JobStatus}
    rows = Job.objects.filter(experiment=experiment).values("status").annotate(n=Count("id"))
    for row in rows:
        counts[row["status"]] = row["n"]
    for status in FINAL_STATUSES:
        counts[status.value] += getattr(experiment, f"pruned_{status.value}")
    return counts


def job_times(experiment: Experiment) -> tuple[datetime | None, datetime | None]:
    """The first start and the last finish of its jobs, pruned ones included: when it started
    and how long it ran (one experiment's ``with_job_times``)."""
    times = Job.objects.filter(experiment=experiment).aggregate(
        started=Min("started_at"), finished=Max("finished_at")
    )
    starts = [t for t in (times["started"], experiment.pruned_started_at) if t is not None]
    ends = [t for t in (times["finished"], experiment.pruned_finished_at) if t is not None]
    return min(starts, default=None), max(ends, default=None)


def with_job_counts(queryset: QuerySet[Experiment]) -> QuerySet[Experiment]:
    """Annotate each experiment with ``count_<status>`` in the same query."""
    counts = {}
    for status in JobStatus:
        count = Count("jobs", filter=Q(jobs__status=status.value))
        if status in FINAL_STATUSES:
            count = count + F(f"pruned_{status.value}")
        counts[f"count_{status.value}"] = count
    return queryset.annotate(**counts)


def with_job_times(queryset: QuerySet[Experiment]) -> QuerySet[Experiment]:
    """Annotate ``started_at`` (first start of a job) and ``last_finished_at`` (last finish)."""
    started, finished = Min("jobs__started_at"), Max("jobs__finished_at")
    # Coalesce both ways: Least/Greatest give NULL on SQLite when either side is NULL.
    return queryset.annotate(
        started_at=Least(
            Coalesce(started, F("pruned_started_at")), Coalesce(F("pruned_started_at"), started)
        ),
        last_finished_at=Greatest(
            Coalesce(finished, F("pruned_finished_at")),
            Coalesce(F("pruned_finished_at"), finished),
        ),
    )


def annotated_counts(experiment: Experiment) -> dict[str, int]:
    if hasattr(experiment, "count_waiting"):
        return {s.value: getattr(experiment, f"count_{s.value}") for s in JobStatus}
    return job_counts(experiment)


def experiment_progress(experiment: Experiment, counts: dict[str, int]) -> float:
    """Finished jobs over all of them, or over a running search's budget when that is larger."""
    total = sum(counts.values())
    if is_searching(experiment):
        total = max(total, experiment.max_jobs or 0)
    done = sum(counts[status] for status in FINAL_STATUSES)
    return round(done / total, 4) if total else 0.0


def summary(experiment: Experiment) -> dict[str, Any]:
    """Its ``counts``, ``status`` and ``progress``: what the REST API and live updates show."""
    counts = annotated_counts(experiment)
    return {
        "counts": counts,
        "status": derive_status(counts, is_searching(experiment)),
        "progress": experiment_progress(experiment, counts),
    }


def derive_status(counts: dict[str, int], searching: bool = False) -> str:
    """``searching``: a search not yet stopped, which runs on between two of its points.
    Pruned jobs count as neither failed nor cancelled."""
    status = _from_counts(counts)
    if searching and (status == "empty" or status in FINAL_EXPERIMENT_STATUSES):
        return "running"
    return status


def _from_counts(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    if total == 0:
        return "empty"
    if counts[JobStatus.CANCELLING]:
        return "cancelling"
    unfinished = counts[JobStatus.WAITING] + sum(counts[s] for s in ACTIVE)
    if unfinished:
        finished = total - unfinished
        return "running" if finished or any(counts[s] for s in ACTIVE) else "waiting"
    if counts[JobStatus.CANCELLED]:
        return "cancelled"
    if counts[JobStatus.FAILED]:
        return "failed"
    return "succeeded"
