from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from jobs import services
from jobs.models import Job, JobStatus
from jobs.tests.factories import AlgorithmFactory, make_experiment


def claim(limit=10, **kwargs):
    return services.claim_waiting_jobs(scheduler="s1", backend="noop", limit=limit, **kwargs)


@pytest.mark.django_db
def test_claim_takes_highest_priority_first_then_oldest(user):
    algorithm = AlgorithmFactory()
    low = make_experiment(user, algorithm, parameters={"n": [1, 2]}, priority=0)
    high = make_experiment(user, algorithm, parameters={"n": [1, 2]}, priority=10)
    order = [c.experiment.pk for c in claim(limit=3)]
    assert order == [high.pk, high.pk, low.pk]
    first_low = Job.objects.filter(experiment=low).order_by("id").first()
    assert Job.objects.get(pk=first_low.pk).status == JobStatus.DISPATCHING


@pytest.mark.django_db
def test_claim_marks_rows_with_the_scheduler_handle_and_a_token_hash(user):
    make_experiment(user, parameters={"n": 1})
    (item,) = claim()
    job = Job.objects.get(pk=item.job_id)
    assert (job.status, job.scheduler, job.backend) == (JobStatus.DISPATCHING, "s1", "noop")
    assert job.handle == f"petri-{services.installation_id()}-{job.pk}-1"
    assert job.runner_token_hash and item.token not in job.runner_token_hash
    assert claim() == []


@pytest.mark.django_db
def test_claim_leaves_jobs_whose_not_before_is_in_the_future(user):
    make_experiment(user, parameters={"n": 1})
    Job.objects.update(not_before=timezone.now() + timedelta(minutes=5))
    assert claim() == []
    assert len(claim(now=timezone.now() + timedelta(minutes=6))) == 1


@pytest.mark.django_db
def test_a_job_stuck_in_dispatching_is_reclaimed_with_the_same_handle_and_token(user):
    make_experiment(user, parameters={"n": 1})
    (first,) = claim()
    later = timezone.now() + timedelta(minutes=5)
    (again,) = services.reclaim_stale_dispatching(
        scheduler="s2", backend="noop", limit=5, now=later
    )
    assert (again.job_id, again.handle, again.token) == (
        first.job_id,
        first.handle,
        first.token,
    )
    assert Job.objects.get(pk=first.job_id).scheduler == "s2"


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
def test_claim_skips_rows_locked_by_another_scheduler(user):
    make_experiment(user, parameters={"n": [1, 2, 3, 4]})
    locked = threading.Event()
    release = threading.Event()

    def hold_first_two():
        with transaction.atomic():
            ids = list(
                Job.objects.order_by("id").select_for_update().values_list("id", flat=True)[:2]
            )
            assert len(ids) == 2
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_first_two)
    holder.start()
    assert locked.wait(10)
    try:
        taken = {c.job_id for c in claim(limit=10)}
    finally:
        release.set()
        holder.join()
    first_two = set(Job.objects.order_by("id").values_list("id", flat=True)[:2])
    assert len(taken) == 2 and not taken & first_two
    assert connection.vendor == "postgresql"
