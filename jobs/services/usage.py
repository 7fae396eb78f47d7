"""Usage accounting: what each finished attempt used, resources requested times run time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from jobs.models import Job, UsageRecord

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_FACTORS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
GIB = 2**30


def memory_gb(quantity: Any) -> float:
    """A Kubernetes memory quantity in GiB: ``2Gi`` is 2, ``512Mi`` 0.5, ``1G`` 0.931."""
    match = _QUANTITY.match(str(quantity).strip())
    if match is None:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return float(match.group(1)) * _FACTORS[match.group(2)] / GIB


@dataclass(frozen=True)
class Requested:
    """What a job asks of the backend; experiments saved without resources get the defaults."""

    cpu: float
    gpu: int
    memory_gb: float


def requested(resources: dict[str, Any] | None) -> Requested:
    resources = resources or {}
    return Requested(
        cpu=float(resources.get("cpu") or 1),
        gpu=int(resources.get("gpu") or 0),
        memory_gb=memory_gb(resources.get("memory") or "1Gi"),
    )


def month_of(moment: datetime) -> date:
    """The first day of the (local) month an instant falls in: usage is billed per month."""
    return timezone.localtime(moment).date().replace(day=1)


def record_usage(job: Job, attempt: int, finished_at: datetime) -> UsageRecord | None:
    """Write the attempt's usage, once; nothing for an attempt that never started.

    Called inside the transaction that ends the attempt, with the job row locked, so a
    repeated report finds the record already there instead of counting twice.
    """
    if job.started_at is None:
        return None
    seconds = max(0.0, (finished_at - job.started_at).total_seconds())
    asked = requested(job.experiment.resources)
    record, _ = UsageRecord.objects.get_or_create(
        job=job,
        attempt=attempt,
        defaults={
            "user_id": job.owner_id,
            "experiment_id": job.experiment_id,
            "backend": job.backend,
            "month": month_of(finished_at),
            "started_at": job.started_at,
            "finished_at": finished_at,
            "seconds": seconds,
            "cpu": asked.cpu,
            "gpu": asked.gpu,
            "memory_gb": asked.memory_gb,
            "cpu_seconds": asked.cpu * seconds,
            "gpu_seconds": asked.gpu * seconds,
            "memory_gb_seconds": asked.memory_gb * seconds,
        },
    )
    return record


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
        cpu, gpu, memory = (row[k] or 0.0 for k in SUMMED)
        rows.append(
            {
                "user": row["user__username"],
                "month": row["month"].strftime("%Y-%m"),
                "backend": row["backend"],
                "attempts": row["attempts"],
                "seconds": round(row["seconds"] or 0.0, 3),
                "cpu_hours": round(cpu / 3600, 4),
                "gpu_hours": round(gpu / 3600, 4),
                "memory_gb_hours": round(memory / 3600, 4),
                "cpu_seconds": round(cpu, 3),
                "gpu_seconds": round(gpu, 3),
                "memory_gb_seconds": round(memory, 3),
            }
        )
    return rows


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
