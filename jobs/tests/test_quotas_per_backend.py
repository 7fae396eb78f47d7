"""Quotas that name a backend bound only the jobs there; those that name none bound them all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from jobs import services
from jobs.errors import InvalidInput
from jobs.models import Job, JobStatus, Quota, UsageRecord
from jobs.services.usage import month_of
from jobs.tests.factories import AlgorithmFactory, make_experiment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_backends(settings):
    settings.PETRI_BACKEND = "local"
    settings.PETRI_BACKENDS = ["local", "slurm"]


def claim(backend: str) -> list:
    return services.claim_waiting_jobs(
        scheduler=backend, backend=backend, limit=100, takes_default=backend == "local"
    )


def queue(user, backend: str, jobs: int = 3):
    return make_experiment(
        user, AlgorithmFactory(), parameters={"n": list(range(jobs))}, backend=backend
    )


def test_a_quota_on_one_backend_bounds_only_the_jobs_there(user):
    Quota.objects.create(user=user, backend="slurm", max_running=1)
    on_slurm, on_local = queue(user, "slurm"), queue(user, "local")
    assert len(claim("slurm")) == 1
    assert len(claim("local")) == 3
    assert claim("slurm") == []  # the blocked user's next jobs now say why they wait
    waiting = Job.objects.filter(experiment=on_slurm, status=JobStatus.WAITING)
    assert set(waiting.values_list("wait_reason", flat=True)) == {"waiting: job limit on slurm"}
    assert not Job.objects.filter(experiment=on_local, status=JobStatus.WAITING).exists()


def test_a_quota_for_all_backends_counts_the_jobs_held_on_every_one(user):
    Quota.objects.create(user=user, max_running=2)
    queue(user, "slurm", jobs=1)
    queue(user, "local", jobs=3)
    assert len(claim("slurm")) == 1
    assert len(claim("local")) == 1  # one of the two is already held on slurm


def test_both_apply_together(user):
    Quota.objects.create(user=user, max_running=3)
    Quota.objects.create(user=user, backend="slurm", max_running=1)
    queue(user, "slurm", jobs=3)
    queue(user, "local", jobs=3)
    assert len(claim("slurm")) == 1
    assert len(claim("local")) == 2


def test_a_group_quota_on_a_backend_bounds_its_members_there_together(user, other_user):
    lab = Group.objects.create(name="lab")
    lab.user_set.add(user, other_user)
    Quota.objects.create(group=lab, backend="slurm", max_running=2)
    queue(user, "slurm")
    queue(other_user, "slurm")
    assert len(claim("slurm")) == 2
    assert Job.objects.filter(backend="slurm", status=JobStatus.WAITING).count() == 4


def test_a_spent_budget_on_one_backend_stops_only_that_backend(user):
    Quota.objects.create(user=user, backend="slurm", cpu_hours_per_month=1)
    now = timezone.now()
    UsageRecord.objects.create(
        user=user,
        backend="slurm",
        attempt=1,
        month=month_of(now),
        started_at=now,
        finished_at=now,
        seconds=7200,
        cpu=1,
        gpu=0,
        memory_gb=1,
        cpu_seconds=7200,
        gpu_seconds=0,
        memory_gb_seconds=7200,
    )
    queue(user, "slurm")
    queue(user, "local")
    assert claim("slurm") == []
    assert len(claim("local")) == 3


def test_a_job_no_quota_of_its_backend_could_run_is_refused_at_submit(user):
    Quota.objects.create(user=user, backend="slurm", max_cpu=2)
    with pytest.raises(InvalidInput) as refused:
        make_experiment(user, AlgorithmFactory(), resources={"cpu": 4}, backend="slurm")
    assert "on slurm" in str(refused.value.errors["resources"])
    make_experiment(user, AlgorithmFactory(), resources={"cpu": 4}, backend="local")


def test_one_user_may_have_one_quota_per_backend_and_one_for_all(user):
    from django.db import IntegrityError, transaction

    Quota.objects.create(user=user, max_running=5)
    Quota.objects.create(user=user, backend="slurm", max_running=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Quota.objects.create(user=user, backend="slurm", max_running=2)
