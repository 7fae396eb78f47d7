"""Quotas: per-user and per-group limits on what runs at once and on monthly usage.

A user is bound by their own quota (``max_running`` defaulting to PETRI_USER_MAX_RUNNING) and
by the quota of every group they belong to, which bounds the sum over the group's members. A
quota counts what runs on every backend together, or, when it names a backend, only there.
The claim builds one ``QuotaBook`` from a handful of aggregate queries and asks it about each
candidate job; nothing here queries per job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.utils import timezone

from jobs import queries
from jobs.errors import InvalidInput
from jobs.models import BACKEND_STATUSES, Job, Quota, UsageRecord
from jobs.services.usage import Requested, month_of, requested

JOB_LIMIT = "job limit"
CPU_QUOTA = "CPU quota"
GPU_QUOTA = "GPU quota"
CPU_BUDGET = "monthly CPU-hours budget"
GPU_BUDGET = "monthly GPU-hours budget"
# Stands in for a job's resources when no quota of the claim looks at them.
NOTHING = Requested(cpu=0.0, gpu=0, memory_gb=0.0)


@dataclass
class Bucket:
    """One quota's limits and what its users hold now; ``group`` is empty for a user's own."""

    group: str = ""
    backend: str = ""
    max_jobs: int | None = None
    max_cpu: float | None = None
    max_gpu: int | None = None
    cpu_budget_spent: bool = False
    gpu_budget_spent: bool = False
    jobs: int = 0
    cpu: float = 0.0
    gpu: int = 0

    def reason(self, kind: str) -> str:
        whose = f" of group {self.group}" if self.group else ""
        return f"waiting: {kind}{whose}" + (f" on {self.backend}" if self.backend else "")

    def refuses(self, asked: Requested) -> str:
        """Why one more job asking ``asked`` does not fit now; empty when it does."""
        if self.max_jobs is not None and self.jobs + 1 > self.max_jobs:
            return self.reason(JOB_LIMIT)
        if self.cpu_budget_spent and asked.cpu > 0:
            return self.reason(CPU_BUDGET)
        if self.gpu_budget_spent and asked.gpu > 0:
            return self.reason(GPU_BUDGET)
        if self.max_cpu is not None and self.cpu + asked.cpu > self.max_cpu + 1e-9:
            return self.reason(CPU_QUOTA)
        if self.max_gpu is not None and asked.gpu and self.gpu + asked.gpu > self.max_gpu:
            return self.reason(GPU_QUOTA)
        return ""

    def take(self, asked: Requested) -> None:
        self.jobs += 1
        self.cpu += asked.cpu
        self.gpu += asked.gpu

    def blocks_everything(self) -> str:
        """The reason no job at all can start under this quota (count or CPU budget)."""
        if self.max_jobs is not None and self.jobs >= self.max_jobs:
            return self.reason(JOB_LIMIT)
        if self.cpu_budget_spent:
            return self.reason(CPU_BUDGET)
        return ""


@dataclass
class QuotaBook:
    """The buckets each user of a claim is bound by, with what they hold at the start of it."""

    buckets: dict[int, list[Bucket]] = field(default_factory=dict)
    held_jobs: dict[int, int] = field(default_factory=dict)
    # Whether any quota limits CPU or GPUs (else the claim need not read jobs' resources).
    counts_resources: bool = False

    def allowance(self, user_id: int, limit: int) -> int:
        """Most jobs the user could start now by count alone (resources are checked later)."""
        room = limit
        for bucket in self.buckets[user_id]:
            if bucket.max_jobs is not None:
                room = min(room, bucket.max_jobs - bucket.jobs)
        return max(room, 0)

    def refuses_within_allowance(self) -> bool:
        """Whether a job within its user's ``allowance`` may still be refused: by a resource
        quota or budget, or by a group's quota that another member's job used up."""
        return self.counts_resources or any(
            bucket.group for buckets in self.buckets.values() for bucket in buckets
        )

    def blocked(self, user_id: int) -> str:
        for bucket in self.buckets[user_id]:
            reason = bucket.blocks_everything()
            if reason:
                return reason
        return ""

    def refuses(self, user_id: int, asked: Requested) -> str:
        """Why a job of this user asking ``asked`` cannot start now; empty when it can."""
        for bucket in self.buckets[user_id]:
            reason = bucket.refuses(asked)
            if reason:
                return reason
        return ""

    def try_take(self, user_id: int, asked: Requested) -> str:
        """Count the job against every quota of its user, or say why it must wait."""
        reason = self.refuses(user_id, asked)
        if not reason:
            for bucket in self.buckets[user_id]:
                bucket.take(asked)
        return reason


def _held(
    user_ids: set[int] | None, with_resources: bool, backend: str = ""
) -> dict[int, tuple[int, float, int]]:
    """Jobs, CPU cores and GPUs each user holds on a backend (``backend``, or any) now."""
    if not with_resources and user_ids is not None:
        # Every claim asks this: the queue's own statement, a count per user.
        counts = queries.held_jobs(user_ids, backend=backend)
        return {owner: (n, 0.0, 0) for owner, n in counts.items()}
    held = Job.objects.filter(status__in=BACKEND_STATUSES)
    if backend:
        held = held.filter(backend=backend)
    if user_ids is not None:
        held = held.filter(owner_id__in=user_ids)
    totals: dict[int, tuple[int, float, int]] = {}
    if not with_resources:
        for owner, n in held.values_list("owner_id").annotate(n=Count("id")).order_by():
            totals[owner] = (n, 0.0, 0)
        return totals
    rows = held.values_list("owner_id", "experiment__resources").annotate(n=Count("id"))
    for owner, resources, n in rows.order_by():
        asked = requested(resources)
        jobs, cpu, gpu = totals.get(owner, (0, 0.0, 0))
        totals[owner] = (jobs + n, cpu + n * asked.cpu, gpu + n * asked.gpu)
    return totals


def _spent(user_ids: set[int], now: datetime, backend: str = "") -> dict[int, tuple[float, float]]:
    """CPU-seconds and GPU-seconds each user used this month (finished attempts)."""
    records = UsageRecord.objects.filter(month=month_of(now), user_id__in=user_ids)
    if backend:
        records = records.filter(backend=backend)
    rows = (
        records.values_list("user_id")
        .annotate(cpu=Sum("cpu_seconds"), gpu=Sum("gpu_seconds"))
        .order_by()
    )
    return {user: (cpu or 0.0, gpu or 0.0) for user, cpu, gpu in rows}


def _budget_spent(quota: Quota | None, cpu_seconds: float, gpu_seconds: float) -> tuple[bool, bool]:
    if quota is None:
        return False, False
    cpu = quota.cpu_hours_per_month is not None and cpu_seconds >= quota.cpu_hours_per_month * 3600
    gpu = quota.gpu_hours_per_month is not None and gpu_seconds >= quota.gpu_hours_per_month * 3600
    return cpu, gpu


def _needs_resources(quota: Quota) -> bool:
    return quota.max_cpu is not None or quota.max_gpu is not None


def _has_budget(quota: Quota) -> bool:
    return quota.cpu_hours_per_month is not None or quota.gpu_hours_per_month is not None


def _serialize(quotas: list[Quota]) -> None:
    """Lock the quota rows that several users share or that count resources, in id order.

    Two schedulers claiming at once for members of one group would each see the other's
    jobs as not yet held; the second waits here until the first commits, and its next
    statement (Postgres, read committed) sees the first one's claim.
    """
    shared = sorted(
        q.pk
        for q in quotas
        if q.group_id or q.max_running is not None or _needs_resources(q) or _has_budget(q)
    )
    if shared:
        list(Quota.objects.filter(pk__in=shared).order_by("pk").select_for_update().values("pk"))


def _serialize_default_limit(user_ids: list[int], quotas: list[Quota]) -> None:
    """Users bound by PETRI_USER_MAX_RUNNING have no quota row to lock: lock them instead.

    Taken after the quota rows, in id order, so concurrent claims never wait in a cycle.
    """
    if not settings.PETRI_USER_MAX_RUNNING:
        return
    own_limit = {q.user_id for q in quotas if q.user_id and q.max_running is not None}
    rest = sorted(set(user_ids) - own_limit)
    if rest:
        users = get_user_model().objects.filter(pk__in=rest).order_by("pk")
        list(users.select_for_update(no_key=True).values("pk"))


def quota_book(user_ids: list[int], now: datetime | None = None, backend: str = "") -> QuotaBook:
    """Limits and holdings for ``user_ids``: their own and their groups' quotas that apply to
    ``backend`` (those for all backends, and those for it alone)."""
    now = now or timezone.now()
    membership = get_user_model().groups.through.objects
    scopes = ["", backend] if backend else [""]
    quotas = list(
        Quota.objects.filter(
            Q(user_id__in=user_ids)
            | Q(group_id__in=membership.filter(user_id__in=user_ids).values("group_id")),
            backend__in=scopes,
        ).select_related("group")
    )
    _serialize(quotas)
    _serialize_default_limit(user_ids, quotas)
    own: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas:
        if quota.user_id is not None:
            own[quota.user_id].append(quota)
    by_group = [q for q in quotas if q.group_id is not None]
    members: dict[int, set[int]] = defaultdict(set)
    if by_group:
        for user, group in membership.filter(
            group_id__in={q.group_id for q in by_group}
        ).values_list("user_id", "group_id"):
            members[group].add(user)
    everyone = set(user_ids).union(*members.values())
    with_resources = any(_needs_resources(q) for q in quotas)
    # One aggregate per scope a quota looks at: every backend together, and this one.
    held = {"": _held(everyone, with_resources)}
    spent: dict[str, dict[int, tuple[float, float]]] = {}
    for scope in {q.backend for q in quotas} - {""}:
        held[scope] = _held(everyone, with_resources, scope)
    for scope in {q.backend for q in quotas if _has_budget(q)}:
        budgeted: set[int] = set()
        for quota in quotas:
            if quota.backend == scope and _has_budget(quota):
                budgeted |= {quota.user_id} if quota.user_id else members[quota.group_id]
        spent[scope] = _spent(budgeted, now, scope) if budgeted else {}

    book = QuotaBook(
        held_jobs={u: held[""].get(u, (0, 0.0, 0))[0] for u in user_ids},
        counts_resources=any(_needs_resources(q) or _has_budget(q) for q in quotas),
    )
    default_jobs = settings.PETRI_USER_MAX_RUNNING or None
    for user in user_ids:
        mine = own.get(user, [])
        if not any(q.backend == "" for q in mine):
            mine = [None, *mine]  # the default limit, across all backends
        book.buckets[user] = [_user_bucket(q, user, held, spent, default_jobs) for q in mine]
    for quota in by_group:
        scope = quota.backend
        usage = [held[scope].get(m, (0, 0.0, 0)) for m in members[quota.group_id]]
        used = [spent.get(scope, {}).get(m, (0.0, 0.0)) for m in members[quota.group_id]]
        cpu_spent, gpu_spent = _budget_spent(
            quota, sum(c for c, _ in used), sum(g for _, g in used)
        )
        # One object per group, shared by its members' lists: a job taken by one member
        # counts against every other member's room in the same claim.
        bucket = Bucket(
            group=quota.group.name,
            backend=scope,
            max_jobs=quota.max_running,
            max_cpu=quota.max_cpu,
            max_gpu=quota.max_gpu,
            cpu_budget_spent=cpu_spent,
            gpu_budget_spent=gpu_spent,
            jobs=sum(j for j, _, _ in usage),
            cpu=sum(c for _, c, _ in usage),
            gpu=sum(g for _, _, g in usage),
        )
        for user in members[quota.group_id]:
            if user in book.buckets:
                book.buckets[user].append(bucket)
    return book


def _user_bucket(
    quota: Quota | None,
    user: int,
    held: dict[str, dict[int, tuple[int, float, int]]],
    spent: dict[str, dict[int, tuple[float, float]]],
    default_jobs: int | None,
) -> Bucket:
    """A user's own quota (``None``: no quota row, so only the default job limit applies)."""
    scope = quota.backend if quota else ""
    jobs, cpu, gpu = held[scope].get(user, (0, 0.0, 0))
    if quota is not None and quota.max_running is not None:
        max_jobs = quota.max_running
    else:
        # PETRI_USER_MAX_RUNNING bounds all backends together, never one alone.
        max_jobs = default_jobs if scope == "" else None
    cpu_spent, gpu_spent = _budget_spent(quota, *spent.get(scope, {}).get(user, (0.0, 0.0)))
    return Bucket(
        backend=scope,
        max_jobs=max_jobs,
        max_cpu=quota.max_cpu if quota else None,
        max_gpu=quota.max_gpu if quota else None,
        cpu_budget_spent=cpu_spent,
        gpu_budget_spent=gpu_spent,
        jobs=jobs,
        cpu=cpu,
        gpu=gpu,
    )


def check_fits(user: Any, resources: dict[str, Any], backend: str = "") -> None:
    """Refuse (InvalidInput on ``resources``) a job that no quota of ``user`` could ever run."""
    asked = requested(resources)
    quotas = Quota.objects.filter(
        Q(user=user) | Q(group__in=user.groups.all()),
        backend__in=["", backend] if backend else [""],
    ).select_related("group")
    errors: dict[str, list[str]] = {}
    for quota in quotas:
        whose = f"the quota of group {quota.group.name}" if quota.group_id else "your quota"
        if quota.backend:
            whose += f" on {quota.backend}"
        if quota.max_cpu is not None and asked.cpu > quota.max_cpu:
            errors.setdefault("cpu", []).append(
                f"asks for {asked.cpu:g} CPU cores per job; "
                f"{whose} allows {quota.max_cpu:g} at once"
            )
        if asked.gpu and quota.max_gpu is not None and asked.gpu > quota.max_gpu:
            errors.setdefault("gpu", []).append(
                f"asks for {asked.gpu} GPUs per job; {whose} allows {quota.max_gpu} at once"
            )
        if asked.gpu and quota.gpu_hours_per_month == 0:
            errors.setdefault("gpu", []).append(f"{whose} has no GPU-hours")
        if quota.cpu_hours_per_month == 0:
            errors.setdefault("cpu", []).append(f"{whose} has no CPU-hours")
    if errors:
        raise InvalidInput({"resources": errors})
