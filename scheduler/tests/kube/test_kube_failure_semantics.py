"""What the scheduler does when the Kubernetes API is in trouble, refuses, or loses answers."""

from __future__ import annotations

import pytest

from jobs import services
from jobs.models import FailureReason, Job, JobStatus
from jobs.tests.factories import make_experiment
from scheduler.backends.kubernetes.manifests import JobOptions, job_manifest
from scheduler.loop import Scheduler
from scheduler.tests.kube.helpers import RUNNER_IMAGE, make_spec


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scheduler_for(backend, **kwargs) -> Scheduler:
    kwargs.setdefault("monotonic", Monotonic())
    return Scheduler(
        backend,
        identity="kube-test",
        api_url="http://petri-web:8000",
        reconcile_interval=0,
        **kwargs,
    )


def jobs_of(experiment) -> list[Job]:
    return list(Job.objects.filter(experiment=experiment).order_by("id"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "headers"),
    [(500, {}), (503, {}), (429, {"Retry-After": "7"}), (504, {})],
    ids=["500", "503", "429", "504"],
)
def test_a_transient_api_error_hands_the_jobs_back_unspent_and_pauses_dispatch(
    user, catalog, cluster, backend, code, headers
):
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [0, 1, 2]})
    clock = Monotonic()
    scheduler = scheduler_for(backend, monotonic=clock)
    cluster.answer_next("POST", "jobs", code, "etcd is not answering", headers)

    scheduler.tick()

    jobs = jobs_of(experiment)
    assert [(j.status, j.attempt, j.handle) for j in jobs] == [(JobStatus.WAITING, 1, "")] * 3
    assert not any(j.failure_reason for j in jobs)
    assert "the backend is unavailable" in jobs[0].wait_reason
    assert cluster.count("POST", "jobs") == 1  # the rest of the batch was not tried
    pause = scheduler.paused_until - clock.now
    assert pause >= (7 if headers else 1)

    Job.objects.update(not_before=jobs[0].created_at)  # due again; only the pause holds them
    clock.now += pause - 0.5
    scheduler.tick()
    assert cluster.count("POST", "jobs") == 1, "dispatch went on during the pause"

    clock.now += 1
    scheduler.tick()
    jobs = jobs_of(experiment)
    assert [(j.status, j.attempt) for j in jobs] == [(JobStatus.PENDING, 1)] * 3


@pytest.mark.django_db
def test_an_unreachable_api_uses_no_attempt(user, catalog, make_backend):
    from kubernetes import client as k8s

    from scheduler.backends.kubernetes import KubernetesBackend, LimitedApiClient
    from scheduler.backends.kubernetes.client import TokenBucket

    configuration = k8s.Configuration(host="http://127.0.0.1:9")
    configuration.retries = 0
    backend = KubernetesBackend(
        LimitedApiClient(configuration, TokenBucket(100, 100)),
        namespace="petri",
        options=JobOptions(runner_image=RUNNER_IMAGE),
    )
    experiment = make_experiment(user, catalog["sleep-and-score"])
    scheduler_for(backend).tick()
    (job,) = jobs_of(experiment)
    assert (job.status, job.attempt, job.failure_reason) == (JobStatus.WAITING, 1, "")
    backend.shutdown()


@pytest.mark.django_db
@pytest.mark.parametrize("code", [403, 422])
def test_a_refusal_fails_the_job_for_good_with_the_servers_message(
    user, catalog, cluster, backend, code
):
    experiment = make_experiment(user, catalog["sleep-and-score"], max_attempts=3)
    message = 'jobs.batch "x" is forbidden: violates PodSecurity "restricted:latest"'
    cluster.answer_next("POST", "jobs", code, message)

    scheduler_for(backend).tick()

    (job,) = jobs_of(experiment)
    assert (job.status, job.attempt) == (JobStatus.FAILED, 1)
    assert job.failure_reason == FailureReason.BACKEND_REFUSED
    assert message in job.error


@pytest.mark.django_db
def test_a_full_resource_quota_is_waited_out_not_a_refusal(user, catalog, cluster, backend):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    cluster.answer_next("POST", "jobs", 403, 'jobs.batch "x" is forbidden: exceeded quota: runners')

    scheduler_for(backend).tick()

    (job,) = jobs_of(experiment)
    assert (job.status, job.attempt, job.failure_reason) == (JobStatus.WAITING, 1, "")


@pytest.mark.django_db
def test_a_lost_create_answer_ends_with_one_job_adopted_under_the_same_attempt(
    user, catalog, cluster, backend
):
    experiment = make_experiment(user, catalog["sleep-and-score"])
    cluster.lose_next["jobs"] = 1
    clock = Monotonic()
    scheduler = scheduler_for(backend, monotonic=clock)

    scheduler.tick()  # the Job is created, but the answer never comes
    (job,) = jobs_of(experiment)
    assert (job.status, job.attempt) == (JobStatus.WAITING, 1)
    Job.objects.update(not_before=job.created_at)
    clock.now += 120
    scheduler.tick()

    (job,) = jobs_of(experiment)
    assert (job.status, job.attempt) == (JobStatus.PENDING, 1)
    assert len(cluster.objects["jobs"]) == 1, "a second Job was made"
    assert cluster.count("POST", "jobs") == 2  # the second answered 409 and was adopted
    secret = cluster.secret(job.handle)
    assert (
        secret["metadata"]["ownerReferences"][0]["uid"]
        == cluster.job(job.handle)["metadata"]["uid"]
    )


def test_adoption_refuses_a_job_of_another_installation(cluster, backend):
    from scheduler.backends.base import BackendRefused

    theirs = make_spec(installation="other1")
    cluster.create("jobs", "petri", job_manifest(theirs, JobOptions(RUNNER_IMAGE)))
    with pytest.raises(BackendRefused, match="did not create"):
        backend.submit(make_spec(installation="mine01"))
    assert cluster.secret(theirs.handle) is None


@pytest.mark.django_db
def test_the_orphan_sweep_stops_unfinished_jobs_the_database_does_not_run(
    user, catalog, cluster, make_backend
):
    installation = services.installation_id()
    backend = make_backend(installation=installation)
    experiment = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [0, 1]})
    scheduler = scheduler_for(backend, orphan_sweep_interval=0)
    scheduler.tick()
    live, cancelled = jobs_of(experiment)
    # A Job left behind: the database cancelled the job while the delete failed.
    Job.objects.filter(pk=cancelled.pk).update(status=JobStatus.CANCELLED)
    # One that finished (the TTL takes it), one of a job the database never had,
    # and one of another installation: only the unknown and the cancelled ones are orphans.
    done = make_spec(job_id=9001, handle=f"petri-{installation}-9001-1", installation=installation)
    ghost = make_spec(job_id=9002, handle=f"petri-{installation}-9002-1", installation=installation)
    other = make_spec(job_id=9003, handle="petri-zzzzzz-9003-1", installation="zzzzzz")
    for spec in (done, ghost, other):
        cluster.create("jobs", "petri", job_manifest(spec, JobOptions(RUNNER_IMAGE)))
    cluster.run(done.handle)
    cluster.succeed(done.handle)

    scheduler.tick()

    assert cluster.job(cancelled.handle) is None and cluster.job(ghost.handle) is None
    assert cluster.job(live.handle) is not None
    assert cluster.job(done.handle) is not None and cluster.job(other.handle) is not None


@pytest.mark.django_db
def test_one_failing_delete_does_not_stop_dispatch(user, catalog, cluster, backend):
    first = make_experiment(user, catalog["sleep-and-score"])
    scheduler = scheduler_for(backend)
    scheduler.tick()
    (job,) = jobs_of(first)
    services.cancel_job(job)
    later = make_experiment(user, catalog["sleep-and-score"], parameters={"x": [0, 1]})
    cluster.answer_next("DELETE", "jobs", 500, "the apiserver is unwell")

    scheduler.tick()

    assert [j.status for j in jobs_of(later)] == [JobStatus.PENDING] * 2
    assert jobs_of(first)[0].status == JobStatus.CANCELLING  # tried again next tick
    scheduler.tick()
    assert jobs_of(first)[0].status == JobStatus.CANCELLED
    assert cluster.job(job.handle) is None


class SlowBackend:
    """Each submit takes ``seconds`` of the scheduler's monotonic clock."""

    def __init__(self, backend, clock: Monotonic, seconds: float, seen: list) -> None:
        self.backend, self.clock, self.seconds, self.seen = backend, clock, seconds, seen

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def submit(self, spec) -> None:
        # What another replica would see of the jobs dispatched so far.
        self.seen.append(Job.objects.filter(status=JobStatus.PENDING).count())
        self.clock.now += self.seconds
        self.backend.submit(spec)


@pytest.mark.django_db
def test_a_slow_batch_is_marked_as_it_goes_and_never_outlives_its_claim(
    user, catalog, cluster, backend, settings
):
    settings.PETRI_DISPATCH_TIMEOUT = 20
    experiment = make_experiment(user, catalog["sleep-and-score"], repeats=30)
    clock, seen = Monotonic(), []
    scheduler = scheduler_for(SlowBackend(backend, clock, 1.0, seen), monotonic=clock)

    scheduler.tick()

    jobs = jobs_of(experiment)
    pending = [j for j in jobs if j.status == JobStatus.PENDING]
    # Half the dispatch timeout is the budget: the rest goes back to the queue, unspent.
    assert 9 <= len(pending) <= 11
    assert {j.status for j in jobs} == {JobStatus.PENDING, JobStatus.WAITING}
    assert {j.attempt for j in jobs} == {1}
    assert not Job.objects.filter(status=JobStatus.DISPATCHING).exists()
    # Jobs were recorded as dispatched while the batch was still going.
    assert seen[5] >= 4
