"""Reconciling attempts from Job and Pod status: each state, each failure class, few calls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.tests.kube.helpers import make_spec

HANDLE = "petri-7-1"


@pytest.fixture
def submitted(backend):
    backend.submit(make_spec())
    return HANDLE


def state_of(backend, handle=HANDLE):
    return backend.reconcile([handle])[handle]


def test_a_job_whose_pod_waits_to_start_is_pending(cluster, backend, submitted):
    assert state_of(backend).phase == "pending"
    cluster.schedule(submitted)
    cluster.waiting(submitted, "ContainerCreating")
    assert state_of(backend).phase == "pending"


def test_a_missing_secret_for_a_moment_is_not_a_failure(cluster, backend, submitted):
    cluster.waiting(submitted, "CreateContainerConfigError", 'secret "petri-7-1" not found')
    assert state_of(backend).phase == "pending"


def test_a_running_pod_is_running(cluster, backend, submitted):
    cluster.run(submitted)
    assert state_of(backend).phase == "running"


def test_a_succeeded_job_is_reported_exited_with_status_0(cluster, backend, submitted):
    cluster.run(submitted)
    cluster.succeed(submitted)
    state = state_of(backend)
    # Final already when the runner posted its result; "lost" only counts when it never did.
    assert (state.phase, state.exit_code, state.reason) == ("exited", 0, "lost")


def test_a_vanished_job_is_gone_and_lost(cluster, backend, submitted):
    cluster.vanish(submitted)
    state = state_of(backend)
    assert (state.phase, state.reason) == ("gone", "lost")


def test_an_algorithm_failure_carries_its_exit_code_and_log_tail(cluster, backend, submitted):
    cluster.run(submitted)
    log = "".join(f"line {i}\n" for i in range(100)) + "Traceback: boom\n"
    cluster.fail(submitted, exit_code=2, log=log)
    state = state_of(backend)
    assert (state.phase, state.reason, state.exit_code) == ("exited", "algorithm_error", 2)
    assert state.message.endswith("Traceback: boom")
    assert "line 99" in state.message and "line 10\n" not in state.message


@pytest.mark.parametrize("code", [3, 4, 143, 137])
def test_a_runner_that_could_not_report_or_was_killed_is_lost(cluster, backend, submitted, code):
    cluster.run(submitted)
    cluster.fail(submitted, exit_code=code)
    state = state_of(backend)
    assert (state.reason, state.exit_code) == ("lost", code)


def test_an_oom_kill_is_classified_with_the_log_tail(cluster, backend, submitted):
    cluster.run(submitted)
    cluster.fail(submitted, exit_code=137, reason="OOMKilled", log="allocating 8 GiB\n")
    state = state_of(backend)
    assert (state.phase, state.reason, state.exit_code) == ("exited", "oom_killed", 137)
    assert "allocating 8 GiB" in state.message


def test_an_evicted_pod_is_evicted(cluster, backend, submitted):
    cluster.run(submitted)
    cluster.evict(submitted)
    state = state_of(backend)
    assert (state.phase, state.reason) == ("exited", "evicted")
    assert "low on resource" in state.message


def test_a_job_past_its_deadline_is_deadline_exceeded(cluster, backend, submitted):
    cluster.run(submitted)
    cluster.pass_deadline(submitted)
    state = state_of(backend)
    assert (state.phase, state.reason) == ("exited", "deadline_exceeded")


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"])
def test_an_image_that_cannot_be_pulled_fails_at_once_and_the_job_is_removed(
    cluster, backend, submitted, reason
):
    cluster.schedule(submitted)
    cluster.waiting(submitted, reason, "manifest unknown")
    state = state_of(backend)
    assert (state.phase, state.reason) == ("exited", "image_not_found")
    assert "manifest unknown" in state.message and "registry.example.com" in state.message
    # Left alone, the pod would hold its node's resources retrying the pull forever.
    assert cluster.job(submitted) is None


def test_an_unschedulable_pod_fails_only_after_the_grace_period(cluster, backend, clock, submitted):
    cluster.unschedulable(submitted, message="0/3 nodes are available: 3 Insufficient cpu.")
    assert state_of(backend).phase == "pending"
    clock.advance(299)
    assert state_of(backend).phase == "pending"
    clock.advance(2)
    state = state_of(backend)
    assert (state.phase, state.reason) == ("exited", "unschedulable")
    assert "Insufficient cpu" in state.message
    assert cluster.job(submitted) is None


def test_the_grace_period_counts_from_when_kubernetes_first_found_the_pod_unschedulable(
    cluster, backend, clock, submitted
):
    # A scheduler restarted after the pod waited ten minutes does not wait another five.
    since = (clock.now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.unschedulable(submitted, since=since)
    assert state_of(backend).reason == "unschedulable"


def test_a_pod_that_becomes_schedulable_within_the_grace_period_is_not_failed(
    cluster, backend, clock, submitted
):
    cluster.unschedulable(submitted)
    state_of(backend)
    clock.advance(200)
    cluster.run(submitted)
    assert state_of(backend).phase == "running"
    clock.advance(200)
    assert state_of(backend).phase == "running"


def test_a_job_that_never_gets_a_pod_is_unschedulable_after_the_grace_period(
    cluster, make_backend, clock
):
    cluster.auto_pods = False  # say, a ResourceQuota refuses the pod
    backend = make_backend(unschedulable_grace=60)
    backend.submit(make_spec())
    assert state_of(backend).phase == "pending"
    clock.advance(61)
    state = state_of(backend)
    assert (state.reason, state.phase) == ("unschedulable", "exited")


def test_reconcile_lists_jobs_once_per_call_however_many_attempts(cluster, backend):
    handles = []
    for job_id in range(1, 41):
        backend.submit(make_spec(job_id=job_id))
        handles.append(f"petri-{job_id}-1")
    cluster.requests.clear()

    states = backend.reconcile(handles)

    assert {s.phase for s in states.values()} == {"pending"}
    assert cluster.calls() == {("GET", "jobs"): 1, ("GET", "pods"): 1}


def test_reconcile_reads_no_pods_while_every_job_is_plainly_running(cluster, backend):
    handles = []
    for job_id in range(1, 6):
        backend.submit(make_spec(job_id=job_id))
        handles.append(f"petri-{job_id}-1")
        cluster.run(handles[-1])
    cluster.requests.clear()

    states = backend.reconcile(handles)

    assert {s.phase for s in states.values()} == {"running"}
    assert cluster.calls() == {("GET", "jobs"): 1}


def test_reconcile_pages_through_long_lists(cluster, make_backend):
    backend = make_backend(page_size=4)
    handles = []
    for job_id in range(1, 11):
        backend.submit(make_spec(job_id=job_id))
        handles.append(f"petri-{job_id}-1")
    cluster.requests.clear()
    states = backend.reconcile(handles)
    assert len(states) == 10 and {s.phase for s in states.values()} == {"pending"}
    assert cluster.count("GET", "jobs") == 3


def test_reconcile_of_nothing_calls_nothing(cluster, backend):
    assert backend.reconcile([]) == {}
    assert cluster.requests == []


def test_logs_reads_the_pods_whole_log(cluster, backend, submitted):
    cluster.run(submitted)
    cluster.set_log(submitted, "starting\nstep 1\nstep 2\n")
    assert backend.logs(submitted) == "starting\nstep 1\nstep 2\n"
    assert backend.logs("petri-404-1") is None
