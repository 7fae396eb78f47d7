"""An experiment's status, derived from its jobs' counts so it can never drift from them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Min, Q, QuerySet

from jobs.models import Experiment, Job, JobStatus

ACTIVE = (JobStatus.DISPATCHING, JobStatus.PENDING, JobStatus.RUNNING)


def job_counts(experiment: Experiment) -> dict[str, int]:
    counts = {status.value: 0 for status in JobStatus}
    rows = Job.objects.filter(experiment=experiment).values("status").annotate(n=Count("id"))
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def job_times(experiment: Experiment) -> tuple[datetime | None, datetime | None]:
    """The first start and the last finish of its jobs: when it started and how long it ran."""
    times = Job.objects.filter(experiment=experiment).aggregate(
        started=Min("started_at"), finished=Max("finished_at")
    )
    return times["started"], times["finished"]


def with_job_counts(queryset: QuerySet[Experiment]) -> QuerySet[Experiment]:
    """Annotate each experiment with ``count_<status>`` in the same query."""
    return queryset.annotate(
        **{f"count_{s.value}": Count("jobs", filter=Q(jobs__status=s.value)) for s in JobStatus}
    )


def annotated_counts(experiment: Experiment) -> dict[str, int]:
    if hasattr(experiment, "count_waiting"):
        return {s.value: getattr(experiment, f"count_{s.value}") for s in JobStatus}
    return job_counts(experiment)


def derive_status(counts: dict[str, int]) -> str:
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
