"""Usage accounting: what each finished attempt used, resources requested times run time."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from jobs.models import Job, UsageRecord
from jobs.quantities import cpu_cores, gpu_count, memory_bytes

GIB = 2**30


def memory_gb(quantity: Any) -> float:
    """A Kubernetes memory quantity in GiB: ``2Gi`` is 2, ``512Mi`` 0.5, ``1G`` 0.931."""
    return memory_bytes(quantity) / GIB


@dataclass(frozen=True)
class Requested:
    """What a job asks of the backend; experiments saved without resources get the defaults."""

    cpu: float
    gpu: int
    memory_gb: float


def requested(resources: dict[str, Any] | None) -> Requested:
    """What ``resources`` asks for; a value no submission would accept today counts as the
    default, so that rows stored before the bounds existed cannot break accounting."""
    resources = resources or {}
    return Requested(
        cpu=_or_default(cpu_cores, resources.get("cpu"), 1.0),
        gpu=_or_default(gpu_count, resources.get("gpu"), 0),
        memory_gb=_or_default(memory_bytes, resources.get("memory"), GIB) / GIB,
    )


def _or_default(parse: Callable[[Any], Any], value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    try:
        return parse(value)
    except ValueError:
        return default


def month_of(moment: datetime) -> date:
    """The first day of the (local) month an instant falls in: usage is billed per month."""
    return timezone.localtime(moment).date().replace(day=1)


def record_usage(job: Job, attempt: int, finished_at: datetime) -> None:
    """Write the attempt's usage, once; nothing for an attempt that never started.

    Called inside the transaction that ends the attempt, with the job row locked; one INSERT
    that a record already there (a repeated report) turns into nothing, by its unique key,
    instead of a read, a savepoint and an insert.
    """
    if job.started_at is None:
        return
    seconds = max(0.0, (finished_at - job.started_at).total_seconds())
    asked = requested(job.experiment.resources)
    record = UsageRecord(
        job=job,
        attempt=attempt,
        user_id=job.owner_id,
        experiment_id=job.experiment_id,
        backend=job.backend,
        month=month_of(finished_at),
        started_at=job.started_at,
        finished_at=finished_at,
        seconds=seconds,
        cpu=asked.cpu,
        gpu=asked.gpu,
        memory_gb=asked.memory_gb,
        cpu_seconds=asked.cpu * seconds,
        gpu_seconds=asked.gpu * seconds,
        memory_gb_seconds=asked.memory_gb * seconds,
    )
    UsageRecord.objects.bulk_create([record], ignore_conflicts=True)


def monthly_usage(records: QuerySet[UsageRecord]) -> list[dict[str, Any]]:
    """Totals per user, month and backend, newest month first, in seconds and in hours."""
    totals = (
        records.values("user__username", "month", "backend")
        .annotate(
            attempts=Count("id"),
            seconds=Sum("seconds"),
            cpu_seconds=Sum("cpu_seconds"),
            gpu_seconds=Sum("gpu_seconds"),
            memory_gb_seconds=Sum("memory_gb_seconds"),
        )
        .order_by("-month", "user__username", "backend")
    )
    rows = []
    for row in totals:
        # Records written before resources were bounded may hold an infinite product.
        cpu, gpu, memory = (_finite(row[k]) for k in SUMMED)
        rows.append(
            {
                "user": row["user__username"],
                "month": row["month"].strftime("%Y-%m"),
                "backend": row["backend"],
                "attempts": row["attempts"],
                "seconds": round(_finite(row["seconds"]), 3),
                "cpu_hours": round(cpu / 3600, 4),
                "gpu_hours": round(gpu / 3600, 4),
                "memory_gb_hours": round(memory / 3600, 4),
                "cpu_seconds": round(cpu, 3),
                "gpu_seconds": round(gpu, 3),
                "memory_gb_seconds": round(memory, 3),
            }
        )
    return rows


def _finite(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else 0.0


def parse_month(raw: str) -> date:
    """``YYYY-MM`` as the first day of that month (ValueError otherwise)."""
    year, _, number = raw.strip().partition("-")
    if not (year.isdigit() and number.isdigit() and len(year) == 4 and len(number) <= 2):
        raise ValueError("must be YYYY-MM")
    try:
        return date(int(year), int(number), 1)
    except ValueError:
        raise ValueError("must be YYYY-MM, a month between 0001-01 and 9999-12") from None


SUMMED = ("cpu_seconds", "gpu_seconds", "memory_gb_seconds")
USAGE_COLUMNS = [
    "user",
    "month",
    "backend",
    "attempts",
    "seconds",
    "cpu_hours",
    "gpu_hours",
    "memory_gb_hours",
    "cpu_seconds",
    "gpu_seconds",
    "memory_gb_seconds",
]
