"""The job queue's SQL in one place: named statements from sql/queue.sql, and named rows.

As procrastinate does, the statements live in a .sql file and are looked up by name; each
function here runs one of them on Postgres and does the same through the ORM elsewhere, so the
services never branch on the database vendor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Q

from jobs.models import BACKEND_STATUSES, Job, JobStatus

BULK_BATCH = 2000
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def _load(path: Path) -> dict[str, str]:
    parts = _NAME.split(path.read_text())
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


QUERIES = _load(Path(__file__).with_name("sql") / "queue.sql")


class ClaimRow(NamedTuple):
    """A waiting job the claim chose, with the attempt it will start."""

    job_id: int
    attempt: int


class WaitingRow(NamedTuple):
    """A due waiting row a claim locked, with what ranking it and counting it need."""

    job_id: int
    owner_id: int
    priority: int
    attempt: int
    experiment_id: int
    wait_reason: str


class ClaimWrite(NamedTuple):
    """What a claim writes on one row."""

    job_id: int
    handle: str
    token_hash: str


class ClaimedRow(NamedTuple):
    """A claimed row as it reads back: whose it is and in which experiment."""

    job_id: int
    experiment_id: int
    owner_id: int


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def claimable_by(backend: str, takes_default: bool) -> Q:
    """Waiting jobs a scheduler of ``backend`` may take: those bound to it, and those bound to
    no backend when it is the installation's default one."""
    return Q(backend=backend) | Q(backend="") if takes_default else Q(backend=backend)


def due_owners(*, backend: str, takes_default: bool, now: datetime) -> list[int]:
    """The users with a due waiting job a scheduler of ``backend`` may take."""
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                QUERIES["due_owners"],
                {
                    "waiting": JobStatus.WAITING.value,
                    "now": now,
                    "backend": backend,
                    "takes_default": takes_default,
                },
            )
            return [owner for (owner,) in cursor.fetchall()]
    due = Job.objects.filter(
        claimable_by(backend, takes_default), status=JobStatus.WAITING, not_before__lte=now
    )
    return sorted(set(due.values_list("owner_id", flat=True).distinct().order_by()))


def held_jobs(owners: Iterable[int], *, backend: str = "") -> dict[int, int]:
    """How many jobs each of ``owners`` holds now on ``backend`` (every backend for ''),
    counting only users who hold any."""
    owners = sorted(owners)
    if not owners:
        return {}
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                QUERIES["held_jobs"],
                {
                    "owners": owners,
                    "active": [s.value for s in BACKEND_STATUSES],
                    "backend": backend,
                },
            )
            return {owner: n for owner, n in cursor.fetchall() if n}
    held = Job.objects.filter(status__in=BACKEND_STATUSES, owner_id__in=owners)
    if backend:
        held = held.filter(backend=backend)
    return dict(held.values_list("owner_id").annotate(n=Count("id")).order_by())


def lock_waiting(
    allowances: dict[int, int], *, backend: str, takes_default: bool, now: datetime
) -> list[WaitingRow]:
    """Lock each user's next due waiting rows, up to their allowance, in claim order.

    One statement for every user on Postgres; rows another claim holds are skipped.
    """
    allowances = {owner: n for owner, n in allowances.items() if n > 0}
    if not allowances:
        return []
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                QUERIES["lock_waiting"],
                {
                    "owners": list(allowances),
                    "allowances": list(allowances.values()),
                    "waiting": JobStatus.WAITING.value,
                    "now": now,
                    "backend": backend,
                    "takes_default": takes_default,
                },
            )
            return [WaitingRow(*row) for row in cursor.fetchall()]
    due = Job.objects.filter(
        claimable_by(backend, takes_default), status=JobStatus.WAITING, not_before__lte=now
    )
    rows: list[WaitingRow] = []
    for owner, allowance in allowances.items():
        locked = (
            due.filter(owner_id=owner)
            .order_by("-priority", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", "owner_id", "priority", "attempt", "experiment_id", "wait_reason")
        )
        rows += [WaitingRow(*row) for row in locked[:allowance]]
    return rows


def mark_claimed(
    writes: list[ClaimWrite], *, scheduler: str, backend: str, now: datetime
) -> list[ClaimedRow]:
    """Move these rows to ``dispatching`` under this scheduler, in one statement on Postgres."""
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                QUERIES["mark_claimed"],
                {
                    "status": JobStatus.DISPATCHING.value,
                    "now": now,
                    "scheduler": scheduler,
                    "backend": backend,
                    "ids": [w.job_id for w in writes],
                    "handles": [w.handle for w in writes],
                    "hashes": [w.token_hash for w in writes],
                },
            )
            return [ClaimedRow(*row) for row in cursor.fetchall()]
    # Plain UPDATEs: bulk_update's CASE on each of seven fields cost milliseconds to build,
    # paid for every freed slot's claim of one job.
    common = {
        "status": JobStatus.DISPATCHING,
        "claimed_at": now,
        "scheduler": scheduler,
        "backend": backend,
        "wait_reason": "",
    }
    if len(writes) == 1:
        (write,) = writes
        Job.objects.filter(pk=write.job_id).update(
            handle=write.handle, runner_token_hash=write.token_hash, **common
        )
    else:
        Job.objects.filter(pk__in=[w.job_id for w in writes]).update(**common)
        each = [Job(pk=w.job_id, handle=w.handle, runner_token_hash=w.token_hash) for w in writes]
        Job.objects.bulk_update(each, ["handle", "runner_token_hash"])
    rows = Job.objects.filter(pk__in=[w.job_id for w in writes]).values_list(
        "id", "experiment_id", "owner_id"
    )
    return [ClaimedRow(*row) for row in rows]


def mark_dispatched(ids: list[int], handles: list[str], now: datetime) -> int:
    """Move the rows still dispatching under these handles to ``pending``; how many moved."""
    if _is_postgres():
        with connection.cursor() as cursor:
            # Lost in a crash of Postgres, the row is still dispatching: it is reclaimed under
            # the same handle and the backend adopts the attempt, so no flush is waited for.
            cursor.execute(
                # One round trip for both; the row count is the last statement's.
                QUERIES["commit_without_flush"] + "\n" + QUERIES["mark_dispatched"],
                {
                    "pending": JobStatus.PENDING.value,
                    "dispatching": JobStatus.DISPATCHING.value,
                    "now": now,
                    "ids": ids,
                    "handles": handles,
                },
            )
            return cursor.rowcount
    # The handle names the attempt, so a job retried since its claim is not touched.
    return Job.objects.filter(pk__in=ids, handle__in=handles, status=JobStatus.DISPATCHING).update(
        status=JobStatus.PENDING, last_event_at=now
    )


def insert_grid(
    experiment: Any, combinations: Iterable[dict[str, Any]], repeats: int, now: datetime
) -> None:
    """One waiting row per combination and repeat, in grid order."""
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                QUERIES["insert_grid"],
                {
                    "experiment_id": experiment.pk,
                    "owner_id": experiment.owner_id,
                    "priority": experiment.priority,
                    "status": JobStatus.WAITING.value,
                    "max_attempts": experiment.max_attempts,
                    "backend": experiment.backend,
                    "now": now,
                    "combinations": json.dumps(list(combinations)),
                    "last_repeat": repeats - 1,
                },
            )
        return
    common = {
        "experiment": experiment,
        "owner_id": experiment.owner_id,
        "priority": experiment.priority,
        "max_attempts": experiment.max_attempts,
        "backend": experiment.backend,
        "not_before": now,
        "created_at": now,
    }
    batch: list[Job] = []
    for index, values in enumerate(combinations):
        for repeat in range(repeats):
            batch.append(Job(index=index, repeat=repeat, parameters=values, **common))
            if len(batch) >= BULK_BATCH:
                Job.objects.bulk_create(batch)
                batch = []
    Job.objects.bulk_create(batch)


def notify_new_jobs() -> None:
    """Wake idle schedulers when this transaction commits (Postgres; others poll)."""
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(QUERIES["notify_new_jobs"])


def listen_new_jobs(cursor: Any) -> None:
    """Subscribe a dedicated Postgres connection's cursor to new-job notifications."""
    cursor.execute(QUERIES["listen_new_jobs"])
