"""A job's transitions lock that job's row alone, so runners of one experiment never wait."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from jobs import services
from jobs.models import Experiment, Job, JobStatus
from jobs.tests.factories import make_experiment


def start(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempt=1)


@pytest.mark.requires("postgres")
@pytest.mark.django_db(transaction=True)
def test_recording_a_jobs_events_leaves_its_experiment_and_sibling_jobs_unlocked(user):
    experiment = make_experiment(user, parameters={"n": [1, 2]})
    first, second = Job.objects.filter(experiment=experiment).order_by("id")
    start(first)
    start(second)
    inside, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold_a_transition_open():
        try:
            with transaction.atomic():
                services.record_events(first.pk, 1, [{"type": "progress", "value": 0.5}])
                inside.set()
                release.wait(10)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            inside.set()
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_a_transition_open)
    holder.start()
    assert inside.wait(10) and not failures
    try:
        with transaction.atomic():
            # NOWAIT: a lock held by the other transaction raises at once instead of waiting.
            Experiment.objects.select_for_update(nowait=True).get(pk=experiment.pk)
        services.record_events(second.pk, 1, [{"type": "progress", "value": 0.25}])
        with pytest.raises(DatabaseError), transaction.atomic():
            Job.objects.select_for_update(nowait=True).get(pk=first.pk)
    finally:
        release.set()
        holder.join()
    assert not failures
    assert Job.objects.get(pk=second.pk).progress == 0.25
    assert connection.vendor == "postgresql"
