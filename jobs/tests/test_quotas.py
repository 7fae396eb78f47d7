"""Quotas in the claim: per-user and per-group limits, monthly budgets and wait reasons."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction
from django.utils import timezone

from jobs import services
from jobs.errors import InvalidInput
from jobs.models import Job, JobStatus, Quota, UsageRecord
from jobs.services.usage import month_of
from jobs.tests.factories import AlgorithmFactory, UserFactory, make_experiment

pytestmark = pytest.mark.django_db


def claim(limit: int = 100):
    return services.claim_waiting_jobs(scheduler="s", backend="noop", limit=limit)


def reasons(experiment) -> list[str]:
    jobs = Job.objects.filter(experiment=experiment, status=JobStatus.WAITING).order_by("id")
    return list(jobs.values_list("wait_reason", flat=True))


def spend(user, cpu_hours: float = 0, gpu_hours: float = 0, month=None):
    now = timezone.now()
    UsageRecord.objects.create(
        user=user,
        attempt=1,
        month=month or month_of(now),
        started_at=now,
        finished_at=now,
        seconds=3600,
        cpu=cpu_hours,
        gpu=0,
        memory_gb=1,
        cpu_seconds=cpu_hours * 3600,
        gpu_seconds=gpu_hours * 3600,
        memory_gb_seconds=3600,
    )


@pytest.fixture
def algorithm():
    return AlgorithmFactory()


def test_a_gpu_quota_keeps_gpu_jobs_waiting_with_the_reason_while_cpu_jobs_run(algorithm):
    user = UserFactory(username="gpu-user")
    Quota.objects.create(user=user, max_gpu=2)
    gpu_jobs = make_experiment(user, algorithm, parameters={"n": [1, 2, 3]}, resources={"gpu": 1})
    cpu_jobs = make_experiment(user, algorithm, parameters={"n": [1, 2]})
    claimed = claim()
    assert sorted(c.experiment.pk for c in claimed) == [gpu_jobs.pk] * 2 + [cpu_jobs.pk] * 2
    assert reasons(gpu_jobs) == ["waiting: GPU quota"]
    assert claim() == []


def test_a_cpu_quota_bounds_the_cores_held_at_once(algorithm):
    user = UserFactory(username="cpu-user")
    Quota.objects.create(user=user, max_cpu=5)
    experiment = make_experiment(user, algorithm, parameters={"n": [1, 2, 3]}, resources={"cpu": 2})
    assert len(claim()) == 2
    assert reasons(experiment) == ["waiting: CPU quota"]


def test_a_job_limit_labels_the_jobs_of_a_user_who_may_start_nothing(algorithm):
    user = UserFactory(username="limited")
    Quota.objects.create(user=user, max_running=1)
    experiment = make_experiment(user, algorithm, parameters={"n": [1, 2, 3]})
    assert len(claim()) == 1
    assert reasons(experiment) == ["", ""]  # next in line, no quota in the way yet
    assert claim() == []
    assert reasons(experiment) == ["waiting: job limit"] * 2


def test_the_wait_reason_is_cleared_when_the_job_is_claimed(algorithm):
    user = UserFactory(username="one-at-a-time")
    Quota.objects.create(user=user, max_gpu=1)
    experiment = make_experiment(user, algorithm, parameters={"n": [1, 2]}, resources={"gpu": 1})
    (first,) = claim()
    assert reasons(experiment) == ["waiting: GPU quota"]
    services.finish_attempt(first.job_id, first.attempt, succeeded=True)
    (second,) = claim()
    assert Job.objects.get(pk=second.job_id).wait_reason == ""


def test_a_group_limit_bounds_the_sum_over_its_members_and_stays_fair(algorithm):
    lab = Group.objects.create(name="lab")
    alice, bob = UserFactory(username="g-alice"), UserFactory(username="g-bob")
    lab.user_set.add(alice, bob)
    Quota.objects.create(group=lab, max_running=4)
    make_experiment(alice, algorithm, parameters={"n": list(range(10))})
    bobs = make_experiment(bob, algorithm, parameters={"n": list(range(10))})
    owners = [c.owner_id for c in claim()]
    assert sorted(owners) == sorted([alice.pk, alice.pk, bob.pk, bob.pk])
    assert claim() == []
    assert set(reasons(bobs)) == {"waiting: job limit of group lab"}


def test_a_group_gpu_quota_counts_gpus_members_already_hold(algorithm):
    lab = Group.objects.create(name="vision")
    alice, bob = UserFactory(username="v-alice"), UserFactory(username="v-bob")
    lab.user_set.add(alice, bob)
    Quota.objects.create(group=lab, max_gpu=3)
    make_experiment(alice, algorithm, parameters={"n": [1, 2]}, resources={"gpu": 1})
    assert len(claim()) == 2
    bobs = make_experiment(bob, algorithm, parameters={"n": [1, 2]}, resources={"gpu": 1})
    assert len(claim()) == 1
    assert reasons(bobs) == ["waiting: GPU quota of group vision"]


def test_a_spent_monthly_cpu_budget_stops_every_job_of_the_user(algorithm):
    user = UserFactory(username="spender")
    Quota.objects.create(user=user, cpu_hours_per_month=10)
    spend(user, cpu_hours=10)
    experiment = make_experiment(user, algorithm, parameters={"n": [1, 2]})
    assert claim() == []
    assert reasons(experiment) == ["waiting: monthly CPU-hours budget"] * 2


def test_last_months_usage_does_not_count_against_this_months_budget(algorithm):
    user = UserFactory(username="new-month")
    Quota.objects.create(user=user, cpu_hours_per_month=10)
    last_month = (month_of(timezone.now()) - timedelta(days=1)).replace(day=1)
    spend(user, cpu_hours=50, month=last_month)
    spend(user, cpu_hours=9.5)
    make_experiment(user, algorithm, parameters={"n": [1, 2]})
    assert len(claim()) == 2


def test_a_spent_gpu_budget_holds_back_gpu_jobs_only(algorithm):
    user = UserFactory(username="gpu-spender")
    Quota.objects.create(user=user, gpu_hours_per_month=2)
    spend(user, gpu_hours=2.5)
    gpu = make_experiment(user, algorithm, parameters={"n": [1]}, resources={"gpu": 1})
    cpu = make_experiment(user, algorithm, parameters={"n": [1]})
    assert [c.experiment.pk for c in claim()] == [cpu.pk]
    assert reasons(gpu) == ["waiting: monthly GPU-hours budget"]


def test_a_group_budget_sums_the_usage_of_all_its_members(algorithm):
    lab = Group.objects.create(name="budgeted")
    alice, bob = UserFactory(username="b-alice"), UserFactory(username="b-bob")
    lab.user_set.add(alice, bob)
    Quota.objects.create(group=lab, cpu_hours_per_month=10)
    spend(alice, cpu_hours=6)
    spend(bob, cpu_hours=4)
    experiment = make_experiment(bob, algorithm, parameters={"n": [1]})
    assert claim() == []
    assert reasons(experiment) == ["waiting: monthly CPU-hours budget of group budgeted"]


def test_fair_share_still_alternates_between_users_bound_by_cpu_quotas(algorithm):
    heavy, light = UserFactory(username="q-heavy"), UserFactory(username="q-light")
    for user in (heavy, light):
        Quota.objects.create(user=user, max_cpu=100)
    make_experiment(heavy, algorithm, parameters={"n": list(range(30))})
    make_experiment(light, algorithm, parameters={"n": list(range(3))})
    owners = [c.owner_id for c in claim(limit=6)]
    assert owners.count(light.pk) == 3
    assert owners[:4] == [heavy.pk, light.pk, heavy.pk, light.pk]


def test_submission_refuses_a_job_larger_than_any_quota_allows(algorithm):
    lab = Group.objects.create(name="small")
    user = UserFactory(username="too-big")
    lab.user_set.add(user)
    Quota.objects.create(user=user, max_cpu=8)
    Quota.objects.create(group=lab, max_gpu=1)
    with pytest.raises(InvalidInput) as refused:
        make_experiment(user, algorithm, parameters={"n": 1}, resources={"cpu": 16, "gpu": 2})
    errors = refused.value.errors["resources"]
    assert "your quota allows 8 at once" in errors["cpu"][0]
    assert "group small allows 1 at once" in errors["gpu"][0]
    assert not Job.objects.filter(owner=user).exists()


def test_the_jobs_api_answers_400_naming_resources_and_shows_wait_reasons(user, api, algorithm):
    Quota.objects.create(user=user, max_gpu=1)
    body = {"algorithm": algorithm.name, "parameters": {"n": [1, 2]}, "resources": {"gpu": 2}}
    refused = api.post("/api/experiments/", body, format="json")
    assert refused.status_code == 400
    assert "gpu" in refused.json()["resources"]
    body["resources"] = {"gpu": 1}
    experiment = api.post("/api/experiments/", body, format="json").json()
    claim()
    jobs = api.get(f"/api/jobs/?experiment={experiment['id']}&status=waiting").json()["results"]
    assert [job["wait_reason"] for job in jobs] == ["waiting: GPU quota"]


def claim_while_another_claim_is_open(first_limit: int, second_limit: int) -> list:
    """A first scheduler claims and holds its transaction open; a second claims meanwhile.

    Returns what the second claimed once the first committed.
    """
    claimed, release = threading.Event(), threading.Event()
    second: list = []

    def first_scheduler():
        with transaction.atomic():
            assert len(claim(limit=first_limit)) == first_limit
            claimed.set()
            release.wait(10)
        connections.close_all()

    def second_scheduler():
        second.extend(claim(limit=second_limit))
        connections.close_all()

    first = threading.Thread(target=first_scheduler)
    first.start()
    assert claimed.wait(10)
    other = threading.Thread(target=second_scheduler)
    other.start()
    try:
        waiting_on_lock(deadline=10)
    finally:
        release.set()
        first.join()
        other.join()
    return second


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_claiming_at_once_never_exceed_a_group_quota(algorithm):
    lab = Group.objects.create(name="race")
    alice, bob = UserFactory(username="r-alice"), UserFactory(username="r-bob")
    lab.user_set.add(alice, bob)
    Quota.objects.create(group=lab, max_running=3)
    make_experiment(alice, algorithm, parameters={"n": list(range(5))})
    make_experiment(bob, algorithm, parameters={"n": list(range(5))})
    assert len(claim_while_another_claim_is_open(2, 10)) == 1
    assert Job.objects.filter(status=JobStatus.DISPATCHING).count() == 3


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit_from", ["quota", "settings"])
def test_two_schedulers_claiming_at_once_never_exceed_a_users_job_limit(
    algorithm, settings, limit_from
):
    racer = UserFactory(username="r-solo")
    if limit_from == "quota":
        Quota.objects.create(user=racer, max_running=3)
    else:
        settings.PETRI_USER_MAX_RUNNING = 3
    make_experiment(racer, algorithm, parameters={"n": list(range(10))})
    assert len(claim_while_another_claim_is_open(2, 10)) == 1
    assert Job.objects.filter(status=JobStatus.DISPATCHING).count() == 3


def waiting_on_lock(deadline: float) -> None:
    """Block until some session of this database waits on a lock (the second claim)."""
    end = time.monotonic() + deadline
    with connection.cursor() as cursor:
        while time.monotonic() < end:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.02)
    raise AssertionError("the second claim never waited for the first")


def test_cancelling_a_waiting_job_drops_its_wait_reason(algorithm):
    user = UserFactory(username="gives-up")
    Quota.objects.create(user=user, max_running=0)
    experiment = make_experiment(user, algorithm, parameters={"n": [1, 2]})
    claim()
    services.cancel_job(Job.objects.filter(experiment=experiment).first())
    services.cancel_experiment(experiment)
    assert set(Job.objects.values_list("status", "wait_reason")) == {(JobStatus.CANCELLED, "")}
