"""The scheduler on the Kubernetes backend: a sweep's whole life, failures, cancel, crashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import services
from jobs.models import FINAL_STATUSES, FailureReason, Job, JobStatus
from jobs.tests.factories import make_experiment
from scheduler.backends.base import JobSpec
from scheduler.loop import Scheduler
from scheduler.tests.kube.helpers import run_until
from scheduler.tests.kube.kubelet import FakeKubelet


def scheduler_for(backend, **kwargs) -> Scheduler:
    kwargs.setdefault("api_url", "http://petri-web:8000")
    return Scheduler(backend, identity="kube-test", reconcile_interval=0, **kwargs)


def jobs_of(experiment) -> list[Job]:
    return list(Job.objects.filter(experiment=experiment).order_by("id"))


def only_job(experiment) -> Job:
    (job,) = jobs_of(experiment)
    return job


@pytest.fixture
def kubelet(cluster, tmp_path):
    fake = FakeKubelet(
        cluster, settings.PETRI_RUNNER_DIR, settings.PETRI_ALGORITHMS_DIR, tmp_path / "pods"
    ).start()
    yield fake
    fake.stop()


@pytest.mark.django_db(transaction=True)
def test_a_sweep_lives_its_whole_life_on_kubernetes(
    user, catalog, cluster, backend, kubelet, live_server
):
    experiment = make_experiment(
        user, catalog["sleep-and-score"], parameters={"x": [0, 1], "y": [-2, 0], "duration": 0}
    )
    scheduler = scheduler_for(backend, api_url=live_server.url)

    run_until(
        scheduler,
        lambda: all(job.status in FINAL_STATUSES for job in jobs_of(experiment)),
        timeout=120,
        what="every job of the sweep to finish",
    )

    jobs = jobs_of(experiment)
    assert [job.status for job in jobs] == [JobStatus.SUCCEEDED] * 4
    for job in jobs:
        x, y = job.parameters["x"], job.parameters["y"]
        assert job.result.metrics["score"] == -((x - 1) ** 2) - (y + 2) ** 2
        k8s_job = cluster.job(job.handle)
        assert k8s_job["metadata"]["labels"]["petri.dev/experiment"] == str(experiment.pk)
        assert cluster.token(job.handle) == services.runner_token(job.pk, job.attempt)
    assert cluster.count("POST", "jobs") == 4
    assert cluster.invalid == []


@pytest.mark.django_db
def test_api_calls_per_dispatched_job_are_two_and_reconcile_is_constant(
    user, catalog, cluster, backend
):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [0, 1, 2]})
    make_experiment(user, catalog["sleep-and-score"], repeats=27)
    scheduler = scheduler_for(backend)

    scheduler.tick()

    dispatched = Job.objects.filter(status=JobStatus.PENDING).count()
    assert dispatched == 30
    calls = cluster.calls()
    assert calls[("POST", "jobs")] + calls[("POST", "secrets")] == 2 * dispatched
    # Reconciling 30 pending attempts: one LIST of Jobs and one of their pods, no GET per job;
    # publishing the nodes adds one LIST of nodes and one of the pods on them.
    assert calls[("GET", "jobs")] == 1 and calls[("GET", "pods")] == 2
    assert calls[("GET", "nodes")] == 1
    assert sum(calls.values()) == 2 * dispatched + 4

    for job in Job.objects.filter(status=JobStatus.PENDING):
        cluster.run(job.handle)
    cluster.requests.clear()
    scheduler.tick()
    # All running: the attempts' pods are not read, and the nodes published come from the
    # backend's node cache (15 s), so one LIST of Jobs is the whole tick.
    assert cluster.calls() == {("GET", "jobs"): 1}
    assert all(j.status == JobStatus.PENDING for j in jobs_of(experiment))


def oom(cluster, handle):
    cluster.run(handle)
    cluster.fail(handle, 137, "OOMKilled", log="allocating\n")


def image_missing(cluster, handle):
    cluster.schedule(handle)
    cluster.waiting(handle, "ImagePullBackOff", "manifest unknown")


def past_deadline(cluster, handle):
    cluster.run(handle)
    cluster.pass_deadline(handle)


def algorithm_fails(cluster, handle):
    cluster.run(handle)
    cluster.fail(handle, 1, log="Traceback\n")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("drive", "reason"),
    [
        (oom, FailureReason.OOM_KILLED),
        (image_missing, FailureReason.IMAGE_NOT_FOUND),
        (past_deadline, FailureReason.DEADLINE_EXCEEDED),
        (algorithm_fails, FailureReason.ALGORITHM_ERROR),
    ],
    ids=["oom", "image", "deadline", "algorithm"],
)
def test_final_failures_fail_the_job_with_their_reason(
    user, catalog, cluster, backend, drive, reason
):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    scheduler = scheduler_for(backend)
    scheduler.tick()
    job = only_job(experiment)
    drive(cluster, job.handle)

    scheduler.tick()

    job = only_job(experiment)
    assert (job.status, job.failure_reason, job.attempt) == (JobStatus.FAILED, reason, 1)
    if reason in (FailureReason.OOM_KILLED, FailureReason.ALGORITHM_ERROR):
        assert "its last lines" in job.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("drive", "reason"),
    [
        (lambda c, h: c.evict(h), "evicted"),
        (lambda c, h: c.vanish(h), FailureReason.LOST),
        (lambda c, h: c.fail(h, 143), FailureReason.LOST),
    ],
    ids=["evicted", "vanished", "terminated"],
)
def test_failures_that_are_not_the_jobs_fault_are_retried_as_a_new_attempt(
    user, catalog, cluster, backend, drive, reason
):
    experiment = make_experiment(user, catalog["sleep-and-score"], max_attempts=2)
    scheduler = scheduler_for(backend)
    scheduler.tick()
    first = only_job(experiment)
    cluster.run(first.handle)
    drive(cluster, first.handle)

    scheduler.tick()

    job = only_job(experiment)
    assert (job.status, job.failure_reason, job.attempt) == (JobStatus.WAITING, reason, 2)
    Job.objects.filter(pk=job.pk).update(not_before=timezone.now())
    run_until(scheduler, lambda: only_job(experiment).status == JobStatus.PENDING)
    assert cluster.job(services.handle_for(job.pk, 2)) is not None


@pytest.mark.django_db
def test_an_unschedulable_job_is_retried_after_the_grace_period(
    user, catalog, cluster, make_backend, clock
):
    backend = make_backend(unschedulable_grace=120)
    experiment = make_experiment(user, catalog["sleep-and-score"], max_attempts=2)
    scheduler = scheduler_for(backend)
    scheduler.tick()
    handle = only_job(experiment).handle
    cluster.unschedulable(handle)
    scheduler.tick()
    assert only_job(experiment).status == JobStatus.PENDING

    clock.advance(121)
    scheduler.tick()

    job = only_job(experiment)
    assert (job.status, job.failure_reason) == (JobStatus.WAITING, FailureReason.UNSCHEDULABLE)
    assert cluster.job(handle) is None


@pytest.mark.django_db
def test_cancelling_a_running_job_deletes_its_kubernetes_job(user, catalog, cluster, backend):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    scheduler = scheduler_for(backend)
    scheduler.tick()
    job = only_job(experiment)
    cluster.run(job.handle)

    services.cancel_job(job)
    scheduler.tick()

    assert only_job(experiment).status == JobStatus.CANCELLED
    assert cluster.deletions == [(job.handle, "Background")]
    assert cluster.job(job.handle) is None and cluster.pods_of(job.handle) == []


@pytest.mark.django_db
def test_a_scheduler_that_crashed_mid_dispatch_is_taken_over_without_a_second_job(
    user, catalog, cluster, backend, make_backend
):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [0, 1]})
    # The first scheduler claims and creates the Jobs, then dies before recording it.
    claimed = services.claim_waiting_jobs(scheduler="dead", backend="kubernetes", limit=10)
    for item in claimed:
        backend.submit(
            JobSpec(
                job_id=item.job_id,
                attempt=item.attempt,
                handle=item.handle,
                token=item.token,
                api_url="http://petri-web:8000",
                algorithm="sleep-and-score",
                installation=services.installation_id(),
            )
        )
    uids = {item.handle: cluster.job(item.handle)["metadata"]["uid"] for item in claimed}

    later = timezone.now() + timedelta(seconds=settings.PETRI_DISPATCH_TIMEOUT + 1)
    successor = scheduler_for(make_backend(), clock=lambda: later)
    successor.tick()

    assert [j.status for j in jobs_of(experiment)] == [JobStatus.PENDING] * 2
    for handle, uid in uids.items():
        assert cluster.job(handle)["metadata"]["uid"] == uid
        assert len(cluster.pods_of(handle)) == 1
    assert cluster.count("POST", "jobs") == 4  # two created, two answered 409 and adopted
