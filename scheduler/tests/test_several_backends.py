"""One installation, several backends: each experiment's jobs go to the backend it names."""

from __future__ import annotations

import time

import pytest

from jobs import services
from jobs.errors import InvalidInput
from jobs.models import Job, JobStatus, UsageRecord
from jobs.services.usage import monthly_usage
from jobs.tests.factories import finish_job, make_experiment
from scheduler.backends.base import BackendError
from scheduler.backends.noop import NoopBackend
from scheduler.fleet import SchedulerFleet
from scheduler.loop import Scheduler

pytestmark = pytest.mark.django_db


class NamedNoop(NoopBackend):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class DownBackend(NamedNoop):
    """A backend whose every call fails, as one whose control plane is down."""

    def capacity(self):
        raise BackendError("the control plane is not answering")

    def submit(self, spec):
        raise BackendError("the control plane is not answering")


@pytest.fixture
def two_backends(settings):
    settings.PETRI_BACKEND = "local"
    settings.PETRI_BACKENDS = ["local", "slurm"]


def test_an_experiment_may_name_any_offered_backend_and_its_jobs_are_bound_to_it(
    user, catalog, two_backends
):
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"x": [1, 2]}, backend="slurm"
    )
    assert experiment.backend == "slurm"
    assert set(Job.objects.values_list("backend", flat=True)) == {"slurm"}


def test_a_backend_the_installation_does_not_offer_is_refused_naming_the_field(
    user, catalog, two_backends
):
    with pytest.raises(InvalidInput) as refused:
        make_experiment(user, catalog["sleep-and-score"], backend="kubernetes")
    assert "backend" in refused.value.errors
    assert not Job.objects.exists()


def test_an_algorithm_bound_to_a_backend_not_offered_is_refused_naming_the_algorithm(
    user, catalog, settings
):
    algorithm = catalog["sleep-and-score"]
    algorithm.backend = "slurm"
    algorithm.save()
    with pytest.raises(InvalidInput) as refused:
        make_experiment(user, algorithm)
    assert "algorithm" in refused.value.errors


def test_the_api_takes_a_backend_and_answers_400_for_an_unknown_one(api, catalog, two_backends):
    ok = api.post(
        "/api/experiments/",
        {"algorithm": "sleep-and-score", "backend": "slurm"},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["backend"] == "slurm"
    bad = api.post(
        "/api/experiments/", {"algorithm": "sleep-and-score", "backend": "mars"}, format="json"
    )
    assert bad.status_code == 400
    assert "backend" in bad.json()


def test_each_scheduler_claims_only_the_jobs_of_its_backend(user, catalog, two_backends):
    on_slurm = make_experiment(user, catalog["sleep-and-score"], backend="slurm")
    unbound = make_experiment(user, catalog["sleep-and-score"])
    local = Scheduler(NamedNoop("local"), identity="l", takes_default=True)
    slurm = Scheduler(NamedNoop("slurm"), identity="s", takes_default=False)

    slurm.tick()
    local.tick()

    assert set(slurm.backend.submitted) == {
        services.handle_for(pk, 1) for pk in on_slurm.jobs.values_list("pk", flat=True)
    }
    assert set(local.backend.submitted) == {
        services.handle_for(pk, 1) for pk in unbound.jobs.values_list("pk", flat=True)
    }
    assert dict(Job.objects.values_list("experiment_id", "backend")) == {
        on_slurm.pk: "slurm",
        unbound.pk: "local",
    }


@pytest.mark.django_db(transaction=True)
def test_a_stop_asked_after_a_scheduler_saw_it_and_closed_its_waker_raises_nothing(two_backends):
    # The race CI once lost: the stop is seen, the loop ends and closes its waker's pipe, and
    # only then does request_stop wake it, writing to a closed (or since reused) descriptor.
    fleet = SchedulerFleet([Scheduler(NamedNoop("local"), identity="l", takes_default=True)])
    fleet.start()
    fleet.stop_event.set()
    fleet.threads[0].join(30)
    assert not fleet.threads[0].is_alive()

    fleet.request_stop()
    fleet.join()
    fleet.wakers[0].close()  # a second close is no error either


@pytest.mark.django_db(transaction=True)
def test_a_backend_that_is_down_holds_up_none_of_the_others(user, catalog, two_backends):
    stuck = make_experiment(user, catalog["sleep-and-score"], backend="slurm")
    flowing = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [1, 2, 3]})
    fleet = SchedulerFleet(
        [
            Scheduler(DownBackend("slurm"), identity="s", takes_default=False),
            Scheduler(NamedNoop("local"), identity="l", takes_default=True),
        ]
    )
    fleet.start()
    try:
        deadline = time.monotonic() + 30
        while flowing.jobs.filter(status=JobStatus.PENDING).count() < 3:
            assert time.monotonic() < deadline, "the local backend's jobs were never dispatched"
            time.sleep(0.05)
    finally:
        fleet.request_stop()
        fleet.join(timeout=10)
    assert set(stuck.jobs.values_list("status", flat=True)) == {JobStatus.WAITING}


def test_usage_is_recorded_and_summed_per_backend(user, catalog, two_backends):
    for backend in ("slurm", "local", "local"):
        experiment = make_experiment(user, catalog["sleep-and-score"], backend=backend)
        job = experiment.jobs.get()
        Job.objects.filter(pk=job.pk).update(backend=backend)
        job.refresh_from_db()
        finish_job(job)
    assert sorted(UsageRecord.objects.values_list("backend", flat=True)) == [
        "local",
        "local",
        "slurm",
    ]
    rows = {row["backend"]: row["attempts"] for row in monthly_usage(UsageRecord.objects.all())}
    assert rows == {"local": 2, "slurm": 1}
