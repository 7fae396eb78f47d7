"""Pods that never start, pulls that fail for a while, Jobs a queue holds, and what reconcile
costs: each decided from the Job and its pods on the fake API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.backends.kubernetes.manifests import JobOptions, job_manifest
from scheduler.tests.kube.helpers import RUNNER_IMAGE, make_spec

HANDLE = "petri-7-1"


@pytest.fixture
def submitted(backend):
    backend.submit(make_spec())
    return HANDLE


def state_of(backend, handle=HANDLE):
    return backend.reconcile([handle])[handle]


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("CreateContainerConfigError", 'secret "petri-7-1" not found'),
        ("CreateContainerError", "failed to create containerd container: no space left"),
        ("ContainerCreating", ""),
    ],
)
def test_a_pod_that_never_starts_fails_after_the_start_grace_and_is_removed(
    cluster, make_backend, clock, reason, message
):
    backend = make_backend(start_grace=120)
    backend.submit(make_spec())
    cluster.schedule(HANDLE)
    cluster.waiting(HANDLE, reason, message)
    assert state_of(backend).phase == "pending"
    clock.advance(119)
    assert state_of(backend).phase == "pending"

    clock.advance(2)

    state = state_of(backend)
    assert (state.phase, state.reason) == ("exited", "start_failed")
    assert reason in state.message and message in state.message
    assert cluster.job(HANDLE) is None  # it no longer holds the node


def test_the_start_grace_counts_from_when_the_pod_was_scheduled(cluster, make_backend, clock):
    backend = make_backend(start_grace=300)
    backend.submit(make_spec())
    since = (clock.now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.schedule(HANDLE, since=since)
    cluster.waiting(HANDLE, "CreateContainerConfigError", "secret not found")
    # A scheduler restarted after ten stuck minutes does not wait five more.
    assert state_of(backend).reason == "start_failed"


@pytest.mark.parametrize(
    "message",
    [
        "failed to pull: unexpected status code 429 Too Many Requests",
        "failed to pull: 503 Service Unavailable",
        "dial tcp 127.0.0.1:443: connect: connection refused",
        "i/o timeout",
    ],
)
def test_a_transient_pull_error_is_waited_out_then_retried_not_image_not_found(
    cluster, make_backend, clock, message
):
    backend = make_backend(start_grace=120)
    backend.submit(make_spec())
    cluster.schedule(HANDLE)
    cluster.waiting(HANDLE, "ErrImagePull", message)
    assert state_of(backend).phase == "pending"
    cluster.waiting(HANDLE, "ImagePullBackOff", f"Back-off pulling image: {message}")
    assert state_of(backend).phase == "pending"

    clock.advance(121)

    state = state_of(backend)
    assert state.reason == "start_failed"  # retried as a new attempt; not the image's fault


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("ErrImagePull", 'failed to resolve reference "x:1": x:1: not found'),
        ("ErrImagePull", "pull access denied, repository does not exist"),
        ("ErrImageNeverPull", "image is not present with pull policy of Never"),
    ],
)
def test_a_missing_image_is_final_at_once(cluster, backend, submitted, reason, message):
    cluster.schedule(submitted)
    cluster.waiting(submitted, reason, message)
    state = state_of(backend)
    assert (state.phase, state.reason) == ("exited", "image_not_found")


def test_a_suspended_job_is_queued_however_long_it_waits(cluster, make_backend, clock):
    backend = make_backend(unschedulable_grace=60)
    backend.submit(make_spec())
    cluster.suspend(HANDLE)

    clock.advance(3600)
    state = state_of(backend)

    assert (state.phase, state.message) == ("pending", "queued")
    assert cluster.job(HANDLE) is not None
    assert cluster.deletions == []


def test_reconcile_cost_does_not_grow_with_finished_history(cluster, make_backend):
    backend = make_backend(page_size=50)
    for job_id in range(1, 301):  # an hour of finished Jobs kept for their TTL
        handle = f"petri-{job_id}-1"
        cluster.create(
            "jobs", "petri", job_manifest(make_spec(job_id=job_id), JobOptions(RUNNER_IMAGE))
        )
        cluster.run(handle)
        cluster.succeed(handle)
    active = []
    for job_id in range(1001, 1004):
        backend.submit(make_spec(job_id=job_id))
        active.append(f"petri-{job_id}-1")
        cluster.run(active[-1])
    listed = []
    real_list = backend._list

    def counting_list(*args, **kwargs):
        items = real_list(*args, **kwargs)
        listed.extend(items)
        return items

    backend._list = counting_list
    cluster.requests.clear()

    states = backend.reconcile(active)

    assert {s.phase for s in states.values()} == {"running"}
    assert cluster.calls() == {("GET", "jobs"): 1}
    assert len(listed) == 3, "reconcile read finished Jobs it did not ask about"


def test_an_expired_continue_token_lists_again_instead_of_failing(cluster, make_backend):
    backend = make_backend(page_size=2, installation="inst01")
    for job_id in range(1, 6):
        backend.submit(make_spec(job_id=job_id, installation="inst01"))
    cluster.answer_next("GET", "jobs", 0)  # the first page is served
    cluster.answer_next("GET", "jobs", 410, "The provided continue parameter is too old")

    handles = backend.unfinished_handles()

    assert sorted(handles) == sorted(f"petri-{i}-1" for i in range(1, 6))
    assert cluster.count("GET", "jobs") == 1 + 1 + 3  # page, 410, then three fresh pages
