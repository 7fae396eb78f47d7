"""Taking jobs off the queue for a scheduler: fair, within limits, safe with many replicas."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import queries
from jobs.models import Experiment, Installation, Job, JobStatus
from jobs.queries import ClaimRow, ClaimWrite, WaitingRow, claimable_by
from jobs.services.quotas import NOTHING, QuotaBook, quota_book
from jobs.services.tokens import hash_token, runner_token, token_key
from jobs.services.usage import Requested, requested
from jobs.signals import announce_jobs_changed
from jobs.telemetry import CLAIM_SECONDS


class ClaimedJob(NamedTuple):
    """One attempt a scheduler now owns and must hand to its backend (a tuple: one is built
    per job dispatched, and a tuple is the cheapest immutable record to build)."""

    job_id: int
    attempt: int
    handle: str
    token: str
    experiment: Experiment
    owner_id: int
    installation: str


# What a backend's spec (scheduler/loop.py) and the runner spec handed with it
# (services/runner_spec.py) read of a claimed job's experiment; any other field still loads
# when read, with a query of its own per field and experiment.
SPEC_FIELDS = (
    "resources",
    "timeout",
    "owner_id",
    "dataset_id",
    "algorithm_id",
    "algorithm__name",
    "algorithm__image",
    "algorithm__entrypoint",
    "algorithm__language",
    "algorithm__artifact_id",
    "owner__username",
)


def installation_id() -> str:
    """This installation's id (see ``Installation``), drawn on first use."""
    row = Installation.objects.order_by("pk").first()
    if row is None:
        row, _ = Installation.objects.get_or_create(pk=1)
    return row.installation_id


def handle_for(job_id: int, attempt: int, installation: str | None = None) -> str:
    """The backend's name for an attempt; derived, so re-dispatching it is idempotent.

    It carries the installation id, so two installations (or one before and after a database
    reset) sharing a namespace never claim each other's Jobs.
    """
    return f"petri-{installation or installation_id()}-{job_id}-{attempt}"


def _label(job_ids: list[int], reason: str) -> None:
    """Set why these waiting jobs wait; rows another scheduler holds are left for its claim."""
    if not job_ids:
        return
    free = Job.objects.filter(pk__in=job_ids, status=JobStatus.WAITING)
    ids = list(free.select_for_update(skip_locked=True).values_list("id", flat=True))
    Job.objects.filter(pk__in=ids).update(wait_reason=reason)


def _label_blocked(due, owner: int, reason: str, limit: int) -> None:
    """Show the reason on the jobs next in line of a user no quota lets start anything.

    Only the first ``limit`` rows are read, and only those whose reason changes are
    written, so a blocked user with a long queue costs one bounded read per claim.
    """
    rows = due.filter(owner_id=owner).order_by("-priority", "id").values_list("id", "wait_reason")
    _label([job_id for job_id, current in rows[:limit] if current != reason], reason)


class Candidate(NamedTuple):
    """A due waiting job in claim order: sorted by its first two fields, then by id."""

    negative_priority: int
    fair_rank: int
    job_id: int
    attempt: int
    owner_id: int
    experiment_id: int
    wait_reason: str


def _ranked(rows: list[WaitingRow], held: dict[int, int]) -> list[Candidate]:
    """Claim order: priority, then fair share (a user's k-th job ranks at held + k), then age."""
    rank: dict[int, int] = defaultdict(int)
    ranked = []
    for row in rows:  # each user's rows come in their own claim order
        rank[row.owner_id] += 1
        ranked.append(
            Candidate(
                -row.priority,
                held[row.owner_id] + rank[row.owner_id],
                row.job_id,
                row.attempt,
                row.owner_id,
                row.experiment_id,
                row.wait_reason,
            )
        )
    ranked.sort()
    return ranked


def fair_caps(allowances: dict[int, int], held: dict[int, int], limit: int) -> dict[int, int]:
    """How many rows each user could at most win in a batch of ``limit`` by fair share alone.

    The batch takes the lowest ranks (held + k): the water level is the least rank T at
    which the users' allowances below it fill the batch; nobody gets a job ranked above T.
    Each user keeps one row at least: its priority tells whether it should go first.
    """

    def below(level: int) -> int:
        return sum(min(n, max(0, level - held.get(u, 0))) for u, n in allowances.items())

    low = min((held.get(u, 0) for u in allowances), default=0)
    high = max((held.get(u, 0) for u in allowances), default=0) + limit
    if below(high) <= limit:
        return dict(allowances)  # every allowed row fits in the batch: no cap
    while low < high:  # the least level that fills the batch
        middle = (low + high) // 2
        low, high = (middle + 1, high) if below(middle) < limit else (low, middle)
    return {u: min(n, max(1, low - held.get(u, 0))) for u, n in allowances.items()}


def _lock_fair_share(
    allowances: dict[int, int], book: QuotaBook, limit: int, **where: Any
) -> list[WaitingRow]:
    """Lock each user's next due rows, only as many as fair share could give them.

    Rows above the water level cannot make the batch; locking and ranking them would cost
    as much as claiming (with ten users, ten times the batch). The cap holds only when no
    quota refuses a row within its user's allowance, when the capped rows fill the batch and
    when no capped user's next row could outrank a locked one; else every allowed row is
    locked, as before (rows this claim already holds come back, never skipped).
    """
    caps = (
        allowances
        if book.refuses_within_allowance()
        else fair_caps(allowances, book.held_jobs, limit)
    )
    rows = queries.lock_waiting(caps, **where)
    capped = {u for u, n in caps.items() if n < allowances[u]}
    if not capped:
        return rows
    got: dict[int, int] = defaultdict(int)
    last_priority: dict[int, int] = {}
    for row in rows:
        got[row.owner_id] += 1
        last_priority[row.owner_id] = row.priority
    # A capped user's next row has a rank above every locked row's (but those kept by the
    # one-row floor) and a priority no higher than their last locked one: it could only go
    # before a locked row of lower priority.
    lowest = min((row.priority for row in rows), default=0)
    short = len(rows) < limit and any(got[u] == caps[u] for u in capped)
    outranked = any(last_priority.get(u, lowest) > lowest for u in capped)
    return queries.lock_waiting(allowances, **where) if short or outranked else rows


def _fair_candidates(
    limit: int, now: datetime, backend: str, takes_default: bool
) -> list[ClaimRow]:
    """Lock and rank due waiting jobs: priority, then fair share, then age; within quotas.

    A user's k-th job ranks at (jobs they already run + k), so a user with 50,000 waiting
    jobs and one with 5 alternate instead of the first going before the second. Ranked jobs
    are then counted against their user's and groups' quotas in that order; those that do
    not fit stay waiting, with the reason written on the row.
    """
    due = Job.objects.filter(
        claimable_by(backend, takes_default), status=JobStatus.WAITING, not_before__lte=now
    )
    owners = queries.due_owners(backend=backend, takes_default=takes_default, now=now)
    if not owners:
        return []
    book = quota_book(owners, now, backend)
    allowances = {}
    for owner in owners:
        blocked = book.blocked(owner)
        if blocked:
            _label_blocked(due, owner, blocked, limit)
        else:
            allowances[owner] = book.allowance(owner, limit)
    rows = _lock_fair_share(
        allowances, book, limit, backend=backend, takes_default=takes_default, now=now
    )
    ranked = _ranked(rows, book.held_jobs)
    asks: dict[int, Requested] = {}
    if book.counts_resources:
        resources = Experiment.objects.filter(pk__in={c.experiment_id for c in ranked})
        asks = {pk: requested(r) for pk, r in resources.values_list("pk", "resources")}
    chosen: list[ClaimRow] = []
    relabel: dict[str, list[int]] = defaultdict(list)
    for candidate in ranked:
        owner = candidate.owner_id
        asked = asks.get(candidate.experiment_id, NOTHING)
        if len(chosen) >= limit:  # past the batch: next in line, unless a quota says more
            reason = book.refuses(owner, asked)
        else:
            reason = book.try_take(owner, asked)
            if not reason:
                chosen.append(ClaimRow(candidate.job_id, candidate.attempt))
                continue
        if reason != candidate.wait_reason:
            relabel[reason].append(candidate.job_id)
    for reason, job_ids in relabel.items():
        Job.objects.filter(pk__in=job_ids).update(wait_reason=reason)
    return chosen


def _mark_claimed(
    chosen: list[ClaimRow], *, scheduler: str, backend: str, now: datetime
) -> list[ClaimedJob]:
    """Write the claim on each row in one statement; the claimed attempts in claim order."""
    installation = installation_id()
    key = token_key()
    attempts = []  # (job_id, attempt, handle, token), built once per job in one pass
    writes = []
    for job_id, attempt in chosen:
        handle = handle_for(job_id, attempt, installation)
        token = runner_token(job_id, attempt, key)
        attempts.append((job_id, attempt, handle, token))
        writes.append(ClaimWrite(job_id, handle, hash_token(token)))
    found = {
        row.job_id: row
        for row in queries.mark_claimed(writes, scheduler=scheduler, backend=backend, now=now)
    }
    # With what the backend needs to know of each: its algorithm, its owner and their groups.
    # Only those columns: the claim pays for compiling and loading this query every pass.
    experiments = (
        Experiment.objects.select_related("algorithm", "owner")
        .only(*SPEC_FIELDS)
        .prefetch_related("owner__groups")
        .in_bulk({row.experiment_id for row in found.values()})
    )
    announce_jobs_changed(list(found), experiments)
    return [
        ClaimedJob(
            job_id,
            attempt,
            handle,
            token,
            experiments[found[job_id].experiment_id],
            found[job_id].owner_id,
            installation,
        )
        for job_id, attempt, handle, token in attempts
    ]


def claim_waiting_jobs(
    *,
    scheduler: str,
    backend: str,
    limit: int,
    now: datetime | None = None,
    takes_default: bool = True,
) -> list[ClaimedJob]:
    """Move up to ``limit`` due waiting jobs to ``dispatching`` in one transaction.

    Rows locked by another scheduler's claim are skipped, never waited for.
    """
    if limit <= 0:
        return []
    now = now or timezone.now()
    with CLAIM_SECONDS.time(), transaction.atomic():
        chosen = _fair_candidates(limit, now, backend, takes_default)
        if not chosen:
            return []
        return _mark_claimed(chosen, scheduler=scheduler, backend=backend, now=now)


def reclaim_stale_dispatching(
    *, scheduler: str, backend: str, limit: int, now: datetime | None = None
) -> list[ClaimedJob]:
    """Take over jobs whose scheduler died between claim and dispatch: same handle and token."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.PETRI_DISPATCH_TIMEOUT)
    with transaction.atomic():
        chosen = list(
            Job.objects.filter(
                status=JobStatus.DISPATCHING, backend=backend, claimed_at__lt=stale_before
            )
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", "attempt")[:limit]
        )
        chosen = [ClaimRow(*row) for row in chosen]
        if not chosen:
            return []
        return _mark_claimed(chosen, scheduler=scheduler, backend=backend, now=now)


def mark_dispatched(claimed: list[ClaimedJob]) -> int:
    """The backend accepted these attempts. Jobs cancelled meanwhile are left to the cancel pass."""
    if not claimed:
        return 0
    # No savepoint: the scheduler counts the attempts in the same transaction.
    with transaction.atomic(savepoint=False):
        updated = queries.mark_dispatched(
            [c.job_id for c in claimed], [c.handle for c in claimed], timezone.now()
        )
        announce_jobs_changed([c.job_id for c in claimed], {c.experiment.pk for c in claimed})
    return updated


def release_claimed(claimed: list[ClaimedJob], *, wait_reason: str, not_before: datetime) -> int:
    """Hand claimed attempts back to the queue untouched: the backend was unavailable.

    The attempt number stays, so no attempt is used up and the next claim derives the same
    handle and token: a Job whose create response was lost is then adopted, not doubled.
    """
    if not claimed:
        return 0
    with transaction.atomic():
        released = Job.objects.filter(
            pk__in=[c.job_id for c in claimed],
            handle__in=[c.handle for c in claimed],
            status=JobStatus.DISPATCHING,
        ).update(
            status=JobStatus.WAITING,
            handle="",
            runner_token_hash="",
            scheduler="",
            claimed_at=None,
            wait_reason=wait_reason[:100],
            not_before=not_before,
        )
        announce_jobs_changed([c.job_id for c in claimed], {c.experiment.pk for c in claimed})
    return released
